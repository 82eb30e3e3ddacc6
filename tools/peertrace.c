/*
 * peertrace: reads dump files (pt_log_dump_save) and log files
 * (pt_log_config.file_path, of running or crashed processes) and shows,
 * filters, summarises, merges and exports them, or follows a live log file.
 * See docs/cli.md and docs/crash-and-live.md.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_commands.h"
#include "cli_sql.h"

static const cli_command commands[] = {
    {"show", "header and every event of dumps", cli_show},
    {"filter", "events matching --trace/--peer/--since/--until/--kind",
     cli_filter_cmd},
    {"recent", "the newest N events", cli_recent},
    {"stats", "per-peer packets, bytes, loss, rtt, first/last seen", cli_stats},
    {"merge", "dumps of several nodes as one timeline, by trace", cli_merge},
    {"request", "a request's hops and the packets of each", cli_request},
    {"export", "json, qlog, chrome, otlp, svg or sqlite", cli_export},
    {"tail", "follow a running process's log file, like tail -f", cli_tail},
    {"clocks", "each node's clock against a reference, from the packets",
     cli_clocks},
    {"pairs", "packets matched across nodes: one-way delays, unreceived",
     cli_pairs},
    {"sql", "one SQL query over the dumps (SQLite, temporary file)", cli_sql},
};

static void usage(FILE *fp) {
  fprintf(fp, "usage: peertrace COMMAND [OPTIONS] FILE...\n"
              "FILE: a dump (pt_log_dump_save) or a log file "
              "(pt_log_config.file_path)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
  }
  fprintf(fp, "\n'peertrace COMMAND --help' describes a command; "
              "'peertrace --version' prints the version.\n");
}

int pt_cli_main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return cli_close_stdout(CLI_EXIT_OK);
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("peertrace %s\n", PT_CLI_VERSION);
    return cli_close_stdout(CLI_EXIT_OK);
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strcmp(argv[1], commands[i].name) == 0) {
      return cli_close_stdout(commands[i].run(argc - 1, argv + 1));
    }
  }
  cli_error(argv[1], "unknown command");
  usage(stderr);
  return CLI_EXIT_USAGE;
}

/* PT_CLI_NO_MAIN: tests/fuzz/fuzz_cli.c supplies its own main (libFuzzer's). */
#ifndef PT_CLI_NO_MAIN
int main(int argc, char **argv) {
  cli_apps_init();
  return pt_cli_main(argc, argv);
}
#endif
