/*
 * pt_export: the exporter object shared by every format (internal view).
 * Each format provides a pt__export_ops; pt_export.c does the argument
 * checks, node table, time-order check, app command names and clock
 * labels.  Events reach every format as pt_event structs; a JSON writer
 * writes their fields with pt__event_json_members / pt__event_json_fields
 * (pt_event.h), never by editing formatted text.
 */
#ifndef PT_EXPORT_H
#define PT_EXPORT_H

#include <stdio.h>

#include "pt_event.h"
#include "pt_hex.h"

#include "pt_common.h"
#include <peertrace/pt_align.h>

typedef struct pt__export_node {
  uint8_t id[32];
  char hex[65];      /* full id in hex */
  char short_hex[9]; /* first 8 hex digits, as git shortens hashes */
  int has_clock;     /* pt_exporter_set_clock was called: clock is valid */
  pt_clock_estimate clock;
  char service[64]; /* pt_exporter_set_service ("" : the default) */
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
  int started;       /* the first event (or the finish) was written */
  int finished;      /* pt_exporter_finish ran: nothing more to write */
  int error;         /* first error; sticks */
  uint64_t first_us; /* time of the first event (0: none yet) */
  uint64_t last_us;
  uint64_t event_count;
  pt_app_namer namer;
  void *namer_user;
  char service_prefix[56]; /* pt_exporter_set_service_prefix ("": default) */
  void *state;             /* the format's own */
};

extern const pt__export_ops pt__export_json_ops;
extern const pt__export_ops pt__export_qlog_ops;
extern const pt__export_ops pt__export_chrome_ops;
extern const pt__export_ops pt__export_otlp_ops;
extern const pt__export_ops pt__export_svg_ops;

/* A JSON string literal (quotes included) for NUL-terminated text, by
 * pt__out_json_string. */
void pt__export_json_string(FILE *fp, const char *text);

/* A node's service name (pt_exporter_set_service, else the prefix's). */
void pt__export_service(const pt_exporter *ex, unsigned node, char *out,
                        size_t out_size);

/* The index of the node whose id ev names as its peer, or -1. */
long pt__export_peer_node(const pt_exporter *ex, const pt_event *ev);

/* Which format's name pt__export_space_name gives. */
typedef enum pt__space_style {
  PT__SPACE_QLOG, /* qlog's packet_type: "initial", "handshake", "1RTT" */
  PT__SPACE_SQL,  /* SQLite's space column: ..., "application" */
  PT__SPACE_STYLES
} pt__space_style;

/* A packet-number space's (PT_PN_SPACE_*) name in a format's style;
 * "unknown" for any other number. */
const char *pt__export_space_name(unsigned space, pt__space_style style);

/* XML-escaped text (no quotes). */
void pt__export_xml_text(FILE *fp, const char *text);

/*
 * Name of an app event's command: the namer's name, else "APPID/cmd" (e.g.
 * "DMAP/1"); for other kinds the kind name.
 */
void pt__export_event_title(const pt_exporter *ex, const pt_event *ev,
                            char *out, size_t out_size);

/* The same for an app id and command (ex NULL: "APPID/cmd" always). */
void pt__export_app_title(const pt_exporter *ex, const uint8_t app_id[4],
                          uint16_t cmd, char *out, size_t out_size);

/*
 * How a node's times are labelled (pt_exporter_set_clock), the same in
 * every format: times "aligned" (status reference or aligned) or "raw";
 * status one of "reference", "aligned", "unaligned", "inconsistent",
 * "unsolved", or "none" without an estimate; reference the exporter index
 * of the node whose estimate says PT_CLOCK_REFERENCE, -1 if none has.
 */
typedef struct pt__export_clock {
  const char *times;
  const char *status;
  int estimated; /* pt_exporter_set_clock was called */
  int aligned;   /* times "aligned": the numbers below hold the estimate */
  int reference;
  double offset_us, drift_ppm, bound_us;
  uint64_t t0_us;
} pt__export_clock;

void pt__export_clock_of(const pt_exporter *ex, unsigned node,
                         pt__export_clock *out);

/* "reference", "aligned", ..., or NULL for a status that is none of them. */
const char *pt__clock_status_name(pt_clock_status status);

/*
 * The label as one JSON object: {"times":..,"status":..[,"reference":N,
 * "offset_us":..,"drift_ppm":..,"t0_us":..,"bound_us":..]} (reference
 * only if known, the numbers only for aligned times).
 */
void pt__export_clock_json(const pt_exporter *ex, unsigned node, FILE *fp);

/*
 * The label as one line of text for people, e.g. "times aligned to node
 * 1a2b3c4d: offset -2500012.3 us, drift 50.0 ppm, bound +/-41.2 us" or
 * "times as recorded (no clock estimate)".  `brief` gives the short form
 * for a name suffix: "aligned +/-41.2 us", "reference clock", "raw times".
 */
void pt__export_clock_text(const pt_exporter *ex, unsigned node, int brief,
                           char *out, size_t out_size);

#endif /* PT_EXPORT_H */
