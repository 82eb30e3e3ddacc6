/*
 * peertrace show / filter / recent, and the argument parser they share with
 * the other subcommands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_commands.h"

/* The value of the option at argv[*i], advancing *i; "" if it is the last. */
static const char *cli_option_value(int argc, char **argv, int *i) {
  return *i + 1 < argc ? argv[++*i] : "";
}

/*
 * Refuses option `name`: "NAME given twice" if twice, else "NAME needs
 * NEED" (its value is not one).  CLI_EXIT_USAGE.
 */
static int cli_bad_value(const char *command, const char *name, int twice,
                         const char *need) {
  if (twice) {
    cli_error(command, "%s given twice", name);
  } else {
    cli_error(command, "%s needs %s", name, need);
  }
  return CLI_EXIT_USAGE;
}

int cli_parse_args(int argc, char **argv, unsigned accepts, const char *help,
                   cli_args *a) {
  memset(a, 0, sizeof *a);
  a->reference = -1;
  cli_filter_init(&a->filter);
  cli_style_init(&a->style);
  a->paths = calloc((size_t)argc, sizeof *a->paths);
  if (a->paths == NULL) {
    cli_error(argv[0], "out of memory");
    return CLI_EXIT_ERROR;
  }
  int need_count = (accepts & CLI_ARG_COUNT) != 0;
  int need_format = (accepts & CLI_ARG_FORMAT) != 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(help, stdout);
      if ((accepts & CLI_ARG_CLOCK) == CLI_ARG_CLOCK) {
        fputs(cli_clock_help, stdout);
      }
      if (accepts & CLI_ARG_FILTER) {
        fputs(cli_filter_help, stdout);
      }
      fputs("  --color=WHEN    auto (default: on a terminal), always, never\n",
            stdout);
      return CLI_EXIT_OK;
    }
    if (cli_style_option(&a->style, arg)) {
      continue;
    }
    if (accepts & CLI_ARG_FILTER) {
      int rc = cli_filter_option(&a->filter, argc, argv, &i);
      if (rc < 0) {
        return CLI_EXIT_USAGE;
      }
      if (rc > 0) {
        continue;
      }
    }
    const char **target = NULL;
    if ((accepts & CLI_ARG_OUTPUT) && strcmp(arg, "-o") == 0) {
      target = &a->output;
    } else if ((accepts & CLI_ARG_SPLIT) && strcmp(arg, "--split") == 0) {
      target = &a->split_dir;
    }
    if (target != NULL) {
      if (i + 1 >= argc) {
        cli_error(argv[0], "%s needs a %s", arg,
                  target == &a->output ? "file name" : "directory");
        return CLI_EXIT_USAGE;
      }
      if (*target != NULL) {
        cli_error(argv[0], "%s given twice", arg);
        return CLI_EXIT_USAGE;
      }
      *target = argv[++i];
      continue;
    }
    if ((accepts & CLI_ARG_GROUP) && strcmp(arg, "--by-trace") == 0) {
      a->by_trace = 1;
      continue;
    }
    if ((accepts & CLI_ARG_RAW_TIME) && strcmp(arg, "--raw-time") == 0) {
      a->raw_time = 1;
      continue;
    }
    if ((accepts & CLI_ARG_MAX_DRIFT) && strcmp(arg, "--max-drift") == 0) {
      char *end = NULL;
      const char *value = cli_option_value(argc, argv, &i);
      double v = strtod(value, &end);
      if (a->max_drift > 0 || value[0] == '\0' || *end != '\0' || !(v > 0) ||
          !(v <= 10000)) {
        return cli_bad_value(argv[0], arg, a->max_drift > 0,
                             "a rate in ppm (0 to 10000, e.g. 100)");
      }
      a->max_drift = v;
      continue;
    }
    if ((accepts & CLI_ARG_REFERENCE) && strcmp(arg, "--reference") == 0) {
      char *end = NULL;
      const char *value = cli_option_value(argc, argv, &i);
      errno = 0;
      long v = strtol(value, &end, 10);
      if (a->reference >= 0 || value[0] < '0' || value[0] > '9' ||
          *end != '\0' || errno != 0 || v > 65535) {
        return cli_bad_value(argv[0], arg, a->reference >= 0,
                             "an input index (0 = the first file)");
      }
      a->reference = v;
      continue;
    }
    if ((accepts & CLI_ARG_SPLIT) && strcmp(arg, "--force") == 0) {
      a->force = 1;
      continue;
    }
    int count_flag = (accepts & CLI_ARG_COUNT) && strcmp(arg, "-n") == 0;
    if (count_flag || (need_count && arg[0] >= '0' && arg[0] <= '9')) {
      const char *value = count_flag ? cli_option_value(argc, argv, &i) : arg;
      char *end;
      errno = 0;
      a->count = strtoul(value, &end, 10);
      if (end == value || *end != '\0' || errno != 0 || value[0] == '-') {
        cli_error(argv[0], "bad count \"%s\"", value);
        return CLI_EXIT_USAGE;
      }
      if (a->count < 1 || a->count > CLI_COUNT_MAX) {
        cli_error(argv[0], "N must be 1 to %d, got %s", CLI_COUNT_MAX, value);
        return CLI_EXIT_USAGE;
      }
      if (!need_count) {
        cli_error(argv[0], "N given twice");
        return CLI_EXIT_USAGE;
      }
      need_count = 0;
      continue;
    }
    if (arg[0] == '-' && arg[1] != '\0') {
      cli_error(argv[0], "unknown option %s (see --help)", arg);
      return CLI_EXIT_USAGE;
    }
    if (need_format) {
      a->format = arg;
      need_format = 0;
      continue;
    }
    a->paths[a->path_count++] = argv[i];
  }
  if (need_format) {
    cli_error(argv[0], "which format? (see --help)");
    return CLI_EXIT_USAGE;
  }
  if (a->path_count == 0) {
    cli_error(argv[0], "no dump file given (see --help)");
    return CLI_EXIT_USAGE;
  }
  return CLI_GO_ON;
}

void cli_args_free(cli_args *a) {
  free(a->paths);
  a->paths = NULL;
}

int cli_start(int argc, char **argv, unsigned accepts, const char *help,
              cli_args *a, cli_inputs *in) {
  memset(in, 0, sizeof *in);
  int rc = cli_parse_args(argc, argv, accepts, help, a);
  if (rc != CLI_GO_ON) {
    cli_args_free(a);
    return rc;
  }
  int align = (accepts & CLI_ARG_CLOCK) && !a->raw_time;
  if (a->reference >= (long)a->path_count ||
      ((a->reference >= 0 || a->max_drift > 0) && !align)) {
    cli_error(argv[0],
              a->raw_time ? "--reference and --max-drift align: not with "
                            "--raw-time"
                          : "--reference %ld: there are %u inputs (0 to %u)",
              a->reference, a->path_count, a->path_count - 1);
    cli_args_free(a);
    return CLI_EXIT_USAGE;
  }
  unsigned reference = a->reference >= 0 ? (unsigned)a->reference : 0;
  if (cli_inputs_open(in, a->paths, a->path_count, align, reference,
                      a->max_drift) != 0) {
    cli_args_free(a);
    return CLI_EXIT_ERROR;
  }
  if (cli_filter_resolve(&a->filter, in) != 0) {
    cli_stop(a, in);
    return CLI_EXIT_USAGE;
  }
  rc = cli_filter_resolve_trace(&a->filter, in);
  if (rc == 0 && cli_inputs_set_filter(in, &a->filter.lib) != 0) {
    rc = CLI_EXIT_ERROR;
  }
  if (rc != 0) {
    cli_stop(a, in);
    return rc;
  }
  return CLI_GO_ON;
}

void cli_stop(cli_args *a, cli_inputs *in) {
  cli_inputs_close(in);
  cli_args_free(a);
}

/* Prints every matching event of the merged inputs, on their recorded
 * times (show and filter do not align clocks; merge does). */
static int cli_print_events(cli_args *a, cli_inputs *in) {
  pt_event ev;
  unsigned input;
  int rc;
  uint64_t shown = 0;
  cli_print_event_header(&a->style);
  while ((rc = cli_inputs_next(in, &ev, &input)) == 1) {
    cli_print_event(&a->style, &ev, in->inputs[input].info->node_id,
                    a->filter.base_us, "");
    shown++;
  }
  printf("%s%llu events%s\n", cli_colour(&a->style, CLI_DIM),
         (unsigned long long)shown, cli_colour(&a->style, CLI_RESET));
  return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static const char *cli_clock_name(uint32_t source) {
  return source == PT_CLOCK_SOURCE_TSC ? "tsc" : "realtime";
}

/*
 * A log file's counters that its snapshot does not carry, when non-zero:
 * " (R of them rejected as invalid), U unreadable", else "".
 */
static void cli_log_counts(char *out, size_t size, const cli_input *input) {
  int n = 0;
  out[0] = '\0';
  if (input->log_rejected > 0) {
    n = snprintf(out, size, " (%llu of them rejected as invalid)",
                 (unsigned long long)input->log_rejected);
  }
  if (input->log_unreadable > 0 && n >= 0 && (size_t)n < size) {
    snprintf(out + n, size - (size_t)n, ", %llu unreadable",
             (unsigned long long)input->log_unreadable);
  }
}

static int cli_run_listing(int argc, char **argv, const char *help,
                           int headers) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(argc, argv, CLI_ARG_FILTER, help, &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  if (headers) {
    for (unsigned i = 0; i < in.count; i++) {
      const pt_dump_info *info = in.inputs[i].info;
      char node[65];
      for (int k = 0; k < 32; k++) {
        snprintf(node + 2 * k, 3, "%02x", info->node_id[k]);
      }
      char span[32];
      cli_rel_time(span, sizeof span, info->last_us, info->first_us);
      char log_counts[96];
      cli_log_counts(log_counts, sizeof log_counts, &in.inputs[i]);
      printf("%s%s%s\n  node %s\n  format v%u, %llu events of %llu slots, "
             "%llu overwritten, %llu dropped%s\n  clock %s, first event %llu "
             "(Unix us), spans %s\n",
             cli_colour(&a.style, CLI_CYAN), in.inputs[i].path,
             cli_colour(&a.style, CLI_RESET), node, info->format_version,
             (unsigned long long)info->event_count,
             (unsigned long long)info->capacity,
             (unsigned long long)info->overwritten,
             (unsigned long long)info->dropped, log_counts,
             cli_clock_name(info->clock_source),
             (unsigned long long)info->first_us, span + 1);
    }
    printf("\n");
  }
  rc = cli_print_events(&a, &in);
  cli_stop(&a, &in);
  return rc;
}

int cli_show(int argc, char **argv) {
  return cli_run_listing(
      argc, argv,
      "usage: peertrace show [OPTIONS] DUMP...\n"
      "Prints each dump's header (node, counts, clock) and then every event\n"
      "of all dumps in time order, times relative to the first event.\n"
      "Times are as each node recorded them, not aligned across nodes\n"
      "('merge' aligns them).  Filters (as for 'filter') apply to the\n"
      "events.\n",
      1);
}

int cli_filter_cmd(int argc, char **argv) {
  return cli_run_listing(
      argc, argv,
      "usage: peertrace filter [FILTERS] DUMP...\n"
      "Prints the events of the dumps (merged in time order) that match\n"
      "every filter given.  Times are as each node recorded them, not\n"
      "aligned across nodes ('merge' aligns them).\n",
      0);
}

int cli_recent(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(
      argc, argv, CLI_ARG_FILTER | CLI_ARG_COUNT,
      "usage: peertrace recent [N | -n N] [FILTERS] DUMP...\n"
      "Prints the newest N matching events (default 20, at most 1000000),\n"
      "oldest first.  Times, and so which events are the newest, are as\n"
      "each node recorded them, not aligned across nodes ('merge' aligns\n"
      "them).\n",
      &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  if (a.count == 0) { /* not given (0 is refused by the parser) */
    a.count = 20;
  }
  /* A ring of the last N matches: memory is N events, not the dumps. */
  pt_event *ring = malloc(a.count * sizeof *ring);
  unsigned *nodes = malloc(a.count * sizeof *nodes);
  if (ring == NULL || nodes == NULL) {
    cli_error(argv[0], "out of memory");
    rc = CLI_EXIT_ERROR;
    goto done;
  }
  uint64_t seen = 0;
  pt_event ev;
  unsigned input;
  while ((rc = cli_inputs_next(&in, &ev, &input)) == 1) {
    ring[seen % a.count] = ev;
    nodes[seen % a.count] = input;
    seen++;
  }
  if (rc < 0) {
    rc = CLI_EXIT_ERROR;
    goto done;
  }
  uint64_t first = seen > a.count ? seen - a.count : 0;
  cli_print_event_header(&a.style);
  for (uint64_t k = first; k < seen; k++) {
    const pt_dump_info *info = in.inputs[nodes[k % a.count]].info;
    cli_print_event(&a.style, &ring[k % a.count], info->node_id,
                    a.filter.base_us, "");
  }
  printf("%s%llu of %llu matching events%s\n", cli_colour(&a.style, CLI_DIM),
         (unsigned long long)(seen - first), (unsigned long long)seen,
         cli_colour(&a.style, CLI_RESET));
  rc = CLI_EXIT_OK;
done:
  free(ring);
  free(nodes);
  cli_stop(&a, &in);
  return rc;
}
