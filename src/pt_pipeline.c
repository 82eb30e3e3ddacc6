/*
 * pt_pipeline: sources (dumps, log snapshots) merged by time on one clock,
 * filtered, handed on one event at a time.  See pt_pipeline.h.
 *
 * Each source yields its events in its own (time, ticket) order: a dump is
 * sorted when saved and validated when opened, a snapshot is sorted when
 * taken.  pt_align_time is monotone in the raw time, so each source's events
 * stay in order on the timeline, and a heap of the sources' next events
 * (keyed by timeline time, then source index) merges them in
 * O(log sources) per event without buffering any.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/pt_pipeline.h>

#include "pt_grow.h"
#include "pt_ring_read.h"

#define PT__PIPE_MAX_SOURCES 65536u

typedef struct pt__pipe_source {
  char *name;
  pt_dump_reader *reader;      /* a dump, or */
  pt__ring_snapshot *snapshot; /* a log's snapshot */
  const pt_dump_info *info;    /* the reader's or the snapshot's */
  pt_event next;               /* its next event, raw time, if has_next */
  uint64_t next_us;            /* next's time on the timeline */
  int has_next;
  unsigned clock;  /* its node in the pt_align: sources of one node id
                      (two dumps of one node) share one clock */
  unsigned owner;  /* the first source of that node id */
  uint64_t fed_us; /* of an owner: the newest event given to the pt_align */
} pt__pipe_source;

struct pt_pipeline {
  pt__pipe_source *sources;
  unsigned count;
  size_t cap; /* of sources (pt__grow) */
  unsigned reference;
  int raw_time;
  double max_drift_ppm; /* 0: pt_align's default */
  int started;
  pt_align *align; /* NULL: times as recorded (raw, one source) */
  pt_pipeline_filter filter;
  unsigned *heap; /* source indices with has_next, a min-heap */
  unsigned heap_size;
  char message[320];
  unsigned error_source;
};

void pt_pipeline_filter_init(pt_pipeline_filter *f) {
  if (f != NULL) {
    memset(f, 0, sizeof *f);
    f->until_us = UINT64_MAX;
  }
}

/* Records the failure rc of source (UINT_MAX: none) for pt_pipeline_message;
 * returns rc.  Keeps errno: a failed write's reason stays for the caller. */
static int pt__pipe_fail(pt_pipeline *p, unsigned source, int rc,
                         const char *detail) {
  int saved = errno;
  const char *name = source < p->count ? p->sources[source].name : NULL;
  const char *what = pt_strerror(rc);
  int has_detail = detail != NULL && detail[0] != '\0';
  snprintf(p->message, sizeof p->message, "%s%s%s%s%s", name ? name : "",
           name ? ": " : "", what, has_detail ? ": " : "",
           has_detail ? detail : "");
  p->error_source = source;
  errno = saved;
  return rc;
}

int pt_pipeline_new(pt_pipeline **out) {
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = calloc(1, sizeof **out);
  if (*out == NULL) {
    return PT_ERR_NOMEM;
  }
  pt_pipeline_filter_init(&(*out)->filter);
  (*out)->error_source = UINT_MAX;
  return PT_OK;
}

void pt_pipeline_free(pt_pipeline *p) {
  if (p == NULL) {
    return;
  }
  for (unsigned i = 0; i < p->count; i++) {
    pt_dump_reader_close(p->sources[i].reader);
    pt__ring_snapshot_free(p->sources[i].snapshot);
    free(p->sources[i].name);
  }
  free(p->sources);
  free(p->heap);
  pt_align_free(p->align);
  free(p);
}

/* ---- Sources ------------------------------------------------------------ */

/*
 * Appends a source holding reader or snapshot (taken over: freed on
 * failure too), named name or "source N".
 */
static int pt__pipe_add(pt_pipeline *p, pt_dump_reader *reader,
                        pt__ring_snapshot *snapshot, const char *name,
                        unsigned *index) {
  int rc = PT_ERR_STATE;
  const char *why = "already started";
  if (p->started) {
    goto fail;
  }
  rc = PT_ERR_INVALID;
  why = "more than 65536 sources";
  if (p->count >= PT__PIPE_MAX_SOURCES) {
    goto fail;
  }
  rc = PT_ERR_NOMEM;
  why = "";
  /* Room for one more; p->count grows only once the source is complete. */
  size_t n = p->count;
  pt__pipe_source *s =
      pt__grow((void **)&p->sources, &n, &p->cap, sizeof *s, 1);
  if (s == NULL) {
    goto fail;
  }
  char fallback[32];
  if (name == NULL) {
    snprintf(fallback, sizeof fallback, "source %u", p->count);
    name = fallback;
  }
  memset(s, 0, sizeof *s);
  s->name = strdup(name);
  if (s->name == NULL) {
    goto fail;
  }
  s->reader = reader;
  s->snapshot = snapshot;
  s->info = reader != NULL ? pt_dump_reader_info(reader)
                           : pt__ring_snapshot_info(snapshot);
  if (index != NULL) {
    *index = p->count;
  }
  p->count++;
  return PT_OK;
fail:
  pt_dump_reader_close(reader);
  pt__ring_snapshot_free(snapshot);
  return pt__pipe_fail(p, UINT_MAX, rc, why);
}

int pt_pipeline_add_dump(pt_pipeline *p, const char *path, unsigned *index) {
  if (p == NULL || path == NULL) {
    return PT_ERR_INVALID;
  }
  pt_dump_reader *reader;
  pt_dump_error err;
  int rc = pt_dump_reader_open(&reader, path, &err);
  if (rc != PT_OK) {
    snprintf(p->message, sizeof p->message, "%s: %s: %s", path, pt_strerror(rc),
             err.message);
    p->error_source = UINT_MAX;
    return rc;
  }
  return pt__pipe_add(p, reader, NULL, path, index);
}

int pt_pipeline_add_dump_reader(pt_pipeline *p, pt_dump_reader *reader,
                                const char *name, unsigned *index) {
  if (p == NULL || reader == NULL) {
    pt_dump_reader_close(reader);
    return PT_ERR_INVALID;
  }
  return pt__pipe_add(p, reader, NULL, name, index);
}

int pt_pipeline_add_log(pt_pipeline *p, const pt_log *log, const char *name,
                        unsigned *index) {
  if (p == NULL || log == NULL) {
    return PT_ERR_INVALID;
  }
  if (p->started) {
    return pt__pipe_fail(p, UINT_MAX, PT_ERR_STATE, "already started");
  }
  pt__ring_snapshot *snapshot;
  int rc = pt__ring_snapshot_take(log, &snapshot);
  if (rc != PT_OK) {
    snprintf(p->message, sizeof p->message, "%s: snapshot: %s",
             name != NULL ? name : "log", pt_strerror(rc));
    p->error_source = UINT_MAX;
    return rc;
  }
  return pt__pipe_add(p, NULL, snapshot, name, index);
}

int pt_pipeline_add_log_file(pt_pipeline *p, const char *path,
                             unsigned *index) {
  if (p == NULL || path == NULL) {
    return PT_ERR_INVALID;
  }
  const pt_log *view;
  int rc = pt_log_open(&view, path);
  if (rc != PT_OK) {
    snprintf(p->message, sizeof p->message, "%s: %s", path, pt_strerror(rc));
    p->error_source = UINT_MAX;
    return rc;
  }
  pt__ring_snapshot *snapshot;
  rc = pt__ring_snapshot_take(view, &snapshot);
  /* Truncated or rewritten while read: the snapshot is not the log. */
  int changed = rc == PT_OK ? pt_log_check(view, NULL) : PT_OK;
  pt_log_close(view);
  if (rc == PT_OK && changed != PT_OK) {
    pt__ring_snapshot_free(snapshot);
    rc = changed;
  }
  if (rc != PT_OK) {
    snprintf(p->message, sizeof p->message, "%s: %s", path, pt_strerror(rc));
    p->error_source = UINT_MAX;
    return rc;
  }
  return pt__pipe_add(p, NULL, snapshot, path, index);
}

unsigned pt_pipeline_source_count(const pt_pipeline *p) {
  return p == NULL ? 0 : p->count;
}

const char *pt_pipeline_source_name(const pt_pipeline *p, unsigned index) {
  return p == NULL || index >= p->count ? NULL : p->sources[index].name;
}

const pt_dump_info *pt_pipeline_source_info(const pt_pipeline *p,
                                            unsigned index) {
  return p == NULL || index >= p->count ? NULL : p->sources[index].info;
}

/* ---- Options ------------------------------------------------------------ */

int pt_pipeline_set_reference(pt_pipeline *p, unsigned index) {
  if (p == NULL) {
    return PT_ERR_INVALID;
  }
  if (p->started) {
    return PT_ERR_STATE;
  }
  if (index >= p->count) {
    return PT_ERR_INVALID;
  }
  p->reference = index;
  return PT_OK;
}

int pt_pipeline_set_raw_time(pt_pipeline *p, int raw) {
  if (p == NULL) {
    return PT_ERR_INVALID;
  }
  if (p->started) {
    return PT_ERR_STATE;
  }
  p->raw_time = raw != 0;
  return PT_OK;
}

int pt_pipeline_set_max_drift(pt_pipeline *p, double ppm) {
  if (p == NULL || !(ppm > 0) || !(ppm <= 10000)) {
    return PT_ERR_INVALID;
  }
  if (p->started) {
    return PT_ERR_STATE;
  }
  p->max_drift_ppm = ppm;
  return PT_OK;
}

int pt_pipeline_set_filter(pt_pipeline *p, const pt_pipeline_filter *f) {
  if (p == NULL) {
    return PT_ERR_INVALID;
  }
  if (f == NULL) {
    pt_pipeline_filter_init(&p->filter);
    return PT_OK;
  }
  if (f->since_us >= f->until_us || f->trace_nibbles > 32 ||
      f->peer_nibbles > 64 ||
      (f->trace_conn_count > 0 && f->trace_conns == NULL)) {
    return pt__pipe_fail(p, UINT_MAX, PT_ERR_INVALID,
                         "a filter that no event can pass");
  }
  p->filter = *f;
  return PT_OK;
}

/* ---- Reading the sources ------------------------------------------------ */

/* Reads source i's next event (raw).  1, 0 at its end, or an error. */
static int pt__pipe_read(pt_pipeline *p, unsigned i, pt_event *ev) {
  pt__pipe_source *s = &p->sources[i];
  if (s->snapshot != NULL) {
    return pt__ring_snapshot_next(s->snapshot, ev, NULL);
  }
  pt_dump_error err;
  int rc = pt_dump_reader_next(s->reader, ev, NULL, &err);
  return rc < 0 ? pt__pipe_fail(p, i, rc, err.message) : rc;
}

static int pt__pipe_source_rewind(pt_pipeline *p, unsigned i) {
  pt__pipe_source *s = &p->sources[i];
  if (s->snapshot != NULL) {
    pt__ring_snapshot_rewind(s->snapshot);
    return PT_OK;
  }
  int rc = pt_dump_reader_rewind(s->reader);
  return rc == PT_OK ? rc : pt__pipe_fail(p, i, rc, "cannot rewind");
}

/* A raw time of node i on the timeline. */
static uint64_t pt__pipe_time(const pt_pipeline *p, unsigned i,
                              uint64_t raw_us) {
  return p->align != NULL ? pt_align_time(p->align, p->sources[i].clock, raw_us)
                          : raw_us;
}

/* ---- The heap of the sources' next events -------------------------------- */

static int pt__pipe_before(const pt_pipeline *p, unsigned a, unsigned b) {
  uint64_t ta = p->sources[a].next_us, tb = p->sources[b].next_us;
  return ta != tb ? ta < tb : a < b;
}

static void pt__heap_down(pt_pipeline *p, unsigned at) {
  unsigned *h = p->heap;
  for (;;) {
    unsigned l = 2 * at + 1, r = l + 1, best = at;
    if (l < p->heap_size && pt__pipe_before(p, h[l], h[best])) {
      best = l;
    }
    if (r < p->heap_size && pt__pipe_before(p, h[r], h[best])) {
      best = r;
    }
    if (best == at) {
      return;
    }
    unsigned t = h[at];
    h[at] = h[best];
    h[best] = t;
    at = best;
  }
}

/* Reads source i's next event into its slot.  PT_OK or an error. */
static int pt__pipe_advance(pt_pipeline *p, unsigned i) {
  pt__pipe_source *s = &p->sources[i];
  int rc = pt__pipe_read(p, i, &s->next);
  if (rc < 0) {
    return rc;
  }
  s->has_next = rc;
  if (rc == 1) {
    s->next_us = pt__pipe_time(p, i, s->next.timestamp_us);
  }
  return PT_OK;
}

int pt_pipeline_rewind(pt_pipeline *p) {
  if (p == NULL) {
    return PT_ERR_INVALID;
  }
  if (!p->started) {
    return PT_ERR_STATE;
  }
  p->heap_size = 0;
  for (unsigned i = 0; i < p->count; i++) {
    int rc = pt__pipe_source_rewind(p, i);
    if (rc == PT_OK) {
      rc = pt__pipe_advance(p, i);
    }
    if (rc != PT_OK) {
      return rc;
    }
    if (p->sources[i].has_next) {
      p->heap[p->heap_size++] = i;
    }
  }
  for (unsigned k = p->heap_size / 2; k-- > 0;) {
    pt__heap_down(p, k);
  }
  return PT_OK;
}

/* ---- Alignment ---------------------------------------------------------- */

/* One pass over every source's events into a pt_align, then solve. */
static int pt__pipe_align(pt_pipeline *p) {
  int rc = pt_align_new(&p->align);
  if (rc == PT_OK && p->max_drift_ppm > 0) {
    rc = pt_align_set_max_drift(p->align, p->max_drift_ppm);
  }
  for (unsigned i = 0; rc == PT_OK && i < p->count; i++) {
    pt__pipe_source *s = &p->sources[i];
    unsigned same = 0;
    while (same < i &&
           memcmp(p->sources[same].info->node_id, s->info->node_id, 32) != 0) {
      same++;
    }
    s->owner = same;
    if (same < i) {
      s->clock = p->sources[same].clock; /* the same node: the same clock */
    } else {
      rc = pt_align_add_node(p->align, s->info->node_id, &s->clock);
    }
  }
  for (unsigned i = 0; rc == PT_OK && i < p->count; i++) {
    pt__pipe_source *owner = &p->sources[p->sources[i].owner];
    pt_event ev;
    int more = 0;
    while (rc == PT_OK && (more = pt__pipe_read(p, i, &ev)) == 1) {
      /* A node's packets once: a second dump of it repeats the ones both
       * hold (the aligner would see each packet twice), so only its newer
       * events are given. */
      if (owner == &p->sources[i] || ev.timestamp_us > owner->fed_us) {
        rc = pt_align_add_event(p->align, owner->clock, &ev);
        owner->fed_us = ev.timestamp_us;
      }
    }
    if (more < 0) {
      return more; /* pt__pipe_read said which source */
    }
    if (rc == PT_OK) {
      rc = pt__pipe_source_rewind(p, i);
    }
  }
  if (rc == PT_OK) {
    rc = pt_align_solve(p->align, p->sources[p->reference].clock);
  }
  return rc == PT_OK ? rc : pt__pipe_fail(p, UINT_MAX, rc, "clock alignment");
}

int pt_pipeline_start(pt_pipeline *p) {
  if (p == NULL) {
    return PT_ERR_INVALID;
  }
  if (p->started || p->count == 0) {
    return pt__pipe_fail(p, UINT_MAX, PT_ERR_STATE,
                         p->started ? "already started" : "no source");
  }
  p->heap = malloc(p->count * sizeof *p->heap);
  if (p->heap == NULL) {
    return pt__pipe_fail(p, UINT_MAX, PT_ERR_NOMEM, "");
  }
  if (!p->raw_time && p->count > 1) {
    int rc = pt__pipe_align(p);
    if (rc != PT_OK) {
      pt_align_free(p->align);
      p->align = NULL;
      free(p->heap);
      p->heap = NULL;
      return rc;
    }
  }
  p->started = 1;
  return pt_pipeline_rewind(p);
}

int pt_pipeline_clock(const pt_pipeline *p, unsigned index,
                      pt_clock_estimate *out) {
  if (p == NULL || out == NULL || index >= p->count) {
    return PT_ERR_INVALID;
  }
  if (!p->started) {
    return PT_ERR_STATE;
  }
  if (p->align != NULL) {
    return pt_align_estimate(p->align, p->sources[index].clock, out);
  }
  memset(out, 0, sizeof *out);
  out->via = index;
  /* Raw time: nothing estimated; one source: its clock is the timeline's. */
  out->status = p->raw_time ? PT_CLOCK_UNSOLVED : PT_CLOCK_REFERENCE;
  const pt_dump_info *info = p->sources[index].info;
  if (!p->raw_time && info->last_us >= info->first_us) {
    /* Its t0 as a pt_align gives the reference: the middle of its span. */
    out->t0_us = info->first_us + (info->last_us - info->first_us) / 2;
  }
  return PT_OK;
}

unsigned pt_pipeline_reference(const pt_pipeline *p) {
  return p == NULL ? 0 : p->reference;
}

const pt_align *pt_pipeline_aligner(const pt_pipeline *p) {
  return p == NULL ? NULL : p->align;
}

int pt_pipeline_span(const pt_pipeline *p, uint64_t *first_us,
                     uint64_t *last_us) {
  if (p == NULL || first_us == NULL || last_us == NULL) {
    return PT_ERR_INVALID;
  }
  if (!p->started) {
    return PT_ERR_STATE;
  }
  *first_us = 0;
  *last_us = 0;
  int any = 0;
  for (unsigned i = 0; i < p->count; i++) {
    const pt_dump_info *info = p->sources[i].info;
    if (info->event_count == 0) {
      continue;
    }
    uint64_t first = pt__pipe_time(p, i, info->first_us);
    uint64_t last = pt__pipe_time(p, i, info->last_us);
    if (!any || first < *first_us) {
      *first_us = first;
    }
    if (!any || last > *last_us) {
      *last_us = last;
    }
    any = 1;
  }
  return PT_OK;
}

/* ---- Filtering and handing out ------------------------------------------- */

/* Whether the first n hex digits of a and b are the same. */
static int pt__nibbles_equal(const uint8_t *a, const uint8_t *b, unsigned n) {
  if (memcmp(a, b, n / 2) != 0) {
    return 0;
  }
  return n % 2 == 0 || (a[n / 2] >> 4) == (b[n / 2] >> 4);
}

/* Whether conn (not 0) is one of f->trace_conns. */
static int pt__conn_listed(const pt_pipeline_filter *f, uint64_t conn) {
  for (size_t i = 0; conn != 0 && i < f->trace_conn_count; i++) {
    if (f->trace_conns[i] == conn) {
      return 1;
    }
  }
  return 0;
}

int pt_pipeline_filter_match(const pt_pipeline_filter *f, const pt_event *ev) {
  if (f == NULL || ev == NULL) {
    return 0;
  }
  uint64_t t_us = ev->timestamp_us;
  if (t_us < f->since_us || t_us >= f->until_us) {
    return 0;
  }
  if (f->kinds != 0 && (ev->kind >= 64 || !(f->kinds & (1ull << ev->kind)))) {
    return 0;
  }
  if (f->trace_nibbles > 0 &&
      (pt_trace_id_is_zero(&ev->trace_id) ||
       !pt__nibbles_equal(ev->trace_id.bytes, f->trace.bytes,
                          f->trace_nibbles)) &&
      !pt__conn_listed(f, pt_event_conn(ev))) {
    return 0;
  }
  if (f->peer_nibbles > 0 &&
      (!(ev->flags & PT_EVENT_HAS_PEER) ||
       !pt__nibbles_equal(ev->peer_id, f->peer, f->peer_nibbles))) {
    return 0;
  }
  return f->conn == 0 || pt_event_conn(ev) == f->conn;
}

int pt_pipeline_next(pt_pipeline *p, pt_event *ev, unsigned *node,
                     uint64_t *raw_us) {
  if (p == NULL || ev == NULL || node == NULL) {
    return PT_ERR_INVALID;
  }
  if (!p->started) {
    int rc = pt_pipeline_start(p);
    if (rc != PT_OK) {
      return rc;
    }
  }
  while (p->heap_size > 0) {
    unsigned i = p->heap[0];
    pt__pipe_source *s = &p->sources[i];
    *ev = s->next;
    uint64_t raw = ev->timestamp_us;
    ev->timestamp_us = s->next_us;
    int rc = pt__pipe_advance(p, i);
    if (rc != PT_OK) {
      return rc;
    }
    if (!s->has_next) {
      p->heap[0] = p->heap[--p->heap_size];
    }
    pt__heap_down(p, 0);
    if (pt_pipeline_filter_match(&p->filter, ev)) {
      if (raw_us != NULL) {
        *raw_us = raw;
      }
      *node = i;
      return 1;
    }
  }
  return 0;
}

int pt_pipeline_run(pt_pipeline *p, pt_pipeline_fn fn, void *user) {
  if (p == NULL || fn == NULL) {
    return PT_ERR_INVALID;
  }
  int rc = p->started ? pt_pipeline_rewind(p) : pt_pipeline_start(p);
  pt_event ev;
  unsigned node;
  uint64_t raw_us;
  while (rc == PT_OK && (rc = pt_pipeline_next(p, &ev, &node, &raw_us)) == 1) {
    rc = fn(node, &ev, raw_us, user);
  }
  return rc;
}

/* ---- Exporters ---------------------------------------------------------- */

int pt_pipeline_exporter_nodes(pt_pipeline *p, pt_exporter *ex) {
  if (p == NULL || ex == NULL) {
    return PT_ERR_INVALID;
  }
  int rc = p->started ? PT_OK : pt_pipeline_start(p);
  for (unsigned i = 0; rc == PT_OK && i < p->count; i++) {
    unsigned node;
    rc = pt_exporter_add_node(ex, p->sources[i].info->node_id, &node);
    if (rc == PT_OK && node != i) {
      rc = PT_ERR_STATE; /* the exporter had nodes already */
    }
    /* Each node's times labelled as they come: aligned (with the estimate),
     * the reference, or as recorded (and why).  Raw time: no label call,
     * so the exporter says "raw" for every node. */
    pt_clock_estimate est;
    if (rc == PT_OK && !p->raw_time &&
        (rc = pt_pipeline_clock(p, i, &est)) == PT_OK) {
      if (est.status != PT_CLOCK_ALIGNED && est.status != PT_CLOCK_REFERENCE) {
        /* Left as recorded: no estimate to show (pt_align says so with an
         * infinite bound, which an exporter cannot print); the status is
         * the label. */
        est.offset_us = 0;
        est.drift_ppm = 0;
        est.bound_us = 0;
        est.min_rtt_us = 0;
      }
      rc = pt_exporter_set_clock(ex, i, &est);
    }
    if (rc != PT_OK) {
      pt__pipe_fail(p, UINT_MAX, rc, "exporter node");
    }
  }
  return rc;
}

typedef struct pt__pipe_export {
  pt_pipeline *p;
  pt_exporter *ex;
} pt__pipe_export;

static int pt__pipe_write(unsigned node, const pt_event *ev, uint64_t raw_us,
                          void *user) {
  (void)raw_us;
  pt__pipe_export *e = user;
  errno = 0; /* a failed write's errno is then its own (callers report it) */
  int rc = pt_exporter_write(e->ex, node, ev);
  return rc == PT_OK ? rc : pt__pipe_fail(e->p, UINT_MAX, rc, "export");
}

int pt_pipeline_export(pt_pipeline *p, pt_exporter *ex) {
  if (p == NULL) {
    return PT_ERR_INVALID;
  }
  pt__pipe_export e = {p, ex};
  p->message[0] = '\0'; /* what fails from here on is said anew */
  p->error_source = UINT_MAX;
  int rc = pt_pipeline_exporter_nodes(p, ex);
  if (rc == PT_OK) {
    rc = pt_pipeline_run(p, pt__pipe_write, &e);
  }
  if (rc == PT_OK) {
    errno = 0;
    rc = pt_exporter_finish(ex);
    if (rc != PT_OK) {
      pt__pipe_fail(p, UINT_MAX, rc, "export");
    }
  }
  return rc;
}

const char *pt_pipeline_message(const pt_pipeline *p, unsigned *source) {
  if (source != NULL) {
    *source = p == NULL ? UINT_MAX : p->error_source;
  }
  return p == NULL ? "" : p->message;
}
