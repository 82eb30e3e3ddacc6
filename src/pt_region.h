/*
 * pt_region: the memory of a log, laid out the same way whether it is
 * private (malloc) or a shared mapping of a file, so that a log file can be
 * read by another process while it is written, or after its writer died.
 *
 *   offset 0                header (pt__region_header, one page)
 *   states_offset           chunk_count x 8-byte chunk state words, one per
 *                           64-byte line
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

/* clock_source values */
#define PT__CLOCK_TSC 1u
#define PT__CLOCK_REALTIME 2u

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
  uint32_t clock_source; /* PT__CLOCK_* */
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

/* Maps an existing log file read-only after validating its header. */
int pt__region_open_file(pt__region *region, const char *path);

void pt__region_free(pt__region *region);

/* Validates a header against the size of the memory holding it. */
int pt__region_check(const pt__region_header *hdr, uint64_t size);

/* This process's start time, for telling a reused pid apart. */
uint64_t pt__process_start_time(int pid);

#endif /* PT_REGION_H */
