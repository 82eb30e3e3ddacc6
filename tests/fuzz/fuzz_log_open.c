/*
 * fuzz_log_open: libFuzzer target for log files (pt_log_config.file_path),
 * which other processes write and which the CLI and followers open after
 * their writer crashed: their bytes are untrusted.  The input is written to
 * a file and opened with pt_log_open; a rejected file must give one of the
 * documented errors.  An accepted one is read every way a reader can:
 * stats, node id, writer status, the queries (indexed and scanning, which
 * must agree), a follower from the start, an export, a dump saved from it
 * (which must load, holding events the queries saw), and a write
 * through the view, which must change nothing.  ASan/UBSan catch
 * out-of-bounds reads of the mapping and undefined behaviour.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>

#include <peertrace/peertrace.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* In /dev/shm where there is one: each run saves a dump, with fsync. */
static char shm_dir[] = "/dev/shm/pt-fuzz-log.XXXXXX";
static char tmp_dir[] = "/tmp/pt-fuzz-log.XXXXXX";
static const char *dir;
static char log_path[sizeof shm_dir + 8];
static char dump_path[sizeof shm_dir + 8];

static void remove_dir(void) {
  rmdir(dir);
}

static void write_input(const uint8_t *data, size_t size) {
  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0) {
    abort();
  }
}

static int same_events(const pt_event *a, size_t na, const pt_event *b,
                       size_t nb) {
  return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* The indexed and the scanning query object must return the same. */
static void check_queries(const pt_log *log, const pt_event *recent,
                          size_t count) {
  pt_query *q[2];
  if (pt_query_create(&q[0], log, 0) != PT_OK ||
      pt_query_create(&q[1], log, PT_QUERY_SCAN) != PT_OK) {
    abort();
  }
  const pt_event *probe = count > 0 ? &recent[count / 2] : NULL;
  pt_trace_id absent = {{0x42}};
  const pt_trace_id *trace = probe != NULL ? &probe->trace_id : &absent;
  const uint8_t *peer = probe != NULL ? probe->peer_id : absent.bytes;
  pt_event *r[2][4];
  size_t n[2][4];
  int contains[2];
  pt_peer_stats stats[2];
  for (unsigned i = 0; i < 2; i++) {
    if (pt_query_get_trace(q[i], trace, &r[i][0], &n[i][0]) != PT_OK ||
        pt_query_recent(q[i], count, &r[i][1], &n[i][1]) != PT_OK ||
        pt_query_time_range(q[i], probe ? probe->timestamp_us : 0, UINT64_MAX,
                            &r[i][2], &n[i][2]) != PT_OK ||
        pt_query_by_peer(q[i], peer, &r[i][3], &n[i][3]) != PT_OK) {
      abort();
    }
    contains[i] = pt_query_contains_trace(q[i], trace);
    memset(&stats[i], 0, sizeof stats[i]);
    if (pt_query_analyze_peer(q[i], peer, &stats[i]) != PT_OK) {
      abort();
    }
  }
  for (unsigned k = 0; k < 4; k++) {
    if (!same_events(r[0][k], n[0][k], r[1][k], n[1][k])) {
      abort();
    }
    pt_events_free(r[0][k]);
    pt_events_free(r[1][k]);
  }
  if (contains[0] != contains[1] || contains[0] != (n[1][0] > 0) ||
      memcmp(&stats[0], &stats[1], sizeof stats[0]) != 0) {
    abort();
  }
  pt_query_destroy(q[0]);
  pt_query_destroy(q[1]);
}

static void check_dump(const pt_log *log, const pt_event *recent,
                       size_t count) {
  if (pt_log_dump_save(log, dump_path) != PT_OK) {
    abort();
  }
  pt_dump_reader *reader;
  pt_dump_error err;
  if (pt_dump_reader_open(&reader, dump_path, &err) != PT_OK) {
    abort(); /* what the library saves it must load */
  }
  /* The dump holds the events the queries saw, in the same order, less
   * those a dump cannot hold (docs/dump-format.md): a subsequence. */
  size_t at = 0;
  pt_event ev;
  int rc;
  while ((rc = pt_dump_reader_next(reader, &ev, NULL, &err)) == 1) {
    while (at < count && memcmp(&ev, &recent[at], sizeof ev) != 0) {
      at++;
    }
    if (at == count) {
      abort();
    }
    at++;
  }
  if (rc != 0) {
    abort();
  }
  pt_dump_reader_close(reader);
  unlink(dump_path);
}

static void check_follow(const pt_log *log, size_t count) {
  pt_follow *follow;
  if (pt_follow_create(&follow, log, PT_FOLLOW_FROM_START) != PT_OK) {
    abort();
  }
  size_t total = 0;
  for (unsigned i = 0; i < 2; i++) {
    const pt_event *events;
    size_t n;
    uint64_t missed;
    if (pt_follow_poll(follow, &events, &n, &missed) != PT_OK) {
      abort();
    }
    char text[512];
    for (size_t j = 0; j < n; j++) {
      pt_event_format(&events[j], text, sizeof text);
    }
    total += n;
  }
  /* Nothing writes the file: a follower sees no more than is there. */
  if (total > count) {
    abort();
  }
  pt_follow_destroy(follow);
}

static void read_view(const pt_log *log) {
  pt_log_stats stats;
  uint8_t node[32];
  int status = pt_log_writer_status(log);
  if (pt_log_get_stats(log, &stats) != PT_OK ||
      pt_log_node_id(log, node) != PT_OK ||
      (status != PT_WRITER_RUNNING && status != PT_WRITER_EXITED &&
       status != PT_WRITER_DIED)) {
    abort();
  }
  pt_event *recent;
  size_t count;
  if (pt_log_recent(log, (size_t)stats.capacity, &recent, &count) != PT_OK ||
      count > stats.capacity) {
    abort();
  }
  char text[512];
  for (size_t i = 0; i < count; i++) {
    pt_event_format(&recent[i], text, sizeof text);
    pt_event_to_json(&recent[i], text, sizeof text);
    if (i > 0 && recent[i].timestamp_us < recent[i - 1].timestamp_us) {
      abort(); /* results are sorted by time */
    }
  }
  check_queries(log, recent, count);
  if (status != PT_WRITER_RUNNING) {
    /* With a live writer the two snapshots could differ. */
    check_dump(log, recent, count);
  }
  check_follow(log, count);
  char *json;
  size_t len;
  if (pt_log_export_json(log, NULL, &json, &len) != PT_OK) {
    abort();
  }
  free(json);
  /* A write through a read-only view records nothing and must not fault. */
  pt_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = PT_EV_CUSTOM;
  pt_log_write((pt_log *)(uintptr_t)log, &ev);
  pt_event *after;
  size_t after_count;
  if (pt_log_recent(log, (size_t)stats.capacity, &after, &after_count) !=
          PT_OK ||
      !same_events(recent, count, after, after_count)) {
    abort();
  }
  pt_events_free(after);
  pt_events_free(recent);
  if (pt_log_check(log, NULL) != PT_OK) {
    abort(); /* nothing touched the file while it was read */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (log_path[0] == '\0') {
    dir = mkdtemp(shm_dir);
    if (dir == NULL && (dir = mkdtemp(tmp_dir)) == NULL) {
      abort();
    }
    snprintf(log_path, sizeof log_path, "%s/log", dir);
    snprintf(dump_path, sizeof dump_path, "%s/dump", dir);
    atexit(remove_dir);
  }
  write_input(data, size);
  const pt_log *log = NULL;
  int rc = pt_log_open(&log, log_path);
  if (rc == PT_OK) {
    read_view(log);
    pt_log_close(log);
  } else if (log != NULL ||
             (rc != PT_ERR_FORMAT && rc != PT_ERR_VERSION &&
              rc != PT_ERR_LOG_TRUNCATED && rc != PT_ERR_LOG_HEADER &&
              rc != PT_ERR_IO && rc != PT_ERR_NOMEM)) {
    abort(); /* a rejected file gets a documented error and no view */
  }
  unlink(log_path);
  return 0;
}
