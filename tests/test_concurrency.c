/*
 * test_concurrency: many writers and a reader on small rings.
 *
 * Writers lap each other constantly (rings of 16..256 slots), which is where
 * the specified fetch_add + write_volatile ring tears.  Every event carries a
 * checksum of its own bytes; the reader checks every event it ever gets, and
 * at the end every write must be accounted for: live in the ring, counted as
 * overwritten, or counted as dropped.  Run under TSan in CI.
 *
 * A reader and a writer meet only by chance; test_interrupted_writer makes
 * the meeting certain: a timer signal stops the writer at random
 * instructions, many of them in the middle of an event, and the handler
 * plays a reader that was preempted between its first reads and its copy.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pt_ring.h" /* internals: a reader's steps, one by one */
#include "test_helpers.h"

enum { WRITERS = 4, EVENTS_PER_WRITER = PT_TEST_SLOW ? 40000 : 400000 };

typedef struct shared {
  pt_log *log;
  _Atomic int writers_done;
  _Atomic uint64_t reader_events;
  _Atomic uint64_t reader_torn;
  _Atomic uint64_t reader_order_errors;
} shared;

typedef struct writer_arg {
  shared *sh;
  uint32_t id;
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *arg = p;
  for (uint64_t n = 0; n < EVENTS_PER_WRITER; n++) {
    pt_event ev;
    pt_test_make_event(&ev, arg->id, n);
    pt_log_write(arg->sh->log, &ev);
  }
  /* release: pairs with the reader's acquire load. */
  atomic_fetch_add_explicit(&arg->sh->writers_done, 1, memory_order_release);
  return NULL;
}

/* Checks one snapshot: all intact, and each writer's events in its order. */
static void check_snapshot(shared *sh, const pt_event *events, size_t count) {
  uint64_t last[WRITERS];
  int seen[WRITERS] = {0};
  for (size_t i = 0; i < count; i++) {
    if (!pt_test_event_intact(&events[i])) {
      atomic_fetch_add(&sh->reader_torn, 1);
      continue;
    }
    uint32_t w;
    uint64_t n;
    pt_test_event_origin(&events[i], &w, &n);
    if (w >= WRITERS) {
      atomic_fetch_add(&sh->reader_torn, 1);
      continue;
    }
    /* Time order must preserve each writer's program order. */
    if (seen[w] && n <= last[w]) {
      atomic_fetch_add(&sh->reader_order_errors, 1);
    }
    seen[w] = 1;
    last[w] = n;
  }
  atomic_fetch_add(&sh->reader_events, count);
}

static void *reader_main(void *p) {
  shared *sh = p;
  /* acquire: pairs with the writers' release increments. */
  while (atomic_load_explicit(&sh->writers_done, memory_order_acquire) <
         WRITERS) {
    pt_event *events = NULL;
    size_t count = 0;
    if (pt_log_recent(sh->log, SIZE_MAX, &events, &count) == PT_OK) {
      check_snapshot(sh, events, count);
      pt_events_free(events);
    }
  }
  return NULL;
}

static void run_contention(size_t capacity) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  shared sh;
  memset(&sh, 0, sizeof sh);
  assert_int_equal(pt_log_create(&sh.log, &cfg), PT_OK);

  pthread_t writers[WRITERS];
  writer_arg args[WRITERS];
  pthread_t reader;
  assert_int_equal(pthread_create(&reader, NULL, reader_main, &sh), 0);
  for (uint32_t i = 0; i < WRITERS; i++) {
    args[i].sh = &sh;
    args[i].id = i;
    assert_int_equal(pthread_create(&writers[i], NULL, writer_main, &args[i]),
                     0);
  }
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(writers[i], NULL);
  }
  pthread_join(reader, NULL);

  assert_int_equal(atomic_load(&sh.reader_torn), 0);
  assert_int_equal(atomic_load(&sh.reader_order_errors), 0);
  assert_true(atomic_load(&sh.reader_events) > 0);

  /* Final accounting, with all writers gone (their chunks were closed). */
  pt_event *events = NULL;
  size_t live = 0;
  assert_int_equal(pt_log_recent(sh.log, SIZE_MAX, &events, &live), PT_OK);
  check_snapshot(&sh, events, live);
  assert_int_equal(atomic_load(&sh.reader_torn), 0);
  assert_int_equal(atomic_load(&sh.reader_order_errors), 0);
  /* No duplicates: each (writer, n) at most once. */
  for (size_t i = 1; i < live; i++) {
    for (size_t j = 0; j < i; j++) {
      uint32_t wi, wj;
      uint64_t ni, nj;
      pt_test_event_origin(&events[i], &wi, &ni);
      pt_test_event_origin(&events[j], &wj, &nj);
      assert_false(wi == wj && ni == nj);
    }
  }
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(sh.log, &stats), PT_OK);
  print_message("capacity %zu: live %zu overwritten %llu dropped %llu\n",
                capacity, live, (unsigned long long)stats.overwritten,
                (unsigned long long)stats.dropped);
  assert_int_equal(live + stats.overwritten + stats.dropped,
                   (uint64_t)WRITERS * EVENTS_PER_WRITER);
  assert_true(live <= capacity);
  pt_events_free(events);
  pt_log_destroy(sh.log);
}

static void test_contention_16(void **state) {
  (void)state;
  run_contention(16);
}

static void test_contention_64(void **state) {
  (void)state;
  run_contention(64);
}

static void test_contention_256(void **state) {
  (void)state;
  run_contention(256);
}

/* Short-lived threads: each exit gives its open chunk back, so the ring
 * does not shrink however many threads come and go. */
static void *one_event(void *p) {
  shared *sh = p;
  pt_event ev;
  pt_test_make_event(&ev, 0, 7);
  pt_log_write(sh->log, &ev);
  return NULL;
}

static void test_thread_churn_keeps_ring_usable(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64; /* 16 chunks of 4 */
  shared sh;
  memset(&sh, 0, sizeof sh);
  assert_int_equal(pt_log_create(&sh.log, &cfg), PT_OK);
  for (int i = 0; i < 200; i++) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, one_event, &sh), 0);
    pthread_join(t, NULL);
  }
  /* 200 threads each held a chunk; all were returned, nothing dropped. */
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(sh.log, &stats), PT_OK);
  assert_int_equal(stats.dropped, 0);
  pt_event *events = NULL;
  size_t live = 0;
  assert_int_equal(pt_log_recent(sh.log, SIZE_MAX, &events, &live), PT_OK);
  assert_int_equal(live + stats.overwritten, 200);
  assert_true(live >= 16); /* one event per chunk survives */
  pt_events_free(events);
  pt_log_destroy(sh.log);
}

/* ---- fork() while other threads use the registry of logs -------------- */

static _Atomic int churn_stop;

enum { CHURN_LOGS = 2000 };

/*
 * Replaces the oldest of CHURN_LOGS live logs with a new one, over and over:
 * removing the oldest walks the whole registry list under its lock, so the
 * lock is held much of the time.
 */
static void *registry_churn(void *p) {
  (void)p;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = PT_LOG_MIN_CAPACITY;
  cfg.no_index = 1;
  pt_log **logs = calloc(CHURN_LOGS, sizeof *logs);
  if (logs == NULL) {
    return NULL;
  }
  for (size_t i = 0; i < CHURN_LOGS; i++) {
    pt_log_create(&logs[i], &cfg);
  }
  /* relaxed: a stop flag; the join orders the rest. */
  for (size_t i = 0; !atomic_load_explicit(&churn_stop, memory_order_relaxed);
       i = (i + 1) % CHURN_LOGS) {
    pt_log_destroy(logs[i]);
    pt_log_create(&logs[i], &cfg);
  }
  for (size_t i = 0; i < CHURN_LOGS; i++) {
    pt_log_destroy(logs[i]);
  }
  free(logs);
  return NULL;
}

/*
 * A child forked while another thread holds the registry lock must still be
 * able to create a log (the lock is held across fork(), pt_registry.c);
 * without that, some child hangs in pt_log_create and its alarm kills it.
 */
static void test_fork_while_registry_busy(void **state) {
  (void)state;
  enum { CHURNERS = 1, FORKS = PT_TEST_SLOW ? 100 : 300 };
  pthread_t churners[CHURNERS];
  atomic_store_explicit(&churn_stop, 0, memory_order_relaxed);
  for (int i = 0; i < CHURNERS; i++) {
    assert_int_equal(pthread_create(&churners[i], NULL, registry_churn, NULL),
                     0);
  }
  int failed = 0;
  for (int i = 0; i < FORKS && failed == 0; i++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      alarm(3); /* a deadlocked child dies of SIGALRM */
      pt_log *log = NULL;
      int ok = pt_log_create(&log, NULL) == PT_OK;
      pt_event ev;
      pt_test_make_event(&ev, 1, 1);
      ok = ok && pt_log_write(log, &ev) == PT_OK;
      pt_log_destroy(log);
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  /* relaxed: see registry_churn. */
  atomic_store_explicit(&churn_stop, 1, memory_order_relaxed);
  for (int i = 0; i < CHURNERS; i++) {
    pthread_join(churners[i], NULL);
  }
  assert_int_equal(failed, 0);
}

/* ---- A writer stopped mid-event ---------------------------------------- */

enum {
  IW_CAPACITY = 64, /* 16 chunks of 4 slots */
  IW_CHUNKS = 16,
  IW_SNAPS = 6, /* reader start points kept: the last 6 write boundaries */
  IW_EVENTS = PT_TEST_SLOW ? 100000 : 2000000
};

/* What a reader would have read at each recent write boundary: every
 * chunk's state and every slot's sequence word.  Written by the writer
 * (main thread), read by the signal handler on the same thread. */
static pt_log *iw_log;
static _Atomic uint64_t iw_seq[IW_SNAPS][IW_CAPACITY];
static _Atomic uint64_t iw_state[IW_SNAPS][IW_CHUNKS];
static _Atomic uint64_t iw_newest; /* snapshots taken so far */
static _Atomic uint64_t iw_signals, iw_mid_event, iw_accepted, iw_torn;

static timer_t iw_timer;

/* The next signal, 50 us after the handler is done (one-shot, re-armed by
 * the handler: however long it takes, the writer gets to run between). */
static void iw_arm(void) {
  struct itimerspec next = {{0, 0}, {0, 50000}};
  timer_settime(iw_timer, 0, &next, NULL);
}

/*
 * The handler plays readers that read a chunk's state and a slot's sequence
 * word up to IW_SNAPS - 2 writes ago, were preempted, and now copy the slot
 * and re-read its sequence word, as pt__log_read_slot does.  Whatever such
 * a reader accepts must be a whole event.  Only atomics and timer_settime:
 * async-signal-safe.
 */
static void iw_handler(int sig) {
  (void)sig;
  atomic_fetch_add_explicit(&iw_signals, 1, memory_order_relaxed);
  uint64_t newest = atomic_load_explicit(&iw_newest, memory_order_relaxed);
  atomic_signal_fence(memory_order_acquire);
  for (uint64_t i = 0; i < IW_CAPACITY; i++) {
    uint64_t now = atomic_load_explicit(&iw_log->seqs[i], memory_order_relaxed);
    if (now & 1u) {
      atomic_fetch_add_explicit(&iw_mid_event, 1, memory_order_relaxed);
    }
    int accept = 0;
    /* The snapshot after `newest` may be half made: ages to IW_SNAPS - 2. */
    for (uint64_t age = 0; age + 2 <= IW_SNAPS && age < newest && !accept;
         age++) {
      unsigned s = (unsigned)((newest - 1 - age) % IW_SNAPS);
      uint64_t before =
          atomic_load_explicit(&iw_seq[s][i], memory_order_relaxed);
      uint64_t state = atomic_load_explicit(
          &iw_state[s][i >> iw_log->chunk_shift], memory_order_relaxed);
      accept = before == now && before != 0 && (before & 1u) == 0 &&
               pt__ticket_lap(iw_log, (before - 2) / 2) == pt__state_lap(state);
    }
    if (!accept) {
      continue;
    }
    uint64_t words[16];
    for (int w = 0; w < 16; w++) {
      words[w] =
          atomic_load_explicit(&iw_log->slots[i].word[w], memory_order_relaxed);
    }
    pt_event ev;
    memcpy(&ev, words, sizeof ev);
    atomic_fetch_add_explicit(&iw_accepted, 1, memory_order_relaxed);
    if (!pt_test_event_intact(&ev)) {
      atomic_fetch_add_explicit(&iw_torn, 1, memory_order_relaxed);
    }
  }
  iw_arm();
}

static void test_interrupted_writer(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = IW_CAPACITY;
  assert_int_equal(pt_log_create(&iw_log, &cfg), PT_OK);
  assert_int_equal(iw_log->chunk_count, IW_CHUNKS);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = iw_handler;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGALRM;
  assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &iw_timer), 0);
  iw_arm();

  /* 97 distinct events (prime to the ring size), made beforehand so that
   * the loop is mostly the write: consecutive events in a slot differ. */
  static pt_event pool[97];
  for (uint64_t k = 0; k < 97; k++) {
    pt_test_make_event(&pool[k], 0, k);
  }
  for (uint64_t n = 0; n < IW_EVENTS; n++) {
    unsigned s = (unsigned)(n % IW_SNAPS);
    for (uint64_t c = 0; c < IW_CHUNKS; c++) {
      atomic_store_explicit(&iw_state[s][c], pt__log_chunk_state(iw_log, c),
                            memory_order_relaxed);
    }
    for (uint64_t i = 0; i < IW_CAPACITY; i++) {
      atomic_store_explicit(
          &iw_seq[s][i],
          atomic_load_explicit(&iw_log->seqs[i], memory_order_acquire),
          memory_order_relaxed);
    }
    atomic_signal_fence(memory_order_release);
    atomic_store_explicit(&iw_newest, n + 1, memory_order_relaxed);
    pt_log_write(iw_log, &pool[n % 97]);
  }

  timer_delete(iw_timer); /* disarms it */
  signal(SIGALRM, SIG_IGN);
  print_message("interrupted writer: %llu signals, %llu mid-event, %llu "
                "copies accepted, %llu torn\n",
                (unsigned long long)atomic_load(&iw_signals),
                (unsigned long long)atomic_load(&iw_mid_event),
                (unsigned long long)atomic_load(&iw_accepted),
                (unsigned long long)atomic_load(&iw_torn));
  assert_int_equal(atomic_load(&iw_torn), 0);
  assert_true(atomic_load(&iw_accepted) > 0);
#if !defined(__SANITIZE_THREAD__) && !PT_TEST_SLOW
  /* The test only means something if the writer was caught mid-event
   * (TSan delivers signals only at safe points, so never there). */
  assert_true(atomic_load(&iw_mid_event) > 0);
#endif
  pt_log_destroy(iw_log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contention_16),
      cmocka_unit_test(test_contention_64),
      cmocka_unit_test(test_contention_256),
      cmocka_unit_test(test_thread_churn_keeps_ring_usable),
      cmocka_unit_test(test_fork_while_registry_busy),
      cmocka_unit_test(test_interrupted_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
