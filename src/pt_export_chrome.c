/*
 * pt_export_chrome: Chrome trace event JSON, for ui.perfetto.dev and
 * chrome://tracing.
 *
 * {"displayTimeUnit":"ms","traceEvents":[...]} with `ts`/`dur` in Unix
 * microseconds.  Each node is a process (pid = node index + 1, named by
 * "process_name" metadata, whose name ends with the node's clock label,
 * e.g. "node 1a2b3c4d (aligned +/-41.2 us)"; "process_labels" holds the
 * label in full and its numbers as args.clock) with two threads: 1 "network"
 * (packet and connection events, as instants) and 2 "app" (app requests as
 * complete "X" slices from app_end's duration, app commands as zero-length
 * slices, app_start as an instant).  The app slices of one trace id carry the
 * same bind_id with flow_in and flow_out, which Perfetto draws as arrows from
 * slice to slice in time order: across nodes, that is how a request
 * travelled.
 */
#include "pt_export.h"

static int pt__chrome_begin(pt_exporter *ex, const pt_event *first) {
  (void)first;
  FILE *fp = ex->fp;
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", fp);
  for (unsigned i = 0; i < ex->node_count; i++) {
    /* The clock label twice: short in the name, which every viewer shows,
     * in full as the process's labels. */
    char brief[64], name[96], label[160];
    pt__export_clock_text(ex, i, 1, brief, sizeof brief);
    snprintf(name, sizeof name, "node %s (%s)", ex->nodes[i].short_hex, brief);
    pt__export_clock_text(ex, i, 0, label, sizeof label);
    fprintf(fp,
            "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,"
            "\"tid\":0,\"args\":{\"name\":",
            i ? ",\n" : "", i + 1);
    pt__export_json_string(fp, name);
    fprintf(fp,
            "}},\n{\"ph\":\"M\",\"name\":\"process_labels\",\"pid\":%u,"
            "\"tid\":0,\"args\":{\"labels\":",
            i + 1);
    pt__export_json_string(fp, label);
    fputs(",\"clock\":", fp);
    pt__export_clock_json(ex, i, fp);
    fprintf(fp,
            "}},\n"
            "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":1,"
            "\"args\":{\"name\":\"network\"}},\n"
            "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":2,"
            "\"args\":{\"name\":\"app\"}}",
            i + 1, i + 1);
  }
  return PT_OK;
}

static const char *pt__chrome_category(unsigned kind) {
  switch (kind) {
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED:
  case PT_EV_STREAM_OPENED:
  case PT_EV_STREAM_DATA:
  case PT_EV_STREAM_FRAME:
    return "transport";
  case PT_EV_PACKET_LOST:
    return "recovery";
  case PT_EV_CONN_INIT:
  case PT_EV_CONN_ESTABLISHED:
    return "connectivity";
  case PT_EV_APP_COMMAND:
  case PT_EV_APP_START:
  case PT_EV_APP_END:
    return "app";
  default:
    return "custom";
  }
}

static int pt__chrome_event(pt_exporter *ex, unsigned node,
                            const pt_event *ev) {
  FILE *fp = ex->fp;
  char title[128];
  pt__export_event_title(ex, ev, title, sizeof title);
  const char *category = pt__chrome_category(ev->kind);
  int app = category[0] == 'a';
  /* The metadata records come first: every event follows a comma. */
  fputs(",\n{\"name\":", fp);
  pt__export_json_string(fp, title);
  fprintf(fp, ",\"cat\":\"%s\",\"pid\":%u,\"tid\":%d,", category, node + 1,
          app ? 2 : 1);
  if (ev->kind == PT_EV_APP_END || ev->kind == PT_EV_APP_COMMAND) {
    /* A request is a slice of its duration, a command a slice of zero. */
    uint64_t dur = ev->kind == PT_EV_APP_END ? ev->data.app_end.duration_us : 0;
    uint64_t start = dur <= ev->timestamp_us ? ev->timestamp_us - dur : 0;
    fprintf(fp, "\"ph\":\"X\",\"ts\":%llu,\"dur\":%llu,",
            (unsigned long long)start, (unsigned long long)dur);
    if (!pt_trace_id_is_zero(&ev->trace_id)) {
      /*
       * Flow ids are 64-bit: the trace id's first 8 bytes.  Every slice of
       * the trace ends the flow from the previous one and starts the next,
       * so Perfetto draws the trace's path from slice to slice in time.
       */
      char id[17];
      pt__hex_encode(id, ev->trace_id.bytes, 8);
      fprintf(fp, "\"bind_id\":\"0x%s\",\"flow_in\":true,\"flow_out\":true,",
              id);
    }
  } else {
    fprintf(fp, "\"ph\":\"i\",\"s\":\"t\",\"ts\":%llu,",
            (unsigned long long)ev->timestamp_us);
  }
  fputs("\"args\":{", fp);
  pt__out o = {fp, NULL, 0, 0};
  pt__event_json_members(&o, ev, NULL, 0);
  fputs("}}", fp);
  return PT_OK;
}

static int pt__chrome_finish(pt_exporter *ex) {
  fputs("\n]}\n", ex->fp);
  return PT_OK;
}

const pt__export_ops pt__export_chrome_ops = {
    pt__chrome_begin, pt__chrome_event, pt__chrome_finish, NULL, 0};
