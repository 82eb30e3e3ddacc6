/*
 * pt_export_log: exporting straight from a live log, through the same
 * exporters as dumps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pt_common.h"

int pt_log_export(const pt_log *log, const pt_trace_id *trace_id,
                  pt_export_format format, pt_app_namer namer, void *namer_user,
                  FILE *fp) {
  if (log == NULL || fp == NULL) {
    return PT_ERR_INVALID;
  }
  pt_exporter *ex;
  int rc = pt_exporter_new(&ex, format, fp);
  if (rc != PT_OK) {
    return rc;
  }
  pt_event *events = NULL;
  size_t count = 0;
  uint8_t node_id[32];
  unsigned node;
  pt_log_node_id(log, node_id);
  rc = pt_exporter_set_app_namer(ex, namer, namer_user);
  if (rc == PT_OK) {
    rc = pt_exporter_add_node(ex, node_id, &node);
  }
  if (rc == PT_OK) {
    /* Both queries return a sorted snapshot: what the exporter needs. */
    rc = trace_id != NULL ? pt_log_query_trace(log, trace_id, &events, &count)
                          : pt_log_recent(log, SIZE_MAX, &events, &count);
  }
  for (size_t i = 0; rc == PT_OK && i < count; i++) {
    rc = pt_exporter_write(ex, node, &events[i]);
  }
  if (rc == PT_OK) {
    rc = pt_exporter_finish(ex);
  }
  pt_events_free(events);
  pt_exporter_free(ex);
  return rc;
}

int pt_log_export_json(const pt_log *log, const pt_trace_id *trace_id,
                       char **out, size_t *len) {
  if (log == NULL || out == NULL || len == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  *len = 0;
  char *text = NULL;
  size_t size = 0;
  FILE *fp = open_memstream(&text, &size);
  if (fp == NULL) {
    return PT_ERR_NOMEM;
  }
  int rc = pt_log_export(log, trace_id, PT_EXPORT_JSON, NULL, NULL, fp);
  /* fclose writes the final size and NUL: it fails for lack of memory. */
  if (fclose(fp) != 0 && rc == PT_OK) {
    rc = errno == ENOMEM ? PT_ERR_NOMEM : PT_ERR_IO;
  }
  if (rc != PT_OK) {
    free(text);
    return rc; /* an exporter's PT_ERR_IO stays one */
  }
  *out = text;
  *len = size;
  return PT_OK;
}
