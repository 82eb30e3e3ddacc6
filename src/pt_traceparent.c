/*
 * pt_traceparent: the W3C Trace Context `traceparent` header value
 * (https://www.w3.org/TR/trace-context/), so a trace can continue into
 * OpenTelemetry-instrumented services and come back.
 */
#include <peertrace/peertrace.h>

#include <string.h>

#include "pt_hex.h"

static int pt__all_zero(const uint8_t *bytes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (bytes[i] != 0) {
      return 0;
    }
  }
  return 1;
}

int pt_traceparent_format(const pt_trace_id *trace_id,
                          const uint8_t parent_id[8], pt_trace_flags flags,
                          char *out, size_t out_size) {
  if (trace_id == NULL || parent_id == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  if (out_size < PT_TRACEPARENT_SIZE) {
    return PT_ERR_BUFFER;
  }
  if (pt__all_zero(trace_id->bytes, 16) || pt__all_zero(parent_id, 8)) {
    return PT_ERR_INVALID;
  }
  uint8_t w3c_flags = (uint8_t)(flags & PT_FLAG_SAMPLED);
  /* Each encode ends with a NUL that the next separator overwrites. */
  memcpy(out, "00-", 3);
  pt__hex_encode(out + 3, trace_id->bytes, 16);
  out[35] = '-';
  pt__hex_encode(out + 36, parent_id, 8);
  out[52] = '-';
  pt__hex_encode(out + 53, &w3c_flags, 1);
  return PT_OK;
}

/* Lowercase hex only, as W3C requires. */
static int pt__hex_get(const char *text, uint8_t *out, size_t n) {
  return pt__hex_decode(text, out, n, 1) == 0 ? PT_OK : PT_ERR_PARSE;
}

int pt_traceparent_parse(const char *text, size_t len, pt_trace_id *trace_id,
                         uint8_t parent_id[8], pt_trace_flags *flags) {
  if (text == NULL || trace_id == NULL || parent_id == NULL || flags == NULL) {
    return PT_ERR_INVALID;
  }
  if (len < 55) {
    return PT_ERR_PARSE;
  }
  uint8_t version;
  if (pt__hex_get(text, &version, 1) != PT_OK || version == 0xff) {
    return PT_ERR_PARSE;
  }
  /* Version 00 is exactly 55 characters; later versions may append "-...". */
  if ((version == 0 && len != 55) || (len > 55 && text[55] != '-')) {
    return PT_ERR_PARSE;
  }
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') {
    return PT_ERR_PARSE;
  }
  pt_trace_id id;
  uint8_t parent[8];
  uint8_t w3c_flags;
  if (pt__hex_get(text + 3, id.bytes, 16) != PT_OK ||
      pt__hex_get(text + 36, parent, 8) != PT_OK ||
      pt__hex_get(text + 53, &w3c_flags, 1) != PT_OK) {
    return PT_ERR_PARSE;
  }
  if (pt__all_zero(id.bytes, 16) || pt__all_zero(parent, 8)) {
    return PT_ERR_PARSE;
  }
  *trace_id = id;
  memcpy(parent_id, parent, 8);
  *flags = (pt_trace_flags)(w3c_flags & PT_FLAG_SAMPLED);
  return PT_OK;
}
