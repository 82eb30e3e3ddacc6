/*
 * Probe for the zero-cost test of the app macros (check.sh).  Compiled with
 * WITH_APP=0 (no app lines) and WITH_APP=1 (app lines) under each build;
 * with PT_TRACE_APP off the two objects must be identical.  The arguments
 * name things that do not exist in those builds (PROBE_TRACE_ID defaults to
 * an undeclared identifier; s->registry and s->span exist only with
 * PT_TRACE_APP), so the probe compiles only if the arguments are dropped
 * unseen; other arguments call an external function, so an argument that
 * were evaluated would leave a call in .text.
 */
#include <peertrace/peertrace.h>

#ifndef PROBE_TRACE_ID
#define PROBE_TRACE_ID no_such_trace_id_variable
#endif

struct probe_server {
  int served;
  PT_TRACE_FIELD(pt_log *log;)
  PT_APP_FIELD(const pt_app_registry *registry;)
  PT_APP_FIELD(pt_app_span span;)
};

int probe_handle(struct probe_server *s, int cmd, const unsigned char *payload,
                 unsigned long len);
/* Defined elsewhere: if an argument were evaluated, the call would remain. */
int probe_side_effect(void);

int probe_handle(struct probe_server *s, int cmd, const unsigned char *payload,
                 unsigned long len) {
#if WITH_APP
  PT_APP_START(s->log, s->registry, s->span, PROBE_TRACE_ID, "DMAP", cmd,
               payload, len);
  PT_APP_COMMAND(s->log, s->registry, PROBE_TRACE_ID, "DMAP",
                 probe_side_effect(), payload, len);
  PT_APP_COMMAND_FLAGS(s->log, s->registry, PROBE_TRACE_ID, s->span.flags,
                       "DMAP", probe_side_effect(), payload, len);
  PT_APP_START_FLAGS(s->log, s->registry, s->span, PROBE_TRACE_ID,
                     probe_side_effect(), "DMAP", cmd, payload, len);
#endif
  int rv = cmd * 3 + (int)len + (len > 0 ? payload[0] : 0);
  s->served += rv;
#if WITH_APP
  PT_APP_END(s->log, s->span, probe_side_effect() == rv);
  PT_IF_APP(s->served += 1000;)
#endif
  return rv;
}
