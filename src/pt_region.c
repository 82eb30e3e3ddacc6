/* pt_region: log memory, private or file-backed (see pt_region.h). */
#define _GNU_SOURCE
#include "pt_region.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t pt__align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) & ~(a - 1);
}

void pt__region_layout(pt__region_header *hdr, uint64_t capacity,
                       uint64_t chunk_size) {
  memset(hdr, 0, sizeof *hdr);
  memcpy(hdr->magic, PT__REGION_MAGIC, sizeof hdr->magic);
  hdr->version = PT__REGION_VERSION;
  hdr->header_size = PT__REGION_HEADER_SIZE;
  hdr->event_size = (uint32_t)sizeof(pt_event);
  hdr->byte_order = PT__BYTE_ORDER_MARK;
  hdr->capacity = capacity;
  hdr->chunk_size = chunk_size;
  hdr->chunk_count = capacity / chunk_size;
  hdr->states_offset = PT__REGION_HEADER_SIZE;
  hdr->seqs_offset = pt__align_up(
      hdr->states_offset + hdr->chunk_count * PT__CACHE_LINE, 4096);
  hdr->slots_offset = pt__align_up(hdr->seqs_offset + capacity * 8, 4096);
  hdr->total_size = hdr->slots_offset + capacity * sizeof(pt_event);
}

/*
 * What a failed mmap of a log file means, the same for every mapping: no
 * address space or memory left (ENOMEM, EAGAIN: locked memory) is
 * PT_ERR_NOMEM, anything else (the file or its filesystem) PT_ERR_IO.
 */
static int pt__mmap_error(void) {
  return errno == ENOMEM || errno == EAGAIN ? PT_ERR_NOMEM : PT_ERR_IO;
}

int pt__region_alloc(pt__region *region, const pt__region_header *layout) {
  /* C11: the size must be a multiple of the alignment. */
  void *base = aligned_alloc(4096, pt__align_up(layout->total_size, 4096));
  if (base == NULL) {
    return PT_ERR_NOMEM;
  }
  /* Touch every page now: the footprint is fixed and no write faults later. */
  memset(base, 0, layout->total_size);
  memcpy(base, layout, sizeof *layout);
  region->base = base;
  region->size = layout->total_size;
  region->fd = -1;
  region->read_only = 0;
  region->guard = -1;
  region->info = *layout;
  return PT_OK;
}

int pt__region_create_file(pt__region *region, const pt__region_header *layout,
                           const char *path, int replace) {
  struct stat st;
  if (replace) {
    /*
     * Replace by unlinking, never by truncating in place: a reader that has
     * the old file mapped (a follower, a recovery) keeps a whole old log
     * instead of faulting (SIGBUS) on a shrunk file or mistaking the new log
     * for the old one.  Only a regular file of ours is replaced; a symlink
     * is refused, not followed.
     */
    if (lstat(path, &st) == 0) {
      if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        return PT_ERR_PERMISSION;
      }
      if (unlink(path) != 0 && errno != ENOENT) {
        return PT_ERR_IO;
      }
    }
  }
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    /* O_EXCL fails on any symlink with EEXIST: tell it apart, since a log
     * is never created through one (PT_ERR_PERMISSION, as with REPLACE). */
    if (errno == EEXIST) {
      return lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? PT_ERR_PERMISSION
                                                          : PT_ERR_EXISTS;
    }
    return errno == ELOOP ? PT_ERR_PERMISSION : PT_ERR_IO;
  }
  /* fchmod: exactly 0600 whatever the umask. */
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)layout->total_size) != 0) {
    close(fd);
    return PT_ERR_IO;
  }
  void *base = mmap(NULL, layout->total_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd, 0);
  if (base == MAP_FAILED) {
    int rv = pt__mmap_error();
    close(fd);
    return rv;
  }
  /* A fresh ftruncate'd file reads as zeros: only the header is written. */
  memcpy(base, layout, sizeof *layout);
  region->base = base;
  region->size = layout->total_size;
  region->fd = fd;
  region->read_only = 0;
  region->info = *layout;
  /* Truncating the file must not kill the writer (pt_region_guard.c); a
   * full guard table leaves it unguarded, as before. */
  pt__region_guard(region, layout);
  return PT_OK;
}

/*
 * Whether a header with another version number is worth calling "another
 * version": no format ever had version 0, and every version keeps the byte
 * order mark (in either byte order).  The log magic followed by zeros, or
 * by garbage, is a corrupt header, not a newer format.
 */
static int pt__region_other_version(const pt__region_header *hdr) {
  return hdr->version != 0 &&
         (hdr->byte_order == PT__BYTE_ORDER_MARK ||
          hdr->byte_order == __builtin_bswap32(PT__BYTE_ORDER_MARK));
}

int pt__region_check(const pt__region_header *hdr, uint64_t size) {
  if (hdr->version != PT__REGION_VERSION) {
    return pt__region_other_version(hdr) ? PT_ERR_VERSION : PT_ERR_LOG_HEADER;
  }
  if (hdr->byte_order != PT__BYTE_ORDER_MARK ||
      hdr->header_size != PT__REGION_HEADER_SIZE ||
      hdr->event_size != sizeof(pt_event)) {
    return PT_ERR_LOG_HEADER;
  }
  uint64_t capacity = hdr->capacity;
  uint64_t chunk = hdr->chunk_size;
  if (capacity < PT_LOG_MIN_CAPACITY || capacity > ((uint64_t)1 << 30) ||
      (capacity & (capacity - 1)) != 0 || chunk == 0 ||
      (chunk & (chunk - 1)) != 0 || chunk > capacity ||
      hdr->chunk_count != capacity / chunk) {
    return PT_ERR_LOG_HEADER;
  }
  pt__region_header expect;
  pt__region_layout(&expect, capacity, chunk);
  if (hdr->states_offset != expect.states_offset ||
      hdr->seqs_offset != expect.seqs_offset ||
      hdr->slots_offset != expect.slots_offset ||
      hdr->total_size != expect.total_size) {
    return PT_ERR_LOG_HEADER;
  }
  if (size != expect.total_size) {
    return size < expect.total_size ? PT_ERR_LOG_TRUNCATED : PT_ERR_LOG_HEADER;
  }
  return PT_OK;
}

/* The file's size, or PT_ERR_IO. */
static int pt__file_size(int fd, uint64_t *size) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return PT_ERR_IO;
  }
  *size = (uint64_t)st.st_size;
  return PT_OK;
}

/*
 * Reads, validates and maps; the header is read once, by pread into
 * region->info, and only that copy is validated and used (a header read
 * again from the mapping could differ from the one validated: another
 * process may write the file).
 */
static int pt__region_map_file(pt__region *region, int fd, uint64_t *file_size,
                               uint64_t *header_total) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return PT_ERR_IO;
  }
  if (!S_ISREG(st.st_mode)) {
    return PT_ERR_PERMISSION;
  }
  uint64_t size = (uint64_t)st.st_size;
  *file_size = size;
  pt__region_header *hdr = &region->info;
  memset(hdr, 0, sizeof *hdr);
  ssize_t got = pread(fd, hdr, sizeof *hdr, 0);
  if (got < (ssize_t)sizeof hdr->magic ||
      memcmp(hdr->magic, PT__REGION_MAGIC, sizeof hdr->magic) != 0) {
    return PT_ERR_FORMAT; /* not a log file at all */
  }
  if (st.st_uid != geteuid()) {
    return PT_ERR_PERMISSION; /* a log of another user: not ours to read */
  }
  if (got < (ssize_t)sizeof *hdr || size < PT__REGION_HEADER_SIZE) {
    /* The total size is known if the bytes holding it were read. */
    if ((size_t)got >= offsetof(pt__region_header, total_size) + 8) {
      *header_total = hdr->total_size;
    }
    return PT_ERR_LOG_TRUNCATED;
  }
  *header_total = hdr->total_size;
  int rv = pt__region_check(hdr, size);
  if (rv != PT_OK) {
    return rv;
  }
  /* The mapping's size is the validated copy's, whatever the file does. */
  void *base =
      mmap(NULL, (size_t)hdr->total_size, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    return pt__mmap_error();
  }
  region->base = base;
  region->size = (size_t)hdr->total_size;
  region->fd = fd;
  region->read_only = 1;
  /* A file truncated while we read it must not kill us (pt_region_guard.c);
   * a full guard table leaves the view unguarded, as before. */
  pt__region_guard(region, hdr);
  return PT_OK;
}

int pt__region_open_file(pt__region *region, const char *path,
                         uint64_t *file_size, uint64_t *header_total) {
  uint64_t size_unused, total_unused;
  file_size = file_size != NULL ? file_size : &size_unused;
  header_total = header_total != NULL ? header_total : &total_unused;
  *file_size = 0;
  *header_total = 0;
  /*
   * O_NONBLOCK: opening a FIFO for reading blocks until a writer comes
   * (forever, if none does); a device may block too.  Non-blocking, the
   * open returns at once and the fstat in pt__region_map_file refuses what
   * is not a regular file (PT_ERR_PERMISSION).  For a regular file the
   * flag changes nothing; it is cleared all the same.
   */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return errno == ENOENT  ? PT_ERR_NOT_FOUND
           : errno == ELOOP ? PT_ERR_PERMISSION /* a symlink */
                            : PT_ERR_IO;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    close(fd);
    return PT_ERR_IO;
  }
  int rv = pt__region_map_file(region, fd, file_size, header_total);
  if (rv != PT_OK) {
    close(fd);
  }
  return rv;
}

int pt__region_verify(const pt__region *region, uint64_t *file_size) {
  uint64_t size = region->size;
  if (region->fd >= 0 && pt__file_size(region->fd, &size) != PT_OK) {
    return PT_ERR_IO;
  }
  if (file_size != NULL) {
    *file_size = size;
  }
  if (region->fd < 0) {
    return PT_OK;
  }
  if (size < region->size || pt__region_faulted(region)) {
    return PT_ERR_LOG_TRUNCATED;
  }
  if (size > region->size) {
    return PT_ERR_LOG_CHANGED;
  }
  /* The fixed part of the header, as validated at open or creation.  (A
   * fault here replaces the mapping: checked again below.) */
  const size_t fixed = offsetof(pt__region_header, reserved);
  int same = memcmp(region->base, &region->info, fixed) == 0;
  if (pt__region_faulted(region)) {
    return PT_ERR_LOG_TRUNCATED;
  }
  return same ? PT_OK : PT_ERR_LOG_CHANGED;
}

void pt__region_free(pt__region *region) {
  if (region->base == NULL) {
    return;
  }
  if (region->fd >= 0) {
    pt__region_unguard(region);
    munmap(region->base, region->size);
    close(region->fd);
  } else {
    free(region->base);
  }
  region->base = NULL;
}

uint64_t pt__process_start_time(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return 0;
  }
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* Field 22 (starttime) counts from the field after the ")" of comm. */
  char *p = strrchr(buf, ')');
  if (p == NULL) {
    return 0;
  }
  unsigned long long start = 0;
  int field = 2;
  char *save = NULL;
  /* strtok_r: pt_log_writer_status is documented thread-safe; strtok's
   * hidden state made concurrent calls read the wrong field. */
  for (char *tok = strtok_r(p + 1, " ", &save); tok != NULL;
       tok = strtok_r(NULL, " ", &save)) {
    if (++field == 22) {
      start = strtoull(tok, NULL, 10);
      break;
    }
  }
  return start;
}
