/*
 * Shared helpers of the integration tests over the demo's DataMap nodes
 * (tests/test_p2p_*.c): a connected ring, chunks that belong to a given
 * node, and every event of a node's log.  Include after cmocka.h.
 */
#ifndef PT_TEST_P2P_COMMON_H
#define PT_TEST_P2P_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "demo_net.h"

/* A chunk whose responsible node is `target`, made of `seed` bytes. */
static void p2p_test_chunk(const demo_net *net, size_t target, uint32_t seed,
                           uint8_t *buf, size_t len, uint8_t hash[32]) {
  for (uint32_t nonce = 0;; nonce++) {
    for (size_t i = 0; i < len; i++) {
      buf[i] = (uint8_t)(seed * 7u + i * 13u);
    }
    memcpy(buf, &nonce, sizeof nonce);
    memcpy(buf + 4, &seed, sizeof seed);
    assert_int_equal(demo_sha256(buf, len, hash), 0);
    if (demo_net_responsible(net, hash) == target) {
      return;
    }
  }
}

/*
 * A connected ring of `nodes` nodes with incoming loss `loss` (seed 42);
 * on_qlog/arg: the qlog tap (NULL: none); log_dir: see demo_config (NULL:
 * logs in memory).
 */
static demo_net *p2p_test_start(size_t nodes, double loss,
                                void (*on_qlog)(size_t, const void *, size_t,
                                                void *),
                                void *arg, const char *log_dir) {
  demo_net *net = NULL;
  demo_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.nodes = nodes;
  cfg.loss_rate = loss;
  cfg.seed = 42;
  cfg.log_dir = log_dir;
  cfg.on_qlog = on_qlog;
  cfg.arg = arg;
  assert_int_equal(demo_net_create(&net, &cfg), 0);
  assert_int_equal(demo_net_connect(net, 10000), 0);
  return net;
}

/* Every event of a log, oldest first; the test must see them all. */
static pt_event *p2p_test_events(pt_log *log, size_t *count) {
  pt_log_stats st;
  pt_event *evs = NULL;
  assert_int_equal(pt_log_get_stats(log, &st), PT_OK);
  assert_int_equal(st.overwritten, 0);
  assert_int_equal(st.dropped, 0);
  assert_int_equal(pt_log_recent(log, (size_t)st.capacity, &evs, count), PT_OK);
  return evs;
}

/* A qlog tap's record as a NUL-terminated string, for strstr (free it). */
static inline char *p2p_test_qlog_text(const void *data, size_t len) {
  char *text = malloc(len + 1);
  assert_non_null(text);
  memcpy(text, data, len);
  text[len] = '\0';
  return text;
}

#endif /* PT_TEST_P2P_COMMON_H */
