/*
 * test_pipeline: sources of every kind (dumps, a live log, a log file)
 * merged on one timeline; alignment of a node whose clock is 2.5 s behind
 * and 50 ppm fast; filters; the order; raw times next to aligned ones;
 * errors that name their source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <peertrace/pt_pipeline.h>

#define T0 1764115200000000ull
#define REQUESTS 40
#define SKEW_US (-2500000.0) /* node B's clock: 2.5 s behind ... */
#define DRIFT_PPM 50.0       /* ... and running 50 ppm fast */
#define ONE_WAY_US 400u
#define CONN_EVEN 0x1111u
#define CONN_ODD 0x2222u

static char dir[64];
static char dump_a[96], dump_b[96], log_d[96];

static void node_id(uint8_t first, uint8_t out[32]) {
  for (int i = 0; i < 32; i++) {
    out[i] = (uint8_t)(first + i);
  }
}

static pt_log *new_log(uint8_t first, const char *file) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 1024;
  cfg.file_path = file;
  cfg.file_flags = PT_LOG_FILE_REPLACE;
  node_id(first, cfg.node_id);
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  return log;
}

static pt_trace_id trace_of(unsigned request) {
  pt_trace_id id;
  memset(&id, 0, sizeof id);
  id.bytes[0] = 0x70;
  id.bytes[15] = (uint8_t)(request + 1);
  return id;
}

/* Node B's clock at true time t. */
static uint64_t clock_b(uint64_t t) {
  double d = (double)(t - T0);
  return (uint64_t)((double)t + SKEW_US + DRIFT_PPM * 1e-6 * d);
}

static void put(pt_log *log, pt_event *ev, uint64_t at) {
  ev->timestamp_us = at;
  assert_int_equal(pt_log_write_at(log, ev), PT_OK);
}

static void packet(pt_log *log, unsigned kind, unsigned request,
                   const uint8_t peer[32], uint64_t pn, uint64_t at) {
  pt_event ev;
  pt_event_begin(&ev, trace_of(request), peer);
  if (kind == PT_EV_PACKET_SENT) {
    pt_event_set_packet_sent(&ev, pn, 1200, PT_PN_SPACE_APPLICATION);
  } else {
    pt_event_set_packet_received(&ev, pn, 1200, PT_PN_SPACE_APPLICATION);
  }
  assert_int_equal(pt_event_set_conn(&ev, request % 2 ? CONN_ODD : CONN_EVEN),
                   PT_OK);
  put(log, &ev, at);
}

static void app(pt_log *log, unsigned kind, unsigned request, uint64_t at) {
  pt_event ev;
  pt_event_begin(&ev, trace_of(request), NULL);
  if (kind == PT_EV_APP_COMMAND) {
    pt_event_set_app_command(&ev, "TEST", 1, "k", 1);
  } else if (kind == PT_EV_APP_START) {
    pt_event_set_app_start(&ev, "TEST", 1, "k", 1);
  } else {
    pt_event_set_app_end(&ev, "TEST", 1, 1, 180);
  }
  put(log, &ev, at);
}

/*
 * Node A (reference) asks node B, REQUESTS times: app_command and a packet
 * on A; B receives it (ONE_WAY_US later), starts and ends the request and
 * replies; A receives the reply.  B records on its own skewed clock.
 */
static void make_dumps(void) {
  uint8_t a_id[32], b_id[32];
  node_id(0xa0, a_id);
  node_id(0xb0, b_id);
  pt_log *a = new_log(0xa0, NULL), *b = new_log(0xb0, NULL);
  for (unsigned r = 0; r < REQUESTS; r++) {
    uint64_t t = T0 + 10000ull * r;
    app(a, PT_EV_APP_COMMAND, r, t);
    packet(a, PT_EV_PACKET_SENT, r, b_id, 2 * r, t + 10);
    packet(b, PT_EV_PACKET_RECEIVED, r, a_id, 2 * r,
           clock_b(t + 10 + ONE_WAY_US));
    app(b, PT_EV_APP_START, r, clock_b(t + 420));
    app(b, PT_EV_APP_END, r, clock_b(t + 600));
    packet(b, PT_EV_PACKET_SENT, r, a_id, 2 * r + 1, clock_b(t + 610));
    packet(a, PT_EV_PACKET_RECEIVED, r, b_id, 2 * r + 1, t + 610 + ONE_WAY_US);
  }
  assert_int_equal(pt_log_dump_save(a, dump_a), PT_OK);
  assert_int_equal(pt_log_dump_save(b, dump_b), PT_OK);
  pt_log_destroy(a);
  pt_log_destroy(b);
}

/* Node C: a live log; node D: a log file.  No packets: never aligned.  They
 * record events at the same instants, to show the order of ties. */
static pt_log *make_live_and_file(void) {
  pt_log *c = new_log(0xc0, NULL), *d = new_log(0xd0, log_d);
  for (unsigned k = 0; k < 3; k++) {
    app(c, PT_EV_APP_START, 100 + k, T0 + 5000 + k);
    app(d, PT_EV_APP_START, 200 + k, T0 + 5000 + k);
    app(d, PT_EV_APP_END, 200 + k, T0 + 5000 + k); /* same time: ticket */
  }
  pt_log_destroy(d); /* the file stays, as a crashed process's would */
  return c;
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/test_pipeline.XXXXXX");
  if (mkdtemp(dir) == NULL) {
    return -1;
  }
  snprintf(dump_a, sizeof dump_a, "%s/a.ptd", dir);
  snprintf(dump_b, sizeof dump_b, "%s/b.ptd", dir);
  snprintf(log_d, sizeof log_d, "%s/d.ptlog", dir);
  make_dumps();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd);
}

/* A pipeline of A, B (dumps), C (live), D (log file), in that order. */
static pt_pipeline *four_sources(pt_log **live, int raw) {
  pt_pipeline *p;
  assert_int_equal(pt_pipeline_new(&p), PT_OK);
  *live = make_live_and_file();
  unsigned index;
  assert_int_equal(pt_pipeline_add_dump(p, dump_a, &index), PT_OK);
  assert_int_equal(index, 0);
  assert_int_equal(pt_pipeline_add_dump(p, dump_b, &index), PT_OK);
  assert_int_equal(pt_pipeline_add_log(p, *live, "live C", &index), PT_OK);
  assert_int_equal(index, 2);
  assert_int_equal(pt_pipeline_add_log_file(p, log_d, &index), PT_OK);
  assert_int_equal(index, 3);
  assert_int_equal(pt_pipeline_set_raw_time(p, raw), PT_OK);
  return p;
}

/* A pipeline of A and B (dumps), in that order. */
static pt_pipeline *two_dumps(void) {
  pt_pipeline *p;
  assert_int_equal(pt_pipeline_new(&p), PT_OK);
  assert_int_equal(pt_pipeline_add_dump(p, dump_a, NULL), PT_OK);
  assert_int_equal(pt_pipeline_add_dump(p, dump_b, NULL), PT_OK);
  return p;
}

/*
 * Causality over the stream: receives before their send, app_starts on B
 * before the app_command on A (same trace id).  Counts the violations.
 */
static unsigned causality_violations(pt_pipeline *p) {
  int sent[2 * REQUESTS + 2] = {0}, commanded[REQUESTS] = {0};
  unsigned bad = 0;
  pt_event ev;
  unsigned node;
  int rc;
  assert_int_equal(pt_pipeline_rewind(p), PT_OK);
  while ((rc = pt_pipeline_next(p, &ev, &node, NULL)) == 1) {
    unsigned request = ev.trace_id.bytes[15] - 1u;
    if (node > 1) {
      continue;
    }
    switch (ev.kind) {
    case PT_EV_PACKET_SENT:
      sent[ev.data.packet_sent.pn] = 1;
      break;
    case PT_EV_PACKET_RECEIVED:
      bad += !sent[ev.data.packet_received.pn];
      break;
    case PT_EV_APP_COMMAND:
      commanded[request] = 1;
      break;
    case PT_EV_APP_START:
      bad += !commanded[request];
      break;
    default:
      break;
    }
  }
  assert_int_equal(rc, 0);
  return bad;
}

/*
 * The timeline of four_sources on aligned times (B's clock, about 2.5 s
 * behind, moved forward; the others as recorded) and on recorded times:
 * the same causality check fails on the latter, so it can tell.
 */
static const struct timeline_case {
  int raw;
  pt_clock_status status[4];
  unsigned violations; /* every request's packet to B and app_start on B */
} timelines[] = {
    {0,
     {PT_CLOCK_REFERENCE, PT_CLOCK_ALIGNED, PT_CLOCK_UNALIGNED,
      PT_CLOCK_UNALIGNED},
     0},
    {1,
     {PT_CLOCK_UNSOLVED, PT_CLOCK_UNSOLVED, PT_CLOCK_UNSOLVED,
      PT_CLOCK_UNSOLVED},
     2 * REQUESTS},
};

static void test_timeline_causal_when_aligned(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof timelines / sizeof timelines[0]; k++) {
    const struct timeline_case *c = &timelines[k];
    pt_log *live;
    pt_pipeline *p = four_sources(&live, c->raw);
    assert_int_equal(pt_pipeline_start(p), PT_OK);
    assert_int_equal(pt_pipeline_aligner(p) == NULL, c->raw);
    for (unsigned n = 0; n < 4; n++) {
      pt_clock_estimate est;
      assert_int_equal(pt_pipeline_clock(p, n, &est), PT_OK);
      assert_int_equal(est.status, c->status[n]);
      if (n == 1 && !c->raw) {
        /* B's clock is behind: its offset is about -2.5 s. */
        assert_true(est.offset_us < -2400000.0 && est.offset_us > -2600000.0);
      }
    }
    assert_int_equal(causality_violations(p), c->violations);

    /* Every event: the timeline's time and the recorded one. */
    assert_int_equal(pt_pipeline_rewind(p), PT_OK);
    pt_event ev;
    unsigned node, counts[4] = {0};
    uint64_t raw, last = 0;
    int rc;
    while ((rc = pt_pipeline_next(p, &ev, &node, &raw)) == 1) {
      assert_true(ev.timestamp_us >= last);
      last = ev.timestamp_us;
      counts[node]++;
      if (node == 1 && !c->raw) {
        /* Moved forward by about 2.5 s (B was behind). */
        assert_true(ev.timestamp_us > raw + 2400000u &&
                    ev.timestamp_us < raw + 2600000u);
      } else {
        assert_int_equal(ev.timestamp_us, raw); /* reference, unaligned */
      }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(counts[0], 3 * REQUESTS);
    assert_int_equal(counts[1], 4 * REQUESTS);
    assert_int_equal(counts[2], 3);
    assert_int_equal(counts[3], 6);
    pt_pipeline_free(p);
    pt_log_destroy(live);
  }
}

/* Ties: source index first, then the source's write order. */
static void test_order_of_ties(void **state) {
  (void)state;
  pt_log *live;
  pt_pipeline *p = four_sources(&live, 0);
  pt_pipeline_filter f;
  pt_pipeline_filter_init(&f);
  f.since_us = T0 + 5000;
  f.until_us = T0 + 5003;
  f.kinds = (1ull << PT_EV_APP_START) | (1ull << PT_EV_APP_END);
  assert_int_equal(pt_pipeline_set_filter(p, &f), PT_OK);
  static const unsigned want_node[9] = {2, 3, 3, 2, 3, 3, 2, 3, 3};
  static const unsigned want_kind[3] = {PT_EV_APP_START, PT_EV_APP_START,
                                        PT_EV_APP_END};
  pt_event ev;
  unsigned node, n = 0;
  while (pt_pipeline_next(p, &ev, &node, NULL) == 1) {
    assert_true(n < 9);
    assert_int_equal(node, want_node[n]);
    assert_int_equal(ev.kind, want_kind[n % 3]);
    assert_int_equal(ev.timestamp_us, T0 + 5000 + n / 3);
    n++;
  }
  assert_int_equal(n, 9);
  pt_pipeline_free(p);
  pt_log_destroy(live);
}

static unsigned count_matches(pt_pipeline *p, const pt_pipeline_filter *f) {
  assert_int_equal(pt_pipeline_set_filter(p, f), PT_OK);
  assert_int_equal(pt_pipeline_rewind(p), PT_OK);
  pt_event ev;
  unsigned node, n = 0;
  while (pt_pipeline_next(p, &ev, &node, NULL) == 1) {
    n++;
  }
  return n;
}

static void test_filters(void **state) {
  (void)state;
  pt_log *live;
  pt_pipeline *p = four_sources(&live, 0);
  assert_int_equal(pt_pipeline_start(p), PT_OK);
  pt_pipeline_filter f;
  pt_pipeline_filter_init(&f);
  unsigned all = 7 * REQUESTS + 9;
  assert_int_equal(count_matches(p, &f), all);
  /* One trace: a request's 7 events on both nodes. */
  f.trace = trace_of(3);
  f.trace_nibbles = 32;
  assert_int_equal(count_matches(p, &f), 7);
  /* A trace prefix ("70"): every trace id here starts with it. */
  f.trace_nibbles = 2;
  assert_int_equal(count_matches(p, &f), all);
  f.trace_nibbles = 0;
  /* A trace and the events of a connection, whatever their trace (here
   * the odd requests' packets: 2 per request on each side). */
  const uint64_t odd[1] = {CONN_ODD};
  f.trace_nibbles = 32;
  f.trace_conns = odd;
  f.trace_conn_count = 1;
  assert_int_equal(count_matches(p, &f), 7 + 4 * (REQUESTS / 2) - 4);
  f.trace_conns = NULL;
  assert_int_equal(pt_pipeline_set_filter(p, &f), PT_ERR_INVALID);
  f.trace_conn_count = 0;
  f.trace_nibbles = 0;
  /* Kinds. */
  f.kinds = 1ull << PT_EV_PACKET_RECEIVED;
  assert_int_equal(count_matches(p, &f), 2 * REQUESTS);
  /* A peer prefix of 3 hex digits: b0b -> packets A recorded toward B. */
  f.kinds = 0;
  node_id(0xb0, f.peer);
  f.peer_nibbles = 3;
  assert_int_equal(count_matches(p, &f), 2 * REQUESTS);
  f.peer[1] ^= 0x10; /* b0a...: the third digit differs */
  assert_int_equal(count_matches(p, &f), 0);
  f.peer_nibbles = 0;
  /* A connection: the odd requests' packets. */
  f.conn = CONN_ODD;
  assert_int_equal(count_matches(p, &f), 2 * REQUESTS);
  f.conn = 0;
  /* A time range, on the aligned timeline: the first request's events
   * (its 7 within [T0, T0 + 1100)) and C's and D's at T0 + 5000.. */
  f.since_us = T0;
  f.until_us = T0 + 1100;
  assert_int_equal(count_matches(p, &f), 7);
  f.since_us = f.until_us;
  assert_int_equal(pt_pipeline_set_filter(p, &f), PT_ERR_INVALID);
  pt_pipeline_free(p);
  pt_log_destroy(live);
}

typedef struct run_state {
  unsigned calls, stop_at;
  uint64_t last_raw;
} run_state;

static int on_event(unsigned node, const pt_event *ev, uint64_t raw_us,
                    void *user) {
  run_state *s = user;
  (void)node;
  (void)ev;
  s->last_raw = raw_us;
  return ++s->calls == s->stop_at ? 42 : 0;
}

static void test_run_and_export(void **state) {
  (void)state;
  pt_log *live;
  pt_pipeline *p = four_sources(&live, 0);
  run_state s = {0, 0, 0};
  assert_int_equal(pt_pipeline_run(p, on_event, &s), PT_OK);
  assert_int_equal(s.calls, 7 * REQUESTS + 9);
  s.calls = 0;
  s.stop_at = 5;
  assert_int_equal(pt_pipeline_run(p, on_event, &s), 42);
  assert_int_equal(s.calls, 5);
  uint64_t first, last;
  assert_int_equal(pt_pipeline_span(p, &first, &last), PT_OK);
  assert_int_equal(first, T0);
  assert_true(last >= T0 + 10000ull * (REQUESTS - 1) + 1010 - 1 &&
              last <= T0 + 10000ull * (REQUESTS - 1) + 1010 + 1);
  /* An export through the pipeline: JSON with the four nodes. */
  char *text = NULL;
  size_t size = 0;
  FILE *fp = open_memstream(&text, &size);
  pt_exporter *ex;
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_JSON, fp), PT_OK);
  assert_int_equal(pt_pipeline_export(p, ex), PT_OK);
  pt_exporter_free(ex);
  fclose(fp);
  assert_non_null(strstr(text, "\"nodes\""));
  assert_non_null(strstr(text, "d0d1d2d3"));
  free(text);
  /* An exporter that has nodes already is refused. */
  fp = open_memstream(&text, &size);
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_JSON, fp), PT_OK);
  uint8_t other[32] = {1};
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, other, &index), PT_OK);
  assert_int_equal(pt_pipeline_exporter_nodes(p, ex), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_exporter_nodes(NULL, ex), PT_ERR_INVALID);
  assert_int_equal(pt_pipeline_exporter_nodes(p, NULL), PT_ERR_INVALID);
  pt_exporter_free(ex);
  fclose(fp);
  free(text);
  pt_pipeline_free(p);
  pt_log_destroy(live);
}

static void test_errors_name_the_source(void **state) {
  (void)state;
  pt_pipeline *p;
  assert_int_equal(pt_pipeline_new(&p), PT_OK);
  char missing[128];
  snprintf(missing, sizeof missing, "%s/missing.ptd", dir);
  assert_int_equal(pt_pipeline_add_dump(p, missing, NULL), PT_ERR_IO);
  assert_non_null(strstr(pt_pipeline_message(p, NULL), "missing.ptd: "));
  /* A dump is not a log file, and the other way round. */
  assert_int_equal(pt_pipeline_add_log_file(p, dump_a, NULL), PT_ERR_FORMAT);
  assert_non_null(strstr(pt_pipeline_message(p, NULL), "a.ptd: "));
  assert_int_equal(pt_pipeline_add_dump(p, log_d, NULL), PT_ERR_DUMP_MAGIC);
  /* No source: nothing to start (not yet: PT_ERR_STATE); no source 0. */
  assert_int_equal(pt_pipeline_start(p), PT_ERR_STATE);
  assert_non_null(strstr(pt_pipeline_message(p, NULL), "no source"));
  assert_int_equal(pt_pipeline_start(NULL), PT_ERR_INVALID);
  assert_int_equal(pt_pipeline_set_reference(p, 0), PT_ERR_INVALID);
  assert_int_equal(pt_pipeline_add_dump(p, dump_a, NULL), PT_OK);
  /* Before start: valid calls, refused now. */
  pt_clock_estimate est;
  uint64_t first, last;
  assert_int_equal(pt_pipeline_clock(p, 0, &est), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_clock(p, 1, &est), PT_ERR_INVALID);
  assert_int_equal(pt_pipeline_span(p, &first, &last), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_span(p, NULL, &last), PT_ERR_INVALID);
  assert_int_equal(pt_pipeline_rewind(p), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_rewind(NULL), PT_ERR_INVALID);
  assert_int_equal(pt_pipeline_start(p), PT_OK);
  /* One source: its clock is the timeline's; nothing added later. */
  assert_int_equal(pt_pipeline_clock(p, 0, &est), PT_OK);
  assert_int_equal(est.status, PT_CLOCK_REFERENCE);
  /* ... with the t0 an aligner gives the reference (peertrace clocks). */
  const pt_dump_info *info = pt_pipeline_source_info(p, 0);
  assert_true(info->last_us > info->first_us);
  assert_true(est.t0_us ==
              info->first_us + (info->last_us - info->first_us) / 2);
  assert_int_equal(pt_pipeline_clock(p, 1, &est), PT_ERR_INVALID);
  /* Started: no more sources or options (PT_ERR_STATE), whatever kind. */
  assert_int_equal(pt_pipeline_add_dump(p, dump_b, NULL), PT_ERR_STATE);
  assert_non_null(strstr(pt_pipeline_message(p, NULL), "already started"));
  pt_dump_reader *reader;
  pt_dump_error err;
  assert_int_equal(pt_dump_reader_open(&reader, dump_b, &err), PT_OK);
  assert_int_equal(pt_pipeline_add_dump_reader(p, reader, "b", NULL),
                   PT_ERR_STATE); /* closed by the pipeline */
  const pt_log *view;
  assert_int_equal(pt_log_open(&view, log_d), PT_OK);
  assert_int_equal(pt_pipeline_add_log(p, view, "d", NULL), PT_ERR_STATE);
  pt_log_close(view);
  assert_int_equal(pt_pipeline_add_log_file(p, log_d, NULL), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_source_count(p), 1);
  assert_int_equal(pt_pipeline_set_raw_time(p, 1), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_set_reference(p, 0), PT_ERR_STATE);
  assert_int_equal(pt_pipeline_start(p), PT_ERR_STATE);
  assert_non_null(strstr(pt_pipeline_message(p, NULL), "already started"));
  assert_int_equal(pt_pipeline_rewind(p), PT_OK);
  assert_int_equal(pt_pipeline_span(p, &first, &last), PT_OK);
  assert_string_equal(pt_pipeline_source_name(p, 0), dump_a);
  assert_null(pt_pipeline_source_info(p, 1));
  assert_int_equal(pt_pipeline_source_info(p, 0)->event_count, 3 * REQUESTS);
  pt_pipeline_free(p);
  pt_pipeline_free(NULL);
  assert_int_equal(pt_pipeline_new(NULL), PT_ERR_INVALID);
}

/* The drift allowed reaches the aligner: a tighter one, a narrower bound. */
static void test_max_drift(void **state) {
  (void)state;
  double bound[2];
  for (int k = 0; k < 2; k++) {
    pt_pipeline *p = two_dumps();
    assert_int_equal(pt_pipeline_set_max_drift(p, 0), PT_ERR_INVALID);
    assert_int_equal(pt_pipeline_set_max_drift(p, 20000), PT_ERR_INVALID);
    /* 60 ppm: the true 50 is allowed; the default is 500. */
    if (k == 1) {
      assert_int_equal(pt_pipeline_set_max_drift(p, 60), PT_OK);
    }
    assert_int_equal(pt_pipeline_start(p), PT_OK);
    assert_int_equal(pt_pipeline_set_max_drift(p, 60), PT_ERR_STATE);
    assert_int_equal(pt_pipeline_set_max_drift(p, 0), PT_ERR_INVALID);
    pt_clock_estimate est;
    assert_int_equal(pt_pipeline_clock(p, 1, &est), PT_OK);
    assert_int_equal(est.status, PT_CLOCK_ALIGNED);
    bound[k] = est.bound_us;
    pt_pipeline_free(p);
  }
  assert_true(bound[1] < bound[0]);
}

/* The reference may be any node: with B as reference, A moves back. */
static void test_other_reference(void **state) {
  (void)state;
  pt_pipeline *p = two_dumps();
  assert_int_equal(pt_pipeline_set_reference(p, 1), PT_OK);
  pt_event ev;
  unsigned node;
  uint64_t raw;
  assert_int_equal(pt_pipeline_next(p, &ev, &node, &raw), 1);
  assert_int_equal(pt_pipeline_reference(p), 1);
  assert_int_equal(node, 0);
  assert_true(ev.timestamp_us + 2400000u < raw);
  pt_pipeline_free(p);
}

/* Two dumps of one node are one clock: aligned together, never refused. */
static void test_same_node_twice(void **state) {
  (void)state;
  pt_pipeline *p = two_dumps();
  assert_int_equal(pt_pipeline_add_dump(p, dump_b, NULL), PT_OK);
  assert_int_equal(pt_pipeline_start(p), PT_OK);
  pt_clock_estimate one, two;
  assert_int_equal(pt_pipeline_clock(p, 1, &one), PT_OK);
  assert_int_equal(pt_pipeline_clock(p, 2, &two), PT_OK);
  assert_int_equal(one.status, PT_CLOCK_ALIGNED);
  assert_int_equal(two.status, PT_CLOCK_ALIGNED);
  assert_true(one.offset_us == two.offset_us);
  pt_event ev;
  unsigned node, count[3] = {0};
  uint64_t raw, shift[3] = {0};
  while (pt_pipeline_next(p, &ev, &node, &raw) == 1) {
    count[node]++;
    shift[node] = ev.timestamp_us - raw;
  }
  assert_int_equal(count[1], 4 * REQUESTS);
  assert_int_equal(count[2], 4 * REQUESTS);
  assert_true(shift[1] == shift[2] && shift[1] > 2400000u);
  pt_pipeline_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline_causal_when_aligned),
      cmocka_unit_test(test_order_of_ties),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_run_and_export),
      cmocka_unit_test(test_errors_name_the_source),
      cmocka_unit_test(test_other_reference),
      cmocka_unit_test(test_same_node_twice),
      cmocka_unit_test(test_max_drift),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
