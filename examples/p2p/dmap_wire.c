/* dmap_wire: DataMap request/reply framing between nodes.  See dmap_wire.h. */
#include "dmap_wire.h"

#include <string.h>

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static int known_cmd(unsigned cmd) {
  return cmd == DMAP_STORE_CHUNK || cmd == DMAP_GET_CHUNK ||
         cmd == DMAP_DELETE_CHUNK;
}

int dmap_msg_encode(const dmap_msg *req, uint8_t *out, size_t cap) {
  size_t body = req->cmd == DMAP_STORE_CHUNK ? req->size : 0;
  if (!known_cmd(req->cmd) || body > DMAP_MAX_CHUNK ||
      cap < DMAP_MSG_HEADER + body || (body > 0 && req->data == NULL)) {
    return -1;
  }
  out[0] = req->cmd;
  out[1] = req->hops;
  memcpy(out + 2, req->hash, DMAP_HASH_SIZE);
  put32(out + 34, (uint32_t)body);
  if (body > 0) {
    memcpy(out + DMAP_MSG_HEADER, req->data, body);
  }
  return (int)(DMAP_MSG_HEADER + body);
}

int dmap_msg_decode(const uint8_t *in, size_t len, dmap_msg *req) {
  if (len < DMAP_MSG_HEADER || !known_cmd(in[0])) {
    return -1;
  }
  req->cmd = in[0];
  req->hops = in[1];
  memcpy(req->hash, in + 2, DMAP_HASH_SIZE);
  req->size = get32(in + 34);
  size_t body = len - DMAP_MSG_HEADER;
  if (req->cmd == DMAP_STORE_CHUNK) {
    if (req->size != body || body > DMAP_MAX_CHUNK) {
      return -1;
    }
    req->data = in + DMAP_MSG_HEADER;
  } else {
    if (req->size != 0 || body != 0) {
      return -1;
    }
    req->data = NULL;
  }
  return 0;
}

int dmap_reply_encode(const dmap_reply *res, uint8_t *out, size_t cap) {
  if (res->size > DMAP_MAX_CHUNK || cap < DMAP_REPLY_HEADER + res->size ||
      (res->size > 0 && res->data == NULL)) {
    return -1;
  }
  out[0] = res->status;
  out[1] = res->hops;
  put32(out + 2, res->size);
  if (res->size > 0) {
    memcpy(out + DMAP_REPLY_HEADER, res->data, res->size);
  }
  return (int)(DMAP_REPLY_HEADER + res->size);
}

int dmap_reply_decode(const uint8_t *in, size_t len, dmap_reply *res) {
  if (len < DMAP_REPLY_HEADER || in[0] > DMAP_STATUS_UNREACHABLE) {
    return -1;
  }
  res->status = in[0];
  res->hops = in[1];
  res->size = get32(in + 2);
  if (res->size != len - DMAP_REPLY_HEADER || res->size > DMAP_MAX_CHUNK) {
    return -1;
  }
  res->data = res->size ? in + DMAP_REPLY_HEADER : NULL;
  return 0;
}

const char *dmap_cmd_name(unsigned cmd) {
  return cmd > UINT16_MAX ? "UNKNOWN" : dmap_command_name((uint16_t)cmd);
}

const char *dmap_status_name(unsigned status) {
  static const char *const names[] = {"OK",       "NOT_FOUND", "BAD_REQUEST",
                                      "BAD_HASH", "FULL",      "UNREACHABLE"};
  return status < sizeof names / sizeof names[0] ? names[status] : "UNKNOWN";
}
