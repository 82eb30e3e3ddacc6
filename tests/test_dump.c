/*
 * test_dump: dump files.  Round trips, snapshots under concurrent writers,
 * file mode and symlinks, and a loader that rejects every kind of bad file
 * with the right error code.
 */
#ifndef _GNU_SOURCE /* pt_add_test defines it */
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <peertrace/peertrace.h>

#include "pt_dump.h"
#include "test_helpers.h"
#include "pt_region.h"

static char tmp_dir[] = "/tmp/pt_test_dump.XXXXXX";

static void path_in_tmp(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", tmp_dir, name);
}

static pt_log *make_log(size_t capacity, uint8_t node_byte) {
  pt_log *log = pt_test_log_new(capacity, node_byte);
  assert_non_null(log);
  return log;
}

/* An event whose fields all derive from `i`, so a torn copy is detectable. */
static void make_event(pt_event *ev, uint64_t i, uint64_t ts) {
  pt_trace_id id;
  memset(&id, 0, sizeof id);
  id.bytes[0] = (uint8_t)(i % 7 + 1);
  uint8_t peer[32];
  memset(peer, (int)(i & 0xff), sizeof peer);
  pt_event_begin(ev, id, (i % 2) ? peer : NULL);
  pt_event_set_packet_sent(ev, i, 1000 + i % 500, PT_PN_SPACE_APPLICATION);
  ev->sequence = (uint32_t)(i * 3);
  ev->timestamp_us = ts;
}

/*
 * A log of `capacity` events (node id bytes `node`) holding events 0..n-1
 * stamped t0 + i, saved as a dump named `name` in the test directory; its
 * path in path[0..size).  The caller destroys the log.
 */
static pt_log *saved_log(size_t capacity, uint8_t node, uint64_t n, uint64_t t0,
                         const char *name, char *path, size_t size) {
  pt_log *log = make_log(capacity, node);
  for (uint64_t i = 0; i < n; i++) {
    pt_event ev;
    make_event(&ev, i, t0 + i);
    pt_log_write_at(log, &ev);
  }
  path_in_tmp(path, size, name);
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);
  return log;
}

static void read_file(const char *path, uint8_t **data, size_t *size) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  *data = malloc((size_t)n + 1);
  assert_non_null(*data);
  assert_int_equal(fread(*data, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *size = (size_t)n;
}

/* ---- Round trips -------------------------------------------------------- */

static void test_crc32c_known_value(void **state) {
  (void)state;
  /* The check value of CRC-32C (RFC 3720 B.4 / the catalogue of CRCs). */
  assert_int_equal(pt__crc32c(0, "123456789", 9), 0xe3069283u);
  /* Chaining gives the same as one call. */
  uint32_t c = pt__crc32c(0, "12345", 5);
  assert_int_equal(pt__crc32c(c, "6789", 4), 0xe3069283u);
  /* The slice-by-8 path (>= 8 bytes) agrees with the byte path. */
  uint8_t buf[100];
  for (int i = 0; i < 100; i++) {
    buf[i] = (uint8_t)(i * 37 + 5);
  }
  uint32_t bytewise = 0;
  for (int i = 0; i < 100; i++) {
    bytewise = pt__crc32c(bytewise, &buf[i], 1);
  }
  assert_int_equal(pt__crc32c(0, buf, 100), bytewise);
}

static void test_roundtrip_sorted_and_mode(void **state) {
  (void)state;
  pt_log *log = make_log(64, 0xab);
  /* Written out of time order: the dump must come back sorted. */
  uint64_t times[10] = {50, 10, 40, 20, 30, 30, 90, 60, 70, 80};
  for (uint64_t i = 0; i < 10; i++) {
    pt_event ev;
    make_event(&ev, i, 1700000000000000ull + times[i]);
    pt_log_write_at(log, &ev);
  }
  char path[256];
  path_in_tmp(path, sizeof path, "round.ptd");
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);

  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal((size_t)st.st_size, 128 + 10 * 136 + 16);

  pt_dump dump;
  pt_dump_error err;
  assert_int_equal(pt_dump_load(path, &dump, &err), PT_OK);
  assert_int_equal(dump.count, 10);
  assert_int_equal(dump.info.format_version, PT_DUMP_FORMAT_VERSION);
  assert_int_equal(dump.info.event_size, 128);
  assert_int_equal(dump.info.capacity, 64);
  assert_int_equal(dump.info.overwritten, 0);
  assert_int_equal(dump.info.first_us, 1700000000000010ull);
  assert_int_equal(dump.info.last_us, 1700000000000090ull);
  assert_true(dump.info.clock_source == PT_CLOCK_SOURCE_TSC ||
              dump.info.clock_source == PT_CLOCK_SOURCE_REALTIME);
  for (size_t i = 0; i < 32; i++) {
    assert_int_equal(dump.info.node_id[i], 0xab);
  }
  uint64_t sorted[10] = {10, 20, 30, 30, 40, 50, 60, 70, 80, 90};
  for (size_t i = 0; i < 10; i++) {
    assert_int_equal(dump.events[i].timestamp_us,
                     1700000000000000ull + sorted[i]);
    /* Each event is the one written with that time, byte for byte. */
    uint64_t pn = dump.events[i].data.packet_sent.pn;
    pt_event expect;
    make_event(&expect, pn, dump.events[i].timestamp_us);
    assert_memory_equal(&dump.events[i], &expect, sizeof expect);
  }
  /* Equal times keep write order (ticket): pn 4 was written before pn 5. */
  assert_int_equal(dump.events[2].data.packet_sent.pn, 4);
  assert_int_equal(dump.events[3].data.packet_sent.pn, 5);
  pt_dump_release(&dump);
  assert_null(dump.events);
  pt_log_destroy(log);
}

static void test_empty_log(void **state) {
  (void)state;
  pt_log *log = make_log(16, 0);
  char path[256];
  path_in_tmp(path, sizeof path, "empty.ptd");
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);
  pt_dump dump;
  assert_int_equal(pt_dump_load(path, &dump, NULL), PT_OK);
  assert_int_equal(dump.count, 0);
  assert_null(dump.events);
  assert_int_equal(dump.info.first_us, 0);
  pt_dump_release(&dump);
  pt_log_destroy(log);
}

/*
 * Events a dump cannot hold (found by fuzz_log_open in a log file; a
 * caller's pt_log_write of one is refused now) never reach a dump that the
 * loader would then reject whole.
 */
static void test_unstorable_events_left_out(void **state) {
  (void)state;
  pt_log *log = make_log(16, 3);
  for (unsigned bad = 0; bad < 5; bad++) {
    pt_event ev;
    make_event(&ev, 2 * bad, 100 + bad); /* even i: no peer */
    switch (bad) {
    case 0:
      ev.kind = PT_EV_NONE;
      break;
    case 1:
      ev.kind = PT_EV_KIND_LIMIT;
      break;
    case 2:
      ev.reserved = 1;
      break;
    case 3:
      ev.peer_id[5] = 1;
      break;
    default: /* a flag bit that means nothing */
      ev.flags = 0x40;
      break;
    }
    pt_log_write_at(log, &ev);
  }
  pt_event good;
  make_event(&good, 1, 200);
  pt_log_write_at(log, &good);
  char path[256];
  path_in_tmp(path, sizeof path, "unstorable.ptd");
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);
  pt_dump dump;
  pt_dump_error err;
  assert_int_equal(pt_dump_load(path, &dump, &err), PT_OK);
  assert_int_equal(dump.count, 1);
  assert_memory_equal(&dump.events[0], &good, sizeof good);
  pt_dump_release(&dump);
  pt_log_destroy(log);
}

/*
 * Two slots of a log file with one sequence word (found by fuzz_log_open:
 * only a corrupted file has them) are saved once, not as a pair the loader
 * rejects as out of (time, ticket) order.
 */
static void test_duplicate_ticket_saved_once(void **state) {
  (void)state;
  char log_path[256], path[256];
  path_in_tmp(log_path, sizeof log_path, "dup.log");
  path_in_tmp(path, sizeof path, "dup.ptd");
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 16;
  cfg.file_path = log_path;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  pt_event ev;
  make_event(&ev, 0, 1000);
  pt_log_write_at(log, &ev);
  pt_log_write_at(log, &ev);
  pt_log_destroy(log);
  /* Give slot 1 the sequence word of slot 0. */
  FILE *fp = fopen(log_path, "r+b");
  assert_non_null(fp);
  pt__region_header hdr;
  assert_int_equal(fread(&hdr, sizeof hdr, 1, fp), 1);
  uint64_t seq;
  assert_int_equal(fseek(fp, (long)hdr.seqs_offset, SEEK_SET), 0);
  assert_int_equal(fread(&seq, sizeof seq, 1, fp), 1);
  assert_int_equal(fseek(fp, (long)hdr.seqs_offset + 8, SEEK_SET), 0);
  assert_int_equal(fwrite(&seq, sizeof seq, 1, fp), 1);
  assert_int_equal(fclose(fp), 0);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, log_path), PT_OK);
  assert_int_equal(pt_log_dump_save(view, path), PT_OK);
  pt_log_close(view);
  pt_dump dump;
  pt_dump_error err;
  assert_int_equal(pt_dump_load(path, &dump, &err), PT_OK);
  assert_int_equal(dump.count, 1);
  pt_dump_release(&dump);
  unlink(log_path);
}

static void test_overwritten_counted(void **state) {
  (void)state;
  char path[256];
  pt_log *log = saved_log(16, 1, 100, 1000, "over.ptd", path, sizeof path);
  pt_dump dump;
  assert_int_equal(pt_dump_load(path, &dump, NULL), PT_OK);
  pt_log_stats stats;
  pt_log_get_stats(log, &stats);
  assert_int_equal(dump.info.overwritten, stats.overwritten);
  assert_true(dump.info.overwritten > 0);
  assert_true(dump.count <= 16);
  /* What is left is the newest events. */
  assert_int_equal(dump.events[dump.count - 1].data.packet_sent.pn, 99);
  pt_dump_release(&dump);
  pt_log_destroy(log);
}

/*
 * One bad event never makes a dump unloadable.  pt_log_write refuses it
 * (counted as rejected), and the dump, which counts it among the dropped
 * events, loads.
 */
static void test_rejected_write_keeps_dump_loadable(void **state) {
  (void)state;
  pt_log *log = make_log(16, 2);
  pt_event ev;
  make_event(&ev, 0, 100);
  assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  pt_event bad = ev;
  bad.kind = 99;
  assert_int_equal(pt_log_write_at(log, &bad), PT_ERR_INVALID);
  bad = ev;
  bad.reserved = 1;
  assert_int_equal(pt_log_write(log, &bad), PT_ERR_INVALID);
  char path[256];
  path_in_tmp(path, sizeof path, "rejected.ptd");
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);
  pt_dump dump;
  pt_dump_error err;
  assert_int_equal(pt_dump_load(path, &dump, &err), PT_OK);
  assert_int_equal(dump.count, 1);
  assert_int_equal(dump.info.dropped, 2);
  pt_dump_release(&dump);
  pt_log_destroy(log);
}

/*
 * A ring that holds an invalid event anyway (a log file written by an older
 * peertrace, or damaged): the save leaves it out, counts it as dropped, and
 * the dump loads with every other event.
 */
static void test_save_leaves_out_invalid_events(void **state) {
  (void)state;
  char log_path[256];
  path_in_tmp(log_path, sizeof log_path, "damaged.ptlog");
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  cfg.file_path = log_path;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  for (uint64_t i = 0; i < 6; i++) {
    pt_event ev;
    make_event(&ev, i, 200 + i);
    assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  }
  /* Damage events 2 and 3 in the file (the ring is a shared mapping of it):
   * an unknown kind, and a reserved flag bit. */
  pt__region_header hdr;
  int fd = open(log_path, O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, &hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
  int damaged = 0;
  for (uint64_t slot = 0; slot < hdr.capacity; slot++) {
    off_t at = (off_t)(hdr.slots_offset + slot * sizeof(pt_event));
    pt_event ev;
    assert_int_equal(pread(fd, &ev, sizeof ev, at), (ssize_t)sizeof ev);
    if (ev.kind != PT_EV_PACKET_SENT) {
      continue;
    }
    if (ev.data.packet_sent.pn == 2) {
      ev.kind = 99;
    } else if (ev.data.packet_sent.pn == 3) {
      ev.flags |= 0x10;
    } else {
      continue;
    }
    assert_int_equal(pwrite(fd, &ev, sizeof ev, at), (ssize_t)sizeof ev);
    damaged++;
  }
  close(fd);
  assert_int_equal(damaged, 2);
  char path[256];
  path_in_tmp(path, sizeof path, "damaged.ptd");
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);
  pt_dump dump;
  pt_dump_error err;
  memset(&err, 0, sizeof err);
  int rc = pt_dump_load(path, &dump, &err);
  if (rc != PT_OK) {
    fail_msg("dump of a damaged log does not load: %s", err.message);
  }
  assert_int_equal(dump.count, 4);
  assert_int_equal(dump.info.dropped, 2);
  for (size_t i = 0; i < dump.count; i++) {
    assert_true(dump.events[i].data.packet_sent.pn != 2);
    assert_true(dump.events[i].data.packet_sent.pn != 3);
  }
  pt_dump_release(&dump);
  pt_log_destroy(log);
  unlink(log_path);
}

static void test_reader_streams_and_rewinds(void **state) {
  (void)state;
  char path[256];
  pt_log *log = saved_log(32, 2, 20, 5000, "stream.ptd", path, sizeof path);
  pt_dump_reader *r;
  assert_int_equal(pt_dump_reader_open(&r, path, NULL), PT_OK);
  assert_int_equal(pt_dump_reader_info(r)->event_count, 20);
  for (int pass = 0; pass < 2; pass++) {
    pt_event ev;
    uint64_t ticket, prev_ticket = 0;
    for (uint64_t i = 0; i < 20; i++) {
      assert_int_equal(pt_dump_reader_next(r, &ev, &ticket, NULL), 1);
      assert_int_equal(ev.timestamp_us, 5000 + i);
      if (i > 0) {
        assert_true(ticket > prev_ticket);
      }
      prev_ticket = ticket;
    }
    assert_int_equal(pt_dump_reader_next(r, &ev, NULL, NULL), 0);
    assert_int_equal(pt_dump_reader_rewind(r), PT_OK);
  }
  pt_dump_reader_close(r);
  pt_log_destroy(log);
}

/* ---- Snapshots while writers write --------------------------------------- */

typedef struct writer_arg {
  pt_log *log;
  atomic_int *stop;
  uint64_t base;
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *a = p;
  /* relaxed: a stop request; nothing else is published through it. */
  for (uint64_t i = 0; !atomic_load_explicit(a->stop, memory_order_relaxed);
       i++) {
    pt_event ev;
    uint64_t n = a->base + i;
    make_event(&ev, n, 0);
    pt_log_write(a->log, &ev);
  }
  return NULL;
}

static void test_save_during_writes(void **state) {
  (void)state;
  pt_log *log = make_log(1024, 3);
  atomic_int stop = 0;
  pthread_t threads[2];
  writer_arg args[2] = {{log, &stop, 0}, {log, &stop, 1ull << 40}};
  for (int t = 0; t < 2; t++) {
    assert_int_equal(pthread_create(&threads[t], NULL, writer_main, &args[t]),
                     0);
  }
  char path[256];
  path_in_tmp(path, sizeof path, "live.ptd");
  for (int round = 0; round < 20; round++) {
    assert_int_equal(pt_log_dump_save(log, path), PT_OK);
    pt_dump dump;
    pt_dump_error err;
    int rc = pt_dump_load(path, &dump, &err);
    if (rc != PT_OK) {
      fail_msg("load: %s: %s", pt_strerror(rc), err.message);
    }
    for (size_t i = 0; i < dump.count; i++) {
      /* Never torn: the payload matches the rest of the event. */
      pt_event expect;
      make_event(&expect, dump.events[i].data.packet_sent.pn,
                 dump.events[i].timestamp_us);
      assert_memory_equal(&dump.events[i], &expect, sizeof expect);
    }
    pt_dump_release(&dump);
  }
  /* relaxed: the joins below order everything that matters. */
  atomic_store_explicit(&stop, 1, memory_order_relaxed);
  for (int t = 0; t < 2; t++) {
    pthread_join(threads[t], NULL);
  }
  pt_log_destroy(log);
}

static void test_symlink_replaced_not_followed(void **state) {
  (void)state;
  char target[256], link_path[256];
  path_in_tmp(target, sizeof target, "precious.txt");
  path_in_tmp(link_path, sizeof link_path, "link.ptd");
  FILE *fp = fopen(target, "w");
  assert_non_null(fp);
  fputs("keep me", fp);
  fclose(fp);
  unlink(link_path);
  assert_int_equal(symlink(target, link_path), 0);
  pt_log *log = make_log(16, 4);
  assert_int_equal(pt_log_dump_save(log, link_path), PT_OK);
  struct stat st;
  assert_int_equal(lstat(link_path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  uint8_t *data;
  size_t size;
  read_file(target, &data, &size);
  assert_int_equal(size, 7);
  assert_memory_equal(data, "keep me", 7);
  free(data);
  pt_log_destroy(log);
}

static void test_save_errors(void **state) {
  (void)state;
  pt_log *log = make_log(16, 5);
  assert_int_equal(pt_log_dump_save(NULL, "x"), PT_ERR_INVALID);
  assert_int_equal(pt_log_dump_save(log, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_log_dump_save(log, "/nonexistent-dir/a.ptd"), PT_ERR_IO);
  pt_log_destroy(log);
}

/* ---- Bad files ----------------------------------------------------------- */

static uint8_t *good;
static size_t good_size;

/* A valid 8-event dump in memory, the starting point of every bad file. */
static void make_good(void) {
  char path[256];
  pt_log *log = saved_log(16, 6, 8, 100, "good.ptd", path, sizeof path);
  read_file(path, &good, &good_size);
  pt_log_destroy(log);
}

static void fix_header_crc(uint8_t *d) {
  uint32_t crc = pt__crc32c(0, d, PT__DH_CRC);
  memcpy(d + PT__DH_CRC, &crc, 4);
}

static void fix_records_crc(uint8_t *d, size_t size) {
  size_t records = size - PT__DUMP_HEADER_SIZE - PT__DUMP_TRAILER_SIZE;
  uint32_t crc = pt__crc32c(0, d + PT__DUMP_HEADER_SIZE, records);
  memcpy(d + size - PT__DUMP_TRAILER_SIZE + 8, &crc, 4);
}

static int load_mem(const uint8_t *d, size_t size, pt_dump_error *err) {
  pt_dump_reader *r = NULL;
  memset(err, 0, sizeof *err);
  int rc = pt_dump_reader_open_memory(&r, d, size, err);
  if (rc == PT_OK) {
    pt_event ev;
    while ((rc = pt_dump_reader_next(r, &ev, NULL, err)) == 1) {
    }
    pt_dump_reader_close(r);
  } else {
    assert_null(r);
    assert_true(err->message[0] != '\0');
  }
  return rc;
}

static uint8_t *copy_good(void) {
  uint8_t *d = malloc(good_size);
  assert_non_null(d);
  memcpy(d, good, good_size);
  return d;
}

static void test_good_loads(void **state) {
  (void)state;
  pt_dump_error err;
  assert_int_equal(load_mem(good, good_size, &err), 0);
}

static void test_truncated(void **state) {
  (void)state;
  pt_dump_error err;
  /* Cut anywhere, even inside the magic bytes or to nothing: truncated,
   * never a success, never a crash, never "not a dump". */
  for (size_t cut = 0; cut < good_size; cut++) {
    int rc = load_mem(good, cut, &err);
    if (rc != PT_ERR_DUMP_TRUNCATED) {
      fail_msg("cut at %zu: %d (%s)", cut, rc, err.message);
    }
  }
}

/* Short files through the file path: the same codes as from memory. */
static int load_file(const char *name, const void *bytes, size_t len,
                     pt_dump_error *err) {
  char path[256];
  path_in_tmp(path, sizeof path, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(bytes, 1, len, fp), len);
  fclose(fp);
  pt_dump dump;
  memset(err, 0, sizeof *err);
  int rc = pt_dump_load(path, &dump, err);
  assert_true(err->message[0] != '\0');
  unlink(path);
  return rc;
}

static void test_short_files(void **state) {
  (void)state;
  pt_dump_error err;
  assert_int_equal(load_file("empty.ptd", good, 0, &err),
                   PT_ERR_DUMP_TRUNCATED);
  assert_int_equal(load_file("cut5.ptd", good, 5, &err), PT_ERR_DUMP_TRUNCATED);
  assert_non_null(strstr(err.message, "shorter than the 128-byte header"));
  assert_int_equal(load_file("cut64.ptd", good, 64, &err),
                   PT_ERR_DUMP_TRUNCATED);
  /* Short and not a dump at all: bad magic, also from memory. */
  assert_int_equal(load_file("text.ptd", "hello", 5, &err), PT_ERR_DUMP_MAGIC);
  assert_non_null(strstr(err.message, "magic"));
  assert_int_equal(load_mem((const uint8_t *)"hello", 5, &err),
                   PT_ERR_DUMP_MAGIC);
  uint8_t d[64];
  memcpy(d, good, sizeof d);
  d[3] = 'X'; /* a damaged magic in a short file */
  assert_int_equal(load_mem(d, sizeof d, &err), PT_ERR_DUMP_MAGIC);
  /* Whole header, no records or trailer: truncated, naming the sizes. */
  assert_int_equal(load_file("hdr.ptd", good, PT__DUMP_HEADER_SIZE, &err),
                   PT_ERR_DUMP_TRUNCATED);
  assert_non_null(strstr(err.message, "announcing 8 events"));
}

static void test_trailing_garbage(void **state) {
  (void)state;
  uint8_t *d = malloc(good_size + 3);
  memcpy(d, good, good_size);
  memset(d + good_size, 0, 3);
  pt_dump_error err;
  assert_int_equal(load_mem(d, good_size + 3, &err), PT_ERR_DUMP_HEADER);
  assert_non_null(strstr(err.message, "after the end"));
  free(d);
}

static void test_every_byte_flip_detected(void **state) {
  (void)state;
  pt_dump_error err;
  uint8_t *d = copy_good();
  for (size_t i = 0; i < good_size; i++) {
    d[i] ^= 0x40;
    int rc = load_mem(d, good_size, &err);
    if (rc == 0) {
      fail_msg("flip at byte %zu not detected", i);
    }
    assert_true(rc < 0);
    d[i] ^= 0x40;
  }
  free(d);
}

static void test_wrong_magic_and_version(void **state) {
  (void)state;
  pt_dump_error err;
  uint8_t *d = copy_good();
  d[1] = 'X';
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_MAGIC);
  d[1] = 'P';
  d[PT__DH_VERSION] = PT_DUMP_FORMAT_VERSION + 1;
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_VERSION);
  assert_non_null(strstr(err.message, "version 4"));
  d[PT__DH_VERSION] = 0;
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_VERSION);
  /* Version 1 (before stream_frame and the conn fields) is still read... */
  d[PT__DH_VERSION] = 1;
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_OK);
  /* ...but not with a kind it could not hold. */
  const size_t kind_at = PT__DUMP_HEADER_SIZE + 8 + offsetof(pt_event, kind);
  uint16_t kind = PT_EV_STREAM_FRAME;
  memcpy(d + kind_at, &kind, sizeof kind);
  fix_records_crc(d, good_size);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_EVENT);
  assert_non_null(strstr(err.message, "format version 1"));
  d[PT__DH_VERSION] = 2;
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_OK);
  /* Version 2 holds stream_frame, not recovery_metrics; version 3 both. */
  kind = PT_EV_RECOVERY_METRICS;
  memcpy(d + kind_at, &kind, sizeof kind);
  fix_records_crc(d, good_size);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_EVENT);
  assert_non_null(strstr(err.message, "format version 2"));
  d[PT__DH_VERSION] = 3;
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_OK);
  free(d);
}

static void test_header_checksum(void **state) {
  (void)state;
  pt_dump_error err;
  uint8_t *d = copy_good();
  d[PT__DH_OVERWRITTEN] ^= 1;
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_CHECKSUM);
  assert_non_null(strstr(err.message, "header"));
  free(d);
}

static void set64(uint8_t *d, size_t off, uint64_t v) {
  memcpy(d + off, &v, 8);
}

static void set32(uint8_t *d, size_t off, uint32_t v) {
  memcpy(d + off, &v, 4);
}

static void test_hostile_sizes(void **state) {
  (void)state;
  pt_dump_error err;
  uint8_t *d = copy_good();
  /* A huge, self-consistent header over a small file: rejected by length. */
  set64(d, PT__DH_CAPACITY, 1ull << 30);
  set64(d, PT__DH_EVENT_COUNT, 1ull << 30);
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_TRUNCATED);
  /* Count beyond capacity. */
  memcpy(d, good, PT__DUMP_HEADER_SIZE);
  set64(d, PT__DH_EVENT_COUNT, 17);
  fix_header_crc(d);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_HEADER);
  /* Capacity not a power of two, or absurd. */
  uint64_t capacities[] = {0, 15, 24, 1ull << 31, UINT64_MAX};
  for (size_t i = 0; i < sizeof capacities / sizeof capacities[0]; i++) {
    memcpy(d, good, PT__DUMP_HEADER_SIZE);
    set64(d, PT__DH_CAPACITY, capacities[i]);
    fix_header_crc(d);
    assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_HEADER);
    assert_non_null(strstr(err.message, "capacity"));
  }
  /* Event size, record size, header size, clock, reserved bits. */
  size_t offsets[] = {PT__DH_EVENT_SIZE, PT__DH_RECORD_SIZE, PT__DH_HEADER_SIZE,
                      PT__DH_CLOCK,      PT__DH_FLAGS,       PT__DH_RESERVED};
  for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
    memcpy(d, good, PT__DUMP_HEADER_SIZE);
    set32(d, offsets[i], 0x7fffffffu);
    fix_header_crc(d);
    assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_HEADER);
  }
  free(d);
}

/* Changes record i's event (with fixed CRCs) and expects `code`. */
static void expect_record_rejected(size_t i, size_t field_offset,
                                   const void *value, size_t len,
                                   const char *why) {
  pt_dump_error err;
  uint8_t *d = copy_good();
  memcpy(d + PT__DUMP_HEADER_SIZE + i * PT__DUMP_RECORD_SIZE + 8 + field_offset,
         value, len);
  fix_records_crc(d, good_size);
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_EVENT);
  assert_non_null(strstr(err.message, why));
  char where[32];
  snprintf(where, sizeof where, "record %zu", i);
  assert_non_null(strstr(err.message, where));
  free(d);
}

static void test_bad_records(void **state) {
  (void)state;
  uint16_t kind = 99;
  expect_record_rejected(3, offsetof(pt_event, kind), &kind, 2,
                         "unknown event kind 99");
  kind = 0;
  expect_record_rejected(0, offsetof(pt_event, kind), &kind, 2, "kind 0");
  uint8_t byte = 0x20;
  expect_record_rejected(2, offsetof(pt_event, flags), &byte, 1,
                         "unknown flag bits 0x20");
  byte = 1;
  expect_record_rejected(2, offsetof(pt_event, reserved), &byte, 1, "reserved");
  /* Record 2 (pn 2) has no peer: a peer id byte there is inconsistent. */
  expect_record_rejected(2, offsetof(pt_event, peer_id) + 5, &byte, 1,
                         "peer id");
  /* Out of time order: record 4 gets an earlier time than record 3. */
  uint64_t ts = 101;
  expect_record_rejected(4, 0, &ts, 8, "order");
  /* Record 0 later than the header's first time. */
  ts = 99;
  expect_record_rejected(0, 0, &ts, 8, "first/last");
}

static void test_records_checksum(void **state) {
  (void)state;
  pt_dump_error err;
  uint8_t *d = copy_good();
  /* A payload byte no check looks at: only the CRC catches it. */
  d[PT__DUMP_HEADER_SIZE + 5 * PT__DUMP_RECORD_SIZE + 8 + 100] ^= 0xff;
  assert_int_equal(load_mem(d, good_size, &err), PT_ERR_DUMP_CHECKSUM);
  assert_non_null(strstr(err.message, "events CRC"));
  free(d);
}

static void test_open_errors(void **state) {
  (void)state;
  pt_dump_reader *r;
  pt_dump_error err;
  assert_int_equal(pt_dump_reader_open(&r, "/nonexistent/x.ptd", &err),
                   PT_ERR_IO);
  assert_non_null(strstr(err.message, "No such file"));
  assert_int_equal(pt_dump_reader_open(&r, tmp_dir, &err), PT_ERR_IO);
  assert_non_null(strstr(err.message, "not a regular file"));
  /* A FIFO with no writer: refused at once, not waited on. */
  char fifo[256];
  path_in_tmp(fifo, sizeof fifo, "fifo.ptd");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(pt_dump_reader_open(&r, fifo, &err), PT_ERR_IO);
  assert_non_null(strstr(err.message, "not a regular file"));
  assert_int_equal(pt_dump_reader_open(NULL, "x", &err), PT_ERR_INVALID);
  pt_dump dump;
  assert_int_equal(pt_dump_load("/nonexistent/x.ptd", &dump, NULL), PT_ERR_IO);
}

static int setup(void **state) {
  (void)state;
  if (mkdtemp(tmp_dir) == NULL) {
    return -1;
  }
  make_good();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(good);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc32c_known_value),
      cmocka_unit_test(test_roundtrip_sorted_and_mode),
      cmocka_unit_test(test_empty_log),
      cmocka_unit_test(test_unstorable_events_left_out),
      cmocka_unit_test(test_duplicate_ticket_saved_once),
      cmocka_unit_test(test_overwritten_counted),
      cmocka_unit_test(test_rejected_write_keeps_dump_loadable),
      cmocka_unit_test(test_save_leaves_out_invalid_events),
      cmocka_unit_test(test_reader_streams_and_rewinds),
      cmocka_unit_test(test_save_during_writes),
      cmocka_unit_test(test_symlink_replaced_not_followed),
      cmocka_unit_test(test_save_errors),
      cmocka_unit_test(test_good_loads),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_short_files),
      cmocka_unit_test(test_trailing_garbage),
      cmocka_unit_test(test_every_byte_flip_detected),
      cmocka_unit_test(test_wrong_magic_and_version),
      cmocka_unit_test(test_header_checksum),
      cmocka_unit_test(test_hostile_sizes),
      cmocka_unit_test(test_bad_records),
      cmocka_unit_test(test_records_checksum),
      cmocka_unit_test(test_open_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
