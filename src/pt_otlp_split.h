/*
 * pt_otlp_split (internal): one OTLP/JSON ExportTraceServiceRequest cut
 * into smaller requests of the same spans, for the push.
 *
 * A decoder that builds the whole message in memory (protobufjs, the
 * opentelemetry-proto types of OpenTelemetry JS) pays for a ~1 MiB request
 * mostly in garbage collection; the same spans in requests of 128 KiB
 * decode in about half the time (BENCHMARKS.md, live OTLP push).
 */
#ifndef PT_OTLP_SPLIT_H
#define PT_OTLP_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "pt_otlp_proto.h"

typedef struct pt__otlp_range {
  size_t off, len; /* bytes of the line */
  size_t owner;    /* a span's scopeSpans (index in scopes) */
} pt__otlp_range;

typedef struct pt__otlp_group {
  size_t first, count; /* its members other than its array, as text */
  size_t owner;        /* a scopeSpans' resourceSpans (index in resources) */
} pt__otlp_group;

typedef struct pt__otlp_split {
  const char *line;
  /* The line's resourceSpans, their scopeSpans, the other members of each
   * ("resource", "scope", ... in r_members / s_members) and the spans:
   * ranges of the line, the arrays reused from line to line. */
  pt__otlp_group *resources, *scopes;
  pt__otlp_range *r_members, *s_members, *spans;
  size_t n_resources, n_scopes, n_r_members, n_s_members, n_spans;
  size_t cap_resources, cap_scopes, cap_r_members, cap_s_members, cap_spans;
  size_t next; /* the first span not yet in a request */
} pt__otlp_split;

/*
 * Reads line[0..len), {"resourceSpans":[{..., "scopeSpans":[{...,
 * "spans":[...]}]}]} (members in any order, whitespace allowed), keeping
 * pointers into it until the next scan.  PT_OK; PT_ERR_PARSE (not that
 * shape: another top-level key, bad JSON); PT_ERR_NOMEM.  s->n_spans: the
 * spans found.
 */
int pt__otlp_split_scan(pt__otlp_split *s, const char *line, size_t len);

/*
 * The next request of the scanned line into *out (len reset to 0): the
 * next spans in order, as many as fit in max_bytes (at least one), each
 * under its resource and scope as in the line.  *spans: how many.
 * Returns 1 (a request), 0 (none left) or PT_ERR_NOMEM.  A line that fits
 * comes out byte for byte as the exporter wrote it (no whitespace, the
 * members of a resourceSpans and of a scopeSpans before their array).
 */
int pt__otlp_split_next(pt__otlp_split *s, size_t max_bytes, pt__pb_buf *out,
                        uint64_t *spans);

/* Frees what the scans kept. */
void pt__otlp_split_free(pt__otlp_split *s);

#endif /* PT_OTLP_SPLIT_H */
