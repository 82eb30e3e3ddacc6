/*
 * pt_export: the exporter object shared by every format (internal view).
 * Each format provides a pt__export_ops; pt_export.c does the argument
 * checks, node table, time-order check, app command names and JSON text.
 */
#ifndef PT_EXPORT_H
#define PT_EXPORT_H

#include <stdio.h>

#include "pt_event.h"
#include "pt_hex.h"

#include "pt_common.h"

typedef struct pt__export_node {
  uint8_t id[32];
  char hex[65];      /* full id in hex */
  char short_hex[9]; /* first 8 hex digits, as git shortens hashes */
} pt__export_node;

typedef struct pt__export_ops {
  /* Before the first event (first == NULL if the export has none). */
  int (*begin)(pt_exporter *ex, const pt_event *first);
  int (*event)(pt_exporter *ex, unsigned node, const pt_event *ev);
  int (*finish)(pt_exporter *ex);
  void (*free_state)(pt_exporter *ex);
  unsigned max_nodes;
} pt__export_ops;

struct pt_exporter {
  pt_export_format format;
  const pt__export_ops *ops;
  FILE *fp;
  pt__export_node *nodes;
  unsigned node_count;
  int started;
  int error;         /* first error; sticks */
  uint64_t first_us; /* time of the first event (0: none yet) */
  uint64_t last_us;
  uint64_t event_count;
  pt_app_namer namer;
  void *namer_user;
  void *state; /* the format's own */
};

extern const pt__export_ops pt__export_json_ops;
extern const pt__export_ops pt__export_qlog_ops;
extern const pt__export_ops pt__export_chrome_ops;
extern const pt__export_ops pt__export_otlp_ops;
extern const pt__export_ops pt__export_svg_ops;

/* A JSON string literal (quotes included) for NUL-terminated text. */
void pt__export_json_string(FILE *fp, const char *text);

/* XML-escaped text (no quotes). */
void pt__export_xml_text(FILE *fp, const char *text);

/*
 * Name of an app event's command: the namer's name, else "APPID/cmd" (e.g.
 * "DMAP/1"); for other kinds the kind name.
 */
void pt__export_event_title(const pt_exporter *ex, const pt_event *ev,
                            char *out, size_t out_size);

/* pt_event_to_json of ev into out; PT_ERR_BUFFER if it does not fit. */
int pt__export_event_json(const pt_event *ev, char *out, size_t out_size);

#endif /* PT_EXPORT_H */
