/*
 * pt_trace_id: random 128-bit trace ids, hex text, trace contexts.
 *
 * Each thread runs its own xoshiro256** generator, seeded from getrandom()
 * the first time it makes an id and again after a fork (a child must not
 * repeat its parent's ids), so making an id costs no system call.
 */
#define _GNU_SOURCE
#include <peertrace/peertrace.h>

#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>

#include "pt_clock.h"
#include "pt_common.h"
#include "pt_hex.h"
#include "pt_hooks.h"

typedef struct pt__rng {
  uint64_t s[4];
  uint64_t fork_generation; /* 0: not seeded yet */
} pt__rng;

static PT__TLS pt__rng pt__thread_rng;
/* Bumped in every forked child; starts at 1 so that 0 means "unseeded". */
static _Atomic uint64_t pt__fork_generation = 1;

static void pt__on_fork_child(void) {
  /* relaxed: the child is single-threaded right after fork. */
  atomic_fetch_add_explicit(&pt__fork_generation, 1, memory_order_relaxed);
}

/* Registered before a thread's first seeding: no seed, nothing to redo. */
static pt__hook pt__trace_id_hook = {.child = pt__on_fork_child};

static uint64_t pt__splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void pt__rng_seed(pt__rng *rng, uint64_t generation) {
  uint64_t seed[4] = {0, 0, 0, 0};
  ssize_t got = getrandom(seed, sizeof seed, GRND_NONBLOCK);
  /* Without kernel entropy (very early boot), mix time and addresses. */
  uint64_t mix = (uint64_t)(uintptr_t)rng ^ pt__clock_realtime_ns() ^
                 ((uint64_t)(got > 0 ? got : 0) << 56);
  for (int i = 0; i < 4; i++) {
    rng->s[i] = seed[i] ^ pt__splitmix64(&mix);
  }
  rng->fork_generation = generation;
}

static inline uint64_t pt__rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t pt__rng_next(pt__rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = pt__rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = pt__rotl(s[3], 45);
  return result;
}

pt_trace_id pt_trace_id_new(void) {
  pt__rng *rng = &pt__thread_rng;
  /* relaxed: only compares with the value this thread saw when seeding. */
  uint64_t generation =
      atomic_load_explicit(&pt__fork_generation, memory_order_relaxed);
  if (PT__UNLIKELY(rng->fork_generation != generation)) {
    pt__hook_add(&pt__trace_id_hook);
    pt__rng_seed(rng, generation);
  }
  pt_trace_id id;
  do {
    uint64_t a = pt__rng_next(rng);
    uint64_t b = pt__rng_next(rng);
    memcpy(id.bytes, &a, 8);
    memcpy(id.bytes + 8, &b, 8);
  } while (pt_trace_id_is_zero(&id));
  return id;
}

int pt_trace_id_is_zero(const pt_trace_id *id) {
  if (id == NULL) {
    return 1;
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < sizeof id->bytes; i++) {
    acc |= id->bytes[i];
  }
  return acc == 0;
}

int pt_trace_id_to_hex(const pt_trace_id *id, char *out, size_t out_size) {
  if (id == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  if (out_size < 33) {
    return PT_ERR_BUFFER;
  }
  pt__hex_encode(out, id->bytes, sizeof id->bytes);
  return PT_OK;
}

int pt_trace_id_from_hex(const char *text, size_t len, pt_trace_id *out) {
  if (text == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  pt_trace_id id;
  if (len != 32 || pt__hex_decode(text, id.bytes, sizeof id.bytes, 0) != 0) {
    return PT_ERR_PARSE;
  }
  *out = id;
  return PT_OK;
}

pt_trace_ctx pt_trace_ctx_new(pt_trace_flags flags) {
  pt_trace_ctx ctx;
  ctx.trace_id = pt_trace_id_new();
  ctx.start_time_us = pt_clock_now_us();
  ctx.flags = flags;
  return ctx;
}
