/*
 * pt_log: creating, opening and destroying logs (in private memory or in a
 * file), and reading their slots.  How writers fill the ring without ever
 * tearing an event, and why, is in pt_log_write.c.
 *
 * Readers use a slot's sequence word as a seqlock (see pt__log_read_slot);
 * a chunk's state and removed words tell which events are live and how many
 * were overwritten (pt__chunk_removed).
 */
#define _GNU_SOURCE
#include "pt_ring.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt_clock.h"
#include "pt_registry.h"
#if PT_TRACE_INDEX
#include "pt_index.h"
#endif

/* ---- Reading ------------------------------------------------------------ */

uint64_t pt__log_chunk_state(const pt_log *log, uint64_t chunk) {
  /* acquire: pairs with the release in pt__chunk_close. */
  return atomic_load_explicit(pt__state_word(log, chunk), memory_order_acquire);
}

/* acquire: pairs with the release stores of the chunk's claim and close. */
static uint64_t pt__load_acquire(_Atomic uint64_t *word) {
  return atomic_load_explicit(word, memory_order_acquire);
}

int pt__chunk_removed_with(const pt_log *log, uint64_t chunk,
                           pt__record_load load, uint64_t *removed,
                           uint64_t *state) {
  uint64_t word = 0, after = 0;
  for (unsigned look = 0; look < PT__REMOVED_TRIES; look++) {
    /*
     * acquire, state / removed / state: the removed word is read while the
     * state word held one value (a lap only grows, so equal reads mean no
     * claim in between), so either the removed word already counts that
     * claim's prev_filled (its tag is the claim's parity) or it does not yet.
     * A claim happens once per chunk fill, so this settles at once; only a
     * state word rewritten all the time does not (bounded: never a hang).
     */
    uint64_t before = load(pt__state_word(log, chunk));
    word = load(pt__removed_word(log, chunk));
    after = load(pt__state_word(log, chunk));
    if (!pt__state_same_claim(before, after)) {
      continue; /* claimed again meanwhile: read the new pair */
    }
    uint64_t count = pt__removed_count(word);
    if ((word & PT__TAG_MASK) != pt__state_parity(after)) {
      count += pt__state_prev_filled(after); /* claimed, not yet counted */
    }
    *removed = count;
    *state = after;
    return PT_OK;
  }
  *removed = pt__removed_count(word);
  *state = after;
  return PT_ERR_LOG_CHANGED;
}

int pt__chunk_removed(const pt_log *log, uint64_t chunk, uint64_t *removed,
                      uint64_t *state) {
  return pt__chunk_removed_with(log, chunk, pt__load_acquire, removed, state);
}

int pt__log_read_slot(const pt_log *log, uint64_t index, pt_event *out,
                      uint64_t *ticket) {
  _Atomic uint64_t *seq = &log->seqs[index];
  const pt__slot *slot = &log->slots[index];
  for (int attempt = 0; attempt < 3; attempt++) {
    uint64_t state = pt__log_chunk_state(log, index >> log->chunk_shift);
    /* acquire: pairs with the writer's release; the payload is visible. */
    uint64_t before = atomic_load_explicit(seq, memory_order_acquire);
    if (before == 0 || (before & 1u) != 0) {
      return 0;
    }
    uint64_t words[16];
    for (int i = 0; i < 16; i++) {
      /* relaxed: validated by the sequence re-check below. */
      words[i] = atomic_load_explicit(&slot->word[i], memory_order_relaxed);
    }
    /* acquire fence: the payload loads complete before the re-check. */
    atomic_thread_fence(memory_order_acquire);
    uint64_t after = atomic_load_explicit(seq, memory_order_relaxed);
    if (after == before) {
      uint64_t t = (before - 2) / 2;
      if (pt__ticket_lap(log, t) != pt__state_lap(state)) {
        return 0; /* its chunk was claimed again: counted as overwritten */
      }
      if ((t & log->mask) != index) {
        return 0; /* no writer puts this ticket here: a corrupt file */
      }
      memcpy(out, words, sizeof words);
      *ticket = t;
      return 1;
    }
  }
  return 0;
}

int pt__slot_corrupt(const pt_log *log, uint64_t index, uint64_t state) {
  /* relaxed: the caller reads the chunk's state again after this. */
  uint64_t seq = atomic_load_explicit(&log->seqs[index], memory_order_relaxed);
  uint64_t i = index & (log->chunk_size - 1);
  uint64_t filled = pt__state_filled(state);
  int closed = !(state & PT__STATE_OWNED);
  if (filled > log->chunk_size ||
      pt__state_prev_filled(state) > log->chunk_size) {
    return seq != 0; /* the state word itself is not one a writer makes */
  }
  if (seq == 0) {
    return closed && i < filled; /* an event its chunk says it holds */
  }
  uint64_t t = (seq - 1) / 2; /* 2t + 1 and 2t + 2 */
  uint64_t lap = pt__state_lap(state);
  uint64_t ticket_lap = pt__ticket_lap(log, t);
  if ((t & log->mask) != index ||
      (ticket_lap != lap && pt__lap_at_or_after(ticket_lap, lap))) {
    return 1; /* not this slot's ticket, or a lap its chunk has not had */
  }
  return closed && i < filled && ((seq & 1u) != 0 || ticket_lap != lap);
}

uint64_t pt__chunk_unreadable(const pt_log *log, uint64_t chunk) {
  for (int attempt = 0; attempt < 3; attempt++) {
    uint64_t state = pt__log_chunk_state(log, chunk);
    uint64_t count = 0;
    for (uint64_t i = 0; i < log->chunk_size; i++) {
      count += (uint64_t)pt__slot_corrupt(log, (chunk << log->chunk_shift) + i,
                                          state);
    }
    if (pt__log_chunk_state(log, chunk) == state) {
      return count; /* the chunk held still: these slots are corrupt */
    }
  }
  return 0; /* written all along: a live chunk, not a corrupt one */
}

/* ---- Lifecycle ---------------------------------------------------------- */

void pt_log_config_init(pt_log_config *cfg) {
  if (cfg != NULL) {
    memset(cfg, 0, sizeof *cfg);
    cfg->capacity = PT_LOG_DEFAULT_CAPACITY;
  }
}

static unsigned pt__log2(uint64_t x) {
  unsigned r = 0;
  while ((x >>= 1) != 0) {
    r++;
  }
  return r;
}

/* A zeroed pt_log on its own cache line(s); NULL if memory is short. */
static pt_log *pt__log_alloc(void) {
  void *p = NULL;
  if (posix_memalign(&p, PT__CACHE_LINE, sizeof(pt_log)) != 0) {
    return NULL;
  }
  return memset(p, 0, sizeof(pt_log));
}

/*
 * Fills the log's cached geometry and pointers from its region's private,
 * validated header copy (region->info), never from the mapping: a file's
 * header can be rewritten after it was validated.  log->header is the
 * mapped header, for its shared counters only.
 */
static void pt__log_attach(pt_log *log, const pt__region *region) {
  log->region = *region;
  const pt__region_header *info = &log->region.info;
  log->header = region->base;
  log->capacity = info->capacity;
  log->mask = log->capacity - 1;
  log->chunk_size = info->chunk_size;
  log->chunk_count = info->chunk_count;
  log->chunk_shift = pt__log2(log->chunk_size);
  log->capacity_shift = pt__log2(log->capacity);
  log->count_shift = pt__log2(log->chunk_count);
  unsigned char *base = region->base;
  log->chunk_state = (_Atomic uint64_t *)(void *)(base + info->states_offset);
  log->seqs = (_Atomic uint64_t *)(void *)(base + info->seqs_offset);
  log->slots = (pt__slot *)(void *)(base + info->slots_offset);
}

int pt_log_create(pt_log **out, const pt_log_config *cfg) {
  pt_log_config defaults;
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  if (cfg == NULL) {
    pt_log_config_init(&defaults);
    cfg = &defaults;
  }
  size_t capacity = cfg->capacity;
  if (capacity < PT_LOG_MIN_CAPACITY || capacity > ((size_t)1 << 30) ||
      (capacity & (capacity - 1)) != 0) {
    return PT_ERR_INVALID;
  }
  pt__clock_init();

  /*
   * Chunks: large enough that the shared counter is touched once per
   * PT__CHUNK events (a contended atomic costs a cross-core line transfer,
   * ~0.1-0.5 us on this class of machine: with 64-event chunks, two threads
   * on one log scaled 0.9x; with 256, ~1.9x), small enough that a ring keeps
   * at least 16 of them, so lagging owners (which keep their chunk) and the
   * up to PT__CHUNK - 1 events a claim removes early cost a small part of it.
   */
  uint64_t chunk_size = capacity / 16 < PT__CHUNK ? capacity / 16 : PT__CHUNK;
  pt__region_header layout;
  pt__region_layout(&layout, capacity, chunk_size);
  memcpy(layout.node_id, cfg->node_id, sizeof layout.node_id);
  layout.created_us = pt_clock_now_us();
  layout.clock_source =
      pt__clock.use_tsc ? PT_CLOCK_SOURCE_TSC : PT_CLOCK_SOURCE_REALTIME;
  layout.writer_pid = (uint32_t)getpid();
  layout.writer_start = pt__process_start_time((int)getpid());

  int rv;
  pt_log *log = pt__log_alloc();
  if (log == NULL) {
    rv = PT_ERR_NOMEM;
    goto fail_log;
  }
  memset(log, 0, sizeof *log);
#if PT_TRACE_INDEX
  /* Before the region, so that a failure leaves no file behind. */
  if (!cfg->no_index) {
    /* The index summarises blocks of at most 64 slots: each block, like its
     * chunk, has one writer at a time. */
    rv = pt__index_create(&log->index, capacity,
                          chunk_size < 64 ? chunk_size : 64);
    if (rv != PT_OK) {
      goto fail_index;
    }
  }
#endif
  pt__region region;
  if (cfg->file_path != NULL) {
    rv = pt__region_create_file(&region, &layout, cfg->file_path,
                                (cfg->file_flags & PT_LOG_FILE_REPLACE) != 0);
  } else {
    rv = pt__region_alloc(&region, &layout);
  }
  if (rv != PT_OK) {
    goto fail_region;
  }
  pt__log_attach(log, &region);
  /* At most a quarter of the ring's chunks in one reservation. */
  log->reserve_max = log->chunk_count / 4 < PT__RESERVE
                         ? (log->chunk_count / 4 > 0 ? log->chunk_count / 4 : 1)
                         : PT__RESERVE;
  /* release: a reader of the file that sees RUNNING sees the header. */
  atomic_store_explicit(&log->header->writer_state, PT__WRITER_RUNNING,
                        memory_order_release);
  pt__registry_add(log);
  *out = log;
  return PT_OK;

fail_region:
#if PT_TRACE_INDEX
  pt__index_destroy(log->index);
fail_index:
#endif
  free(log);
fail_log:
  return rv;
}

void pt_log_destroy(pt_log *log) {
  if (log == NULL) {
    return;
  }
  pt__registry_remove(log);
  if (!log->region.read_only) {
    /* release: a follower that sees CLOSED has seen every event. */
    atomic_store_explicit(&log->header->writer_state, PT__WRITER_CLOSED,
                          memory_order_release);
  }
  pt__region_free(&log->region);
#if PT_TRACE_INDEX
  pt__index_destroy(log->index);
#endif
  free(log);
}

int pt_log_open_ex(const pt_log **out, const char *path,
                   pt_log_file_info *info) {
  if (info != NULL) {
    memset(info, 0, sizeof *info);
  }
  if (out == NULL || path == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  pt__region region;
  int rv = pt__region_open_file(&region, path,
                                info != NULL ? &info->file_size : NULL,
                                info != NULL ? &info->header_size : NULL);
  if (rv != PT_OK) {
    return rv;
  }
  pt_log *log = pt__log_alloc();
  if (log == NULL) {
    pt__region_free(&region);
    return PT_ERR_NOMEM;
  }
  memset(log, 0, sizeof *log);
  pt__log_attach(log, &region);
  /* Not in the registry: nobody writes through a read-only view. */
  log->uid = 0;
  *out = log;
  return PT_OK;
}

int pt_log_open(const pt_log **out, const char *path) {
  return pt_log_open_ex(out, path, NULL);
}

int pt_log_check(const pt_log *log, pt_log_file_info *info) {
  if (info != NULL) {
    memset(info, 0, sizeof *info);
  }
  if (log == NULL) {
    return PT_ERR_INVALID;
  }
  if (info != NULL) {
    info->header_size = log->region.size;
  }
  return pt__region_verify(&log->region,
                           info != NULL ? &info->file_size : NULL);
}

void pt_log_close(const pt_log *log) {
  if (log == NULL) {
    return;
  }
  pt_log *owned = (pt_log *)(uintptr_t)log;
  pt__region_free(&owned->region);
  free(owned);
}

/* Whether the log's writer has closed it (acquire: pairs with the
 * writer's release of CLOSED in pt_log_destroy). */
static int pt__log_closed(const pt_log *log) {
  return atomic_load_explicit(&log->header->writer_state,
                              memory_order_acquire) == PT__WRITER_CLOSED;
}

int pt_log_writer_status(const pt_log *log) {
  if (log == NULL) {
    return PT_ERR_INVALID;
  }
  if (pt__log_closed(log)) {
    return PT_WRITER_EXITED;
  }
  /* The writer's identity as validated at open (not the mapping's). */
  int pid = (int)log->region.info.writer_pid;
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH) ||
      pt__process_start_time(pid) != log->region.info.writer_start) {
    /*
     * Gone: but a writer closes its log before it exits, so one that did
     * so since the look above has its CLOSED visible now.  (Without this
     * second look, `peertrace tail` under load said "the writer died" of
     * a log closed normally.)
     */
    return pt__log_closed(log) ? PT_WRITER_EXITED : PT_WRITER_DIED;
  }
  return PT_WRITER_RUNNING;
}

int pt_log_get_stats(const pt_log *log, pt_log_stats *out) {
  if (log == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  out->capacity = log->capacity;
  uint64_t overwritten = 0;
  /* Chunks whose record kept changing (a file rewritten all the time):
   * their slots count as unreadable, their removed word as it stands. */
  uint64_t restless = 0;
  for (uint64_t j = 0; j < log->chunk_count; j++) {
    uint64_t state, removed;
    if (pt__chunk_removed(log, j, &removed, &state) != PT_OK) {
      restless += log->chunk_size;
    }
    overwritten += removed;
  }
  out->overwritten = overwritten;
  /* relaxed: a statistic. */
  out->dropped =
      atomic_load_explicit(&log->header->dropped, memory_order_relaxed);
  out->chunk_size = log->chunk_size;
  /* relaxed: a statistic. */
  out->rejected =
      atomic_load_explicit(&log->header->rejected, memory_order_relaxed);
  /* Only a file can be damaged by someone else: private memory is not
   * scanned (it would cost a pass over every sequence word), nor a file
   * whose memory a truncation replaced (pt_log_check says so). */
  out->unreadable = restless;
  int scan = log->region.fd >= 0 && !pt__region_faulted(&log->region);
  for (uint64_t j = 0; scan && j < log->chunk_count; j++) {
    out->unreadable += pt__chunk_unreadable(log, j);
  }
  return PT_OK;
}

int pt_log_node_id(const pt_log *log, uint8_t out[32]) {
  if (log == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  memcpy(out, log->region.info.node_id, sizeof log->region.info.node_id);
  return PT_OK;
}
