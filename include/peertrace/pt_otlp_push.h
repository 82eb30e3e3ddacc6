/*
 * peertrace - live push of an OTLP export to a collector (OTLP/HTTP).
 *
 * A pt_otlp_push is a FILE stream to give to pt_exporter_new with
 * PT_EXPORT_OTLP: every line the exporter writes (one whole
 * ExportTraceServiceRequest, OTLP/JSON) is, as soon as it is complete, cut
 * into requests of at most 128 KiB of JSON (its spans in order, each under
 * its resource and scope; a line that fits goes as written, and a line that
 * is not of that shape goes whole) and each is POSTed to the endpoint's
 * /v1/traces with Content-Type application/json (the OTLP/HTTP JSON
 * encoding) or, with options.protobuf, encoded as the protobuf message with
 * Content-Type application/x-protobuf.  Up to 4 requests are in flight at
 * once, so the collector decodes some while the exporter builds the next;
 * they may be answered out of order.  The transfers run on the caller's
 * thread, moving on whenever the exporter writes; a write that finds all 4
 * busy waits for one.  Per the OTLP
 * specification, a request answered 429, 502, 503 or 504, or that could not
 * connect or timed out, is retried with exponential backoff (options below; a
 * Retry-After of seconds is honoured, up to max_backoff_ms), a bounded number
 * of times, while the others go on. Anything else that is not 2xx refuses
 * the request.  Once a request finally fails, no attempt starts any more:
 * the requests in flight are waited for, those waiting for a retry or not
 * yet sent are counted not delivered, and the stream's write fails, so the
 * exporter stops with PT_ERR_IO; pt_otlp_push_error says why (unreachable,
 * refused with status and body, gave up after N attempts: the first
 * failure) and the counts say how many spans the collector took, rejected
 * (partialSuccess.rejectedSpans) or never got.  Nothing is dropped without
 * being counted.
 *
 * Built only with libcurl (CMake option PT_OTLP_PUSH, on when libcurl is
 * found): library peertrace_otlp_push.  Trace builds only.
 *
 * Use: pt_otlp_push_new, pt_exporter_new(&ex, PT_EXPORT_OTLP,
 * pt_otlp_push_stream(p)), export, pt_exporter_finish, then
 * pt_otlp_push_finish (sends what is buffered, closes the stream),
 * pt_otlp_push_get_stats, pt_otlp_push_free.
 * Thread-safety: one pt_otlp_push is used by one thread at a time.
 */
#ifndef PEERTRACE_PT_OTLP_PUSH_H
#define PEERTRACE_PT_OTLP_PUSH_H

#include <stdint.h>
#include <stdio.h>

#include <peertrace/peertrace.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

typedef struct pt_otlp_push pt_otlp_push;

/* 0 in any field: its default. */
typedef struct pt_otlp_push_options {
  unsigned max_attempts;   /* per request, first try included (default 5) */
  unsigned backoff_ms;     /* wait before the first retry, doubled after
                              each (default 200) */
  unsigned max_backoff_ms; /* longest wait, Retry-After included (5000) */
  unsigned timeout_ms;     /* per attempt: connect and answer (10000) */
  int protobuf;            /* 1: send application/x-protobuf (each line
                              encoded as the opentelemetry-proto message);
                              0: application/json */
} pt_otlp_push_options;

typedef struct pt_otlp_push_stats {
  uint64_t requests;       /* requests the collector accepted (2xx) */
  uint64_t spans_sent;     /* spans in them the collector kept */
  uint64_t spans_rejected; /* spans in them it rejected (partialSuccess) */
  uint64_t spans_failed;   /* spans of the requests that failed, if one
                              did, and of those then not sent */
  uint64_t retries;        /* attempts after a first, over all requests */
  long last_status;        /* the last HTTP status (0: no answer) */
} pt_otlp_push_stats;

/*
 * pt_otlp_push_new: a push to endpoint, an http:// or https:// URL: the
 * collector's base (e.g. "http://127.0.0.1:4318"), to which /v1/traces is
 * appended, or a URL that already ends in /v1/traces.  Nothing is sent
 * before the first line.  options may be NULL.  Returns PT_OK;
 * PT_ERR_INVALID (NULL, a URL of another scheme, or over 2000 bytes);
 * PT_ERR_NOMEM; PT_ERR_IO (the HTTP client could not start).
 */
PT_API int pt_otlp_push_new(pt_otlp_push **out, const char *endpoint,
                            const pt_otlp_push_options *options);

/* pt_otlp_push_stream: the stream to export into (owned by p). */
PT_API FILE *pt_otlp_push_stream(pt_otlp_push *p);

/*
 * pt_otlp_push_finish: sends what is buffered, waits for every request
 * to be answered (or to fail) and closes the stream.  Returns PT_OK if
 * every request was accepted; PT_ERR_IO if one failed
 * (pt_otlp_push_error), or if bytes after the last line remain (an
 * incomplete export: not sent, counted in no span); PT_ERR_INVALID (NULL
 * or called twice).
 */
PT_API int pt_otlp_push_finish(pt_otlp_push *p);

/* pt_otlp_push_get_stats: the counts so far. */
PT_API void pt_otlp_push_get_stats(const pt_otlp_push *p,
                                   pt_otlp_push_stats *out);

/*
 * pt_otlp_push_error: why the push failed, e.g. "http://127.0.0.1:9/v1/
 * traces: unreachable after 5 attempts: Couldn't connect to server" or
 * "...: refused: HTTP 400: <the collector's answer>"; "" if nothing failed.
 */
PT_API const char *pt_otlp_push_error(const pt_otlp_push *p);

/* pt_otlp_push_free: frees it (closing the stream if still open). */
PT_API void pt_otlp_push_free(pt_otlp_push *p);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_OTLP_PUSH_H */
