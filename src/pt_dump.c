/*
 * pt_dump: saving a log to a file and reading it back, trusting nothing.
 *
 * Saving writes a snapshot of the ring (pt__ring_snapshot_take, which reads
 * every slot through the ring's seqlock), so writers are never blocked and
 * no event is torn; the events are sorted by (timestamp, ticket) so that
 * readers can merge dumps by streaming them.
 *
 * Reading validates the whole file before handing out the first event:
 * header fields and their CRC, the file length against the event count
 * (before any allocation that depends on it), every record, and the CRC of
 * the records.  Only then does pt_dump_reader_next start again from the
 * first record.  One code path serves files and memory (fmemopen), so the
 * fuzz target exercises exactly what the tools use.
 */
#define _GNU_SOURCE
#include "pt_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pt_crc32c.h"
#include "pt_event.h"
#include "pt_ring.h"
#include "pt_ring_read.h"

const uint8_t pt__dump_magic[8] = {0x89, 'P', 'T', 'D', '\r', '\n', 0x1a, '\n'};
const uint8_t pt__dump_end_magic[8] = {0x89, 'P',  'T',  'E',
                                       '\r', '\n', 0x1a, '\n'};

/* ---- Little-endian fields ----------------------------------------------- */

static void pt__put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static void pt__put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static uint32_t pt__get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) {
    v = (v << 8) | p[i];
  }
  return v;
}

static uint64_t pt__get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) {
    v = (v << 8) | p[i];
  }
  return v;
}

__attribute__((format(printf, 2, 3))) static void
pt__dump_fail(pt_dump_error *err, const char *fmt, ...) {
  if (err == NULL) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

/* ---- Saving ------------------------------------------------------------- */

static void pt__header_encode(uint8_t h[PT__DUMP_HEADER_SIZE],
                              const pt_dump_info *info) {
  memset(h, 0, PT__DUMP_HEADER_SIZE);
  memcpy(h + PT__DH_MAGIC, pt__dump_magic, 8);
  pt__put32(h + PT__DH_VERSION, info->format_version);
  pt__put32(h + PT__DH_HEADER_SIZE, PT__DUMP_HEADER_SIZE);
  pt__put32(h + PT__DH_EVENT_SIZE, info->event_size);
  pt__put32(h + PT__DH_RECORD_SIZE, PT__DUMP_RECORD_SIZE);
  pt__put64(h + PT__DH_CAPACITY, info->capacity);
  pt__put64(h + PT__DH_EVENT_COUNT, info->event_count);
  pt__put64(h + PT__DH_OVERWRITTEN, info->overwritten);
  pt__put64(h + PT__DH_DROPPED, info->dropped);
  pt__put64(h + PT__DH_CREATED, info->created_us);
  pt__put32(h + PT__DH_CLOCK, info->clock_source);
  pt__put32(h + PT__DH_FLAGS, 0);
  memcpy(h + PT__DH_NODE_ID, info->node_id, 32);
  pt__put64(h + PT__DH_FIRST, info->first_us);
  pt__put64(h + PT__DH_LAST, info->last_us);
  pt__put32(h + PT__DH_RESERVED, 0);
  pt__put32(h + PT__DH_CRC, pt__crc32c(0, h, PT__DH_CRC));
}

/* Writes header, records and trailer to fp. */
static int pt__dump_write(FILE *fp, const pt__ring_snapshot *snap) {
  uint8_t header[PT__DUMP_HEADER_SIZE];
  pt__header_encode(header, pt__ring_snapshot_info(snap));
  if (fwrite(header, 1, sizeof header, fp) != sizeof header) {
    return PT_ERR_IO;
  }
  uint32_t crc = 0;
  size_t count = pt__ring_snapshot_count(snap);
  for (size_t i = 0; i < count; i++) {
    const pt__record *record = pt__ring_snapshot_at(snap, i);
    uint8_t rec[PT__DUMP_RECORD_SIZE];
    pt__put64(rec, record->ticket);
    memcpy(rec + 8, &record->event, sizeof(pt_event));
    crc = pt__crc32c(crc, rec, sizeof rec);
    if (fwrite(rec, 1, sizeof rec, fp) != sizeof rec) {
      return PT_ERR_IO;
    }
  }
  uint8_t trailer[PT__DUMP_TRAILER_SIZE] = {0};
  memcpy(trailer, pt__dump_end_magic, 8);
  pt__put32(trailer + 8, crc);
  if (fwrite(trailer, 1, sizeof trailer, fp) != sizeof trailer) {
    return PT_ERR_IO;
  }
  return PT_OK;
}

int pt_log_dump_save(const pt_log *log, const char *path) {
  if (log == NULL || path == NULL || path[0] == '\0') {
    return PT_ERR_INVALID;
  }
  pt__ring_snapshot *snap;
  int rc = pt__ring_snapshot_take(log, &snap);
  if (rc != PT_OK) {
    return rc;
  }
  size_t path_len = strlen(path);
  char *tmp = malloc(path_len + sizeof ".tmp.XXXXXX");
  if (tmp == NULL) {
    rc = PT_ERR_NOMEM;
    goto fail_tmp;
  }
  memcpy(tmp, path, path_len);
  memcpy(tmp + path_len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
  /* mkostemp: O_CREAT | O_EXCL, mode 0600, a name nobody else holds. */
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    rc = PT_ERR_IO;
    goto fail_open;
  }
  FILE *fp = fdopen(fd, "wb");
  if (fp == NULL) {
    close(fd);
    rc = PT_ERR_IO;
    goto fail_write;
  }
  rc = pt__dump_write(fp, snap);
  if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
    rc = PT_ERR_IO;
  }
  if (fclose(fp) != 0) {
    rc = PT_ERR_IO;
  }
  if (rc != PT_OK) {
    goto fail_write;
  }
  if (rename(tmp, path) != 0) {
    rc = PT_ERR_IO;
    goto fail_write;
  }
  free(tmp);
  pt__ring_snapshot_free(snap);
  return PT_OK;

fail_write : {
  int saved = errno;
  unlink(tmp);
  errno = saved;
}
fail_open:
  free(tmp);
fail_tmp:
  pt__ring_snapshot_free(snap);
  return rc;
}

/* ---- Reading ------------------------------------------------------------ */

struct pt_dump_reader {
  FILE *fp;
  pt_dump_info info;
  uint64_t next_index;   /* next record to hand out */
  uint64_t prev_ticket;  /* of the previous record, for the order check */
  uint64_t prev_time_us; /* ditto */
};

static int pt__read_exact(FILE *fp, void *buf, size_t len) {
  /* One thread uses a reader at a time: no stdio locking needed (the
   * parentheses call the function, not glibc's macro). */
  return (fread_unlocked)(buf, 1, len, fp) == len ? PT_OK : PT_ERR_IO;
}

/* Validates and decodes a header. */
static int pt__header_decode(const uint8_t h[PT__DUMP_HEADER_SIZE],
                             uint64_t file_size, pt_dump_info *info,
                             pt_dump_error *err) {
  if (memcmp(h + PT__DH_MAGIC, pt__dump_magic, 8) != 0) {
    pt__dump_fail(err, "bad magic bytes at offset 0");
    return PT_ERR_DUMP_MAGIC;
  }
  uint32_t version = pt__get32(h + PT__DH_VERSION);
  if (version < PT_DUMP_FORMAT_VERSION_OLDEST ||
      version > PT_DUMP_FORMAT_VERSION) {
    pt__dump_fail(err, "format version %u (this reader knows %u to %u)",
                  version, PT_DUMP_FORMAT_VERSION_OLDEST,
                  PT_DUMP_FORMAT_VERSION);
    return PT_ERR_DUMP_VERSION;
  }
  uint32_t stored_crc = pt__get32(h + PT__DH_CRC);
  uint32_t crc = pt__crc32c(0, h, PT__DH_CRC);
  if (stored_crc != crc) {
    pt__dump_fail(err, "header CRC-32C is %08x, header says %08x", crc,
                  stored_crc);
    return PT_ERR_DUMP_CHECKSUM;
  }
  memset(info, 0, sizeof *info);
  info->format_version = version;
  info->event_size = pt__get32(h + PT__DH_EVENT_SIZE);
  info->capacity = pt__get64(h + PT__DH_CAPACITY);
  info->event_count = pt__get64(h + PT__DH_EVENT_COUNT);
  info->overwritten = pt__get64(h + PT__DH_OVERWRITTEN);
  info->dropped = pt__get64(h + PT__DH_DROPPED);
  info->created_us = pt__get64(h + PT__DH_CREATED);
  info->clock_source = pt__get32(h + PT__DH_CLOCK);
  memcpy(info->node_id, h + PT__DH_NODE_ID, 32);
  info->first_us = pt__get64(h + PT__DH_FIRST);
  info->last_us = pt__get64(h + PT__DH_LAST);

  uint32_t header_size = pt__get32(h + PT__DH_HEADER_SIZE);
  uint32_t record_size = pt__get32(h + PT__DH_RECORD_SIZE);
  const char *bad = NULL;
  if (header_size != PT__DUMP_HEADER_SIZE) {
    bad = "header size";
  } else if (info->event_size != sizeof(pt_event)) {
    bad = "event size";
  } else if (record_size != PT__DUMP_RECORD_SIZE) {
    bad = "record size";
  } else if (info->capacity < PT_LOG_MIN_CAPACITY ||
             info->capacity > PT__DUMP_MAX_CAPACITY ||
             (info->capacity & (info->capacity - 1)) != 0) {
    bad = "capacity (not a power of two in [16, 2^30])";
  } else if (info->event_count > info->capacity) {
    bad = "event count (more than the capacity)";
  } else if (info->clock_source != PT_CLOCK_SOURCE_TSC &&
             info->clock_source != PT_CLOCK_SOURCE_REALTIME) {
    bad = "clock source";
  } else if (pt__get32(h + PT__DH_FLAGS) != 0 ||
             pt__get32(h + PT__DH_RESERVED) != 0) {
    bad = "reserved bits (not zero)";
  } else if (info->first_us > info->last_us ||
             (info->event_count == 0 &&
              (info->first_us != 0 || info->last_us != 0))) {
    bad = "first/last time";
  }
  if (bad != NULL) {
    pt__dump_fail(err, "bad %s", bad);
    return PT_ERR_DUMP_HEADER;
  }
  /* event_count <= 2^30, so this cannot overflow. */
  uint64_t expected = PT__DUMP_HEADER_SIZE +
                      info->event_count * PT__DUMP_RECORD_SIZE +
                      PT__DUMP_TRAILER_SIZE;
  if (file_size < expected) {
    pt__dump_fail(err,
                  "%llu bytes, but a header announcing %llu events needs "
                  "%llu",
                  (unsigned long long)file_size,
                  (unsigned long long)info->event_count,
                  (unsigned long long)expected);
    return PT_ERR_DUMP_TRUNCATED;
  }
  if (file_size > expected) {
    pt__dump_fail(err, "%llu bytes after the end of the dump",
                  (unsigned long long)(file_size - expected));
    return PT_ERR_DUMP_HEADER;
  }
  return PT_OK;
}

/* The first event kind a file of format version `version` cannot hold:
 * each version after 1 added kinds (pt_exporter.h). */
static unsigned pt__dump_kind_limit(uint32_t version) {
  switch (version) {
  case 1:
    return PT_EV_STREAM_FRAME;
  case 2:
    return PT_EV_RECOVERY_METRICS;
  default:
    return PT_EV_KIND_LIMIT;
  }
}

/* Validates one record (index i) against the header and its predecessor. */
static int pt__record_check(pt_dump_reader *r, uint64_t i, const uint8_t *rec,
                            pt_event *ev, uint64_t *ticket,
                            pt_dump_error *err) {
  *ticket = pt__get64(rec);
  memcpy(ev, rec + 8, sizeof *ev);
  unsigned long long offset =
      PT__DUMP_HEADER_SIZE + (unsigned long long)i * PT__DUMP_RECORD_SIZE;
  char why[64];
  const char *bad = NULL;
  if (!pt__event_check(ev, why, sizeof why)) {
    bad = why;
  } else if (ev->kind >= pt__dump_kind_limit(r->info.format_version)) {
    snprintf(why, sizeof why,
             "event kind newer than the file's format "
             "version %u",
             (unsigned)r->info.format_version);
    bad = why;
  } else {
    if (ev->timestamp_us < r->info.first_us ||
        ev->timestamp_us > r->info.last_us) {
      bad = "time outside the header's first/last range";
    } else if (i > 0 && (ev->timestamp_us < r->prev_time_us ||
                         (ev->timestamp_us == r->prev_time_us &&
                          *ticket <= r->prev_ticket))) {
      bad = "out of (time, ticket) order";
    } else if ((i == 0 && ev->timestamp_us != r->info.first_us) ||
               (i + 1 == r->info.event_count &&
                ev->timestamp_us != r->info.last_us)) {
      bad = "time differs from the header's first/last time";
    }
  }
  if (bad != NULL) {
    pt__dump_fail(err, "record %llu at offset %llu: %s", (unsigned long long)i,
                  offset, bad);
    return PT_ERR_DUMP_EVENT;
  }
  r->prev_time_us = ev->timestamp_us;
  r->prev_ticket = *ticket;
  return PT_OK;
}

/* The validation pass: every record, the records' CRC and the trailer. */
static int pt__reader_verify(pt_dump_reader *r, pt_dump_error *err) {
  uint32_t crc = 0;
  uint8_t rec[PT__DUMP_RECORD_SIZE];
  for (uint64_t i = 0; i < r->info.event_count; i++) {
    if (pt__read_exact(r->fp, rec, sizeof rec) != PT_OK) {
      pt__dump_fail(err, "short read in record %llu", (unsigned long long)i);
      return PT_ERR_DUMP_TRUNCATED;
    }
    crc = pt__crc32c(crc, rec, sizeof rec);
    pt_event ev;
    uint64_t ticket;
    int rc = pt__record_check(r, i, rec, &ev, &ticket, err);
    if (rc != PT_OK) {
      return rc;
    }
  }
  uint8_t trailer[PT__DUMP_TRAILER_SIZE];
  if (pt__read_exact(r->fp, trailer, sizeof trailer) != PT_OK) {
    pt__dump_fail(err, "short read in the trailer");
    return PT_ERR_DUMP_TRUNCATED;
  }
  if (memcmp(trailer, pt__dump_end_magic, 8) != 0 ||
      pt__get32(trailer + 12) != 0) {
    pt__dump_fail(err, "bad trailer (end magic or reserved bytes)");
    return PT_ERR_DUMP_HEADER;
  }
  uint32_t stored = pt__get32(trailer + 8);
  if (stored != crc) {
    pt__dump_fail(err, "events CRC-32C is %08x, trailer says %08x", crc,
                  stored);
    return PT_ERR_DUMP_CHECKSUM;
  }
  return PT_OK;
}

/*
 * A file shorter than the header: truncated if what it has is the start of
 * the magic (an empty file included: nothing in it says otherwise), else
 * not a dump.  bytes[0..n) are its first n = min(size, 8) bytes.
 */
static int pt__dump_short(const uint8_t *bytes, size_t n, uint64_t size,
                          pt_dump_error *err) {
  if (memcmp(bytes, pt__dump_magic, n) != 0) {
    pt__dump_fail(err, "bad magic bytes at offset 0 (a %llu-byte file)",
                  (unsigned long long)size);
    return PT_ERR_DUMP_MAGIC;
  }
  pt__dump_fail(err, "%llu bytes, shorter than the %u-byte header",
                (unsigned long long)size, PT__DUMP_HEADER_SIZE);
  return PT_ERR_DUMP_TRUNCATED;
}

static int pt__reader_start(FILE *fp, pt_dump_reader **out,
                            pt_dump_error *err) {
  pt_dump_reader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    fclose(fp);
    return PT_ERR_NOMEM;
  }
  r->fp = fp;
  /* Records are read one by one: a large buffer saves most read calls. */
  setvbuf(fp, NULL, _IOFBF, 1u << 16);
  int rc = PT_ERR_IO;
  long size = -1;
  if (fseek(fp, 0, SEEK_END) == 0) {
    size = ftell(fp);
  }
  if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
    pt__dump_fail(err, "cannot seek: %s", strerror(errno));
    goto fail;
  }
  uint8_t header[PT__DUMP_HEADER_SIZE];
  if ((uint64_t)size < sizeof header) {
    size_t n = size < 8 ? (size_t)size : 8;
    if (pt__read_exact(fp, header, n) != PT_OK) {
      pt__dump_fail(err, "cannot read the header: %s", strerror(errno));
      goto fail;
    }
    rc = pt__dump_short(header, n, (uint64_t)size, err);
    goto fail;
  }
  if (pt__read_exact(fp, header, sizeof header) != PT_OK) {
    pt__dump_fail(err, "cannot read the header: %s", strerror(errno));
    goto fail;
  }
  rc = pt__header_decode(header, (uint64_t)size, &r->info, err);
  if (rc != PT_OK) {
    goto fail;
  }
  rc = pt__reader_verify(r, err);
  if (rc != PT_OK) {
    goto fail;
  }
  rc = pt_dump_reader_rewind(r);
  if (rc != PT_OK) {
    pt__dump_fail(err, "cannot seek back to the first event");
    goto fail;
  }
  *out = r;
  return PT_OK;

fail:
  pt_dump_reader_close(r);
  return rc;
}

int pt_dump_reader_open(pt_dump_reader **out, const char *path,
                        pt_dump_error *err) {
  if (out == NULL || path == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  /*
   * O_NONBLOCK: opening a FIFO would otherwise wait for a writer (a hang);
   * it is refused below as not a regular file, and cleared for the rest.
   * O_NOFOLLOW is not used: reading through a symlink is harmless.
   */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    pt__dump_fail(err, "cannot open: %s", strerror(errno));
    return PT_ERR_IO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    pt__dump_fail(err, "not a regular file");
    close(fd);
    return PT_ERR_IO;
  }
  FILE *fp = fdopen(fd, "rb");
  if (fp == NULL) {
    pt__dump_fail(err, "cannot open: %s", strerror(errno));
    close(fd);
    return PT_ERR_IO;
  }
  return pt__reader_start(fp, out, err);
}

int pt_dump_reader_open_memory(pt_dump_reader **out, const void *data,
                               size_t size, pt_dump_error *err) {
  if (out == NULL || (data == NULL && size > 0)) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  if (size == 0) {
    /* fmemopen refuses a zero size (EINVAL in glibc before 2.22). */
    return pt__dump_short(pt__dump_magic, 0, 0, err);
  }
  /* fmemopen does not write through "rb"; the cast drops const only. */
  FILE *fp = fmemopen((void *)(uintptr_t)data, size, "rb");
  if (fp == NULL) {
    pt__dump_fail(err, "fmemopen: %s", strerror(errno));
    return errno == ENOMEM ? PT_ERR_NOMEM : PT_ERR_IO;
  }
  return pt__reader_start(fp, out, err);
}

const pt_dump_info *pt_dump_reader_info(const pt_dump_reader *reader) {
  return reader == NULL ? NULL : &reader->info;
}

int pt_dump_reader_next(pt_dump_reader *reader, pt_event *ev, uint64_t *ticket,
                        pt_dump_error *err) {
  if (reader == NULL || ev == NULL) {
    return PT_ERR_INVALID;
  }
  if (reader->next_index >= reader->info.event_count) {
    return 0;
  }
  uint8_t rec[PT__DUMP_RECORD_SIZE];
  if (pt__read_exact(reader->fp, rec, sizeof rec) != PT_OK) {
    pt__dump_fail(err, "record %llu: short read (file changed?)",
                  (unsigned long long)reader->next_index);
    return PT_ERR_IO;
  }
  uint64_t t;
  int rc = pt__record_check(reader, reader->next_index, rec, ev, &t, err);
  if (rc != PT_OK) {
    return rc;
  }
  if (ticket != NULL) {
    *ticket = t;
  }
  reader->next_index++;
  return 1;
}

int pt_dump_reader_rewind(pt_dump_reader *reader) {
  if (reader == NULL) {
    return PT_ERR_INVALID;
  }
  reader->next_index = 0;
  reader->prev_ticket = 0;
  reader->prev_time_us = 0;
  return fseek(reader->fp, PT__DUMP_HEADER_SIZE, SEEK_SET) == 0 ? PT_OK
                                                                : PT_ERR_IO;
}

void pt_dump_reader_close(pt_dump_reader *reader) {
  if (reader != NULL) {
    if (reader->fp != NULL) {
      fclose(reader->fp);
    }
    free(reader);
  }
}

int pt_dump_load(const char *path, pt_dump *out, pt_dump_error *err) {
  if (path == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  memset(out, 0, sizeof *out);
  pt_dump_reader *r;
  int rc = pt_dump_reader_open(&r, path, err);
  if (rc != PT_OK) {
    return rc;
  }
  size_t count = (size_t)r->info.event_count;
  pt_event *events = NULL;
  if (count > 0) {
    events = malloc(count * sizeof *events);
    if (events == NULL) {
      pt_dump_reader_close(r);
      return PT_ERR_NOMEM;
    }
  }
  for (size_t i = 0; i < count; i++) {
    rc = pt_dump_reader_next(r, &events[i], NULL, err);
    if (rc != 1) {
      free(events);
      pt_dump_reader_close(r);
      return rc < 0 ? rc : PT_ERR_DUMP_TRUNCATED;
    }
  }
  out->info = r->info;
  out->events = events;
  out->count = count;
  pt_dump_reader_close(r);
  return PT_OK;
}

void pt_dump_release(pt_dump *dump) {
  if (dump != NULL) {
    free(dump->events);
    memset(dump, 0, sizeof *dump);
  }
}
