/*
 * Tests of the application protocol layer (pt_app): registry, app event
 * logging with the DMAP example, untrusted payloads, request start / end
 * events and printing with command names.  Built in PT_TRACE_APP builds.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include <peertrace/peertrace.h>

#include "dmap.h"
#include "test_helpers.h"

static pt_log *new_log(size_t capacity) {
  pt_log *log = pt_test_log_new(capacity, 0);
  assert_non_null(log);
  return log;
}

static pt_app_registry *new_registry(void) {
  pt_app_registry *registry = NULL;
  assert_int_equal(pt_app_registry_create(&registry), PT_OK);
  return registry;
}

static pt_trace_id id_from(uint64_t n) {
  pt_trace_id id;
  memset(&id, 0, sizeof id);
  for (unsigned i = 0; i < 8; i++) {
    id.bytes[8 + i] = (uint8_t)(n >> (8 * i));
  }
  id.bytes[0] = 0x42;
  return id;
}

/* Each test gets a fresh log and an empty registry (cmocka fixture). */
typedef struct env {
  pt_log *log;
  pt_app_registry *registry;
} env;

static int env_setup(void **state) {
  static env e;
  e.log = new_log(4096);
  e.registry = new_registry();
  *state = &e;
  return 0;
}

static int env_teardown(void **state) {
  env *e = *state;
  pt_app_registry_destroy(e->registry);
  pt_log_destroy(e->log);
  return 0;
}

/* Every event of a trace; the caller frees. */
static pt_event *trace_events(pt_log *log, pt_trace_id id, size_t *count) {
  pt_event *events = NULL;
  assert_int_equal(pt_log_query_trace(log, &id, &events, count), PT_OK);
  return events;
}

/* The only event of a trace (asserts there is exactly one). */
static pt_event only_event(pt_log *log, pt_trace_id id) {
  size_t count = 0;
  pt_event *events = trace_events(log, id, &count);
  assert_int_equal(count, 1);
  pt_event ev = events[0];
  pt_events_free(events);
  return ev;
}

static size_t event_count(pt_log *log, pt_trace_id id) {
  size_t count = 0;
  pt_events_free(trace_events(log, id, &count));
  return count;
}

/* ---- A second protocol with a sampling decision -------------------------- */

#define TEST_CMD_SKIPPED 7u

static void test_to_data(const pt_app_protocol *app, uint16_t cmd,
                         pt_app_payload payload,
                         uint8_t out[PT_APP_DATA_SIZE]) {
  (void)app;
  out[0] = (uint8_t)cmd;
  pt_app_copy(out, 1, payload, 0, PT_APP_DATA_SIZE);
}

static const char *test_describe(const pt_app_protocol *app, uint16_t cmd) {
  (void)app;
  switch (cmd) {
  case 1:
    return "PING";
  case 3:
    return "A\"B\\C\n"; /* a name that JSON must escape */
  default:
    return NULL;
  }
}

static int test_should_trace(const pt_app_protocol *app, uint16_t cmd) {
  (void)app;
  return cmd != TEST_CMD_SKIPPED;
}

static PT_APP_PROTOCOL_DEFINE(test_protocol, "TEST", test_to_data,
                              test_describe, test_should_trace);
/* Same id as DMAP, different functions. */
static PT_APP_PROTOCOL_DEFINE(fake_dmap_protocol, "DMAP", test_to_data,
                              test_describe, NULL);

/* ---- Registry ------------------------------------------------------------ */

static void test_register_and_lookup(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  assert_null(pt_app_lookup(registry, "DMAP"));
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  assert_int_equal(pt_app_register(registry, &test_protocol), PT_OK);
  assert_ptr_equal(pt_app_lookup(registry, "DMAP"), &dmap_protocol);
  assert_ptr_equal(pt_app_lookup(registry, "TEST"), &test_protocol);
  assert_null(pt_app_lookup(registry, "DMAQ"));
  assert_null(pt_app_lookup(registry, NULL));
  assert_null(pt_app_lookup(NULL, "DMAP"));
  assert_string_equal(pt_app_describe(registry, "DMAP", DMAP_STORE_CHUNK),
                      "STORE_CHUNK");
  assert_string_equal(pt_app_describe(registry, "DMAP", DMAP_GET_CHUNK),
                      "GET_CHUNK");
  assert_string_equal(pt_app_describe(registry, "DMAP", DMAP_DELETE_CHUNK),
                      "DELETE_CHUNK");
  assert_string_equal(pt_app_describe(registry, "DMAP", 0x99), "UNKNOWN");
  assert_string_equal(pt_app_describe(registry, "TEST", 2), "UNKNOWN");
  assert_string_equal(pt_app_describe(registry, "NOPE", 1), "UNKNOWN");
  assert_string_equal(pt_app_describe(NULL, "DMAP", 1), "UNKNOWN");
  pt_app_registry_stats stats;
  assert_int_equal(pt_app_registry_get_stats(registry, &stats), PT_OK);
  assert_int_equal(stats.capacity, PT_APP_REGISTRY_CAPACITY);
  assert_int_equal(stats.registered, 2);
  assert_int_equal(pt_app_registry_get_stats(NULL, &stats), PT_ERR_INVALID);
  assert_int_equal(pt_app_registry_create(NULL), PT_ERR_INVALID);
  pt_app_registry_destroy(NULL);
}

static void test_register_rejects_bad_descriptor(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  static pt_app_protocol no_data;
  no_data = dmap_protocol;
  no_data.to_trace_data = NULL;
  static pt_app_protocol no_describe;
  no_describe = test_protocol;
  memcpy(no_describe.app_id, "NODE", 4);
  no_describe.describe_command = NULL;
  static pt_app_protocol zero_id;
  zero_id = test_protocol;
  memset(zero_id.app_id, 0, sizeof zero_id.app_id);
  assert_int_equal(pt_app_register(registry, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_app_register(NULL, &dmap_protocol), PT_ERR_INVALID);
  assert_int_equal(pt_app_register(registry, &no_data), PT_ERR_INVALID);
  assert_int_equal(pt_app_register(registry, &no_describe), PT_ERR_INVALID);
  assert_int_equal(pt_app_register(registry, &zero_id), PT_ERR_INVALID);
  pt_app_registry_stats stats;
  assert_int_equal(pt_app_registry_get_stats(registry, &stats), PT_OK);
  assert_int_equal(stats.registered, 0);
  assert_null(pt_app_lookup(registry, "NODE"));
}

static void test_register_rejects_duplicate(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_ERR_EXISTS);
  assert_int_equal(pt_app_register(registry, &fake_dmap_protocol),
                   PT_ERR_EXISTS);
  /* The first registration stands. */
  assert_ptr_equal(pt_app_lookup(registry, "DMAP"), &dmap_protocol);
  pt_app_registry_stats stats;
  assert_int_equal(pt_app_registry_get_stats(registry, &stats), PT_OK);
  assert_int_equal(stats.registered, 1);
  assert_string_equal(pt_strerror(PT_ERR_EXISTS), "already exists");
}

static pt_app_protocol many[PT_APP_REGISTRY_CAPACITY + 1];

static void test_register_full(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  for (size_t i = 0; i <= PT_APP_REGISTRY_CAPACITY; i++) {
    many[i] = test_protocol;
    snprintf((char *)many[i].app_id, 4, "M%02u", (unsigned)i);
    many[i].app_id[3] = 'x';
  }
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    assert_int_equal(pt_app_register(registry, &many[i]), PT_OK);
  }
  assert_int_equal(pt_app_register(registry, &many[PT_APP_REGISTRY_CAPACITY]),
                   PT_ERR_FULL);
  assert_null(pt_app_lookup(registry, many[PT_APP_REGISTRY_CAPACITY].app_id));
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    assert_ptr_equal(pt_app_lookup(registry, many[i].app_id), &many[i]);
  }
  /* A freed slot is reused. */
  assert_int_equal(pt_app_unregister(registry, many[3].app_id), PT_OK);
  assert_int_equal(pt_app_register(registry, &many[PT_APP_REGISTRY_CAPACITY]),
                   PT_OK);
  assert_ptr_equal(
      pt_app_lookup(registry, many[PT_APP_REGISTRY_CAPACITY].app_id),
      &many[PT_APP_REGISTRY_CAPACITY]);
}

static void test_unregister(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  pt_log *log = ((env *)*state)->log;
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  assert_int_equal(pt_app_register(registry, &test_protocol), PT_OK);
  assert_int_equal(pt_app_unregister(registry, "DMAP"), PT_OK);
  assert_null(pt_app_lookup(registry, "DMAP"));
  assert_ptr_equal(pt_app_lookup(registry, "TEST"), &test_protocol);
  assert_int_equal(pt_app_unregister(registry, "DMAP"), PT_ERR_NOT_FOUND);
  assert_int_equal(pt_app_unregister(registry, "ZZZZ"), PT_ERR_NOT_FOUND);
  assert_int_equal(pt_app_unregister(registry, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_app_unregister(NULL, "DMAP"), PT_ERR_INVALID);
  assert_string_equal(pt_app_describe(registry, "DMAP", 1), "UNKNOWN");

  /* Logging for the unregistered id: recorded with zero data, counted. */
  uint8_t payload[36];
  memset(payload, 0xee, sizeof payload);
  PT_APP_COMMAND(log, registry, id_from(1), "DMAP", DMAP_STORE_CHUNK, payload,
                 sizeof payload);
  pt_event ev = only_event(log, id_from(1));
  assert_int_equal(ev.kind, PT_EV_APP_COMMAND);
  assert_memory_equal(ev.data.app_command.app_id, "DMAP", 4);
  assert_int_equal(ev.data.app_command.cmd, DMAP_STORE_CHUNK);
  static const uint8_t zero[PT_APP_DATA_SIZE];
  assert_memory_equal(ev.data.app_command.data, zero, sizeof zero);
  pt_app_registry_stats stats;
  assert_int_equal(pt_app_registry_get_stats(registry, &stats), PT_OK);
  assert_int_equal(stats.registered, 1);
  assert_int_equal(stats.unknown_app, 1);

  /* Registering again works and the data comes back. */
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  PT_APP_COMMAND(log, registry, id_from(2), "DMAP", DMAP_STORE_CHUNK, payload,
                 sizeof payload);
  ev = only_event(log, id_from(2));
  assert_memory_equal(ev.data.app_command.data, payload, 36);
}

/* ---- Logging and untrusted payloads -------------------------------------- */

/* What docs and dmap.h promise for the 42 bytes of a DMAP command. */
static void dmap_expected(uint16_t cmd, const uint8_t *payload, size_t len,
                          uint8_t out[PT_APP_DATA_SIZE]) {
  memset(out, 0, PT_APP_DATA_SIZE);
  if (cmd >= DMAP_STORE_CHUNK && cmd <= DMAP_DELETE_CHUNK) {
    memcpy(out, payload, len < 32 ? len : 32);
  }
  if (cmd == DMAP_STORE_CHUNK && len > 32) {
    memcpy(out + 32, payload + 32, len - 32 < 4 ? len - 32 : 4);
  }
  uint32_t len32 = (uint32_t)len;
  memcpy(out + 36, &len32, 4); /* little-endian host (x86-64) */
}

static void test_dmap_every_command_every_length(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  pt_log *log = ((env *)*state)->log;
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  static const size_t lengths[] = {0, 1, 35, 36, 10000};
  static const uint16_t commands[] = {DMAP_STORE_CHUNK, DMAP_GET_CHUNK,
                                      DMAP_DELETE_CHUNK, 0x7f};
  uint64_t n = 100;
  for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
      size_t len = lengths[l];
      /* Exactly len bytes on the heap: ASan reports any read past them. */
      uint8_t *payload = malloc(len);
      assert_true(len == 0 || payload != NULL);
      for (size_t i = 0; i < len; i++) {
        payload[i] = (uint8_t)(i * 7 + 1);
      }
      uint8_t expected[PT_APP_DATA_SIZE];
      dmap_expected(commands[c], payload, len, expected);

      pt_trace_id id = id_from(n++);
      PT_APP_COMMAND(log, registry, id, DMAP_APP_ID, commands[c], payload, len);
      pt_event ev = only_event(log, id);
      assert_int_equal(ev.kind, PT_EV_APP_COMMAND);
      assert_memory_equal(ev.data.app_command.app_id, "DMAP", 4);
      assert_int_equal(ev.data.app_command.cmd, commands[c]);
      assert_memory_equal(ev.data.app_command.data, expected, PT_APP_DATA_SIZE);

      /* The same payload through a request: the APP_START carries it. */
      dmap_store store;
      dmap_store_init(&store);
      store.log = log;
      store.registry = registry;
      dmap_request req = {commands[c], payload, len, id_from(n++), 0};
      int rv = dmap_handle(&store, &req);
      size_t count = 0;
      pt_event *events = trace_events(log, req.trace_id, &count);
      assert_int_equal(count, 2);
      assert_int_equal(events[0].kind, PT_EV_APP_START);
      assert_memory_equal(events[0].data.app_start.data, expected,
                          PT_APP_DATA_SIZE);
      assert_int_equal(events[1].kind, PT_EV_APP_END);
      assert_int_equal(events[1].data.app_end.ok, rv == DMAP_OK);
      pt_events_free(events);
      free(payload);
    }
  }
  /* A NULL payload with a length is read as empty, not dereferenced. */
  pt_trace_id id = id_from(n++);
  PT_APP_COMMAND(log, registry, id, DMAP_APP_ID, DMAP_STORE_CHUNK, NULL,
                 (size_t)10000);
  pt_event ev = only_event(log, id);
  static const uint8_t zero[PT_APP_DATA_SIZE];
  assert_memory_equal(ev.data.app_command.data, zero, sizeof zero);
}

static void test_app_copy_bounds(void **state) {
  (void)state;
  uint8_t bytes[10];
  for (size_t i = 0; i < sizeof bytes; i++) {
    bytes[i] = (uint8_t)(0xa0 + i);
  }
  pt_app_payload p = pt_app_payload_make(bytes, sizeof bytes);
  assert_int_equal(pt_app_payload_size(p), 10);
  uint8_t out[PT_APP_DATA_SIZE];
  memset(out, 0, sizeof out);
  assert_int_equal(pt_app_copy(out, 0, p, 0, 4), 4);
  assert_memory_equal(out, bytes, 4);
  assert_int_equal(pt_app_copy(out, 0, p, 8, 100), 2); /* payload end */
  assert_int_equal(out[1], 0xa9);
  assert_int_equal(pt_app_copy(out, 40, p, 0, 10), 2); /* out end */
  assert_int_equal(out[40], 0xa0);
  assert_int_equal(out[41], 0xa1);
  assert_int_equal(pt_app_copy(out, 42, p, 0, 1), 0);
  assert_int_equal(pt_app_copy(out, 0, p, 10, 1), 0);
  assert_int_equal(pt_app_copy(out, SIZE_MAX, p, 0, 1), 0);
  assert_int_equal(pt_app_copy(out, 0, p, SIZE_MAX, SIZE_MAX), 0);
  assert_int_equal(pt_app_copy(out, 1, p, 1, SIZE_MAX), 9);
  assert_int_equal(pt_app_copy(NULL, 0, p, 0, 1), 0);
  pt_app_payload empty = pt_app_payload_make(NULL, 1000);
  assert_int_equal(pt_app_payload_size(empty), 0);
  assert_int_equal(pt_app_copy(out, 0, empty, 0, 1000), 0);
}

static void test_should_trace_and_unknown_app(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  pt_log *log = ((env *)*state)->log;
  assert_int_equal(pt_app_register(registry, &test_protocol), PT_OK);
  const uint8_t payload[3] = {9, 8, 7};
  PT_APP_COMMAND(log, registry, id_from(1), "TEST", 1, payload, 3);
  PT_APP_COMMAND(log, registry, id_from(2), "TEST", TEST_CMD_SKIPPED, payload,
                 3);
  pt_event ev = only_event(log, id_from(1));
  assert_int_equal(ev.data.app_command.data[0], 1);
  assert_memory_equal(ev.data.app_command.data + 1, payload, 3);
  assert_int_equal(event_count(log, id_from(2)), 0);

  /* A skipped request records neither start nor end. */
  pt_app_span span;
  PT_APP_START(log, registry, span, id_from(3), "TEST", TEST_CMD_SKIPPED,
               payload, 3);
  assert_int_equal(span.recorded, 0);
  PT_APP_END(log, span, 1);
  assert_int_equal(event_count(log, id_from(3)), 0);

  /* Unknown app id, with and without a registry: recorded, zero data. */
  PT_APP_COMMAND(log, registry, id_from(4), "NOPE", 1, payload, 3);
  PT_APP_COMMAND(log, NULL, id_from(5), "NOPE", 1, payload, 3);
  PT_APP_START(log, registry, span, id_from(6), "NOPE", 2, payload, 3);
  PT_APP_END(log, span, 0);
  static const uint8_t zero[PT_APP_DATA_SIZE];
  assert_memory_equal(only_event(log, id_from(4)).data.app_command.data, zero,
                      sizeof zero);
  assert_memory_equal(only_event(log, id_from(5)).data.app_command.data, zero,
                      sizeof zero);
  assert_int_equal(event_count(log, id_from(6)), 2);

  /* NULL log or app id: nothing, no crash. */
  PT_APP_COMMAND(NULL, registry, id_from(7), "TEST", 1, payload, 3);
  PT_APP_COMMAND(log, registry, id_from(7), NULL, 1, payload, 3);
  assert_int_equal(event_count(log, id_from(7)), 0);

  pt_app_registry_stats stats;
  assert_int_equal(pt_app_registry_get_stats(registry, &stats), PT_OK);
  assert_int_equal(stats.filtered, 2);
  assert_int_equal(stats.unknown_app, 2); /* id 4 and the start of id 6 */
}

/* ---- Requests: start / end, outcome and latency ------------------------- */

static void test_requests_outcome_and_latency(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  pt_log *log = ((env *)*state)->log;
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  dmap_store store;
  dmap_store_init(&store);
  store.log = log;
  store.registry = registry;

  uint8_t chunk[DMAP_STORE_PAYLOAD_SIZE];
  memset(chunk, 0x11, DMAP_HASH_SIZE);
  const uint8_t size_be[4] = {0, 0, 1, 0};
  memcpy(chunk + DMAP_HASH_SIZE, size_be, 4);
  uint8_t other[DMAP_HASH_SIZE];
  memset(other, 0x22, sizeof other);
  struct {
    dmap_request req;
    int ok;
    const char *name;
  } cases[] = {
      {{DMAP_STORE_CHUNK, chunk, sizeof chunk, id_from(10), 0},
       1,
       "STORE_CHUNK"},
      {{DMAP_GET_CHUNK, chunk, DMAP_HASH_SIZE, id_from(11), 0}, 1, "GET_CHUNK"},
      {{DMAP_GET_CHUNK, other, sizeof other, id_from(12), 0}, 0, "GET_CHUNK"},
      {{DMAP_GET_CHUNK, chunk, 5, id_from(13), 0}, 0, "GET_CHUNK"},
      {{DMAP_DELETE_CHUNK, chunk, DMAP_HASH_SIZE, id_from(14), 0},
       1,
       "DELETE_CHUNK"},
      {{DMAP_DELETE_CHUNK, chunk, DMAP_HASH_SIZE, id_from(15), 0},
       0,
       "DELETE_CHUNK"},
      {{0x44, chunk, DMAP_HASH_SIZE, id_from(16), 0}, 0, "UNKNOWN"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rv = dmap_handle(&store, &cases[i].req);
    assert_int_equal(rv == DMAP_OK, cases[i].ok);
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t count = 0;
    pt_event *events = trace_events(log, cases[i].req.trace_id, &count);
    assert_int_equal(count, 2);
    const pt_event *start = &events[0];
    const pt_event *end = &events[1];
    assert_int_equal(start->kind, PT_EV_APP_START);
    assert_int_equal(end->kind, PT_EV_APP_END);
    assert_memory_equal(&end->trace_id, &cases[i].req.trace_id, 16);
    assert_memory_equal(end->data.app_end.app_id, "DMAP", 4);
    assert_int_equal(end->data.app_end.cmd, cases[i].req.cmd);
    assert_int_equal(end->data.app_end.ok, cases[i].ok);
    assert_true(end->data.app_end.duration_us < 60u * 1000 * 1000);
    assert_string_equal(pt_app_describe(registry, end->data.app_end.app_id,
                                        end->data.app_end.cmd),
                        cases[i].name);
    pt_events_free(events);
  }

  /* The duration is measured: a request that takes >= 2 ms says so. */
  pt_app_span span;
  uint8_t hash[DMAP_HASH_SIZE] = {0};
  PT_APP_START(log, registry, span, id_from(20), DMAP_APP_ID, DMAP_GET_CHUNK,
               hash, sizeof hash);
  assert_int_equal(span.recorded, 1);
  uint64_t t0 = pt_clock_now_us();
  while (pt_clock_now_us() - t0 < 2000) {
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
  }
  PT_APP_END(log, span, 1);
  assert_int_equal(span.recorded, 0);
  PT_APP_END(log, span, 1); /* a span ends once */
  size_t count = 0;
  pt_event *events = trace_events(log, id_from(20), &count);
  assert_int_equal(count, 2);
  assert_true(events[1].data.app_end.duration_us >= 2000);
  assert_true(events[1].data.app_end.duration_us < 60u * 1000 * 1000);
  assert_true(events[1].timestamp_us >= events[0].timestamp_us + 1000);
  pt_events_free(events);
}

/* ---- Printing ------------------------------------------------------------ */

static void test_format_names_commands(void **state) {
  pt_app_registry *registry = ((env *)*state)->registry;
  pt_log *log = ((env *)*state)->log;
  assert_int_equal(pt_app_register(registry, &dmap_protocol), PT_OK);
  uint8_t payload[36] = {0};
  PT_APP_COMMAND(log, registry, id_from(1), "DMAP", DMAP_STORE_CHUNK, payload,
                 sizeof payload);
  pt_event ev = only_event(log, id_from(1));
  char text[512];
  char plain[512];
  int n = pt_app_event_format(registry, &ev, text, sizeof text);
  int plain_n = pt_event_format(&ev, plain, sizeof plain);
  assert_int_equal(n, (int)strlen(text));
  assert_string_equal(text + plain_n, " command=STORE_CHUNK");
  assert_memory_equal(text, plain, (size_t)plain_n);
  n = pt_app_event_format(NULL, &ev, text, sizeof text);
  assert_string_equal(text + plain_n, " command=UNKNOWN");

  char json[1024];
  n = pt_app_event_to_json(registry, &ev, json, sizeof json);
  assert_int_equal(n, (int)strlen(json));
  /* The plain JSON with the name as the last member of "data". */
  char plain_json[1024];
  int plain_json_n = pt_event_to_json(&ev, plain_json, sizeof plain_json);
  assert_true(plain_json_n > 2);
  assert_string_equal(plain_json + plain_json_n - 2, "}}");
  char expected[1024];
  snprintf(expected, sizeof expected, "%.*s,\"command\":\"STORE_CHUNK\"}}",
           plain_json_n - 2, plain_json);
  assert_string_equal(json, expected);

  /* Truncation: a prefix of the full text, and the full length returned. */
  for (size_t size = 0; size < (size_t)n + 2; size += 7) {
    char small[1024];
    memset(small, 'X', sizeof small);
    int m = pt_app_event_to_json(registry, &ev, small, size);
    assert_int_equal(m, n);
    if (size > 0) {
      size_t kept = size - 1 < (size_t)n ? size - 1 : (size_t)n;
      assert_memory_equal(small, json, kept);
      assert_int_equal(small[kept], '\0');
    }
    assert_int_equal(small[size], 'X');
  }
  assert_int_equal(pt_app_event_format(registry, NULL, text, sizeof text),
                   PT_ERR_INVALID);

  /* A JSON parser reads it, with the name inside "data". */
  json_error_t error;
  json_t *root = json_loads(json, 0, &error);
  assert_non_null(root);
  json_t *data = json_object_get(root, "data");
  assert_string_equal(json_string_value(json_object_get(data, "command")),
                      "STORE_CHUNK");
  assert_string_equal(json_string_value(json_object_get(data, "app_id")),
                      "DMAP");
  json_decref(root);

  /* Names are escaped in JSON. */
  assert_int_equal(pt_app_register(registry, &test_protocol), PT_OK);
  PT_APP_COMMAND(log, registry, id_from(3), "TEST", 3, NULL, 0);
  ev = only_event(log, id_from(3));
  pt_app_event_to_json(registry, &ev, json, sizeof json);
  assert_non_null(strstr(json, ",\"command\":\"A\\\"B\\\\C\\u000a\"}}"));
  root = json_loads(json, 0, &error);
  assert_non_null(root);
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(root, "data"), "command")),
                      "A\"B\\C\n");
  json_decref(root);

  /* Other kinds print as without the registry. */
  pt_event other;
  pt_event_begin(&other, id_from(2), NULL);
  pt_event_set_packet_lost(&other, 5, 2);
  n = pt_app_event_format(registry, &other, text, sizeof text);
  pt_event_format(&other, plain, sizeof plain);
  assert_string_equal(text, plain);
}

/*
 * The trace flags of a request's context reach every app event of it: the
 * _FLAGS macros, PT_APP_END after PT_APP_START_FLAGS (through the span), a
 * DMAP request (dmap_handle) and the core's PT_EMIT_FLAGS.  Only the trace
 * flag bits are kept: the others belong to the event (has-peer, reserved).
 */
static void test_app_events_carry_trace_flags(void **state) {
  env *e = *state;
  assert_int_equal(pt_app_register(e->registry, &test_protocol), PT_OK);
  const uint8_t payload[4] = {1, 2, 3, 4};
  pt_trace_ctx ctx = pt_trace_ctx_new(PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED);
  assert_int_equal(ctx.flags, 0x05);

  pt_app_span span;
  PT_APP_START_FLAGS(e->log, e->registry, span, ctx.trace_id, ctx.flags, "TEST",
                     1, payload, sizeof payload);
  PT_APP_COMMAND_FLAGS(e->log, e->registry, ctx.trace_id, ctx.flags, "TEST", 2,
                       payload, sizeof payload);
  PT_APP_END(e->log, span, 1);
  PT_EMIT_FLAGS(e->log, packet_sent, ctx.trace_id, ctx.flags, 7, 1200,
                PT_PN_SPACE_APPLICATION);
  uint8_t peer[32];
  memset(peer, 0xab, sizeof peer);
  PT_EMIT_PEER_FLAGS(e->log, app_command, ctx.trace_id, ctx.flags, peer, "TEST",
                     3, payload, sizeof payload);
  size_t count = 0;
  pt_event *events = trace_events(e->log, ctx.trace_id, &count);
  assert_int_equal(count, 5);
  const unsigned kinds[5] = {PT_EV_APP_START, PT_EV_APP_COMMAND, PT_EV_APP_END,
                             PT_EV_PACKET_SENT, PT_EV_APP_COMMAND};
  for (size_t i = 0; i < count; i++) {
    assert_int_equal(events[i].kind, kinds[i]);
    assert_int_equal(events[i].flags, i == 4 ? 0x05 | PT_EVENT_HAS_PEER : 0x05);
  }
  pt_events_free(events);

  /* Without a context (the older calls) the flags are 0; bits beyond the
   * trace flags are dropped, never recorded as event flags. */
  pt_trace_id plain = id_from(900);
  PT_APP_COMMAND(e->log, e->registry, plain, "TEST", 1, payload, 1);
  pt_trace_id odd = id_from(901);
  PT_APP_START_FLAGS(e->log, e->registry, span, odd, 0xff, "TEST", 1, payload,
                     1);
  PT_APP_END(e->log, span, 0);
  assert_int_equal(only_event(e->log, plain).flags, 0);
  events = trace_events(e->log, odd, &count);
  assert_int_equal(count, 2);
  assert_int_equal(events[0].flags, PT_TRACE_FLAGS_MASK);
  assert_int_equal(events[1].flags, PT_TRACE_FLAGS_MASK);
  pt_events_free(events);

  /* A DMAP request handled with its context's flags. */
  dmap_store store;
  dmap_store_init(&store);
  store.log = e->log;
  store.registry = e->registry;
  uint8_t hash[DMAP_HASH_SIZE];
  memset(hash, 0x11, sizeof hash);
  dmap_request req = {DMAP_GET_CHUNK, hash, sizeof hash, id_from(902), 0x05};
  dmap_handle(&store, &req);
  events = trace_events(e->log, req.trace_id, &count);
  assert_int_equal(count, 2);
  assert_int_equal(events[0].kind, PT_EV_APP_START);
  assert_int_equal(events[0].flags, 0x05);
  assert_int_equal(events[1].kind, PT_EV_APP_END);
  assert_int_equal(events[1].flags, 0x05);
  pt_events_free(events);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_app_events_carry_trace_flags,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_register_and_lookup, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_register_rejects_bad_descriptor,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_register_rejects_duplicate,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_register_full, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_unregister, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_dmap_every_command_every_length,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_app_copy_bounds, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_should_trace_and_unknown_app,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_requests_outcome_and_latency,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_format_names_commands, env_setup,
                                      env_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
