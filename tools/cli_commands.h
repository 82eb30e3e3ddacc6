/* The peertrace subcommands and their shared argument parser. */
#ifndef PT_CLI_COMMANDS_H
#define PT_CLI_COMMANDS_H

#include "cli.h"

typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/*
 * The whole command line (argv[0] is the program, argv[1] the command);
 * returns the exit code.  main() is cli_apps_init() and then this.
 */
int pt_cli_main(int argc, char **argv);

int cli_show(int argc, char **argv);
int cli_filter_cmd(int argc, char **argv);
int cli_recent(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_merge(int argc, char **argv);
int cli_export(int argc, char **argv);
/* export otlp --endpoint (cli_export_push.c): opens the push (protobuf: 1
 * for application/x-protobuf; its stream in
 * *fp) or says why not, -1; closes it, printing its counts: 0, or -1 if
 * anything was not delivered or failed. */
int cli_push_open(const char *endpoint, int protobuf, FILE **fp, void **push);
int cli_push_close(void *push, int failed);
int cli_tail(int argc, char **argv);
int cli_clocks(int argc, char **argv);
int cli_pairs(int argc, char **argv);
int cli_request(int argc, char **argv);

/* What a command accepts besides --help, --color and dump paths. */
#define CLI_ARG_FILTER 1u /* --trace --peer --since --until --kind */
#define CLI_ARG_OUTPUT 2u /* -o FILE */
#define CLI_ARG_COUNT 4u  /* N (first positional) or -n N */
#define CLI_ARG_FORMAT 8u /* FORMAT (first positional) */
#define CLI_ARG_SPLIT 16u /* --split DIR, --force */
#define CLI_ARG_GROUP 32u /* --by-trace */
/* Aligned times (pt_pipeline.h) with any of these three: */
#define CLI_ARG_RAW_TIME 64u   /* --raw-time: recorded times instead */
#define CLI_ARG_REFERENCE 128u /* --reference INDEX */
#define CLI_ARG_MAX_DRIFT 256u /* --max-drift PPM */
#define CLI_ARG_CLOCK (CLI_ARG_RAW_TIME | CLI_ARG_REFERENCE | CLI_ARG_MAX_DRIFT)
#define CLI_COUNT_MAX 1000000 /* N: the events recent keeps in memory */

/*
 * A set of connection identities (tools/cli_hops.c): cli_trace_conns finds
 * those the stream_data events of trace `id` name (one pass over the
 * inputs, rewound before and after; *first_us: the trace's first event),
 * 0 or -1 (printed).  export svg --trace adds their events, so that the
 * SVG draws the hops' packets.
 */
typedef struct cli_conns {
  uint64_t *v;
  size_t n, cap;
} cli_conns;
int cli_trace_conns(cli_inputs *in, const pt_trace_id *id, cli_conns *out,
                    uint64_t *first_us);
int cli_conns_has(const cli_conns *c, uint64_t conn);
void cli_conns_free(cli_conns *c);

typedef struct cli_args {
  cli_filter filter;
  cli_style style;
  char **paths;
  unsigned path_count;
  const char *output;
  const char *split_dir;
  int by_trace;
  int force;        /* --split: replace existing files */
  int raw_time;     /* --raw-time: recorded times, no alignment */
  long reference;   /* --reference INDEX: the timeline's clock (-1: first) */
  double max_drift; /* --max-drift PPM (0: pt_align's default) */
  const char *format;
  unsigned long count;
  /* export svg --trace: these connections' events match too (they pass
   * the other filters); empty otherwise. */
  cli_conns conns;
} cli_args;

/*
 * Parses argv; prints `help` for --help.  Returns CLI_GO_ON to go on, or
 * the exit code to return right away (CLI_EXIT_OK after --help,
 * CLI_EXIT_USAGE, CLI_EXIT_ERROR).  a->paths must be freed by the caller
 * (cli_args_free).
 */
#define CLI_GO_ON (-1)
int cli_parse_args(int argc, char **argv, unsigned accepts, const char *help,
                   cli_args *a);
void cli_args_free(cli_args *a);

/*
 * The start of every command: parses argv, opens the dumps (aligned with
 * any CLI_ARG_CLOCK bit unless --raw-time), resolves the filter's times and
 * sets it on the pipeline.  Returns CLI_GO_ON with *a and *in ready (release
 * them with cli_stop), or an exit code with everything released.
 */
int cli_start(int argc, char **argv, unsigned accepts, const char *help,
              cli_args *a, cli_inputs *in);
void cli_stop(cli_args *a, cli_inputs *in);

/*
 * After `merge --trace ID` (tools/cli_hops.c): the trace's hops and the
 * packets of each (reads the inputs again).  With no --trace: nothing.
 * Returns an exit code.
 */
int cli_hops_after_merge(const cli_args *a, cli_inputs *in);

#endif /* PT_CLI_COMMANDS_H */
