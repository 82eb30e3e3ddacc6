/* Uses the installed QUIC adapter: in trace builds it links against
 * libpeertrace_quic and checks a documented error; in release builds the
 * header still compiles (its trace-only parts compiled out). */
#include <peertrace/pt_quic.h>

#include <stdio.h>
#include <string.h>

int main(void) {
#if PT_TRACE
  pt_quic_tracer tracer;
  pt_trace_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  /* No log: the adapter must refuse with PT_ERR_INVALID. */
  int rc = pt_quic_tracer_init(&tracer, NULL, NULL, ctx);
  printf("quic init without log: %s\n", pt_strerror(rc));
  if (rc != PT_ERR_INVALID) {
    return 1;
  }
#endif
  printf("quic PT_TRACE=%d ngtcp2 %s\n", PT_TRACE, NGTCP2_VERSION);
  return 0;
}
