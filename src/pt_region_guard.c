/*
 * pt_region_guard: a log file truncated under its mapping must not kill the
 * process (pt_region.h).
 *
 * Touching a page of a shared file mapping that lies beyond the file's end
 * raises SIGBUS, whose default action kills the process: `> node.ptlog`,
 * logrotate's copytruncate or a `cp` over the file would kill the traced
 * node in its next pt_log_write, and a `peertrace show` or `tail` reading
 * it.  The write path cannot check the file (it must not grow by a single
 * instruction), and nothing stops another process of the same user from
 * truncating a regular file.  So the fault itself is handled: a SIGBUS
 * handler, put in place when a file is mapped, looks the faulting
 * address up in a table of guarded regions and, if it is one of ours,
 * replaces the whole region with anonymous memory and returns; the faulting
 * load or store then runs again on the new memory.  Nothing changes on any
 * read or write path, and a fault outside our regions goes to the handler
 * that was there before (or to the default action: the process dies as it
 * would have).
 *
 * What the replacement holds:
 *  - a view (read-only): zeros.  Every chunk reads as never claimed and
 *    every slot as empty, so readers find no events; pt_log_check reports
 *    PT_ERR_LOG_TRUNCATED.
 *  - a writer's region: the header as created, and every chunk state word
 *    "owned, lap 2^41 - 1", which no claim can take (pt_log_write.c skips
 *    owned chunks, and the chunk its owner closes keeps that lap, ahead of
 *    any lap a claim can reach).  Threads finish the chunk they hold, into
 *    memory nobody reads (their events' lap is not the chunk's), then every
 *    event is dropped and counted (pt_log_stats.dropped).  No slot can get
 *    two writers, so no torn event is ever returned.  The file keeps what it
 *    held when it was truncated; nothing more reaches it.
 *
 * The new memory is prepared aside and moved over the region by one
 * mremap(), so other threads see the old pages or the finished new ones.
 * mmap, mremap and sched_yield are not on POSIX's async-signal-safe list,
 * but on Linux they are plain system calls with no user-space state.
 *
 * Limits: a SIGBUS handler installed after the last file was mapped
 * replaces ours until the next file is mapped, unless it forwards faults it
 * does not know to the handler it replaced (as ours does); at most PT__GUARDS
 * regions are guarded at once (pt__region_guard fails beyond that, and the
 * region is mapped unguarded).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "pt_ring.h"

#define PT__GUARDS 128

/* stage values */
#define PT__GUARD_MAPPED 0    /* the file mapping, intact */
#define PT__GUARD_REPLACING 1 /* a handler is replacing it */
#define PT__GUARD_REPLACED 2  /* anonymous memory since a fault */

typedef struct pt__guard {
  _Atomic uintptr_t start; /* 0: free entry */
  _Atomic uintptr_t end;
  _Atomic int stage;
  int writable;
  pt__region_header header; /* as created (writable regions only) */
} pt__guard;

static pt__guard pt__guards[PT__GUARDS];
static pthread_mutex_t pt__guards_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction pt__guard_previous; /* guarded by the lock */

/* A lap no claim reaches: pt__lap_at_or_after(it, lap) for every lap below
 * 2^41, and closing keeps it. */
#define PT__GUARD_DEAD_LAP ((UINT64_C(1) << 41) - 1)

/* Anonymous memory standing in for g's region, moved over it.  0 if done. */
static int pt__guard_replace(pt__guard *g) {
  uintptr_t start = atomic_load_explicit(&g->start, memory_order_acquire);
  size_t size =
      (size_t)(atomic_load_explicit(&g->end, memory_order_acquire) - start);
  unsigned char *fresh = mmap(NULL, size, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fresh == MAP_FAILED) {
    return -1;
  }
  if (g->writable) {
    pt__region_header *hdr = (pt__region_header *)(void *)fresh;
    memcpy(hdr, &g->header, sizeof *hdr);
    /* relaxed: nobody sees this memory before the mremap below. */
    atomic_store_explicit(&hdr->writer_state, PT__WRITER_RUNNING,
                          memory_order_relaxed);
    _Atomic uint64_t *states =
        (_Atomic uint64_t *)(void *)(fresh + hdr->states_offset);
    uint64_t dead =
        pt__state_make(PT__GUARD_DEAD_LAP, 0, 0, 0, PT__STATE_OWNED);
    for (uint64_t j = 0; j < hdr->chunk_count; j++) {
      /* relaxed: published by the mremap (a system call). */
      atomic_store_explicit(&states[j * PT__STATE_STRIDE], dead,
                            memory_order_relaxed);
    }
  } else if (mprotect(fresh, size, PROT_READ) != 0) {
    munmap(fresh, size);
    return -1;
  }
  if (mremap(fresh, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)start) ==
      MAP_FAILED) {
    munmap(fresh, size);
    return -1;
  }
  return 0;
}

/* Handles a fault in g's region; 0 if the faulting access can run again. */
static int pt__guard_fault(pt__guard *g) {
  int expected = PT__GUARD_MAPPED;
  /* acq_rel: one handler replaces; the others wait for it below. */
  if (atomic_compare_exchange_strong_explicit(
          &g->stage, &expected, PT__GUARD_REPLACING, memory_order_acq_rel,
          memory_order_acquire)) {
    int rv = pt__guard_replace(g);
    /* release: the replacement is in place (or failed: back to mapped, and
     * the fault takes its course). */
    atomic_store_explicit(&g->stage,
                          rv == 0 ? PT__GUARD_REPLACED : PT__GUARD_MAPPED,
                          memory_order_release);
    return rv;
  }
  /* acquire: pairs with the release above. */
  while (atomic_load_explicit(&g->stage, memory_order_acquire) ==
         PT__GUARD_REPLACING) {
    sched_yield();
  }
  return 0;
}

/*
 * Set while this thread's handler forwards a fault that is not ours.  A
 * handler installed after ours that chains to the one it replaced (ours),
 * and that pt__guard_install then put behind ours, calls us back: without
 * this, ours -> it -> ours -> ... until the stack overflows; with it, the
 * second call takes the default action.  (A handler that leaves by
 * siglongjmp leaves the flag set: that thread's later faults outside our
 * regions then take the default action too.)  Initial-exec TLS: a plain
 * load from the signal handler, no lazy allocation.
 */
static _Thread_local int pt__guard_forwarding
    __attribute__((tls_model("initial-exec")));

/* The default action: fatal once the handler returns. */
static void pt__guard_default(int sig, const siginfo_t *info) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
  if (info->si_code <= 0) {
    raise(sig); /* sent by kill(): pending until we return, then fatal */
  }
  /* a fault: the access runs again and kills the process */
}

/* A SIGBUS that is not ours: what would have happened without us. */
static void pt__guard_forward(int sig, siginfo_t *info, void *context) {
  const struct sigaction *prev = &pt__guard_previous;
  if (pt__guard_forwarding) {
    pt__guard_default(sig, info); /* called back by the handler we chain to */
    return;
  }
  if (!(prev->sa_flags & SA_SIGINFO)) {
    if (prev->sa_handler == SIG_IGN && info->si_code <= 0) {
      return; /* sent by kill(), and ignored before us */
    }
    if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
      pt__guard_default(sig, info);
      return;
    }
  }
  pt__guard_forwarding = 1;
  if (prev->sa_flags & SA_SIGINFO) {
    prev->sa_sigaction(sig, info, context);
  } else {
    prev->sa_handler(sig);
  }
  pt__guard_forwarding = 0;
}

static void pt__guard_on_sigbus(int sig, siginfo_t *info, void *context) {
  if (info->si_code > 0) { /* raised by the kernel for an access */
    uintptr_t addr = (uintptr_t)info->si_addr;
    for (int i = 0; i < PT__GUARDS; i++) {
      pt__guard *g = &pt__guards[i];
      /* acquire: pairs with pt__region_guard's release of start. */
      uintptr_t start = atomic_load_explicit(&g->start, memory_order_acquire);
      if (start != 0 && addr >= start &&
          addr < atomic_load_explicit(&g->end, memory_order_acquire)) {
        if (pt__guard_fault(g) == 0) {
          return;
        }
        break;
      }
    }
  }
  pt__guard_forward(sig, info, context);
}

/*
 * Puts our handler in place unless it already is, keeping the one it
 * replaces to forward to.  Called at every guard (under the lock), not once:
 * a handler installed since (a crash reporter, a test framework) is then
 * chained behind ours instead of silently disarming the guard.
 */
static void pt__guard_install(void) {
  struct sigaction current;
  if (sigaction(SIGBUS, NULL, &current) != 0 ||
      ((current.sa_flags & SA_SIGINFO) &&
       current.sa_sigaction == pt__guard_on_sigbus)) {
    return;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = pt__guard_on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &pt__guard_previous);
}

int pt__region_guard(pt__region *region, const pt__region_header *layout) {
  region->guard = -1;
  pthread_mutex_lock(&pt__guards_lock);
  pt__guard_install();
  for (int i = 0; i < PT__GUARDS; i++) {
    pt__guard *g = &pt__guards[i];
    /* relaxed: entries change only under the lock. */
    if (atomic_load_explicit(&g->start, memory_order_relaxed) == 0) {
      g->writable = !region->read_only;
      memcpy(&g->header, layout, sizeof g->header);
      atomic_store_explicit(&g->stage, PT__GUARD_MAPPED, memory_order_relaxed);
      atomic_store_explicit(&g->end, (uintptr_t)region->base + region->size,
                            memory_order_relaxed);
      /* release: a handler that sees start sees the rest of the entry. */
      atomic_store_explicit(&g->start, (uintptr_t)region->base,
                            memory_order_release);
      region->guard = i;
      break;
    }
  }
  pthread_mutex_unlock(&pt__guards_lock);
  return region->guard >= 0 ? PT_OK : PT_ERR_FULL;
}

void pt__region_unguard(pt__region *region) {
  if (region->guard < 0) {
    return;
  }
  pthread_mutex_lock(&pt__guards_lock);
  /* release: the entry is free (the region is unmapped after this). */
  atomic_store_explicit(&pt__guards[region->guard].start, 0,
                        memory_order_release);
  pthread_mutex_unlock(&pt__guards_lock);
  region->guard = -1;
}

int pt__region_faulted(const pt__region *region) {
  /* acquire: pairs with the handler's release of the stage. */
  return region->guard >= 0 &&
         atomic_load_explicit(&pt__guards[region->guard].stage,
                              memory_order_acquire) != PT__GUARD_MAPPED;
}
