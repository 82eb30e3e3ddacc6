/* peertrace export: dumps to JSON, qlog, Chrome trace, OTLP/JSON or SVG. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli_commands.h"

static const struct {
  const char *name;
  pt_export_format format;
} cli_formats[] = {
    {"json", PT_EXPORT_JSON},     {"qlog", PT_EXPORT_QLOG},
    {"chrome", PT_EXPORT_CHROME}, {"otlp", PT_EXPORT_OTLP},
    {"svg", PT_EXPORT_SVG},
};

int cli_export(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(
      argc, argv, CLI_ARG_FILTER | CLI_ARG_OUTPUT | CLI_ARG_FORMAT,
      "usage: peertrace export FORMAT [-o FILE] [FILTERS] DUMP...\n"
      "Writes the matching events of the dumps (merged in time order) to\n"
      "FILE (default: standard output), streaming, in FORMAT:\n"
      "  json    every event with its fields named and decoded\n"
      "  qlog    qlog 0.3 JSON-SEQ for qvis; one dump (one node's view),\n"
      "          use --trace to pick one connection\n"
      "  chrome  Chrome trace JSON for ui.perfetto.dev: a process per node,\n"
      "          app requests as slices, flows across nodes by trace id\n"
      "  otlp    OTLP/JSON spans (app requests) with their events, for the\n"
      "          OpenTelemetry Collector's OTLP JSON file receiver\n"
      "  svg     sequence diagram of one trace (needs --trace)\n"
      "  -o FILE         write to FILE instead of standard output\n",
      &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  int format = 0;
  for (size_t i = 0; i < sizeof cli_formats / sizeof cli_formats[0]; i++) {
    if (strcmp(a.format, cli_formats[i].name) == 0) {
      format = (int)cli_formats[i].format;
    }
  }
  if (format == 0) {
    cli_error(argv[0], "unknown format \"%s\" (json, qlog, chrome, otlp, svg)",
              a.format);
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (format == PT_EXPORT_QLOG && a.path_count != 1) {
    cli_error(argv[0], "qlog holds one node's view: give exactly one dump");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (format == PT_EXPORT_SVG && a.filter.trace_prefix[0] == '\0') {
    cli_error(argv[0], "svg draws one trace: give --trace ID");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  FILE *fp = stdout;
  pt_exporter *ex = NULL;
  if (a.output != NULL) {
    /* Exports hold what the dumps hold: private to the user, like them. */
    int fd = open(a.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fp == NULL) {
      cli_error(a.output, "cannot create: %s", strerror(errno));
      if (fd >= 0) {
        close(fd);
      }
      fp = stdout;
      rc = CLI_EXIT_ERROR;
      goto done;
    }
  }
  rc = pt_exporter_new(&ex, (pt_export_format)format, fp);
  if (rc == PT_OK) {
    rc = pt_exporter_set_app_namer(ex, cli_app_namer, cli_app_namer_user);
  }
  for (unsigned i = 0; rc == PT_OK && i < in.count; i++) {
    unsigned index;
    rc = pt_exporter_add_node(
        ex, pt_dump_reader_info(in.inputs[i].reader)->node_id, &index);
  }
  pt_event ev;
  unsigned input;
  int more = 1;
  while (rc == PT_OK && (more = cli_inputs_next(&in, &ev, &input)) == 1) {
    if (cli_filter_match(&a.filter, &ev)) {
      rc = pt_exporter_write(ex, input, &ev);
    }
  }
  if (rc == PT_OK && more == 0) {
    rc = pt_exporter_finish(ex);
  }
  if (more < 0) {
    rc = CLI_EXIT_ERROR; /* the reader printed why */
  } else if (rc != PT_OK) {
    cli_error(a.output != NULL ? a.output : "stdout", "export failed: %s",
              pt_strerror(rc));
    rc = CLI_EXIT_ERROR;
  } else {
    rc = CLI_EXIT_OK;
  }
done:
  pt_exporter_free(ex);
  if (fp != stdout && fclose(fp) != 0 && rc == CLI_EXIT_OK) {
    cli_error(a.output, "write failed: %s", strerror(errno));
    rc = CLI_EXIT_ERROR;
  }
  cli_stop(&a, &in);
  return rc;
}
