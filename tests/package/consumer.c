/* Prints whether the trace macros are live in this build, and records one
 * event if they are: the consumer must follow the library's build. */
#include <peertrace/peertrace.h>

#include <stdio.h>

#if PT_TRACE
static int record_one(void) {
  pt_log *log = NULL;
  if (pt_log_create(&log, NULL) != PT_OK) {
    return 1;
  }
  PT_PACKET_SENT(log, pt_trace_id_new(), 100, 1);
  pt_event *events = NULL;
  size_t count = 0;
  pt_log_recent(log, 10, &events, &count);
  printf("trace events=%zu\n", count);
  pt_events_free(events);
  pt_log_destroy(log);
  return 0;
}
#endif

int main(void) {
  PT_IF_TRACE(if (record_one() != 0) { return 1; })
  printf("PT_TRACE=%d\n", PT_TRACE);
  return 0;
}
