/* peertrace export: dumps to JSON, qlog, Chrome trace, OTLP/JSON or SVG. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli_commands.h"
#include "cli_sql.h"

static const struct {
  const char *name;
  pt_export_format format;
} cli_formats[] = {
    {"json", PT_EXPORT_JSON},     {"qlog", PT_EXPORT_QLOG},
    {"chrome", PT_EXPORT_CHROME}, {"otlp", PT_EXPORT_OTLP},
    {"svg", PT_EXPORT_SVG},
};

/*
 * Reports a failed export to path: a write error with its real reason
 * (saved: errno right after the failing call), else the exporter's error.
 */
static void cli_export_error(const char *path, FILE *fp, int rc, int saved) {
  if (rc == PT_ERR_IO) {
    cli_error(path, "write failed: %s", strerror(cli_write_errno(fp, saved)));
  } else {
    cli_error(path, "export failed: %s", pt_strerror(rc));
  }
}

/* "nothing to export": an empty file would only mislead (or crash qvis). */
static int cli_nothing_to_export(const char *what) {
  cli_error(what, "nothing to export: no event matches the filters (no file "
                  "written)");
  return CLI_EXIT_ERROR;
}

/* --service PREFIX (otlp): the nodes' service names, PREFIX-<node>. */
static const char *cli_otlp_service;
/* --endpoint URL (otlp): push to a collector instead of writing a file. */
static const char *cli_otlp_endpoint;
static int cli_otlp_protobuf; /* --protobuf: application/x-protobuf */

/*
 * export qlog --split: any number of files, written side by side as the
 * events stream, yet at most CLI_SPLIT_OPEN_MAX descriptors open at once
 * (far under the usual limit of 1024, which a node with thousands of
 * connections would pass).  Each file is a fopencookie stream with a
 * small buffer; when it flushes and its descriptor was closed to make
 * room, the file is opened again by name (O_APPEND, O_NOFOLLOW) and must
 * be the very file created (device and inode), else the write fails.
 * Memory grows with the number of files (buffer and exporter state).
 */
#define CLI_SPLIT_OPEN_MAX 32
#define CLI_SPLIT_BUFFER 4096

typedef struct cli_split_set cli_split_set;

typedef struct cli_split_file {
  cli_split_set *set;
  pt_exporter *ex;
  FILE *fp;    /* the cookie stream over fd */
  int fd;      /* -1: closed to make room (or not yet created) */
  int created; /* we created the file: removed if the split fails */
  int lost;    /* errno of a failed close of fd (reported on next use) */
  dev_t dev;   /* the created file, for reopening it */
  ino_t ino;
  uint64_t used; /* set->clock at its last write: the oldest is closed */
  char name[64]; /* <node>-<conn or trace id>.sqlog */
  char buffer[CLI_SPLIT_BUFFER]; /* fp's (glibc ignores a size alone) */
} cli_split_file;

struct cli_split_set {
  const char *dir;
  int dirfd;
  int force;              /* --force: replace existing files */
  cli_split_file **files; /* every file, in the order they were created */
  size_t count, cap;
  cli_split_file *open[CLI_SPLIT_OPEN_MAX]; /* those with an fd */
  unsigned open_count;
  uint64_t clock;
};

/* DIR/name, for messages (one at a time: the CLI has one thread). */
static const char *cli_split_path(const cli_split_file *f) {
  static char path[4200];
  snprintf(path, sizeof path, "%s/%s", f->set->dir, f->name);
  return path;
}

/* Closes f's descriptor; a failure is kept for f's next write or close. */
static void cli_split_fd_close(cli_split_file *f) {
  cli_split_set *set = f->set;
  if (f->fd < 0) {
    return;
  }
  if (close(f->fd) != 0 && f->lost == 0) {
    f->lost = errno;
  }
  f->fd = -1;
  for (unsigned i = 0; i < set->open_count; i++) {
    if (set->open[i] == f) {
      set->open[i] = set->open[--set->open_count];
      break;
    }
  }
}

/* Makes room for one more descriptor: closes the least recently used. */
static void cli_split_make_room(cli_split_set *set) {
  if (set->open_count < CLI_SPLIT_OPEN_MAX) {
    return;
  }
  cli_split_file *oldest = set->open[0];
  for (unsigned i = 1; i < set->open_count; i++) {
    if (set->open[i]->used < oldest->used) {
      oldest = set->open[i];
    }
  }
  cli_split_fd_close(oldest);
}

static void cli_split_fd_add(cli_split_file *f, int fd) {
  f->fd = fd;
  f->set->open[f->set->open_count++] = f;
}

/* Opens f's file again (after cli_split_make_room).  0, or -1 and errno. */
static int cli_split_reopen(cli_split_file *f) {
  cli_split_make_room(f->set);
  int fd = openat(f->set->dirfd, f->name,
                  O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int saved = errno;
    cli_error(cli_split_path(f), "cannot open it again: %s", strerror(saved));
    errno = saved;
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
    cli_error(cli_split_path(f), "replaced by another file while written");
    close(fd);
    errno = ESTALE;
    return -1;
  }
  cli_split_fd_add(f, fd);
  return 0;
}

static ssize_t cli_split_write(void *cookie, const char *buf, size_t size) {
  cli_split_file *f = cookie;
  f->used = ++f->set->clock;
  if (f->lost != 0) {
    errno = f->lost;
    return 0;
  }
  if (f->fd < 0 && cli_split_reopen(f) != 0) {
    return 0;
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(f->fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        errno = EIO;
      }
      break;
    }
    done += (size_t)n;
  }
  return (ssize_t)done; /* less than size: an error, errno says which */
}

static int cli_split_close_fn(void *cookie) {
  cli_split_file *f = cookie;
  cli_split_fd_close(f);
  if (f->lost != 0) {
    errno = f->lost;
    return EOF;
  }
  return 0;
}

static void cli_split_set_free(cli_split_set *set) {
  for (size_t i = 0; i < set->count; i++) {
    free(set->files[i]);
  }
  free(set->files);
}

/*
 * Creates the qlog file of one connection of input `input`:
 * DIR/<node 8 hex>-<conn 16 hex>.sqlog, or for events without a conn
 * DIR/<node 8 hex>-<trace id>.sqlog, and its exporter.  The exporter
 * knows every input's node (and clock); the file holds this one's events.
 * Returns f (added to the set, so that a failure cleans it up), or NULL
 * (printed).
 */
static cli_split_file *cli_split_open(cli_split_set *set, cli_inputs *in,
                                      unsigned input, const pt_event *ev) {
  if (set->count == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    cli_split_file **files = realloc(set->files, cap * sizeof *files);
    if (files == NULL) {
      cli_error("--split", "out of memory");
      return NULL;
    }
    set->files = files;
    set->cap = cap;
  }
  cli_split_file *f = calloc(1, sizeof *f);
  if (f == NULL) {
    cli_error("--split", "out of memory");
    return NULL;
  }
  set->files[set->count++] = f;
  f->set = set;
  f->fd = -1;
  char key[33];
  const uint8_t *id = in->inputs[input].info->node_id;
  uint64_t conn = pt_event_conn(ev);
  if (conn != 0) {
    snprintf(key, sizeof key, "%016llx", (unsigned long long)conn);
  } else {
    pt_trace_id_to_hex(&ev->trace_id, key, sizeof key);
  }
  snprintf(f->name, sizeof f->name, "%02x%02x%02x%02x-%s.sqlog", id[0], id[1],
           id[2], id[3], key);
  cli_split_make_room(set);
  int fd =
      cli_output_create_at(set->dirfd, cli_split_path(f), f->name, set->force);
  if (fd < 0) {
    return NULL;
  }
  f->created = 1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    cli_error(cli_split_path(f), "%s", strerror(errno));
    close(fd);
    return NULL;
  }
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  cli_split_fd_add(f, fd);
  f->used = ++set->clock;
  cookie_io_functions_t io = {NULL, cli_split_write, NULL, cli_split_close_fn};
  f->fp = fopencookie(f, "w", io);
  if (f->fp == NULL ||
      setvbuf(f->fp, f->buffer, _IOFBF, sizeof f->buffer) != 0) {
    cli_error(cli_split_path(f), "cannot create: %s", strerror(errno));
    return NULL;
  }
  int rc = pt_exporter_new(&f->ex, PT_EXPORT_QLOG, f->fp);
  if (rc == PT_OK) {
    rc = pt_exporter_set_app_namer(f->ex, cli_app_namer, cli_app_namer_user);
  }
  if (rc == PT_OK) {
    errno = 0;
    rc = pt_pipeline_exporter_nodes(in->pipeline, f->ex);
  }
  if (rc != PT_OK) {
    cli_export_error(cli_split_path(f), f->fp, rc, errno);
    return NULL;
  }
  return f;
}

/* Finishes and closes every file; on failure removes them all.  0 or -1. */
static int cli_split_close(cli_split_set *set, int failed) {
  for (size_t i = 0; i < set->count; i++) {
    cli_split_file *f = set->files[i];
    if (!failed && f->ex != NULL) {
      errno = 0;
      int rc = pt_exporter_finish(f->ex);
      if (rc != PT_OK) {
        cli_export_error(cli_split_path(f), f->fp, rc, errno);
        failed = 1;
      }
    }
    pt_exporter_free(f->ex);
    f->ex = NULL;
    if (f->fp != NULL) {
      errno = 0;
      int bad = fclose(f->fp) != 0;
      f->fp = NULL;
      if (bad && !failed) {
        cli_error(cli_split_path(f), "write failed: %s",
                  strerror(errno ? errno : EIO));
        failed = 1;
      }
    }
    cli_split_fd_close(f); /* if fopencookie failed: the fd alone */
  }
  /* We created each of them (O_EXCL): an incomplete set goes away whole. */
  for (size_t i = 0; failed && i < set->count; i++) {
    if (set->files[i]->created) {
      unlinkat(set->dirfd, set->files[i]->name, 0);
    }
  }
  return failed ? -1 : 0;
}

/*
 * export qlog --split DIR: one qlog file (one qlog trace) per connection
 * of each input, written side by side as events stream; events without a
 * connection identity (app events; dumps made before there was one) go
 * to a file per trace id of their input.  Any number of files: see
 * cli_split_set.
 */
static int cli_export_qlog_split(cli_args *a, cli_inputs *in) {
  cli_split_set set = {a->split_dir, -1, a->force, NULL, 0, 0, {NULL}, 0, 0};
  cli_map map;
  if (cli_map_init(&map, sizeof(size_t)) != 0) {
    cli_error("--split", "out of memory");
    return CLI_EXIT_ERROR;
  }
  set.dirfd = cli_output_dir_open(a->split_dir);
  uint64_t skipped = 0;
  int rc = set.dirfd >= 0 ? PT_OK : PT_ERR_IO, more = 0;
  pt_event ev;
  unsigned input;
  while (rc == PT_OK && (more = cli_inputs_next(in, &ev, &input)) == 1) {
    uint64_t conn = pt_event_conn(&ev);
    if (conn == 0 && pt_trace_id_is_zero(&ev.trace_id)) {
      skipped++;
      continue;
    }
    /* Key: (conn, input) or (trace id, input), told apart by the node. */
    pt_trace_id key = ev.trace_id;
    if (conn != 0) {
      memset(&key, 0, sizeof key);
      memcpy(key.bytes, &conn, sizeof conn);
    }
    int created;
    size_t *slot =
        cli_map_get(&map, &key, input * 2u + (conn != 0), 1, &created);
    if (slot == NULL) {
      cli_error("--split", "out of memory");
      rc = PT_ERR_NOMEM;
      break;
    }
    if (created) {
      if (cli_split_open(&set, in, input, &ev) == NULL) {
        rc = PT_ERR_IO;
        break;
      }
      *slot = set.count;
    }
    cli_split_file *f = set.files[*slot - 1];
    errno = 0;
    rc = pt_exporter_write(f->ex, input, &ev);
    if (rc != PT_OK) {
      cli_export_error(cli_split_path(f), f->fp, rc, errno);
    }
  }
  int failed = rc != PT_OK || more < 0;
  size_t count = set.count;
  if (cli_split_close(&set, failed) != 0) {
    failed = 1;
  } else if (count == 0 && skipped > 0) {
    cli_error(a->split_dir,
              "nothing to export: none of the %llu matching "
              "events has a connection or trace id (no file written)",
              (unsigned long long)skipped);
    failed = 1;
  } else if (count == 0) {
    failed = cli_nothing_to_export(a->split_dir) != CLI_EXIT_OK;
  } else {
    printf("%zu qlog files written to %s (one per connection and node)", count,
           a->split_dir);
    if (skipped > 0) {
      printf("; %llu events without a connection or trace id not exported",
             (unsigned long long)skipped);
    }
    printf("\n");
  }
  if (set.dirfd >= 0) {
    close(set.dirfd);
  }
  cli_split_set_free(&set);
  cli_map_free(&map);
  return failed ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/*
 * One output (-o FILE or stdout): created only once a first event matches,
 * so that a failed or empty export leaves no file behind.
 */
static int cli_export_one(cli_args *a, cli_inputs *in,
                          pt_export_format format) {
  pt_event ev;
  unsigned input;
  int more = cli_inputs_next(in, &ev, &input);
  if (more <= 0) {
    return more < 0 ? CLI_EXIT_ERROR
                    : cli_nothing_to_export(a->output ? a->output : "export");
  }
  cli_clock_report(in, NULL, 0);
  const char *name = a->output != NULL ? a->output : "stdout";
  FILE *fp = stdout;
  int created = 0;
  void *push = NULL;
  if (cli_otlp_endpoint != NULL) {
    name = cli_otlp_endpoint;
    if (cli_push_open(cli_otlp_endpoint, cli_otlp_protobuf, &fp, &push) != 0) {
      return CLI_EXIT_ERROR;
    }
  } else if (a->output != NULL &&
             (fp = cli_output_create(a->output, in, &created)) == NULL) {
    return CLI_EXIT_ERROR;
  }
  pt_exporter *ex = NULL;
  /* Written through the pipeline from its first event again; errno is the
   * reason of a failed write (the pipeline clears it before each call). */
  errno = 0;
  int rc = pt_exporter_new(&ex, format, fp);
  if (rc == PT_OK) {
    rc = pt_exporter_set_app_namer(ex, cli_app_namer, cli_app_namer_user);
  }
  if (rc == PT_OK && cli_otlp_service != NULL) {
    rc = pt_exporter_set_service_prefix(ex, cli_otlp_service);
  }
  int saved = errno;
  unsigned source = UINT_MAX;
  if (rc == PT_OK) {
    rc = pt_pipeline_export(in->pipeline, ex);
    saved = errno;
    pt_pipeline_message(in->pipeline, &source);
  }
  int failed = rc != PT_OK;
  if (failed && source != UINT_MAX) { /* an input's fault, not the file's */
    fprintf(stderr, "peertrace: %s\n", pt_pipeline_message(in->pipeline, NULL));
  } else if (failed && format == PT_EXPORT_QLOG && rc == PT_ERR_STATE) {
    /* The one refusal of pt_exporter_write left: a second connection. */
    cli_error(name, "qlog holds one connection per file, and these events "
                    "are of more than one: use --split DIR (a file per "
                    "connection) or pick one with --conn");
  } else if (failed && push == NULL) {
    cli_export_error(name, fp, rc, saved);
  }
  pt_exporter_free(ex);
  if (push != NULL) {
    /* The push says what failed and how many spans it delivered. */
    return cli_push_close(push, failed) != 0 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
  }
  if (fp != stdout && fclose(fp) != 0 && !failed) {
    cli_error(name, "write failed: %s", strerror(errno));
    failed = 1;
  }
  if (failed && created && unlink(a->output) == 0) {
    fprintf(stderr, "peertrace: %s: removed (incomplete)\n", a->output);
  }
  return failed ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/*
 * Takes "--NAME VALUE" out of argv (the OTLP options, which the shared
 * parser does not know): *value is VALUE or stays NULL.  0, or -1 with a
 * message for a missing VALUE.
 */
static int cli_take_option(int *argc, char **argv, const char *name,
                           const char **value) {
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      return 0;
    }
    if (strcmp(argv[i], name) == 0) {
      if (i + 1 >= *argc) {
        cli_error(name, "needs a value");
        return -1;
      }
      *value = argv[i + 1];
      memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 1) * sizeof *argv);
      *argc -= 2;
      return 0;
    }
  }
  return 0;
}

/* Takes the flag "--NAME" out of argv: 1 if it was there. */
static int cli_take_flag(int *argc, char **argv, const char *name) {
  for (int i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], name) == 0) {
      memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof *argv);
      *argc -= 1;
      return 1;
    }
  }
  return 0;
}

int cli_export(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  const char *service = NULL;
  const char *endpoint = NULL;
  if (cli_take_option(&argc, argv, "--service", &service) != 0 ||
      cli_take_option(&argc, argv, "--endpoint", &endpoint) != 0) {
    return CLI_EXIT_USAGE;
  }
  int protobuf = cli_take_flag(&argc, argv, "--protobuf");
  cli_otlp_service = service;
  cli_otlp_endpoint = endpoint;
  cli_otlp_protobuf = protobuf;
  int rc = cli_start(
      argc, argv,
      CLI_ARG_FILTER | CLI_ARG_OUTPUT | CLI_ARG_FORMAT | CLI_ARG_SPLIT |
          CLI_ARG_CLOCK,
      "usage: peertrace export FORMAT [-o FILE | --split DIR] [--raw-time | "
      "--reference N] [FILTERS] DUMP...\n"
      "Writes the matching events of the dumps (merged in time order, on\n"
      "the first dump's clock) to FILE (default: standard output),\n"
      "streaming, in FORMAT, each node's times labelled in the file as\n"
      "aligned (with the estimate) or as recorded:\n"
      "  json    every event with its fields named and decoded\n"
      "  qlog    qlog 0.3 JSON-SEQ for qvis: one connection seen by one\n"
      "          node (vantage client/server, group id = connection);\n"
      "          one dump and --trace, or --split DIR for them all\n"
      "  chrome  Chrome trace JSON for ui.perfetto.dev: a process per node,\n"
      "          app requests as slices, flows across nodes by trace id\n"
      "  otlp    OTLP/JSON spans (requests, calls across nodes as parent\n"
      "          and child, a call's packets as events), one request per\n"
      "          line, for the OpenTelemetry Collector's otlpjsonfile\n"
      "          receiver\n"
      "  svg     sequence diagram of one trace (needs --trace)\n"
      "  sqlite  an SQLite database (needs -o FILE.db; schema in\n"
      "          docs/cli.md; peertrace sql queries a temporary one)\n"
      "  -o FILE         write to FILE instead of standard output\n"
      "  --split DIR     qlog only: one file per connection of each dump,\n"
      "                  DIR/<node>-<connection>.sqlog (events without a\n"
      "                  connection: DIR/<node>-<trace id>.sqlog), any\n"
      "                  number; never over an existing file or a symlink\n"
      "  --force         with --split: replace existing files\n"
      "  --service PREFIX  otlp: service.name PREFIX-<node> (default\n"
      "                  peertrace-<node>, node: 8 hex digits of its id)\n"
      "  --endpoint URL  otlp: POST to a collector's OTLP/HTTP endpoint\n"
      "                  (URL/v1/traces, JSON; --protobuf: protobuf)\n"
      "                  instead of writing;\n"
      "                  retries 429/502/503/504 and connection errors up\n"
      "                  to 5 attempts with backoff, then prints the spans\n"
      "                  sent, rejected and not delivered; exit 1 if any\n"
      "                  were not delivered\n"
      "An export in which no event matches writes no file and exits 1.\n",
      &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  if (strcmp(a.format, "sqlite") == 0) { /* a database, not a text format */
    rc = cli_export_sqlite(&a, &in);
    cli_stop(&a, &in);
    return rc;
  }
  int format = 0;
  for (size_t i = 0; i < sizeof cli_formats / sizeof cli_formats[0]; i++) {
    if (strcmp(a.format, cli_formats[i].name) == 0) {
      format = (int)cli_formats[i].format;
    }
  }
  if (format == 0) {
    cli_error(argv[0],
              "unknown format \"%s\" (json, qlog, chrome, otlp, svg, sqlite)",
              a.format);
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (format == PT_EXPORT_QLOG && a.path_count != 1 && a.split_dir == NULL) {
    cli_error(argv[0], "qlog holds one node's view: give exactly one dump, "
                       "or --split DIR (a file per connection and node)");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (format == PT_EXPORT_SVG && a.filter.trace_prefix[0] == '\0') {
    cli_error(argv[0], "svg draws one trace: give --trace ID");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if ((service != NULL || endpoint != NULL) && format != PT_EXPORT_OTLP) {
    cli_error(argv[0], "--service and --endpoint are for otlp");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (protobuf && endpoint == NULL) {
    cli_error(argv[0], "--protobuf is for --endpoint");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (endpoint != NULL && (a.output != NULL || a.split_dir != NULL)) {
    cli_error(argv[0], "--endpoint sends to the collector: no -o or --split");
    cli_stop(&a, &in);
    return CLI_EXIT_USAGE;
  }
  if (a.force && a.split_dir == NULL) {
    cli_error(argv[0], "--force is for --split");
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
  pt_trace_id svg_trace;
  uint64_t first_us;
  /* svg, otlp, chrome: the packets of the request's hops are in its
   * connections' events */
  if ((format == PT_EXPORT_SVG || format == PT_EXPORT_OTLP ||
       format == PT_EXPORT_CHROME) &&
      pt_trace_id_from_hex(a.filter.trace_prefix, strlen(a.filter.trace_prefix),
                           &svg_trace) == PT_OK &&
      cli_trace_conns(&in, &svg_trace, &a.conns, &first_us) != 0) {
    cli_stop(&a, &in);
    return CLI_EXIT_ERROR;
  }
  /* Their events pass the trace filter too (under the other filters). */
  a.filter.lib.trace_conns = a.conns.v;
  a.filter.lib.trace_conn_count = a.conns.n;
  if (a.conns.n > 0 && cli_inputs_set_filter(&in, &a.filter.lib) != 0) {
    cli_conns_free(&a.conns);
    cli_stop(&a, &in);
    return CLI_EXIT_ERROR;
  }
  rc = cli_export_one(&a, &in, (pt_export_format)format);
  cli_conns_free(&a.conns);
  cli_stop(&a, &in);
  return rc;
}
