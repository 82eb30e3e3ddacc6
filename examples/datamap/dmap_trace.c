/*
 * dmap_trace: the DMAP protocol descriptor (pt_app.h).  Only PT_TRACE_APP
 * builds compile it.
 */
#include "dmap.h"

#include <string.h>

static void dmap_to_trace_data(const pt_app_protocol *app, uint16_t cmd,
                               pt_app_payload payload,
                               uint8_t out[PT_APP_DATA_SIZE]) {
  (void)app;
  switch (cmd) {
  case DMAP_STORE_CHUNK:
    pt_app_copy(out, DMAP_TRACE_HASH, payload, 0, DMAP_HASH_SIZE);
    pt_app_copy(out, DMAP_TRACE_SIZE, payload, DMAP_HASH_SIZE, 4);
    break;
  case DMAP_GET_CHUNK:
  case DMAP_DELETE_CHUNK:
    pt_app_copy(out, DMAP_TRACE_HASH, payload, 0, DMAP_HASH_SIZE);
    break;
  default:
    break;
  }
  size_t len = pt_app_payload_size(payload);
  uint32_t len32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
  for (unsigned i = 0; i < 4; i++) {
    out[DMAP_TRACE_PAYLOAD_LEN + i] = (uint8_t)(len32 >> (8 * i));
  }
}

static const char *dmap_describe_command(const pt_app_protocol *app,
                                         uint16_t cmd) {
  (void)app;
  return dmap_command_name(cmd);
}

/* should_trace is NULL: every command is traced. */
PT_APP_PROTOCOL_DEFINE(dmap_protocol, DMAP_APP_ID, dmap_to_trace_data,
                       dmap_describe_command, NULL);
