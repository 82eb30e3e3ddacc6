/*
 * peertrace export otlp --endpoint URL: the OTLP export POSTed to a
 * collector (include/peertrace/pt_otlp_push.h) instead of written to a file.
 */
#include "cli_commands.h"

#include <stdio.h>
#include <string.h>

#if defined(PT_CLI_OTLP_PUSH) && PT_CLI_OTLP_PUSH
#include <peertrace/pt_otlp_push.h>

int cli_push_open(const char *endpoint, int protobuf, FILE **fp, void **push) {
  pt_otlp_push *p = NULL;
  pt_otlp_push_options opt;
  memset(&opt, 0, sizeof opt);
  opt.protobuf = protobuf;
  int rc = pt_otlp_push_new(&p, endpoint, &opt);
  if (rc != PT_OK) {
    cli_error(endpoint, "%s",
              rc == PT_ERR_INVALID ? "not an http:// or https:// URL"
                                   : pt_strerror(rc));
    return -1;
  }
  *fp = pt_otlp_push_stream(p);
  *push = p;
  return 0;
}

int cli_push_close(void *push, int failed) {
  pt_otlp_push *p = push;
  int rc = pt_otlp_push_finish(p);
  pt_otlp_push_stats s;
  pt_otlp_push_get_stats(p, &s);
  if (rc != PT_OK || failed) {
    const char *why = pt_otlp_push_error(p);
    fprintf(stderr, "peertrace: push failed: %s\n",
            why[0] ? why : "the export stopped");
  }
  fprintf(stderr,
          "peertrace: %llu spans sent in %llu requests (%llu retries), "
          "%llu rejected by the collector, %llu not delivered%s\n",
          (unsigned long long)s.spans_sent, (unsigned long long)s.requests,
          (unsigned long long)s.retries, (unsigned long long)s.spans_rejected,
          (unsigned long long)s.spans_failed,
          rc != PT_OK || failed ? "; the export stopped there" : "");
  pt_otlp_push_free(p);
  return rc != PT_OK || failed || s.spans_rejected > 0 ? -1 : 0;
}

#else

int cli_push_open(const char *endpoint, int protobuf, FILE **fp, void **push) {
  (void)protobuf;
  (void)fp;
  (void)push;
  cli_error(endpoint, "this peertrace was built without libcurl (CMake "
                      "option PT_OTLP_PUSH): no --endpoint");
  return -1;
}

int cli_push_close(void *push, int failed) {
  (void)push;
  return failed ? -1 : 0;
}

#endif
