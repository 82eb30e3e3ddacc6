/*
 * fuzz_app: libFuzzer target for application payloads, which come from
 * remote peers.  The input is a series of DMAP requests, each
 *   cmd (u16 little-endian) | len (1 byte) | payload[len]
 * (the last one takes what is left when the input is short), served by the
 * DataMap example's store (examples/datamap: dmap_handle decodes the
 * payload; the app layer turns it into trace data through dmap_trace.c's
 * to_trace_data).  Every APP_START event recorded must hold exactly the
 * trace data docs/app-guide.md and dmap.h describe, and every event must
 * print (pt_app_event_format, pt_app_event_to_json) within its buffer.  The
 * whole input is also logged as one command of an unregistered protocol,
 * and its first 128 bytes, taken as an event from another node's dump, are
 * printed as each app event kind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dmap.h>
#include <peertrace/peertrace.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 16u

static pt_app_registry *registry;

typedef struct request {
  uint16_t cmd;
  const uint8_t *payload;
  size_t len;
} request;

/* What dmap.h says the 42 bytes of trace data of a command are. */
static void expected_trace_data(const request *r, uint8_t want[42]) {
  memset(want, 0, 42);
  if (r->cmd == DMAP_STORE_CHUNK || r->cmd == DMAP_GET_CHUNK ||
      r->cmd == DMAP_DELETE_CHUNK) {
    memcpy(want, r->payload, r->len < 32 ? r->len : 32);
  }
  if (r->cmd == DMAP_STORE_CHUNK && r->len > 32) {
    memcpy(want + 32, r->payload + 32, r->len - 32 < 4 ? r->len - 32 : 4);
  }
  for (unsigned i = 0; i < 4; i++) {
    want[36 + i] = (uint8_t)(r->len >> (8 * i));
  }
}

/* Prints an event both ways, into buffers that fit and one that does not. */
static void print_event(const pt_event *ev) {
  char text[1024], small[16];
  const pt_app_registry *registries[2] = {registry, NULL};
  for (unsigned i = 0; i < 2; i++) {
    int n = pt_app_event_format(registries[i], ev, text, sizeof text);
    if (n < 0 || (size_t)n >= sizeof text || strlen(text) != (size_t)n) {
      abort(); /* the length is as snprintf's, and an event fits 1 KiB */
    }
    size_t cut = (size_t)n < sizeof small ? (size_t)n : sizeof small - 1;
    if (pt_app_event_format(registries[i], ev, small, sizeof small) != n ||
        strlen(small) != cut || memcmp(small, text, cut) != 0) {
      abort(); /* a short buffer gets the text cut, NUL-terminated */
    }
    int m = pt_app_event_to_json(registries[i], ev, text, sizeof text);
    if (m < 0 || (size_t)m >= sizeof text || strlen(text) != (size_t)m) {
      abort();
    }
  }
}

static size_t parse_requests(const uint8_t *data, size_t size, request *reqs) {
  size_t n = 0, at = 0;
  while (n < MAX_REQUESTS && size - at >= 3) {
    request *r = &reqs[n++];
    r->cmd = (uint16_t)(data[at] | data[at + 1] << 8);
    size_t len = data[at + 2];
    at += 3;
    r->len = len < size - at ? len : size - at;
    r->payload = data + at;
    at += r->len;
  }
  return n;
}

static void check_log(pt_log *log, const request *reqs, size_t n) {
  pt_event *events = NULL;
  size_t count = 0;
  if (pt_log_recent(log, 4 * MAX_REQUESTS, &events, &count) != PT_OK ||
      count != 2 * n + 1) {
    abort(); /* each request is one START and one END, plus the command */
  }
  for (size_t i = 0; i < count; i++) {
    const pt_event *ev = &events[i];
    print_event(ev);
    size_t r = ev->trace_id.bytes[0];
    if (ev->kind == PT_EV_APP_START) {
      uint8_t want[42];
      if (r < 1 || r > n) {
        abort();
      }
      expected_trace_data(&reqs[r - 1], want);
      if (ev->data.app_start.cmd != reqs[r - 1].cmd ||
          memcmp(ev->data.app_start.app_id, DMAP_APP_ID, 4) != 0 ||
          memcmp(ev->data.app_start.data, want, 42) != 0) {
        abort();
      }
    } else if (ev->kind == PT_EV_APP_COMMAND) {
      /* Nobody interprets an unregistered protocol's payload. */
      static const uint8_t zero[42];
      if (memcmp(ev->data.app_command.data, zero, 42) != 0) {
        abort();
      }
    }
  }
  pt_events_free(events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (registry == NULL && (pt_app_registry_create(&registry) != PT_OK ||
                           pt_app_register(registry, &dmap_protocol) != 0)) {
    abort();
  }
  uint8_t *copy = pt_fuzz_copy(data, size);
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 4 * MAX_REQUESTS;
  pt_log *log;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    abort();
  }
  dmap_store store;
  dmap_store_init(&store);
  store.log = log;
  store.registry = registry;
  request reqs[MAX_REQUESTS];
  size_t n = parse_requests(copy, size, reqs);
  for (size_t i = 0; i < n; i++) {
    /* A trace id per request, to find its events again. */
    pt_trace_id id = {{(uint8_t)(i + 1), 0x7e}};
    /* Flags from the input: every byte, the non-trace bits masked off. */
    dmap_request req = {reqs[i].cmd, reqs[i].payload, reqs[i].len, id,
                        (pt_trace_flags)reqs[i].cmd};
    dmap_handle(&store, &req);
  }
  pt_trace_id whole = {{0xff, 0x7e}};
  pt_app_log_command(log, registry, whole, "XXXX", 1, copy, size);
  check_log(log, reqs, n);
  pt_log_destroy(log);

  if (size >= sizeof(pt_event)) {
    pt_event ev;
    memcpy(&ev, copy, sizeof ev);
    static const uint16_t kinds[] = {PT_EV_APP_COMMAND, PT_EV_APP_START,
                                     PT_EV_APP_END};
    for (unsigned k = 0; k < 3; k++) {
      ev.kind = kinds[k];
      print_event(&ev);
    }
  }
  free(copy);
  return 0;
}
