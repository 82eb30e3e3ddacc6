/*
 * The peertrace command: inputs merged by time, filters, the trace map and
 * human output, shared by every subcommand.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_hex.h" /* the library's hex code (internal, linked statically) */

pt_app_namer cli_app_namer = NULL;
void *cli_app_namer_user = NULL;

void cli_error(const char *context, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "peertrace: %s: ", context);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- Inputs ------------------------------------------------------------- */

/*
 * A log file (pt_log_config.file_path) of a running or dead process, read
 * through a snapshot taken now, in memory (pt_pipeline_add_log).  0, or -1
 * (printed).
 */
static int cli_open_log_file(cli_inputs *in, cli_input *input) {
  const pt_log *view = NULL;
  if (cli_log_open(input->path, &input->file, &view) != 0) {
    return -1;
  }
  if (pt_log_writer_status(view) == PT_WRITER_DIED) {
    fprintf(stderr,
            "peertrace: %s: its writer died without closing the log; "
            "showing what it had recorded (events caught mid-write are "
            "left out)\n",
            input->path);
  }
  int rc = pt_pipeline_add_log(in->pipeline, view, input->path, NULL);
  /* Truncated or rewritten while it was read: the snapshot is not the log. */
  pt_log_file_info info;
  int changed = rc == PT_OK ? pt_log_check(view, &info) : PT_OK;
  pt_log_stats stats;
  if (changed == PT_OK && rc == PT_OK &&
      pt_log_get_stats(view, &stats) == PT_OK) {
    input->log_rejected = stats.rejected;
    input->log_unreadable = stats.unreadable;
  }
  if (input->log_unreadable > 0) {
    fprintf(stderr,
            "peertrace: %s: warning: %llu slots of the log could not be read "
            "(the file is damaged); showing the events that could\n",
            input->path, (unsigned long long)input->log_unreadable);
    cli_damaged_input = 1;
  }
  pt_log_close(view);
  if (rc != PT_OK) {
    cli_error(input->path, "cannot snapshot log file: %s", pt_strerror(rc));
  } else if (changed != PT_OK) {
    cli_log_problem(input->path, changed, &info);
    rc = changed;
  }
  return rc == PT_OK ? 0 : -1;
}

/* Adds one input, a dump or a log file, to the pipeline; 0, or -1
 * (printed). */
static int cli_input_open(cli_inputs *in, cli_input *input, const char *path) {
  input->path = path;
  if (cli_file_check(path, &input->file) != 0) {
    return -1;
  }
  if (input->file.is_log) {
    return cli_open_log_file(in, input);
  }
  pt_dump_reader *reader;
  pt_dump_error err;
  int rc = pt_dump_reader_open(&reader, input->file.resolved, &err);
  if (rc != PT_OK) {
    cli_error(path, "%s: %s", pt_strerror(rc), err.message);
    return -1;
  }
  rc = pt_pipeline_add_dump_reader(in->pipeline, reader, path, NULL);
  if (rc != PT_OK) {
    cli_error(path, "%s", pt_strerror(rc));
    return -1;
  }
  return 0;
}

/* A failed pipeline call: prints what it says (naming the source). */
static int cli_pipeline_failed(const cli_inputs *in) {
  fprintf(stderr, "peertrace: %s\n", pt_pipeline_message(in->pipeline, NULL));
  return -1;
}

int cli_inputs_open(cli_inputs *in, char **paths, unsigned count, int align,
                    unsigned reference, double max_drift) {
  memset(in, 0, sizeof *in);
  in->inputs = calloc(count, sizeof *in->inputs);
  if (in->inputs == NULL || pt_pipeline_new(&in->pipeline) != PT_OK) {
    cli_error("memory", "out of memory");
    cli_inputs_close(in);
    return -1;
  }
  for (unsigned i = 0; i < count; i++) {
    in->count = i + 1; /* so that cli_inputs_close releases this one too */
    if (cli_input_open(in, &in->inputs[i], paths[i]) != 0) {
      cli_inputs_close(in);
      return -1;
    }
    in->inputs[i].info = pt_pipeline_source_info(in->pipeline, i);
  }
  uint64_t last_us;
  if (pt_pipeline_set_raw_time(in->pipeline, !align) != PT_OK ||
      pt_pipeline_set_reference(in->pipeline, reference) != PT_OK ||
      (max_drift > 0 &&
       pt_pipeline_set_max_drift(in->pipeline, max_drift) != PT_OK) ||
      pt_pipeline_start(in->pipeline) != PT_OK ||
      pt_pipeline_span(in->pipeline, &in->first_us, &last_us) != PT_OK) {
    cli_pipeline_failed(in);
    cli_inputs_close(in);
    return -1;
  }
  return 0;
}

int cli_inputs_next(cli_inputs *in, pt_event *ev, unsigned *input) {
  int rc = pt_pipeline_next(in->pipeline, ev, input, NULL);
  return rc >= 0 ? rc : cli_pipeline_failed(in);
}

int cli_inputs_rewind(cli_inputs *in) {
  return pt_pipeline_rewind(in->pipeline) == PT_OK ? 0
                                                   : cli_pipeline_failed(in);
}

int cli_inputs_set_filter(cli_inputs *in, const pt_pipeline_filter *f) {
  return pt_pipeline_set_filter(in->pipeline, f) == PT_OK
             ? 0
             : cli_pipeline_failed(in);
}

void cli_inputs_close(cli_inputs *in) {
  for (unsigned i = 0; i < in->count; i++) {
    cli_file_free(&in->inputs[i].file);
  }
  pt_pipeline_free(in->pipeline);
  free(in->inputs);
  memset(in, 0, sizeof *in);
}

/* "b2b3b4b5 relay.ptd": a node as the clock lines name it. */
static void cli_node_name(char *out, size_t size, const cli_inputs *in,
                          unsigned i) {
  char node[9];
  cli_short_hex(node, in->inputs[i].info->node_id);
  snprintf(out, size, "%s %s", node, in->inputs[i].path);
}

void cli_clock_text(char *out, size_t size, const cli_inputs *in, unsigned i) {
  pt_clock_estimate est;
  if (pt_pipeline_clock(in->pipeline, i, &est) != PT_OK) {
    snprintf(out, size, "unknown");
    return;
  }
  char reference[9];
  cli_short_hex(reference,
                in->inputs[pt_pipeline_reference(in->pipeline)].info->node_id);
  switch (est.status) {
  case PT_CLOCK_REFERENCE:
    snprintf(out, size, "reference: times as recorded");
    break;
  case PT_CLOCK_ALIGNED:
    snprintf(out, size,
             "aligned to %s, offset %+.6f s, drift %+.1f ppm, bound "
             "±%.3f ms (%u link%s, %llu packet pairs)",
             reference, est.offset_us * 1e-6, est.drift_ppm,
             est.bound_us * 1e-3, est.hops, est.hops == 1 ? "" : "s",
             (unsigned long long)est.pairs);
    break;
  case PT_CLOCK_UNALIGNED:
    snprintf(out, size,
             "not aligned (no two-way connection to the "
             "others): times as recorded");
    break;
  case PT_CLOCK_INCONSISTENT:
    snprintf(out, size,
             "not aligned (its packets contradict a steady "
             "clock): times as recorded");
    break;
  default:
    snprintf(out, size, "times as recorded (--raw-time)");
    break;
  }
}

void cli_clock_report(const cli_inputs *in, const cli_style *s, int to_stdout) {
  for (unsigned i = 0; i < in->count; i++) {
    char name[4200], text[256];
    pt_clock_estimate est;
    cli_node_name(name, sizeof name, in, i);
    cli_clock_text(text, sizeof text, in, i);
    if (to_stdout) {
      printf("%sclock: %s: %s%s\n", cli_colour(s, CLI_DIM), name, text,
             cli_colour(s, CLI_RESET));
    }
    /* Never silently: a node left as recorded is said on stderr too. */
    if (in->count > 1 && pt_pipeline_clock(in->pipeline, i, &est) == PT_OK &&
        (est.status == PT_CLOCK_UNALIGNED ||
         est.status == PT_CLOCK_INCONSISTENT)) {
      fprintf(stderr, "peertrace: %s: clock %s\n", in->inputs[i].path, text);
    }
  }
}

/* ---- Filters ------------------------------------------------------------ */

const char cli_clock_help[] =
    "  --raw-time      times as each node recorded them.  By default the\n"
    "                  nodes' clocks are aligned to the first input's, from\n"
    "                  the packets they exchanged; each node's estimate and\n"
    "                  bound is shown, and a node that cannot be aligned\n"
    "                  is named and keeps its recorded times\n"
    "  --reference N   align to input N's clock instead (0: the first)\n"
    "  --max-drift PPM the largest rate difference of two clocks allowed\n"
    "                  (default 500; smaller: tighter bounds, if true)\n";

const char cli_filter_help[] =
    "  --trace HEX     events of the trace whose id starts with HEX (one\n"
    "                  trace: a prefix of several, or of none, is an error)\n"
    "  --peer HEX      events of the peer whose id starts with HEX\n"
    "  --since TIME    events at or after TIME\n"
    "  --until TIME    events before TIME\n"
    "                  TIME: Unix microseconds, or +N[us|ms|s] after the\n"
    "                  first event of the inputs (e.g. +1.5ms)\n"
    "  --kind K[,K..]  events of these kinds (packet_sent, app_end, ...)\n"
    "  --conn HEX      events of the connection whose identity is HEX (16\n"
    "                  hex digits, as export json and qlog --split name it)\n"
    "                  Each filter at most once; --since before --until.\n";

void cli_filter_init(cli_filter *f) {
  memset(f, 0, sizeof *f);
  f->until_us = UINT64_MAX;
}

static int cli_hex_prefix(const char *option, const char *value, char *out,
                          size_t max) {
  size_t len = strlen(value);
  if (len == 0 || len > max) {
    cli_error(option, "expected 1 to %zu hex digits, got \"%s\"", max, value);
    return -1;
  }
  /* Checked by pt_hex on whole bytes: an odd prefix gets a '0' to test. */
  char even[66];
  uint8_t bytes[32];
  if (max > 64) {
    cli_error(option, "at most 64 hex digits");
    return -1;
  }
  memcpy(even, value, len);
  even[len] = '0'; /* read only if len is odd */
  even[len + 1] = '\0';
  if (pt__hex_decode(even, bytes, (len + 1) / 2, 0) != 0) {
    cli_error(option, "\"%s\" is not hex", value);
    return -1;
  }
  for (size_t i = 0; i <= len; i++) {
    out[i] = (char)tolower((unsigned char)value[i]);
  }
  return 0;
}

/* Parses --conn's 16 hex digits (not 0: that is "none"). */
static int cli_conn_value(const char *value, uint64_t *conn) {
  uint8_t bytes[8];
  if (strlen(value) != 16 || pt__hex_decode(value, bytes, 8, 0) != 0) {
    cli_error("--conn",
              "expected a connection identity of 16 hex digits "
              "(e.g. c11e47000000a1b2), got \"%s\"",
              value);
    return -1;
  }
  *conn = 0;
  for (int i = 0; i < 8; i++) {
    *conn = *conn << 8 | bytes[i];
  }
  if (*conn == 0) {
    cli_error("--conn", "0000000000000000 is no connection");
    return -1;
  }
  return 0;
}

/* Parses "K[,K..]": every name a known kind, none empty. */
static int cli_kinds(const char *value, uint32_t *kinds) {
  if (value[0] == '\0') {
    cli_error("--kind", "empty list of event kinds (e.g. packet_sent,app_end)");
    return -1;
  }
  for (const char *name = value;; name++) {
    size_t len = strcspn(name, ",");
    unsigned k;
    for (k = 1; k < PT_EV_KIND_LIMIT; k++) {
      const char *known = pt_event_kind_name(k);
      if (len > 0 && strlen(known) == len && strncmp(name, known, len) == 0) {
        break;
      }
    }
    if (len == 0) {
      cli_error("--kind", "empty event kind in \"%s\"", value);
      return -1;
    }
    if (k == PT_EV_KIND_LIMIT) {
      cli_error("--kind", "unknown event kind \"%.*s\"", (int)len, name);
      return -1;
    }
    *kinds |= 1u << k;
    name += len;
    if (*name == '\0') {
      return 0;
    }
  }
}

int cli_filter_option(cli_filter *f, int argc, char **argv, int *i) {
  const char *opt = argv[*i];
  const char *names[] = {"--trace", "--peer", "--since",
                         "--until", "--kind", "--conn"};
  int which = -1;
  for (int k = 0; k < 6; k++) {
    if (strcmp(opt, names[k]) == 0) {
      which = k;
    }
  }
  if (which < 0) {
    return 0;
  }
  if (*i + 1 >= argc) {
    cli_error(opt, "needs a value");
    return -1;
  }
  /* A second value would silently replace (or, for --kind, widen) the
   * first: say so instead. */
  if (f->given & (1u << which)) {
    cli_error(opt, "given twice (a filter takes one value; --kind takes a "
                   "list: K,K..)");
    return -1;
  }
  f->given |= 1u << which;
  const char *value = argv[++*i];
  switch (which) {
  case 0:
    return cli_hex_prefix(opt, value, f->trace_prefix, 32) == 0 ? 1 : -1;
  case 1:
    return cli_hex_prefix(opt, value, f->peer_prefix, 64) == 0 ? 1 : -1;
  case 2:
    f->since = value;
    return 1;
  case 3:
    f->until = value;
    return 1;
  case 5:
    return cli_conn_value(value, &f->conn) == 0 ? 1 : -1;
  default:
    return cli_kinds(value, &f->kinds) == 0 ? 1 : -1;
  }
}

/* Parses a TIME (see cli_filter_help) into Unix microseconds. */
static int cli_time(const char *option, const char *text, uint64_t base_us,
                    uint64_t *out) {
  char *end;
  errno = 0;
  if (text[0] == '+') {
    double v = strtod(text + 1, &end);
    double scale = 0;
    if (strcmp(end, "us") == 0) {
      scale = 1;
    } else if (strcmp(end, "ms") == 0) {
      scale = 1e3;
    } else if (strcmp(end, "s") == 0) {
      scale = 1e6;
    }
    if (end == text + 1 || scale == 0 || errno != 0 || !(v >= 0) ||
        v * scale > 1e15) {
      cli_error(option, "bad time \"%s\" (e.g. +1.5ms, +20us, +2s)", text);
      return -1;
    }
    *out = base_us + (uint64_t)(v * scale + 0.5);
    return 0;
  }
  unsigned long long v = strtoull(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || text[0] == '-') {
    cli_error(option, "bad time \"%s\" (Unix microseconds or +N[us|ms|s])",
              text);
    return -1;
  }
  *out = v;
  return 0;
}

/* n checked hex digits (cli_hex_prefix) into bytes, zero-padded; returns
 * n. */
static unsigned cli_hex_nibbles(const char *hex, uint8_t *out, size_t size) {
  memset(out, 0, size);
  char even[65];
  size_t n = strnlen(hex, 2 * size);
  snprintf(even, sizeof even, "%.*s%s", (int)n, hex, n % 2 ? "0" : "");
  if (pt__hex_decode(even, out, (n + 1) / 2, 1) != 0) {
    memset(out, 0, size);
    return 0;
  }
  return (unsigned)n;
}

/* The library's form of the filter (f->lib), from the options. */
static void cli_filter_build(cli_filter *f) {
  pt_pipeline_filter *lib = &f->lib;
  pt_pipeline_filter_init(lib);
  lib->trace_nibbles =
      cli_hex_nibbles(f->trace_prefix, lib->trace.bytes, sizeof lib->trace);
  lib->peer_nibbles = cli_hex_nibbles(f->peer_prefix, lib->peer, 32);
  lib->kinds = f->kinds;
  lib->since_us = f->since_us;
  lib->until_us = f->until_us;
  lib->conn = f->conn;
}

int cli_filter_resolve(cli_filter *f, const cli_inputs *in) {
  f->base_us = in->first_us;
  if (f->since != NULL &&
      cli_time("--since", f->since, in->first_us, &f->since_us) != 0) {
    return -1;
  }
  if (f->until != NULL &&
      cli_time("--until", f->until, in->first_us, &f->until_us) != 0) {
    return -1;
  }
  if (f->since != NULL && f->until != NULL && f->since_us >= f->until_us) {
    cli_error("--since",
              "%s (%llu) is not before --until %s (%llu): no "
              "event can match",
              f->since, (unsigned long long)f->since_us, f->until,
              (unsigned long long)f->until_us);
    return -1;
  }
  cli_filter_build(f);
  return 0;
}

/* Whether ev's trace id starts with the filter's --trace prefix. */
static int cli_trace_matches(const cli_filter *f, const pt_event *ev) {
  pt_pipeline_filter only;
  pt_pipeline_filter_init(&only);
  only.trace = f->lib.trace;
  only.trace_nibbles = f->lib.trace_nibbles;
  return pt_pipeline_filter_match(&only, ev);
}

#define CLI_CANDIDATES 8 /* ambiguous --trace: the ids listed */

int cli_filter_resolve_trace(cli_filter *f, cli_inputs *in) {
  if (f->trace_prefix[0] == '\0') {
    return 0;
  }
  /* One pass over every event (the other filters aside, as git resolves a
   * short hash over every object): the distinct trace ids that match. */
  cli_map seen;
  if (cli_map_init(&seen, 1) != 0) {
    cli_error("--trace", "out of memory");
    return CLI_EXIT_ERROR;
  }
  pt_trace_id candidates[CLI_CANDIDATES];
  uint64_t first_us = 0; /* of the first candidate: events come in order */
  pt_event ev;
  unsigned input;
  int more, created;
  while ((more = cli_inputs_next(in, &ev, &input)) == 1) {
    if (!cli_trace_matches(f, &ev)) {
      continue;
    }
    if (cli_map_get(&seen, &ev.trace_id, 0, 1, &created) == NULL) {
      cli_error("--trace", "out of memory");
      more = -1;
      break;
    }
    if (created && seen.count <= CLI_CANDIDATES) {
      candidates[seen.count - 1] = ev.trace_id;
      first_us = seen.count == 1 ? ev.timestamp_us : first_us;
    }
  }
  size_t count = seen.count;
  cli_map_free(&seen);
  if (more < 0 || cli_inputs_rewind(in) != 0) {
    return CLI_EXIT_ERROR;
  }
  if (count == 0) {
    cli_error("--trace", "no trace id starts with '%s' in the inputs",
              f->trace_prefix);
    return CLI_EXIT_ERROR;
  }
  if (count > 1) {
    fprintf(stderr,
            "peertrace: --trace: trace id prefix '%s' is ambiguous; "
            "candidates:",
            f->trace_prefix);
    for (size_t c = 0; c < count && c < CLI_CANDIDATES; c++) {
      char hex[33];
      pt_trace_id_to_hex(&candidates[c], hex, sizeof hex);
      fprintf(stderr, "%s %s", c ? "," : "", hex);
    }
    if (count > CLI_CANDIDATES) {
      fprintf(stderr, " and %zu more", count - CLI_CANDIDATES);
    }
    fprintf(stderr, "\n");
    return CLI_EXIT_USAGE;
  }
  /* The whole id from now on: the prefix named exactly one trace, and
   * relative times count from its first event. */
  pt_trace_id_to_hex(&candidates[0], f->trace_prefix, sizeof f->trace_prefix);
  f->base_us = first_us;
  f->base_is_trace_start = 1;
  cli_filter_build(f);
  return 0;
}

int cli_filter_match(cli_filter *f, const pt_event *ev) {
  if (f->trace_prefix[0] != '\0' && !f->base_is_trace_start &&
      cli_trace_matches(f, ev)) {
    f->base_us = ev->timestamp_us; /* the trace starts here */
    f->base_is_trace_start = 1;
  }
  return pt_pipeline_filter_match(&f->lib, ev);
}

/* ---- Map ---------------------------------------------------------------- */

#define CLI_KEY 20u

int cli_map_init(cli_map *m, size_t value_size) {
  memset(m, 0, sizeof *m);
  m->value_size = value_size;
  m->cap = 1024;
  m->keys = malloc(m->cap * CLI_KEY);
  m->values = calloc(m->cap, value_size);
  if (m->keys == NULL || m->values == NULL) {
    cli_map_free(m);
    return -1;
  }
  memset(m->keys, 0xff, m->cap * CLI_KEY);
  return 0;
}

static size_t cli_map_hash(const uint8_t *key) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < CLI_KEY; i++) {
    h = (h ^ key[i]) * 0x100000001b3ull;
  }
  return (size_t)(h ^ (h >> 29));
}

static int cli_map_empty(const uint8_t *slot) {
  static const uint8_t empty[CLI_KEY] = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  return memcmp(slot, empty, CLI_KEY) == 0;
}

/* The slot of key, or of the empty place where it would go. */
static size_t cli_map_slot(const cli_map *m, const uint8_t *key) {
  size_t i = cli_map_hash(key) & (m->cap - 1);
  while (!cli_map_empty(m->keys + i * CLI_KEY) &&
         memcmp(m->keys + i * CLI_KEY, key, CLI_KEY) != 0) {
    i = (i + 1) & (m->cap - 1);
  }
  return i;
}

static int cli_map_grow(cli_map *m) {
  cli_map bigger = *m;
  bigger.cap = m->cap * 2;
  bigger.keys = malloc(bigger.cap * CLI_KEY);
  bigger.values = calloc(bigger.cap, m->value_size);
  if (bigger.keys == NULL || bigger.values == NULL) {
    free(bigger.keys);
    free(bigger.values);
    return -1;
  }
  memset(bigger.keys, 0xff, bigger.cap * CLI_KEY);
  for (size_t i = 0; i < m->cap; i++) {
    const uint8_t *key = m->keys + i * CLI_KEY;
    if (!cli_map_empty(key)) {
      size_t j = cli_map_slot(&bigger, key);
      memcpy(bigger.keys + j * CLI_KEY, key, CLI_KEY);
      memcpy((char *)bigger.values + j * m->value_size,
             (const char *)m->values + i * m->value_size, m->value_size);
    }
  }
  free(m->keys);
  free(m->values);
  *m = bigger;
  return 0;
}

void *cli_map_get(cli_map *m, const pt_trace_id *trace, uint32_t node,
                  int create, int *created) {
  uint8_t key[CLI_KEY];
  memcpy(key, trace->bytes, 16);
  memcpy(key + 16, &node, 4);
  if (created != NULL) {
    *created = 0;
  }
  size_t i = cli_map_slot(m, key);
  if (!cli_map_empty(m->keys + i * CLI_KEY)) {
    return (char *)m->values + i * m->value_size;
  }
  if (!create || cli_map_empty(key)) {
    return NULL;
  }
  if ((m->count + 1) * 4 > m->cap * 3) { /* keep the load under 3/4 */
    if (cli_map_grow(m) != 0) {
      return NULL;
    }
    i = cli_map_slot(m, key);
  }
  memcpy(m->keys + i * CLI_KEY, key, CLI_KEY);
  m->count++;
  if (created != NULL) {
    *created = 1;
  }
  return (char *)m->values + i * m->value_size;
}

void cli_map_free(cli_map *m) {
  free(m->keys);
  free(m->values);
  memset(m, 0, sizeof *m);
}

/* ---- Output ------------------------------------------------------------- */

void cli_style_init(cli_style *s) {
  const char *no_colour = getenv("NO_COLOR");
  s->colour = isatty(STDOUT_FILENO) && (no_colour == NULL || !no_colour[0]);
}

int cli_style_option(cli_style *s, const char *arg) {
  if (strcmp(arg, "--color=always") == 0) {
    s->colour = 1;
  } else if (strcmp(arg, "--color=never") == 0) {
    s->colour = 0;
  } else if (strcmp(arg, "--color=auto") == 0) {
    cli_style_init(s);
  } else {
    return 0;
  }
  return 1;
}

const char *cli_colour(const cli_style *s, const char *code) {
  static char buf[4][16];
  static int next;
  if (!s->colour) {
    return "";
  }
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0], "\033[%sm", code);
  return b;
}

void cli_short_hex(char out[9], const uint8_t *bytes) {
  pt__hex_encode(out, bytes, 4);
}

void cli_rel_time(char *out, size_t size, uint64_t t_us, uint64_t base_us) {
  if (t_us >= base_us) {
    uint64_t d = t_us - base_us;
    snprintf(out, size, "+%llu.%03llums", (unsigned long long)(d / 1000),
             (unsigned long long)(d % 1000));
  } else {
    uint64_t d = base_us - t_us;
    snprintf(out, size, "-%llu.%03llums", (unsigned long long)(d / 1000),
             (unsigned long long)(d % 1000));
  }
}

int cli_app_name(const pt_event *ev, char *out, size_t size) {
  const uint8_t *app_id = NULL;
  uint16_t cmd = 0;
  if (ev->kind == PT_EV_APP_COMMAND || ev->kind == PT_EV_APP_START) {
    app_id = ev->data.app_command.app_id; /* same layout in both */
    cmd = ev->data.app_command.cmd;
  } else if (ev->kind == PT_EV_APP_END) {
    app_id = ev->data.app_end.app_id;
    cmd = ev->data.app_end.cmd;
  }
  if (app_id != NULL && cli_app_namer != NULL &&
      cli_app_namer(app_id, cmd, out, size, cli_app_namer_user) == 1) {
    out[size - 1] = '\0';
    return 1;
  }
  return 0;
}

void cli_event_details(const pt_event *ev, char *out, size_t size) {
  char text[512];
  pt_event_format(ev, text, sizeof text);
  const char *space = strchr(text, ' ');
  snprintf(out, size, "%s", space != NULL ? space + 1 : "");
  /* Opaque byte fields are zero-padded: drop the padding ("00" pairs). */
  char *data = strstr(out, " data=");
  data = data != NULL ? data + 1 : (strncmp(out, "data=", 5) == 0 ? out : NULL);
  if (data != NULL) {
    char *end = data + 5 + strcspn(data + 5, " ");
    char *cut = end;
    while (cut - 2 >= data + 5 && cut[-1] == '0' && cut[-2] == '0') {
      cut -= 2;
    }
    memmove(cut, end, strlen(end) + 1);
  }
}

void cli_print_event_header(const cli_style *s) {
  printf("%s%-14s %-8s  %-8s  %-8s  %-16s %s%s\n", cli_colour(s, CLI_DIM),
         "TIME", "NODE", "TRACE", "PEER", "EVENT", "DETAILS",
         cli_colour(s, CLI_RESET));
}

static const char *cli_kind_colour(unsigned kind) {
  switch (kind) {
  case PT_EV_PACKET_LOST:
    return CLI_RED;
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED:
    return CLI_BLUE;
  case PT_EV_APP_COMMAND:
  case PT_EV_APP_START:
  case PT_EV_APP_END:
    return CLI_YELLOW;
  case PT_EV_CONN_INIT:
  case PT_EV_CONN_ESTABLISHED:
    return CLI_GREEN;
  default:
    return CLI_CYAN;
  }
}

void cli_print_event(const cli_style *s, const pt_event *ev,
                     const uint8_t node_id[32], uint64_t base_us,
                     const char *marker) {
  char when[32], node[9], trace[9], peer[9] = "-", details[512];
  cli_rel_time(when, sizeof when, ev->timestamp_us, base_us);
  cli_short_hex(node, node_id);
  if (pt_trace_id_is_zero(&ev->trace_id)) {
    snprintf(trace, sizeof trace, "-");
  } else {
    cli_short_hex(trace, ev->trace_id.bytes);
  }
  if (ev->flags & PT_EVENT_HAS_PEER) {
    cli_short_hex(peer, ev->peer_id);
  }
  /* App events: the command's name (STORE_CHUNK) leads the details. */
  char name[64] = "";
  if (cli_app_name(ev, name, sizeof name - 1)) {
    strcat(name, " ");
  }
  cli_event_details(ev, details, sizeof details);
  printf("%-14s %s%-8s%s  %-8s  %-8s  %s%-16s%s %s%s%s%s%s\n", when,
         cli_colour(s, CLI_DIM), node, cli_colour(s, CLI_RESET), trace, peer,
         cli_colour(s, cli_kind_colour(ev->kind)), pt_event_kind_name(ev->kind),
         cli_colour(s, CLI_RESET), cli_colour(s, CLI_YELLOW), name,
         cli_colour(s, CLI_RESET), details, marker);
}
