/*
 * peertrace tail: follows a running process's log file (pt_log_config.
 * file_path), like tail -f.  Read-only: the writer is never blocked or
 * slowed.  Reports when it was lapped and how many events it missed, and
 * exits when the writer goes away or on Ctrl-C.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_commands.h"

static volatile sig_atomic_t cli_tail_stop;

static void cli_tail_on_signal(int sig) {
  (void)sig;
  cli_tail_stop = 1;
}

static const char cli_tail_help[] =
    "usage: peertrace tail [OPTIONS] LOGFILE\n"
    "Follows the log file of a running process (a log created with\n"
    "pt_log_config.file_path) and prints its new events as they come, in\n"
    "time order, times relative to the first one printed.  Read-only: the\n"
    "writer is never blocked or slowed.  If the writer laps the follower,\n"
    "a line says how many events were missed.  Ends when the writer closes\n"
    "its log or dies (exit 0), or on Ctrl-C (exit 0); if the file is\n"
    "truncated or rewritten while followed, says so (exit 1); slots of a\n"
    "damaged file that cannot be read are counted in a warning (exit 1).\n"
    "A failed write to standard output ends it (exit 1).\n"
    "  --from-start    also print the events already in the log (those it\n"
    "                  overwrote before tail started count as missed)\n"
    "  --interval MS   poll interval in milliseconds (default 100)\n"
    "Filters (as for 'filter') apply to the events, except that --since/\n"
    "--until take Unix microseconds and --trace matches every trace whose\n"
    "id starts with HEX (the traces to come are not known yet).\n";

/* Pulls --from-start and --interval out of argv before the shared parser. */
static int cli_tail_options(int *argc, char **argv, unsigned *flags,
                            long *interval_ms) {
  int out = 1;
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--from-start") == 0) {
      *flags |= PT_FOLLOW_FROM_START;
    } else if (strcmp(argv[i], "--interval") == 0) {
      char *end = NULL;
      long ms = i + 1 < *argc ? strtol(argv[i + 1], &end, 10) : 0;
      if (end == NULL || *end != '\0' || ms < 1 || ms > 60000) {
        cli_error("tail", "--interval needs 1..60000 milliseconds");
        return -1;
      }
      *interval_ms = ms;
      i++;
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  return 0;
}

static void cli_tail_sleep(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Prints one poll's events; returns how many were printed. */
static uint64_t cli_tail_print(cli_args *a, const pt_event *events,
                               size_t count, const uint8_t node[32]) {
  uint64_t shown = 0;
  for (size_t i = 0; i < count; i++) {
    if (a->filter.base_us == 0) {
      a->filter.base_us = events[i].timestamp_us;
    }
    if (cli_filter_match(&a->filter, &events[i])) {
      cli_print_event(&a->style, &events[i], node, a->filter.base_us, "");
      shown++;
    }
  }
  return shown;
}

/* The last line: what was shown and missed, and why tail stopped. */
static void cli_tail_summary(const cli_args *a, const pt_follow *follow,
                             const char *path, uint64_t shown, uint64_t missed,
                             const char *why) {
  pt_follow_stats totals;
  pt_follow_get_stats(follow, &totals);
  if (totals.unreadable > 0) {
    /* Shown, but not all of it: a warning, and the exit status says so. */
    fprintf(stderr,
            "peertrace: %s: warning: %llu slots of the log could not be "
            "read (the file is damaged)\n",
            path, (unsigned long long)totals.unreadable);
    cli_damaged_input = 1;
  }
  char unreadable[48] = "";
  if (totals.unreadable > 0) {
    snprintf(unreadable, sizeof unreadable, ", %llu unreadable",
             (unsigned long long)totals.unreadable);
  }
  printf("%s%llu events, %llu missed%s; %s%s\n", cli_colour(&a->style, CLI_DIM),
         (unsigned long long)shown, (unsigned long long)missed, unreadable, why,
         cli_colour(&a->style, CLI_RESET));
}

int cli_tail(int argc, char **argv) {
  unsigned flags = 0;
  long interval_ms = 100;
  if (cli_tail_options(&argc, argv, &flags, &interval_ms) != 0) {
    return CLI_EXIT_USAGE;
  }
  cli_args a;
  int rc = cli_parse_args(argc, argv, CLI_ARG_FILTER, cli_tail_help, &a);
  if (rc != CLI_GO_ON) {
    cli_args_free(&a);
    return rc;
  }
  if (a.path_count != 1) {
    cli_error("tail", "give exactly one log file");
    cli_args_free(&a);
    return CLI_EXIT_USAGE;
  }
  const char *path = a.paths[0];
  const pt_log *log = NULL;
  cli_file file;
  if (cli_file_check(path, &file) != 0) {
    cli_args_free(&a);
    return CLI_EXIT_ERROR;
  }
  if (!file.is_log) {
    cli_error(path, "not a peertrace log file (tail follows the log file of "
                    "a running process, not a dump)");
  }
  rc = file.is_log ? cli_log_open(path, &file, &log) : -1;
  cli_file_free(&file);
  if (rc != 0) {
    cli_args_free(&a);
    return CLI_EXIT_ERROR;
  }
  /* Times given to --since/--until are absolute (Unix us) for tail. */
  cli_inputs none;
  memset(&none, 0, sizeof none);
  if (cli_filter_resolve(&a.filter, &none) != 0) {
    pt_log_close(log);
    cli_args_free(&a);
    return CLI_EXIT_USAGE;
  }
  a.filter.base_us = 0;
  uint8_t node[32];
  pt_log_node_id(log, node);
  pt_follow *follow = NULL;
  rc = pt_follow_create(&follow, log, flags);
  if (rc != PT_OK) {
    cli_error(path, "%s", pt_strerror(rc)); /* memory, or a restless file */
    pt_log_close(log);
    cli_args_free(&a);
    return CLI_EXIT_ERROR;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cli_tail_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  cli_print_event_header(&a.style);
  uint64_t shown = 0, missed = 0;
  const char *why = "interrupted";
  int stdout_failed = 0;
  for (;;) {
    /* Read the writer's status before the poll: a writer seen gone here
     * has published everything the poll below will see. */
    int status = pt_log_writer_status(log);
    const pt_event *events;
    size_t count;
    uint64_t lost;
    rc = pt_follow_poll(follow, &events, &count, &lost);
    if (rc != PT_OK) {
      /* Truncated or rewritten under us: say so, and what was shown. */
      pt_log_file_info info;
      pt_log_check(log, &info);
      cli_log_problem(path, rc, &info);
      why = "the log file was damaged while being followed";
      break;
    }
    if (lost > 0) {
      printf("%s-- lapped: %llu events were overwritten before they could "
             "be read%s\n",
             cli_colour(&a.style, CLI_YELLOW), (unsigned long long)lost,
             cli_colour(&a.style, CLI_RESET));
      missed += lost;
    }
    shown += cli_tail_print(&a, events, count, node);
    /*
     * A failed write (a full disk, /dev/full) ends tail at once, with the
     * reason, rather than when the writer does.  (A closed pipe ends it
     * quietly before this: SIGPIPE, as for other tools.)
     */
    if (cli_stdout_check() != 0) {
      stdout_failed = 1;
      break;
    }
    if (status == PT_WRITER_EXITED || status == PT_WRITER_DIED) {
      why = status == PT_WRITER_EXITED ? "the writer closed its log"
                                       : "the writer died";
      break;
    }
    if (cli_tail_stop) {
      break;
    }
    cli_tail_sleep(interval_ms);
  }
  if (!stdout_failed) { /* else said, and a summary could not be written */
    cli_tail_summary(&a, follow, path, shown, missed, why);
  }
  pt_follow_destroy(follow);
  pt_log_close(log);
  cli_args_free(&a);
  return rc == PT_OK && !stdout_failed ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
