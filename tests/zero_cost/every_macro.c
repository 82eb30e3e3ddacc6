/*
 * every_macro.c: application code that uses every macro of the zero-cost
 * layer, the way a QUIC node would.
 *
 * Every line that exists only for tracing ends with the marker comment
 * "trace".  identical_code.sh deletes the marked lines and checks that this
 * file compiled with tracing off gives the same object code as the copy
 * without them; alloc_count.c runs it and counts heap allocations.  Keep the
 * marker on every trace line: the script fails if the stripped copy still
 * names anything pt_ / PT_.  macro_coverage.sh fails if a public macro of
 * peertrace.h is not used here.
 *
 * What the release build must survive here: macro arguments that name
 * trace-only struct members and trace-only locals, arguments with side
 * effects (i++, function calls), trace-only helpers, statements and blocks
 * in PT_IF_TRACE, and a message header that exists only in trace builds.
 */
#include "zc_workload.h"

#include <peertrace/peertrace.h> /* trace */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A connection with trace-only members. */
struct zc_conn {
  uint64_t next_pn;
  uint64_t next_stream_id;
  uint64_t bytes_sent;
  uint32_t lost;
  uint64_t args_evaluated;     /* only trace macro arguments increment it */
  PT_TRACE_FIELD(pt_log *log;) /* trace */
  PT_TRACE_FIELD(pt_trace_ctx trace;)            /* trace */
  PT_TRACE_FIELD(uint8_t peer[PT_NODE_ID_SIZE];) /* trace */
};

/* A wire message whose header travels only in trace builds. */
struct zc_message {
  PT_TRACE_FIELD(pt_msg_header header;) /* trace */
  uint16_t command;
  uint16_t length;
  uint8_t body[40];
};

#if PT_TRACE /* trace */
/* A trace-only helper, as applications write them. */
static pt_event zc_lost_event(const struct zc_conn *c,        /* trace */
                              uint64_t pn) {                  /* trace */
  pt_event ev;                                                /* trace */
  pt_event_begin(&ev, c->trace.trace_id, c->peer);            /* trace */
  pt_event_set_packet_lost(&ev, pn, PT_PN_SPACE_APPLICATION); /* trace */
  return ev;                                                  /* trace */
} /* trace */
#endif /* trace */

/* The application's own work: FNV-1a over the bytes it "sends". */
static uint64_t zc_mix(uint64_t hash, const uint8_t *bytes, size_t len) {
  for (size_t i = 0; i < len; i++) {
    hash = (hash ^ bytes[i]) * 1099511628211u;
  }
  return hash;
}

static int zc_conn_open(struct zc_conn *c) {
  memset(c, 0, sizeof *c);
  c->next_stream_id = 4;
  PT_IF_TRACE(pt_log_config cfg;)                               /* trace */
  PT_IF_TRACE(pt_log_config_init(&cfg);)                        /* trace */
  PT_IF_TRACE(cfg.capacity = 256;)                              /* trace */
  PT_IF_TRACE(int rv = pt_log_create(&c->log, &cfg);)           /* trace */
  PT_IF_TRACE(if (rv != PT_OK) { return rv; })                  /* trace */
  PT_IF_TRACE(c->trace = pt_trace_ctx_new(PT_FLAG_SAMPLED);)    /* trace */
  PT_IF_TRACE(memset(c->peer, 0xab, sizeof c->peer);)           /* trace */
  PT_IF_TRACE(pt_endpoint ep;)                                  /* trace */
  PT_IF_TRACE(memset(&ep, 0, sizeof ep);)                       /* trace */
  PT_IF_TRACE(ep.family = 4;)                                   /* trace */
  PT_IF_TRACE(ep.port = 4433;)                                  /* trace */
  PT_CONN_INIT(c->log, c->trace.trace_id, c->peer, ep);         /* trace */
  PT_CONN_ESTABLISHED(c->log, c->trace.trace_id, c->peer, 850); /* trace */
  return 0;
}

/* Fills a message; its trace header is set only in trace builds. */
static void zc_message_fill(struct zc_message *m, const struct zc_conn *c,
                            uint16_t command) {
  memset(m, 0, sizeof *m);
  m->command = command;
  m->length = (uint16_t)sizeof m->body;
  memset(m->body, (int)(c->next_pn & 0xffu), sizeof m->body);
  PT_IF_TRACE(m->header.trace_id = c->trace.trace_id;) /* trace */
  PT_IF_TRACE(m->header.flags = c->trace.flags;)       /* trace */
}

static uint64_t zc_round(struct zc_conn *c, uint64_t hash) {
  struct zc_message m;
  uint64_t pn = c->next_pn++;
  uint64_t stream_id = c->next_stream_id;
  zc_message_fill(&m, c, (uint16_t)(pn % 3));
  c->bytes_sent += m.length;
  hash = zc_mix(hash, m.body, m.length);

  PT_IF_TRACE(uint64_t t0 = pt_clock_now_us();)                 /* trace */
  PT_IF_TRACE(const uint8_t app[4] = {'D', 'M', 'A', 'P'};)     /* trace */
  PT_EMIT(c->log, app_start, m.header.trace_id, app, m.command, /* trace */
          m.body, m.length);                                    /* trace */
  PT_IF_TRACE(int keep = PT_TRACE_SAMPLED(c->trace.trace_id);)  /* trace */
  PT_IF_TRACE(c->args_evaluated += (uint64_t)!keep;)            /* trace */
  PT_STREAM_OPENED(c->log, c->trace.trace_id, stream_id, 1);    /* trace */
  PT_PACKET_SENT(c->log, c->trace.trace_id, m.length, pn);      /* trace */
  PT_PACKET_SENT(c->log, c->trace.trace_id, m.length,           /* trace */
                 c->args_evaluated++);                          /* trace */
  PT_PACKET_RECEIVED(c->log, c->trace.trace_id, 1200,           /* trace */
                     zc_next_value());                          /* trace */
  PT_STREAM_DATA(c->log, c->trace.trace_id, stream_id,          /* trace */
                 c->bytes_sent, m.length, pn % 4 == 3);         /* trace */
  PT_EMIT_PEER(c->log, packet_sent, c->trace.trace_id, c->peer, /* trace */
               zc_next_value(), m.length, ++c->args_evaluated); /* trace */
  PT_EMIT_FLAGS(c->log, app_command, m.header.trace_id,         /* trace */
                m.header.flags, app, m.command, m.body,         /* trace */
                m.length);                                      /* trace */
  if (pn % 5 == 4) {
    c->lost++;
    PT_PACKET_LOST(c->log, c->trace.trace_id, pn);               /* trace */
    PT_EVENT(c->log, zc_lost_event(c, zc_next_value()));         /* trace */
    PT_CUSTOM(c->log, c->trace.trace_id, 7, c->args_evaluated++, /* trace */
              "retransmit", 10);                                 /* trace */
  }
  PT_EMIT_PEER_FLAGS(c->log, app_end, m.header.trace_id,      /* trace */
                     m.header.flags, c->peer, app, m.command, /* trace */
                     1, pt_clock_now_us() - t0);              /* trace */
  c->next_stream_id = stream_id + 4;
  return hash;
}

/* Closes the connection: queries and frees the log in trace builds. */
static uint64_t zc_conn_close(struct zc_conn *c, uint64_t hash) {
  /* A multi-line trace block; clang-format would move its first line's
   * marker away from "PT_IF_TRACE({". */
  /* clang-format off */
  PT_IF_TRACE({                                                 /* trace */
    pt_event *events = NULL;                                    /* trace */
    size_t count = 0;                                           /* trace */
    const pt_trace_id *id = &c->trace.trace_id;                 /* trace */
    if (pt_log_query_trace(c->log, id, &events, &count) == 0) { /* trace */
      pt_events_free(events);                                   /* trace */
    }                                                           /* trace */
    if (pt_log_recent(c->log, 8, &events, &count) == 0) {       /* trace */
      pt_events_free(events);                                   /* trace */
    }                                                           /* trace */
    pt_log_destroy(c->log);                                     /* trace */
  })                                                            /* trace */
  /* clang-format on */
  return hash ^ c->bytes_sent ^ ((uint64_t)c->lost << 32);
}

int zc_workload_run(unsigned rounds, zc_result *out) {
  struct zc_conn conn;
  uint64_t hash = 14695981039346656037u;
  int rv = zc_conn_open(&conn);
  if (rv != 0) {
    return rv;
  }
  for (unsigned i = 0; i < rounds; i++) {
    hash = zc_round(&conn, hash);
  }
  out->checksum = zc_conn_close(&conn, hash);
  out->trace_args_evaluated = conn.args_evaluated;
  return 0;
}
