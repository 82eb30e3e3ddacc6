/* demo_skew: libfaketime clock skew for the demo's node processes (see
 * demo_skew.h). */
#define _GNU_SOURCE

#include "demo_skew.h"

#include "demo_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SKEW_FILE "clock-skew.json"

int demo_skew_parse(const char *spec, demo_skew *out, size_t count) {
  const char *p = spec;
  for (size_t i = 0; i < count; i++) {
    char *end = NULL;
    errno = 0;
    double off = strtod(p, &end);
    if (errno != 0 || end == p || *end != ':') {
      fprintf(stderr, "--skew: node %zu: expected OFFSET_S:DRIFT_PPM at '%s'\n",
              i, p);
      return -1;
    }
    p = end + 1;
    double ppm = strtod(p, &end);
    if (errno != 0 || end == p || (*end != ',' && *end != '\0') ||
        (*end == '\0') != (i + 1 == count)) {
      fprintf(stderr,
              "--skew: node %zu: expected DRIFT_PPM then %s at '%s' "
              "(one OFFSET_S:DRIFT_PPM per node, %zu nodes)\n",
              i, i + 1 == count ? "the end" : "','", p, count);
      return -1;
    }
    /* Written so that NaN fails too. */
    if (!(off >= -DEMO_SKEW_MAX_OFFSET_S && off <= DEMO_SKEW_MAX_OFFSET_S) ||
        !(ppm >= -DEMO_SKEW_MAX_DRIFT_PPM && ppm <= DEMO_SKEW_MAX_DRIFT_PPM)) {
      fprintf(stderr,
              "--skew: node %zu: offset within +-%.0f s and drift within "
              "+-%.0f ppm, not %g:%g\n",
              i, DEMO_SKEW_MAX_OFFSET_S, DEMO_SKEW_MAX_DRIFT_PPM, off, ppm);
      return -1;
    }
    out[i].offset_s = off;
    out[i].drift_ppm = ppm;
    p = end + (*end == ',');
  }
  return 0;
}

/* A whole number uniform in [-max, max] from 8 random bytes (the modulo
 * bias is below 2^-40). */
static int64_t to_signed(const uint8_t *bytes, int64_t max) {
  uint64_t v;
  memcpy(&v, bytes, sizeof v);
  return (int64_t)(v % (uint64_t)(2 * max + 1)) - max;
}

void demo_skew_random(uint64_t seed, demo_skew *out, size_t count) {
  for (size_t i = 0; i < count; i++) {
    /* Node i's values: SHA-256 of the seed and its index, as node ids are
     * made (demo_net.c); in the steps the table prints (1 ms, 0.01 ppm), so
     * the printed and the injected values are the same. */
    char text[64];
    uint8_t hash[32];
    snprintf(text, sizeof text, "peertrace-skew/%llu/%zu",
             (unsigned long long)seed, i);
    demo_sha256((const uint8_t *)text, strlen(text), hash);
    int64_t ms = to_signed(hash, (int64_t)(DEMO_SKEW_SEED_OFFSET_S * 1e3));
    int64_t cppm =
        to_signed(hash + 8, (int64_t)(DEMO_SKEW_SEED_DRIFT_PPM * 1e2));
    out[i].offset_s = (double)ms / 1e3;
    out[i].drift_ppm = (double)cppm / 1e2;
  }
}

const char *demo_skew_library(void) {
  static const char *const paths[] = {
      "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/i386-linux-gnu/faketime/libfaketime.so.1",
      "/usr/lib/faketime/libfaketime.so.1"};
  const char *env = getenv("PT_LIBFAKETIME");
  if (env != NULL && *env != '\0') {
    if (access(env, R_OK) == 0) {
      return env;
    }
    fprintf(stderr,
            "demo: clock skew needs libfaketime: PT_LIBFAKETIME=%s: "
            "%s\n",
            env, strerror(errno));
    return NULL;
  }
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    if (access(paths[i], R_OK) == 0) {
      return paths[i];
    }
  }
  fprintf(stderr, "demo: clock skew needs libfaketime, not found (Debian: "
                  "apt-get install libfaketime; or set PT_LIBFAKETIME)\n");
  return NULL;
}

void demo_skew_faketime(const demo_skew *s, char *buf, size_t size) {
  snprintf(buf, size, "%+.6fs x%.9f", s->offset_s, 1.0 + s->drift_ppm * 1e-6);
}

int demo_skew_setenv(const demo_skew *s, const char *library) {
  char faketime[64], preload[1024];
  const char *old = getenv("LD_PRELOAD");
  if (old != NULL && *old != '\0') {
    if ((size_t)snprintf(preload, sizeof preload, "%s:%s", old, library) >=
        sizeof preload) {
      errno = ENAMETOOLONG;
      return -1;
    }
  } else {
    snprintf(preload, sizeof preload, "%s", library);
  }
  demo_skew_faketime(s, faketime, sizeof faketime);
  if (setenv("LD_PRELOAD", preload, 1) != 0 ||
      setenv("FAKETIME", faketime, 1) != 0 ||
      setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1) != 0) {
    return -1;
  }
#if defined(__SANITIZE_ADDRESS__)
  /* A dynamic ASan runtime wants to come first among the preloads; after
   * libfaketime it still works, so let it start. */
  const char *asan = getenv("ASAN_OPTIONS");
  char opts[1024];
  snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0",
           asan != NULL ? asan : "", asan != NULL && *asan ? ":" : "");
  if (setenv("ASAN_OPTIONS", opts, 1) != 0) {
    return -1;
  }
#endif
  return 0;
}

static int64_t ts_us(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

void demo_skew_measure(int64_t *true_us, int64_t *offset_us) {
  int64_t best = INT64_MAX;
  /* The kernel's clock on both sides of libc's, which libfaketime wraps:
   * the midpoint is within half the gap of libc's reading.  A preemption
   * inside widens the gap (one of 10 ms made a node's truth 5 ms wrong),
   * so the tightest of up to 100 tries is kept; a gap of 2 us or less ends
   * the search. */
  for (int i = 0; i < 100 && best > 2; i++) {
    struct timespec before, seen, after;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &before);
    clock_gettime(CLOCK_REALTIME, &seen);
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &after);
    int64_t gap = ts_us(&after) - ts_us(&before);
    if (gap < best) {
      best = gap;
      *true_us = (ts_us(&before) + ts_us(&after)) / 2;
      *offset_us = ts_us(&seen) - *true_us;
    }
  }
}

void demo_skew_print(const demo_skew *skews, size_t count, const char *how) {
  printf("Clock skew injected (%s; each node's CLOCK_REALTIME under "
         "libfaketime):\n  node    offset       drift      FAKETIME\n",
         how);
  for (size_t i = 0; i < count; i++) {
    char faketime[64];
    demo_skew_faketime(&skews[i], faketime, sizeof faketime);
    printf("  node%-2zu  %+9.3f s  %+8.2f ppm  \"%s\"\n", i, skews[i].offset_s,
           skews[i].drift_ppm, faketime);
  }
}

void demo_skew_path(char *out, size_t size, const char *dir) {
  snprintf(out, size, "%s/%s", dir, SKEW_FILE);
}

int demo_skew_write(const char *dir, const demo_skew *skews,
                    const demo_skew_node *nodes, size_t count) {
  char path[512];
  demo_skew_path(path, sizeof path, dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "demo: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "{\"nodes\": [");
  for (size_t i = 0; i < count; i++) {
    char faketime[64];
    demo_skew_faketime(&skews[i], faketime, sizeof faketime);
    fprintf(f,
            "%s\n  {\"index\": %zu, \"node\": \"%s\", \"offset_s\": %.6f, "
            "\"drift_ppm\": %.6f, \"faketime\": \"%s\", "
            "\"measured_at_us\": %lld, \"measured_offset_us\": %lld}",
            i > 0 ? "," : "", i, nodes[i].id_hex, skews[i].offset_s,
            skews[i].drift_ppm, faketime, (long long)nodes[i].measured_at_us,
            (long long)nodes[i].measured_offset_us);
  }
  fprintf(f, "\n]}\n");
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    fprintf(stderr, "demo: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}
