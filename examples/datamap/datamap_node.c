/*
 * datamap_node: a DMAP chunk store serving a few requests, with application
 * tracing.  In a PT_TRACE_APP build (the debug preset) it registers the DMAP
 * protocol, records each request as an APP_START / APP_END pair and prints
 * every request's trace with command names; in a release build the tracing
 * lines vanish and it only serves the requests.
 */
#include "dmap.h"

#include <stdio.h>
#include <string.h>

#if PT_TRACE_APP
/* Prints the events of one request's trace, command names included. */
static void print_trace(const dmap_store *store, pt_trace_id trace_id) {
  pt_event *events = NULL;
  size_t count = 0;
  if (pt_log_query_trace(store->log, &trace_id, &events, &count) != PT_OK) {
    return;
  }
  for (size_t i = 0; i < count; i++) {
    char line[512];
    pt_app_event_format(store->registry, &events[i], line, sizeof line);
    printf("    %s\n", line);
  }
  pt_events_free(events);
}
#endif

int main(void) {
  dmap_store store;
  dmap_store_init(&store);
  PT_IF_APP(pt_app_registry *registry = NULL;)
  PT_IF_APP({
    if (pt_log_create(&store.log, NULL) != PT_OK ||
        pt_app_registry_create(&registry) != PT_OK ||
        pt_app_register(registry, &dmap_protocol) != PT_OK) {
      fprintf(stderr, "datamap_node: tracing setup failed\n");
      return 1;
    }
    store.registry = registry;
  })

  uint8_t store_payload[DMAP_STORE_PAYLOAD_SIZE];
  memset(store_payload, 0x5a, DMAP_HASH_SIZE);
  const uint8_t size_be[4] = {0, 0, 0x10, 0}; /* 4096 bytes */
  memcpy(store_payload + DMAP_HASH_SIZE, size_be, sizeof size_be);
  const uint8_t short_payload[3] = {1, 2, 3}; /* a truncated request */

  const dmap_request requests[] = {
      {.cmd = DMAP_STORE_CHUNK,
       .payload = store_payload,
       .len = sizeof store_payload},
      {.cmd = DMAP_GET_CHUNK, .payload = store_payload, .len = DMAP_HASH_SIZE},
      {.cmd = DMAP_GET_CHUNK,
       .payload = short_payload,
       .len = sizeof short_payload},
      {.cmd = DMAP_DELETE_CHUNK,
       .payload = store_payload,
       .len = DMAP_HASH_SIZE},
      {.cmd = DMAP_GET_CHUNK, .payload = store_payload, .len = DMAP_HASH_SIZE},
  };
  for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
    dmap_request req = requests[i];
    PT_IF_TRACE({
      pt_trace_ctx ctx = pt_trace_ctx_new(PT_FLAG_SAMPLED);
      req.trace_id = ctx.trace_id;
      req.flags = ctx.flags;
    })
    int rv = dmap_handle(&store, &req);
    printf("request %zu: cmd 0x%02x -> %d\n", i, (unsigned)req.cmd, rv);
    PT_IF_APP(print_trace(&store, req.trace_id);)
  }

  PT_IF_APP({
    pt_app_registry_destroy(registry);
    pt_log_destroy(store.log);
  })
  return 0;
}
