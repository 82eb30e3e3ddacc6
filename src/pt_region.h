/*
 * pt_region: the memory of a log, laid out the same way whether it is
 * private (malloc) or a shared mapping of a file, so that a log file can be
 * read by another process while it is written, or after its writer died.
 *
 *   offset 0                header (pt__region_header, one page)
 *   states_offset           chunk_count x chunk records, one per 64-byte
 *                           line: an 8-byte state word and an 8-byte removed
 *                           word (pt_ring.h), the rest of the line unused
 *   seqs_offset             capacity x 8-byte slot sequence words
 *   slots_offset            capacity x 128-byte events
 *   total_size              end
 *
 * All integers are little-endian (the byte_order field rejects others).
 * The header only grows at the end (ABI rule): readers check header_size.
 */
#ifndef PT_REGION_H
#define PT_REGION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pt_common.h"

#define PT__REGION_MAGIC "PTLOG\r\n\x1a"
#define PT__REGION_VERSION 1u
#define PT__REGION_HEADER_SIZE 4096u
#define PT__BYTE_ORDER_MARK 0x01020304u

/* writer_state values */
#define PT__WRITER_RUNNING 1u
#define PT__WRITER_CLOSED 2u

typedef struct pt__region_header {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint32_t event_size;
  uint32_t byte_order;
  uint64_t capacity;
  uint64_t chunk_size;
  uint64_t chunk_count;
  uint64_t states_offset;
  uint64_t seqs_offset;
  uint64_t slots_offset;
  uint64_t total_size;
  uint8_t node_id[32];
  uint64_t created_us;   /* Unix microseconds */
  uint32_t clock_source; /* PT_CLOCK_SOURCE_*, as in a dump */
  uint32_t writer_pid;
  uint64_t writer_start; /* writer's start time (clock ticks since boot) */
  uint64_t reserved[16];
  /* Shared counters, each on its own cache line. */
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t next_chunk;
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t dropped;
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t writer_state;
  /* Invalid events pt_log_write refused (zero in files of older writers). */
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t rejected;
} pt__region_header;

_Static_assert(sizeof(pt__region_header) <= PT__REGION_HEADER_SIZE,
               "header fits its page");

typedef struct pt__region {
  void *base;
  size_t size;
  int fd;        /* -1 for private memory */
  int read_only; /* mapped PROT_READ */
  int guard;     /* entry in the SIGBUS guard table, -1: none */
  /*
   * The header as created or, for a view, as read once from the file and
   * validated: geometry and identity come from here, never from the
   * mapping, which another process may rewrite at any time.
   */
  pt__region_header info;
} pt__region;

/* Sizes and offsets for a capacity / chunk size (both powers of two). */
void pt__region_layout(pt__region_header *hdr, uint64_t capacity,
                       uint64_t chunk_size);

/* Private, zeroed, pre-faulted memory for a layout. */
int pt__region_alloc(pt__region *region, const pt__region_header *layout);

/*
 * A new file of mode 0600 at path, mapped shared and zeroed.  Fails with
 * PT_ERR_EXISTS if path exists and replace is 0; never follows a symlink.
 */
int pt__region_create_file(pt__region *region, const pt__region_header *layout,
                           const char *path, int replace);

/*
 * Maps an existing log file read-only after reading its header once into
 * region->info and validating it.  PT_ERR_FORMAT: no log magic;
 * PT_ERR_LOG_TRUNCATED: the magic, but fewer bytes than a header or than the
 * header's total_size; PT_ERR_LOG_HEADER: the magic, but fields that are
 * not a valid layout or a file larger than the header says (version 0, or
 * no byte order mark, too); PT_ERR_VERSION: another non-zero version next
 * to a byte order mark; PT_ERR_PERMISSION: not a regular file (a FIFO is
 * opened non-blocking, never waited on) or not this user's.
 * *file_size and *header_total (either may be NULL) receive the file's size
 * and the header's total_size (0 if not read).
 */
int pt__region_open_file(pt__region *region, const char *path,
                         uint64_t *file_size, uint64_t *header_total);

void pt__region_free(pt__region *region);

/* Validates a header (magic aside) against the size of the file holding it:
 * PT_OK, PT_ERR_VERSION, PT_ERR_LOG_HEADER or PT_ERR_LOG_TRUNCATED. */
int pt__region_check(const pt__region_header *hdr, uint64_t size);

/*
 * Whether the region's file is still the one mapped: PT_OK;
 * PT_ERR_LOG_TRUNCATED if it is shorter now, or an access already faulted
 * (see pt_region_guard.c); PT_ERR_LOG_CHANGED if it is longer or its header
 * no longer matches region->info; PT_ERR_IO.  PT_OK for private memory.
 * *file_size (may be NULL) receives the file's size now.
 */
int pt__region_verify(const pt__region *region, uint64_t *file_size);

/*
 * SIGBUS guard (pt_region_guard.c): after pt__region_guard, an access to the
 * region past the end of a truncated file no longer kills the process; the
 * region turns into anonymous memory instead (zeros for a view; for a
 * writer, a ring that takes no more events).  PT_ERR_FULL if the table is
 * full (the region is then unguarded).  pt__region_unguard before unmapping.
 */
int pt__region_guard(pt__region *region, const pt__region_header *layout);
void pt__region_unguard(pt__region *region);
/* Whether a fault replaced the region. */
int pt__region_faulted(const pt__region *region);

/* This process's start time, for telling a reused pid apart. */
uint64_t pt__process_start_time(int pid);

#endif /* PT_REGION_H */
