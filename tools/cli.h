/*
 * The peertrace command: shared pieces (inputs merged by time, filters,
 * a trace-id map, human output).
 */
#ifndef PT_CLI_H
#define PT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <peertrace/peertrace.h>
#include <peertrace/pt_pipeline.h>

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1 /* a file could not be read or written */
#define CLI_EXIT_USAGE 2 /* bad command line */

/*
 * Names app commands ("STORE_CHUNK" instead of DMAP/1); NULL: unnamed.
 * cli_apps_init() sets it to a lookup in the app registry.
 */
extern pt_app_namer cli_app_namer;
extern void *cli_app_namer_user;

/* Sets cli_app_namer from the app registry where there is one (cli_apps.c). */
void cli_apps_init(void);
#if PT_TRACE_APP
/* Registers the protocols the CLI knows (cli_apps_dmap.c or _none.c). */
void cli_register_app_protocols(pt_app_registry *registry);
#endif

/* ---- Files: what a path is, before anything reads or writes it ---------- */

/* An input path that cli_file_check found to be a readable regular file. */
typedef struct cli_file {
  char *resolved; /* the path with every symlink resolved (malloc'd) */
  dev_t dev;      /* which file it is, to refuse it as an output */
  ino_t ino;
  uid_t uid;
  int is_log; /* starts with the log file magic (else: read as a dump) */
} cli_file;

/*
 * Checks that path (symlinks followed) is a regular file this process can
 * read, without blocking on a FIFO.  0, or -1 with "peertrace: PATH: why"
 * printed: its strerror ("No such file or directory", "Too many levels of
 * symbolic links", ...), a dangling symlink's target, or what the file is
 * ("is a FIFO", "is a directory", "is a character device (/dev/null)").
 */
int cli_file_check(const char *path, cli_file *f);
void cli_file_free(cli_file *f);
/*
 * Opens a log file checked by cli_file_check (f->is_log).  Refuses a log of
 * another user (docs/cli.md says why).  0, or -1 with the error printed.
 */
int cli_log_open(const char *path, const cli_file *f, const pt_log **out);
/* Prints a log file's problem (pt_log_open_ex or pt_log_check error). */
void cli_log_problem(const char *path, int rc, const pt_log_file_info *info);

/* ---- Inputs: several dumps, one stream ordered by time ------------------ */

typedef struct cli_style cli_style; /* below, with the human output */

/* One input path: a source of the pipeline (same index). */
typedef struct cli_input {
  const char *path;
  cli_file file;
  const pt_dump_info *info; /* its header (a log file's: of its snapshot) */
  /* A log file's counters its snapshot (a dump) has no field for: invalid
   * events pt_log_write refused (in the dump's dropped count) and slots
   * that could not be read (pt_log_stats). */
  uint64_t log_rejected;
  uint64_t log_unreadable;
} cli_input;

/* The inputs of a command: a pt_pipeline over them (pt_pipeline.h). */
typedef struct cli_inputs {
  cli_input *inputs;
  unsigned count;
  pt_pipeline *pipeline;
  uint64_t first_us; /* earliest event over all inputs (0: none) */
} cli_inputs;

/*
 * Opens every path as a source of one pipeline and starts it: with align,
 * on the clock of input `reference` (< count; the others aligned where
 * their packets allow; pt_pipeline.h; max_drift > 0: the rate difference
 * allowed, pt_pipeline_set_max_drift), else on recorded times.  On failure
 * prints "peertrace: PATH: problem".  0 or -1.
 */
int cli_inputs_open(cli_inputs *in, char **paths, unsigned count, int align,
                    unsigned reference, double max_drift);
/*
 * The next event that passes the pipeline's filter, in time order (ties:
 * input order, then write order), its timestamp on the timeline: 1/0/-1.
 */
int cli_inputs_next(cli_inputs *in, pt_event *ev, unsigned *input);
int cli_inputs_rewind(cli_inputs *in);
/* The events cli_inputs_next hands out from now on (pt_pipeline_filter). */
int cli_inputs_set_filter(cli_inputs *in, const pt_pipeline_filter *f);
void cli_inputs_close(cli_inputs *in);
/*
 * Input i's clock, for people: "reference: times as recorded", "aligned to
 * a1a2a3a4, offset +2.500123 s, drift +50.1 ppm, bound ±0.210 ms (1 link,
 * 80 packet pairs)", "not aligned (...): times as recorded", or "times as
 * recorded (--raw-time)".
 */
void cli_clock_text(char *out, size_t size, const cli_inputs *in, unsigned i);
/*
 * With to_stdout, a line per input "clock: NODE PATH: <cli_clock_text>";
 * always, a node left as recorded although others were aligned is named
 * on stderr (a timestamp is never moved, or left, silently).
 */
void cli_clock_report(const cli_inputs *in, const cli_style *s, int to_stdout);

/* ---- Outputs ------------------------------------------------------------ */

/*
 * Creates or truncates the file named by -o (mode 0600; a symlink is
 * followed: the user named it), unless it is one of the inputs.  *created
 * is 1 if it did not exist (remove it if the export fails).  NULL if not
 * (printed).
 */
FILE *cli_output_create(const char *path, const cli_inputs *in, int *created);
/* 1 if path names one of the inputs' files (the same inode), else 0. */
int cli_is_input(const char *path, const cli_inputs *in);
/* Opens the directory of --split; its fd, or -1 (printed). */
int cli_output_dir_open(const char *dir);
/*
 * Creates name in dirfd (path: DIR/name, for messages), mode 0600: never
 * through a symlink, never over an existing entry unless force (then the
 * entry is removed first).  Its fd (write-only), or -1 (printed).
 */
int cli_output_create_at(int dirfd, const char *path, const char *name,
                         int force);
/*
 * Why a write to fp failed: saved (errno read right after the failing
 * call; 0 if none), else the errno of flushing fp again, else EIO.
 */
int cli_write_errno(FILE *fp, int saved);
/*
 * Flushes stdout: if a write to it failed, a command that succeeded (rc
 * CLI_EXIT_OK) prints "peertrace: stdout: write failed: REASON" and exits
 * CLI_EXIT_ERROR instead; so does one that read a damaged log file
 * (cli_damaged_input set: what could be read was shown, with a warning).
 * Returns the exit code, and clears cli_damaged_input.
 */
int cli_close_stdout(int rc);
/*
 * Flushes stdout; if a write to it failed, prints "peertrace: stdout: write
 * failed: REASON" and returns -1 (0 otherwise); EPIPE (a closed pipe, with
 * SIGPIPE ignored) returns -1 quietly.  For a command that writes until
 * stopped (tail): it stops at the first failed write.
 */
int cli_stdout_check(void);
extern int cli_damaged_input;

/* ---- Filters ------------------------------------------------------------ */

typedef struct cli_filter {
  char trace_prefix[33]; /* hex prefix of the trace id ("" = any) */
  char peer_prefix[65];  /* hex prefix of the peer id ("" = any) */
  const char *since;     /* time texts, resolved once inputs are open */
  const char *until;
  uint64_t since_us;
  uint64_t until_us; /* exclusive; UINT64_MAX = no bound */
  uint32_t kinds;    /* bit per kind; 0 = any */
  uint64_t conn;     /* --conn: connection identity; 0 = any */
  unsigned given;    /* bit per filter option seen, to refuse repeats */
  /*
   * Where relative times count from: the inputs' first event or, with
   * --trace, the first event of that trace (set by cli_filter_match as the
   * events stream by in time order).
   */
  uint64_t base_us;
  int base_is_trace_start;
  pt_pipeline_filter lib; /* the same, for the pipeline (once resolved) */
} cli_filter;

void cli_filter_init(cli_filter *f);
/*
 * Consumes a filter option at argv[*i] (--trace, --peer, --since, --until,
 * --kind, --conn), advancing *i past its value.  Returns 1 if consumed, 0 if
 * not a filter option, -1 on a bad value (message printed).
 */
int cli_filter_option(cli_filter *f, int argc, char **argv, int *i);
/* Resolves --since/--until against the inputs (then f->lib holds the
 * filter).  0 or -1 (printed). */
int cli_filter_resolve(cli_filter *f, const cli_inputs *in);
/*
 * Makes --trace name one trace: finds, over every event of the inputs, the
 * trace ids that start with the prefix, then rewinds the inputs.  One: the
 * filter takes its whole id.  0, or the exit code (printed): none
 * (CLI_EXIT_ERROR) or several (CLI_EXIT_USAGE, with the candidates).
 */
int cli_filter_resolve_trace(cli_filter *f, cli_inputs *in);
/* For events that do not come through the pipeline (tail): whether ev
 * passes f->lib; sets base_us at the start of the --trace. */
int cli_filter_match(cli_filter *f, const pt_event *ev);
extern const char cli_filter_help[];
extern const char cli_clock_help[]; /* --raw-time, for --help */

/* ---- A map from (trace id, node) to a small record ---------------------- */

typedef struct cli_map {
  uint8_t *keys; /* 20 bytes a slot: trace id + node, all 0xff = empty */
  void *values;  /* value_size bytes a slot */
  size_t value_size;
  size_t cap; /* power of two */
  size_t count;
} cli_map;

int cli_map_init(cli_map *m, size_t value_size);
/* The value for key; created zero-filled if absent (*created = 1). */
void *cli_map_get(cli_map *m, const pt_trace_id *trace, uint32_t node,
                  int create, int *created);
void cli_map_free(cli_map *m);

/* ---- Human output ------------------------------------------------------- */

struct cli_style {
  int colour;
};

/* --color=auto|always|never; auto = stdout is a terminal and NO_COLOR unset */
int cli_style_option(cli_style *s, const char *arg);
void cli_style_init(cli_style *s);
const char *cli_colour(const cli_style *s, const char *code);
#define CLI_RESET "0"
#define CLI_DIM "2"
#define CLI_RED "31"
#define CLI_GREEN "32"
#define CLI_YELLOW "33"
#define CLI_BLUE "34"
#define CLI_CYAN "36"

/* First 8 hex digits of a 16/32-byte id ("-" for none). */
void cli_short_hex(char out[9], const uint8_t *bytes);
/* "+12.345ms" relative to base_us. */
void cli_rel_time(char *out, size_t size, uint64_t t_us, uint64_t base_us);
/* The name of an app event's command through cli_app_namer: 1, or 0. */
int cli_app_name(const pt_event *ev, char *out, size_t size);
/* The event's fields as "name=value ..." (pt_event_format minus the kind). */
void cli_event_details(const pt_event *ev, char *out, size_t size);
/* Prints one aligned event row. */
void cli_print_event(const cli_style *s, const pt_event *ev,
                     const uint8_t node_id[32], uint64_t base_us,
                     const char *marker);
void cli_print_event_header(const cli_style *s);

/* "peertrace: <context>: <message>" on stderr. */
void cli_error(const char *context, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* PT_CLI_H */
