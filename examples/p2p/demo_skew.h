/*
 * demo_skew - real clock skew for the demo's node processes, made by
 * libfaketime (Debian packages faketime / libfaketime).
 *
 * A node process started with LD_PRELOAD=libfaketime.so.1 and
 * FAKETIME="+2.5s x1.00005" sees a CLOCK_REALTIME that starts 2.5 s ahead
 * of the true one and runs 50 ppm fast; FAKETIME_DONT_FAKE_MONOTONIC=1
 * leaves the monotonic clocks (QUIC timers, poll, peertrace's TSC
 * calibration against CLOCK_MONOTONIC_RAW) alone.  peertrace's event clock
 * is anchored to CLOCK_REALTIME every millisecond, so the node's events
 * carry the skewed time: offset and rate.  LD_PRELOAD acts at exec only, so
 * the launcher re-executes its own binary for each node (p2p_demo.c).
 *
 * What each node was given, and what its clock actually read against the
 * true CLOCK_REALTIME when it started, is written to DIR/clock-skew.json
 * for tests and readers (docs/clocks.md):
 *   {"nodes": [{"index": 0, "node": "<64 hex digits>", "offset_s": -3.2,
 *     "drift_ppm": 12.5, "faketime": "-3.200000s x1.000012500",
 *     "measured_at_us": <true Unix us>, "measured_offset_us": <node clock
 *     minus true clock then, us>}, ...]}
 * The node's injected offset at true time t is then
 *   measured_offset_us + drift_ppm * 1e-6 * (t - measured_at_us).
 */
#ifndef DEMO_SKEW_H
#define DEMO_SKEW_H

#include <stddef.h>
#include <stdint.h>

/* Limits of --skew values (certificates are valid for one hour around the
 * node's own clock; the peers' clocks must stay well within that). */
#define DEMO_SKEW_MAX_OFFSET_S 600.0
#define DEMO_SKEW_MAX_DRIFT_PPM 1000.0
/* Range of --skew-seed's random values. */
#define DEMO_SKEW_SEED_OFFSET_S 10.0
#define DEMO_SKEW_SEED_DRIFT_PPM 100.0

typedef struct demo_skew {
  double offset_s;  /* node clock minus true clock when the node starts */
  double drift_ppm; /* node clock's rate error, parts per million */
} demo_skew;

/* "OFF:PPM,OFF:PPM,...", one per node (exactly `count`), within the limits
 * above.  Returns 0, or -1 after saying what is wrong on stderr. */
int demo_skew_parse(const char *spec, demo_skew *out, size_t count);

/* Seeded random skews: offsets uniform in +-DEMO_SKEW_SEED_OFFSET_S, drifts
 * in +-DEMO_SKEW_SEED_DRIFT_PPM, every node (node 0 too) its own. */
void demo_skew_random(uint64_t seed, demo_skew *out, size_t count);

/* The libfaketime preload library: $PT_LIBFAKETIME if set, else the first
 * of Debian's paths that exists; NULL (after a one-line error on stderr
 * naming the package) if none does. */
const char *demo_skew_library(void);

/* The FAKETIME value for a skew, e.g. "+2.500000s x1.000050000". */
void demo_skew_faketime(const demo_skew *s, char *buf, size_t size);

/* In a child about to exec: sets LD_PRELOAD (libfaketime after any preload
 * already there, which sanitizer runtimes need first), FAKETIME and
 * FAKETIME_DONT_FAKE_MONOTONIC.  Returns 0 or -1 (errno). */
int demo_skew_setenv(const demo_skew *s, const char *library);

/* This process's CLOCK_REALTIME (as libc, hence libfaketime, gives it)
 * minus the kernel's (the raw system call, which libfaketime does not
 * see), at true Unix time *true_us.  0 and the true time without skew. */
void demo_skew_measure(int64_t *true_us, int64_t *offset_us);

/* One node as its process reported it. */
typedef struct demo_skew_node {
  char id_hex[65];
  int64_t measured_at_us;
  int64_t measured_offset_us;
} demo_skew_node;

/* Prints the injected table (before the nodes start). */
void demo_skew_print(const demo_skew *skews, size_t count, const char *how);

/* Writes DIR/clock-skew.json (format above).  Returns 0, or -1 after
 * saying why on stderr. */
int demo_skew_write(const char *dir, const demo_skew *skews,
                    const demo_skew_node *nodes, size_t count);

/* The path of DIR/clock-skew.json. */
void demo_skew_path(char *out, size_t size, const char *dir);

#endif /* DEMO_SKEW_H */
