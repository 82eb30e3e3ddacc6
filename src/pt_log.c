/*
 * pt_log: the lock-free flight-recorder ring.
 *
 * Why not the seed's design: `idx = fetch_add(1); write_volatile(slot)` lets
 * two writers own one slot at once.  A writer preempted between its
 * fetch_add and the end of its copy can be lapped by a writer one lap later
 * that got the same slot; the two copies interleave and a reader sees half
 * of each.  A per-slot seqlock alone does not help: both writers bump it.
 *
 * Our protocol gives every slot exactly one writer at a time:
 *
 *  1. Claim.  A writer takes a chunk number c = fetch_add(next_chunk, 1) and
 *     then CASes the chunk's state word from "closed" to "owned by c".  If
 *     the chunk is still owned by a lagging writer of an earlier lap, it is
 *     skipped and the lagging writer keeps it; nobody ever writes a slot
 *     that someone else owns.  The claimer marks every slot of the chunk
 *     "being written" (odd sequence) and counts the completed events it thus
 *     removes as overwritten: the count is exact by construction.
 *  2. Write.  The owner fills its slots one event at a time with plain
 *     (relaxed atomic) stores, publishing each with a release store of the
 *     slot's sequence word (2t + 2).  No atomic read-modify-write per event:
 *     one fetch_add and one CAS are shared by chunk_size events.
 *  3. Close.  When the chunk is full (or its thread exits, or the thread's
 *     cursor is evicted) the owner marks unused slots empty and releases the
 *     chunk (state "closed"), so a later lap may claim it.
 *
 * Readers use the slot's sequence word as a seqlock (Boehm, "Can seqlocks
 * get along with programming language memory models?", 2012): read it,
 * copy, re-read it; an odd or changed value means the copy is discarded.
 * Because only one writer ever touches a slot between two sequence values,
 * an unchanged even value proves the copy is whole.
 *
 * Per-thread cursors (chunk being filled) live in thread-local storage,
 * keyed by the log's never-reused uid, so a cursor of a destroyed log is
 * recognised without touching freed memory.
 */
#define _GNU_SOURCE
#include "pt_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pt_clock.h"

/* ---- Registry of live logs (slow paths only) ---------------------------- */

static pthread_mutex_t pt__registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pt_log *pt__registry_head;
static uint64_t pt__next_uid = 1; /* guarded by pt__registry_lock */

/* Returns the live log with this uid; caller holds pt__registry_lock. */
static pt_log *pt__registry_find(uint64_t uid) {
  for (pt_log *log = pt__registry_head; log != NULL; log = log->registry_next) {
    if (log->uid == uid) {
      return log;
    }
  }
  return NULL;
}

/* ---- Per-thread cursors ------------------------------------------------- */

#define PT__CURSORS 8

typedef struct pt__cursor {
  uint64_t uid;   /* log uid, 0 = unused */
  uint64_t next;  /* next ticket to write */
  uint64_t end;   /* one past the chunk's last ticket; next == end: none */
  uint64_t chunk; /* chunk number being filled */
} pt__cursor;

static PT__TLS pt__cursor pt__cursors[PT__CURSORS];
static PT__TLS int pt__thread_has_exit_hook;
static pthread_key_t pt__exit_key;
static pthread_once_t pt__exit_key_once = PTHREAD_ONCE_INIT;

static void pt__chunk_close(pt_log *log, pt__cursor *cur) {
  /* Unused slots still carry this chunk's odd marks: make them empty. */
  for (uint64_t t = cur->next; t < cur->end; t++) {
    /* relaxed: ordered before the readers' view by the release below. */
    atomic_store_explicit(&log->seqs[t & log->mask], 0, memory_order_relaxed);
  }
  /*
   * release: publishes every store to this chunk's slots and sequence words;
   * the next owner's CAS (acquire) sees them before it reuses the slots.
   */
  atomic_store_explicit(&log->chunk_state[cur->chunk & (log->chunk_count - 1)],
                        (cur->chunk + 1) << 1, memory_order_release);
  cur->next = cur->end = 0;
}

/* Closes a cursor's open chunk if its log still exists (slow path). */
static void pt__cursor_release(pt__cursor *cur) {
  if (cur->uid != 0 && cur->next != cur->end) {
    pthread_mutex_lock(&pt__registry_lock);
    pt_log *log = pt__registry_find(cur->uid);
    if (log != NULL) {
      pt__chunk_close(log, cur);
    }
    pthread_mutex_unlock(&pt__registry_lock);
  }
  memset(cur, 0, sizeof *cur);
}

/* pthread key destructor: a thread that exits gives back its open chunks. */
static void pt__thread_exit(void *unused) {
  (void)unused;
  for (int i = 0; i < PT__CURSORS; i++) {
    pt__cursor_release(&pt__cursors[i]);
  }
}

static void pt__exit_key_create(void) {
  pthread_key_create(&pt__exit_key, pt__thread_exit);
}

/* Slow path: the cursor for `log` in slot 0, evicting the oldest if needed. */
static pt__cursor *pt__cursor_find(const pt_log *log) {
  pt__cursor *cursors = pt__cursors;
  for (int i = 1; i < PT__CURSORS; i++) {
    if (cursors[i].uid == log->uid) {
      pt__cursor found = cursors[i];
      cursors[i] = cursors[0];
      cursors[0] = found;
      return &cursors[0];
    }
  }
  if (!pt__thread_has_exit_hook) {
    pthread_once(&pt__exit_key_once, pt__exit_key_create);
    pthread_setspecific(pt__exit_key, (void *)1);
    pt__thread_has_exit_hook = 1;
  }
  pt__cursor_release(&cursors[PT__CURSORS - 1]);
  memmove(&cursors[1], &cursors[0], (PT__CURSORS - 1) * sizeof cursors[0]);
  memset(&cursors[0], 0, sizeof cursors[0]);
  cursors[0].uid = log->uid;
  return &cursors[0];
}

/* Claims a fresh chunk for `cur`.  Returns 0 if none could be had. */
static int pt__chunk_claim(pt_log *log, pt__cursor *cur) {
  for (uint64_t attempt = 0; attempt < log->chunk_count; attempt++) {
    /*
     * relaxed: the number only has to be unique; ownership of the chunk is
     * decided by the CAS below, which carries the ordering.
     */
    uint64_t c =
        atomic_fetch_add_explicit(&log->next_chunk, 1, memory_order_relaxed);
    _Atomic uint64_t *state = &log->chunk_state[c & (log->chunk_count - 1)];
    /* relaxed: a stale value only makes the CAS below fail. */
    uint64_t seen = atomic_load_explicit(state, memory_order_relaxed);
    if (seen & 1u) {
      continue; /* a lagging writer still fills it: leave it to them */
    }
    if (seen != 0 && (seen >> 1) - 1 >= c) {
      continue; /* we were preempted; a later lap already used it */
    }
    /*
     * acquire on success: synchronises with the previous owner's release in
     * pt__chunk_close, so its slot stores happen before ours.
     */
    if (!atomic_compare_exchange_strong_explicit(
            state, &seen, ((c + 1) << 1) | 1u, memory_order_acquire,
            memory_order_relaxed)) {
      continue;
    }
    uint64_t base = c << log->chunk_shift;
    uint64_t removed = 0;
    for (uint64_t i = 0; i < log->chunk_size; i++) {
      _Atomic uint64_t *seq = &log->seqs[(base + i) & log->mask];
      /* relaxed: we own the chunk; its last writer's stores are visible. */
      uint64_t old = atomic_load_explicit(seq, memory_order_relaxed);
      removed += (old != 0 && (old & 1u) == 0);
      /* relaxed: ordered before our payload stores by the fence below. */
      atomic_store_explicit(seq, 2 * (base + i) + 1, memory_order_relaxed);
    }
    /*
     * release fence: a reader that sees any payload store we make after this
     * point also sees the odd marks, so its re-check discards the copy.
     */
    atomic_thread_fence(memory_order_release);
    if (removed != 0) {
      /* relaxed: a statistic; readers need no ordering with the ring. */
      atomic_fetch_add_explicit(&log->overwritten, removed,
                                memory_order_relaxed);
    }
    cur->chunk = c;
    cur->next = base;
    cur->end = base + log->chunk_size;
    return 1;
  }
  return 0;
}

/*
 * Takes the next slot of this thread's chunk (claiming a chunk if needed).
 * Returns the slot, with *ticket set, or NULL if the event must be dropped.
 */
static inline pt__slot *pt__slot_take(pt_log *log, pt__cursor **cursor,
                                      uint64_t *ticket) {
  pt__cursor *cur = &pt__cursors[0];
  if (PT__UNLIKELY(cur->uid != log->uid)) {
    cur = pt__cursor_find(log);
  }
  if (PT__UNLIKELY(cur->next == cur->end) && !pt__chunk_claim(log, cur)) {
    /* relaxed: a statistic. */
    atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
    return NULL;
  }
  *cursor = cur;
  *ticket = cur->next++;
  return &log->slots[*ticket & log->mask];
}

/* Publishes the slot's event and closes the chunk when it is full. */
static inline void pt__slot_publish(pt_log *log, pt__cursor *cur,
                                    uint64_t ticket) {
  /* release: the event is complete; readers that acquire this see it all. */
  atomic_store_explicit(&log->seqs[ticket & log->mask], 2 * ticket + 2,
                        memory_order_release);
  if (PT__UNLIKELY(cur->next == cur->end)) {
    pt__chunk_close(log, cur);
  }
}

/* Word i of an unaligned byte buffer. */
static inline uint64_t pt__load_word(const void *src, size_t i) {
  uint64_t word;
  memcpy(&word, (const unsigned char *)src + 8 * i, sizeof word);
  return word;
}

/* relaxed stores: every payload store is published by pt__slot_publish. */
static inline void pt__slot_store(pt__slot *slot, int word, uint64_t value) {
  atomic_store_explicit(&slot->word[word], value, memory_order_relaxed);
}

static inline void pt__log_record(pt_log *log, const pt_event *ev,
                                  uint64_t timestamp_us) {
  pt__cursor *cur;
  uint64_t ticket;
  pt__slot *slot = pt__slot_take(log, &cur, &ticket);
  if (slot == NULL) {
    return;
  }
  /* Straight-line stores: gcc -O2 does not unroll loops, and this is hot. */
#define PT__COPY_WORD(i) pt__slot_store(slot, i, pt__load_word(ev, i))
  PT__COPY_WORD(1);
  PT__COPY_WORD(2);
  PT__COPY_WORD(3);
  PT__COPY_WORD(4);
  PT__COPY_WORD(5);
  PT__COPY_WORD(6);
  PT__COPY_WORD(7);
  PT__COPY_WORD(8);
  PT__COPY_WORD(9);
  PT__COPY_WORD(10);
  PT__COPY_WORD(11);
  PT__COPY_WORD(12);
  PT__COPY_WORD(13);
  PT__COPY_WORD(14);
  PT__COPY_WORD(15);
#undef PT__COPY_WORD
  /* Word 0 is timestamp_us (offsetof 0), stored last: it waits on rdtsc. */
  pt__slot_store(slot, 0, timestamp_us);
  pt__slot_publish(log, cur, ticket);
}

void pt_log_write(pt_log *log, const pt_event *ev) {
  if (PT__UNLIKELY(log == NULL || ev == NULL)) {
    return;
  }
  pt__log_record(log, ev, pt__clock_now_ns() / 1000u);
}

void pt_log_write_at(pt_log *log, const pt_event *ev) {
  if (PT__UNLIKELY(log == NULL || ev == NULL)) {
    return;
  }
  pt__log_record(log, ev, ev->timestamp_us);
}

void pt__log_write_parts(pt_log *log, pt_trace_id trace_id,
                         const uint8_t *peer_id, uint64_t header,
                         const uint64_t *payload) {
  if (PT__UNLIKELY(log == NULL)) {
    return;
  }
  uint64_t timestamp_us = pt__clock_now_ns() / 1000u;
  pt__cursor *cur;
  uint64_t ticket;
  pt__slot *slot = pt__slot_take(log, &cur, &ticket);
  if (slot == NULL) {
    return;
  }
  uint64_t id[2];
  memcpy(id, trace_id.bytes, sizeof id);
  pt__slot_store(slot, 1, id[0]);
  pt__slot_store(slot, 2, id[1]);
  /* Straight-line stores: gcc -O2 does not unroll loops, and this is hot. */
  if (peer_id != NULL) {
    header |= (uint64_t)PT_EVENT_HAS_PEER << 48;
    pt__slot_store(slot, 3, pt__load_word(peer_id, 0));
    pt__slot_store(slot, 4, pt__load_word(peer_id, 1));
    pt__slot_store(slot, 5, pt__load_word(peer_id, 2));
    pt__slot_store(slot, 6, pt__load_word(peer_id, 3));
  } else {
    pt__slot_store(slot, 3, 0);
    pt__slot_store(slot, 4, 0);
    pt__slot_store(slot, 5, 0);
    pt__slot_store(slot, 6, 0);
  }
  pt__slot_store(slot, 7, header);
  pt__slot_store(slot, 8, payload[0]);
  pt__slot_store(slot, 9, payload[1]);
  pt__slot_store(slot, 10, payload[2]);
  pt__slot_store(slot, 11, payload[3]);
  pt__slot_store(slot, 12, payload[4]);
  pt__slot_store(slot, 13, payload[5]);
  pt__slot_store(slot, 14, payload[6]);
  pt__slot_store(slot, 15, payload[7]);
  pt__slot_store(slot, 0, timestamp_us);
  pt__slot_publish(log, cur, ticket);
}

int pt__log_read_slot(const pt_log *log, uint64_t index, pt_event *out,
                      uint64_t *ticket) {
  _Atomic uint64_t *seq = &log->seqs[index];
  const pt__slot *slot = &log->slots[index];
  for (int attempt = 0; attempt < 3; attempt++) {
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
      memcpy(out, words, sizeof words);
      *ticket = (before - 2) / 2;
      return 1;
    }
  }
  return 0;
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

  pt_log *log = aligned_alloc(PT__CACHE_LINE, sizeof *log);
  if (log == NULL) {
    goto fail_log;
  }
  memset(log, 0, sizeof *log);
  log->capacity = capacity;
  log->mask = capacity - 1;
  /*
   * Chunks: large enough that the shared counter is touched once per 64
   * events, small enough that a ring keeps at least 16 of them, so lagging
   * owners (which keep their chunk) cost a small part of the ring.
   */
  log->chunk_size = capacity / 16 < 64 ? capacity / 16 : 64;
  log->chunk_shift = pt__log2(log->chunk_size);
  log->chunk_count = capacity / log->chunk_size;
  memcpy(log->node_id, cfg->node_id, sizeof log->node_id);

  log->slots = aligned_alloc(128, capacity * sizeof(pt__slot));
  if (log->slots == NULL) {
    goto fail_slots;
  }
  log->seqs = aligned_alloc(PT__CACHE_LINE, capacity * sizeof(uint64_t));
  if (log->seqs == NULL) {
    goto fail_seqs;
  }
  size_t state_bytes = log->chunk_count * sizeof(uint64_t);
  state_bytes = (state_bytes + PT__CACHE_LINE - 1) & ~(size_t)63;
  log->chunk_state = aligned_alloc(PT__CACHE_LINE, state_bytes);
  if (log->chunk_state == NULL) {
    goto fail_state;
  }
  /* Touch every page now: the footprint is fixed and no write faults later. */
  memset(log->slots, 0, capacity * sizeof(pt__slot));
  memset(log->seqs, 0, capacity * sizeof(uint64_t));
  memset(log->chunk_state, 0, state_bytes);

  pthread_mutex_lock(&pt__registry_lock);
  log->uid = pt__next_uid++;
  log->registry_next = pt__registry_head;
  pt__registry_head = log;
  pthread_mutex_unlock(&pt__registry_lock);
  *out = log;
  return PT_OK;

fail_state:
  free(log->seqs);
fail_seqs:
  free(log->slots);
fail_slots:
  free(log);
fail_log:
  return PT_ERR_NOMEM;
}

void pt_log_destroy(pt_log *log) {
  if (log == NULL) {
    return;
  }
  pthread_mutex_lock(&pt__registry_lock);
  for (pt_log **link = &pt__registry_head; *link != NULL;
       link = &(*link)->registry_next) {
    if (*link == log) {
      *link = log->registry_next;
      break;
    }
  }
  pthread_mutex_unlock(&pt__registry_lock);
  free(log->chunk_state);
  free(log->seqs);
  free(log->slots);
  free(log);
}

int pt_log_get_stats(const pt_log *log, pt_log_stats *out) {
  if (log == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  out->capacity = log->capacity;
  /* relaxed: statistics, each read on its own. */
  out->overwritten =
      atomic_load_explicit(&log->overwritten, memory_order_relaxed);
  out->dropped = atomic_load_explicit(&log->dropped, memory_order_relaxed);
  out->chunk_size = log->chunk_size;
  return PT_OK;
}

int pt_log_node_id(const pt_log *log, uint8_t out[32]) {
  if (log == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  memcpy(out, log->node_id, sizeof log->node_id);
  return PT_OK;
}
