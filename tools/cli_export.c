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

/* Creates path with mode 0600 for writing; NULL (message printed) if not. */
static FILE *cli_create(const char *path) {
  /* Exports hold what the dumps hold: private to the user, like them. */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (fp == NULL) {
    cli_error(path, "cannot create: %s", strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
  }
  return fp;
}

#define CLI_SPLIT_MAX 256

typedef struct cli_split_file {
  pt_exporter *ex;
  FILE *fp;
  char path[4200];
} cli_split_file;

/* Opens the qlog file of one trace: DIR/<trace id>.sqlog. */
static int cli_split_open(cli_split_file *f, const char *dir,
                          const pt_trace_id *trace, const uint8_t node[32]) {
  char hex[33];
  pt_trace_id_to_hex(trace, hex, sizeof hex);
  snprintf(f->path, sizeof f->path, "%s/%s.sqlog", dir, hex);
  f->fp = cli_create(f->path);
  if (f->fp == NULL) {
    return -1;
  }
  unsigned index;
  int rc = pt_exporter_new(&f->ex, PT_EXPORT_QLOG, f->fp);
  if (rc == PT_OK) {
    rc = pt_exporter_set_app_namer(f->ex, cli_app_namer, cli_app_namer_user);
  }
  if (rc == PT_OK) {
    rc = pt_exporter_add_node(f->ex, node, &index);
  }
  if (rc != PT_OK) {
    cli_error(f->path, "%s", pt_strerror(rc));
    return -1;
  }
  return 0;
}

/*
 * export qlog --split DIR: one qlog file per trace id (per connection: our
 * connections carry a trace id), written side by side as events stream.
 */
static int cli_export_qlog_split(cli_args *a, cli_inputs *in) {
  cli_split_file *files = calloc(CLI_SPLIT_MAX, sizeof *files);
  cli_map map;
  if (files == NULL || cli_map_init(&map, sizeof(size_t)) != 0) {
    free(files);
    cli_error("--split", "out of memory");
    return CLI_EXIT_ERROR;
  }
  const uint8_t *node = pt_dump_reader_info(in->inputs[0].reader)->node_id;
  size_t count = 0;
  uint64_t skipped = 0;
  int rc = PT_OK, more;
  pt_event ev;
  unsigned input;
  while (rc == PT_OK && (more = cli_inputs_next(in, &ev, &input)) == 1) {
    if (!cli_filter_match(&a->filter, &ev)) {
      continue;
    }
    if (pt_trace_id_is_zero(&ev.trace_id)) {
      skipped++;
      continue;
    }
    int created;
    size_t *slot = cli_map_get(&map, &ev.trace_id, 0, 1, &created);
    if (slot == NULL) {
      cli_error("--split", "out of memory");
      rc = PT_ERR_NOMEM;
      break;
    }
    if (created) {
      if (count == CLI_SPLIT_MAX) {
        cli_error(a->split_dir,
                  "more than %d traces: narrow the export with --trace, "
                  "--since or --until",
                  CLI_SPLIT_MAX);
        rc = PT_ERR_INVALID;
        break;
      }
      if (cli_split_open(&files[count], a->split_dir, &ev.trace_id, node) !=
          0) {
        rc = PT_ERR_IO;
        count++; /* so that its resources are released below */
        break;
      }
      *slot = ++count;
    }
    cli_split_file *f = &files[*slot - 1];
    rc = pt_exporter_write(f->ex, 0, &ev);
    if (rc != PT_OK) {
      cli_error(f->path, "export failed: %s", pt_strerror(rc));
    }
  }
  int failed = rc != PT_OK || more < 0;
  for (size_t i = 0; i < count; i++) {
    if (!failed && files[i].ex != NULL) {
      int frc = pt_exporter_finish(files[i].ex);
      if (frc != PT_OK) {
        cli_error(files[i].path, "export failed: %s", pt_strerror(frc));
        failed = 1;
      }
    }
    pt_exporter_free(files[i].ex);
    if (files[i].fp != NULL && fclose(files[i].fp) != 0 && !failed) {
      cli_error(files[i].path, "write failed: %s", strerror(errno));
      failed = 1;
    }
  }
  if (!failed) {
    printf("%zu qlog files written to %s (one per trace id)", count,
           a->split_dir);
    if (skipped > 0) {
      printf("; %llu events without a trace id not exported",
             (unsigned long long)skipped);
    }
    printf("\n");
  }
  cli_map_free(&map);
  free(files);
  return failed ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cli_export(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(
      argc, argv,
      CLI_ARG_FILTER | CLI_ARG_OUTPUT | CLI_ARG_FORMAT | CLI_ARG_SPLIT,
      "usage: peertrace export FORMAT [-o FILE | --split DIR] [FILTERS] "
      "DUMP...\n"
      "Writes the matching events of the dumps (merged in time order) to\n"
      "FILE (default: standard output), streaming, in FORMAT:\n"
      "  json    every event with its fields named and decoded\n"
      "  qlog    qlog 0.3 JSON-SEQ for qvis; one dump (one node's view),\n"
      "          use --trace to pick one connection, or --split DIR\n"
      "  chrome  Chrome trace JSON for ui.perfetto.dev: a process per node,\n"
      "          app requests as slices, flows across nodes by trace id\n"
      "  otlp    OTLP/JSON spans (app requests) with their events, for the\n"
      "          OpenTelemetry Collector's OTLP JSON file receiver\n"
      "  svg     sequence diagram of one trace (needs --trace)\n"
      "  -o FILE         write to FILE instead of standard output\n"
      "  --split DIR     qlog only: one file per trace id (connection),\n"
      "                  DIR/<trace id>.sqlog, at most 256 of them\n",
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
  if (a.split_dir != NULL) {
    if (format != PT_EXPORT_QLOG || a.output != NULL) {
      cli_error(argv[0], "--split is for qlog, without -o");
      cli_stop(&a, &in);
      return CLI_EXIT_USAGE;
    }
    rc = cli_export_qlog_split(&a, &in);
    cli_stop(&a, &in);
    return rc;
  }
  FILE *fp = stdout;
  pt_exporter *ex = NULL;
  if (a.output != NULL && (fp = cli_create(a.output)) == NULL) {
    fp = stdout;
    rc = CLI_EXIT_ERROR;
    goto done;
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
