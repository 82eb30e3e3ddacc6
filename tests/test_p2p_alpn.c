/*
 * test_p2p_alpn: a node built with tracing and one built without put
 * different bytes on the wire, so they must refuse to talk.  They offer
 * different ALPN ids (PT_WIRE_ALPN_TRACE / PT_WIRE_ALPN_RELEASE) and the
 * TLS handshake fails with a clear error on both sides.  Runs in every
 * build (the ALPN is a run-time setting of the demo's endpoint), over real
 * QUIC on loopback, bounded in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "demo_net.h"
#include "p2p_net.h"

typedef struct closed_log {
  int count;
  char reason[2][256];
} closed_log;

static void on_closed(p2p_node *node, p2p_conn *conn, const char *reason,
                      void *arg) {
  closed_log *log = arg;
  (void)node;
  (void)conn;
  if (log->count < 2) {
    snprintf(log->reason[log->count], sizeof log->reason[0], "%s", reason);
  }
  log->count++;
}

/* Connects a client speaking alpn_a to a server speaking alpn_b. */
static void handshake(const char *alpn_a, const char *alpn_b, int *established,
                      closed_log *client_log, closed_log *server_log) {
  p2p_config ca, cb;
  p2p_node *a, *b;
  p2p_conn *conn;
  memset(&ca, 0, sizeof ca);
  memset(&cb, 0, sizeof cb);
  ca.alpn = alpn_a;
  cb.alpn = alpn_b;
  ca.cb.on_conn_closed = on_closed;
  ca.cb.arg = client_log;
  cb.cb.on_conn_closed = on_closed;
  cb.cb.arg = server_log;
#if PT_TRACE
  pt_log *la, *lb;
  assert_int_equal(pt_log_create(&la, NULL), PT_OK);
  assert_int_equal(pt_log_create(&lb, NULL), PT_OK);
  ca.log = la;
  cb.log = lb;
#endif
  assert_int_equal(p2p_node_create(&a, &ca), 0);
  assert_int_equal(p2p_node_create(&b, &cb), 0);
  assert_int_equal(p2p_node_connect(a, p2p_node_port(b), &conn), 0);
  p2p_node *nodes[2] = {a, b};
  uint64_t deadline = demo_now_us() + 5000000u;
  while (!p2p_conn_is_established(conn) && !p2p_conn_is_closed(conn) &&
         demo_now_us() < deadline) {
    assert_int_equal(p2p_net_poll(nodes, 2, 20), 0);
  }
  *established = p2p_conn_is_established(conn) && !p2p_conn_is_closed(conn);
  /* Let the server see the close, if any. */
  for (int i = 0; i < 5; i++) {
    assert_int_equal(p2p_net_poll(nodes, 2, 5), 0);
  }
  p2p_node_destroy(a);
  p2p_node_destroy(b);
#if PT_TRACE
  pt_log_destroy(la);
  pt_log_destroy(lb);
#endif
}

static void test_same_alpn_connects(void **state) {
  (void)state;
  closed_log cl = {0}, sl = {0};
  int up = 0;
  handshake(PT_WIRE_ALPN, PT_WIRE_ALPN, &up, &cl, &sl);
  assert_true(up);
  assert_int_equal(cl.count, 0);
  assert_int_equal(sl.count, 0);
}

static void check_refused(const char *client_alpn, const char *server_alpn) {
  closed_log cl = {0}, sl = {0};
  int up = 1;
  handshake(client_alpn, server_alpn, &up, &cl, &sl);
  assert_false(up);
  /* The server rejects the handshake: TLS alert no_application_protocol. */
  assert_int_equal(sl.count, 1);
  if (strstr(sl.reason[0], "no_application_protocol") == NULL ||
      strstr(sl.reason[0], "ALPN mismatch") == NULL) {
    fail_msg("server reason not clear: %s", sl.reason[0]);
  }
  /* The client learns it was refused during the handshake. */
  assert_int_equal(cl.count, 1);
  if (strstr(cl.reason[0], "refused by the peer during the TLS handshake") ==
          NULL ||
      strstr(cl.reason[0], client_alpn) == NULL) {
    fail_msg("client reason not clear: %s", cl.reason[0]);
  }
}

static void test_trace_client_release_server_refused(void **state) {
  (void)state;
  check_refused(PT_WIRE_ALPN_TRACE, PT_WIRE_ALPN_RELEASE);
}

static void test_release_client_trace_server_refused(void **state) {
  (void)state;
  check_refused(PT_WIRE_ALPN_RELEASE, PT_WIRE_ALPN_TRACE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_alpn_connects),
      cmocka_unit_test(test_trace_client_release_server_refused),
      cmocka_unit_test(test_release_client_trace_server_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
