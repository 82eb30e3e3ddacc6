/* pt_otlp_proto (internal): an OTLP/JSON request line as protobuf. */
#ifndef PT_OTLP_PROTO_H
#define PT_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <peertrace/peertrace.h>

typedef struct pt__pb_buf {
  uint8_t *data; /* malloc'ed; the caller frees it */
  size_t len, cap;
} pt__pb_buf;

/* Room for n more bytes after b->len.  PT_OK or PT_ERR_NOMEM. */
int pt__pb_buf_reserve(pt__pb_buf *b, size_t n);

/*
 * One ExportTraceServiceRequest of the OTLP export (json[0..len), as
 * pt_export_otlp.c writes it) in its protobuf encoding, into *out (reused:
 * len reset to 0, grown as needed).  PT_OK; PT_ERR_PARSE (text the export
 * does not write: an unknown key, bad JSON); PT_ERR_NOMEM.
 */
int pt__otlp_json_to_proto(const char *json, size_t len, pt__pb_buf *out);

#endif /* PT_OTLP_PROTO_H */
