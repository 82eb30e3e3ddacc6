/*
 * test_log_file: file-backed logs: creation rules, opening foreign or broken
 * files, recovery after the writer dies (SIGKILL, abort, segfault) with
 * several threads writing, and following a live log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pt_ring.h" /* internals, to stop a claim half-way */
#include "test_helpers.h"

static char dir[64];

static void path_in_dir(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/pt_test_log_file.XXXXXX");
  return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd);
}

static int create_file_log(pt_log **log, const char *path, size_t capacity,
                           unsigned flags) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  cfg.file_path = path;
  cfg.file_flags = flags;
  memset(cfg.node_id, 0x42, sizeof cfg.node_id);
  return pt_log_create(log, &cfg);
}

/* A new log file `name` in the test directory; its path in path[128]. */
static pt_log *new_file_log(char path[128], const char *name, size_t capacity,
                            unsigned flags) {
  path_in_dir(path, 128, name);
  pt_log *log = NULL;
  assert_int_equal(create_file_log(&log, path, capacity, flags), PT_OK);
  return log;
}

static void test_create_rules(void **state) {
  (void)state;
  char path[128];
  pt_log *log = new_file_log(path, "a.ptlog", 64, 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  pt_log_destroy(log);
  /* Nothing is overwritten without being asked. */
  assert_int_equal(create_file_log(&log, path, 64, 0), PT_ERR_EXISTS);
  assert_null(log);
  assert_int_equal(create_file_log(&log, path, 64, PT_LOG_FILE_REPLACE), PT_OK);
  pt_log_destroy(log);
  /* Symlinks are never followed, even with REPLACE. */
  char link[128];
  path_in_dir(link, sizeof link, "link.ptlog");
  assert_int_equal(symlink(path, link), 0);
  assert_int_equal(create_file_log(&log, link, 64, PT_LOG_FILE_REPLACE),
                   PT_ERR_PERMISSION);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, link), PT_ERR_PERMISSION);
  assert_int_equal(pt_log_open(&view, "/nonexistent/x"), PT_ERR_NOT_FOUND);
  assert_int_equal(pt_log_open(&view, dir), PT_ERR_PERMISSION);
  assert_int_equal(pt_log_open(NULL, path), PT_ERR_INVALID);
}

/*
 * A node restarting with PT_LOG_FILE_REPLACE while `peertrace tail` follows
 * its old file: the follower keeps the old log (no SIGBUS on a shrunk file,
 * no events of the new log counted against the old one's laps).
 */
static void test_replace_keeps_open_views(void **state) {
  (void)state;
  char path[128];
  pt_log *log = new_file_log(path, "replaced.ptlog", 4096, 0);
  pt_event ev;
  pt_event_begin(&ev, pt_trace_id_new(), NULL);
  pt_event_set_custom(&ev, 1, 2, NULL, 0);
  for (int i = 0; i < 3 * 4096; i++) {
    pt_log_write(log, &ev);
  }
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  pt_follow *follow = NULL;
  assert_int_equal(pt_follow_create(&follow, view, PT_FOLLOW_FROM_START),
                   PT_OK);
  pt_log_destroy(log);
  /* The new log is smaller: truncating the old file in place would fault. */
  assert_int_equal(create_file_log(&log, path, 64, PT_LOG_FILE_REPLACE), PT_OK);
  for (int i = 0; i < 10; i++) {
    pt_log_write(log, &ev);
  }
  const pt_event *events;
  size_t count;
  uint64_t missed;
  assert_int_equal(pt_follow_poll(follow, &events, &count, &missed), PT_OK);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
  assert_int_equal(stats.capacity, 4096);
  /* From the start: what the old log overwrote before is missed, not new. */
  assert_int_equal(missed, stats.overwritten);
  assert_int_equal(count + stats.overwritten, 3 * 4096);
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_EXITED);
  pt_follow_destroy(follow);
  pt_log_close(view);
  pt_log_destroy(log);
  /* Only a regular file of ours is replaced. */
  char sub[128];
  path_in_dir(sub, sizeof sub, "subdir");
  assert_int_equal(mkdir(sub, 0700), 0);
  assert_int_equal(create_file_log(&log, sub, 64, PT_LOG_FILE_REPLACE),
                   PT_ERR_PERMISSION);
  assert_null(log);
}

/*
 * pt_log_writer_status is thread-safe: two threads asking about a running
 * writer both always get RUNNING (it once parsed /proc with strtok, whose
 * shared state made a few calls in 10^5 report a live writer as dead).
 */
#define STATUS_CALLS 50000

static void *status_main(void *p) {
  const pt_log *view = p;
  uintptr_t wrong = 0;
  for (int i = 0; i < STATUS_CALLS; i++) {
    wrong += pt_log_writer_status(view) != PT_WRITER_RUNNING;
  }
  return (void *)wrong;
}

static void test_writer_status_concurrent(void **state) {
  (void)state;
  char path[128];
  pt_log *log = new_file_log(path, "status.ptlog", 64, 0);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(
        pthread_create(&t[i], NULL, status_main, (void *)(uintptr_t)view), 0);
  }
  uintptr_t wrong = 0;
  for (int i = 0; i < 2; i++) {
    void *r;
    assert_int_equal(pthread_join(t[i], &r), 0);
    wrong += (uintptr_t)r;
  }
  assert_int_equal(wrong, 0);
  pt_log_close(view);
  pt_log_destroy(log);
}

static void write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static void test_open_rejects_bad_files(void **state) {
  (void)state;
  char path[128], bad[128];
  path_in_dir(path, sizeof path, "good.ptlog");
  path_in_dir(bad, sizeof bad, "bad.ptlog");
  pt_log *log = NULL;
  assert_int_equal(create_file_log(&log, path, 64, PT_LOG_FILE_REPLACE), PT_OK);
  pt_log_destroy(log);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static unsigned char image[1 << 16];
  size_t size = fread(image, 1, sizeof image, f);
  fclose(f);
  assert_true(size > 4096 && size < sizeof image);
  const pt_log *view = NULL;

  write_file(bad, "hello, world\n", 13); /* not a log, and short */
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_FORMAT);
  static unsigned char junk[8192];
  memset(junk, 'x', sizeof junk);
  write_file(bad, junk, sizeof junk); /* not a log */
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_FORMAT);
  /* The log magic, but cut short: a distinct error, with both sizes. */
  pt_log_file_info info;
  write_file(bad, image, size - 1);
  assert_int_equal(pt_log_open_ex(&view, bad, &info), PT_ERR_LOG_TRUNCATED);
  assert_int_equal(info.file_size, size - 1);
  assert_int_equal(info.header_size, size);
  write_file(bad, image, 100); /* not even a whole header */
  assert_int_equal(pt_log_open_ex(&view, bad, &info), PT_ERR_LOG_TRUNCATED);
  assert_int_equal(info.file_size, 100);
  assert_int_equal(info.header_size, size);
  write_file(bad, image, 20); /* nor the bytes saying how long it is */
  assert_int_equal(pt_log_open_ex(&view, bad, &info), PT_ERR_LOG_TRUNCATED);
  assert_int_equal(info.file_size, 20);
  assert_int_equal(info.header_size, 0);
  unsigned char copy[sizeof image];
  memcpy(copy, image, size);
  write_file(bad, copy, size + 1); /* longer than its header says */
  assert_int_equal(pt_log_open_ex(&view, bad, &info), PT_ERR_LOG_HEADER);
  assert_int_equal(info.file_size, size + 1);
  memcpy(copy, image, size);
  copy[8] = 99; /* version */
  write_file(bad, copy, size);
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_VERSION);
  /* The magic and then zeros is a corrupt header, not "version 0"; nor is
   * another version number with garbage where the byte order mark goes. */
  memset(copy, 0, size);
  memcpy(copy, image, 8);
  write_file(bad, copy, size);
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_LOG_HEADER);
  memcpy(copy, image, size);
  copy[8] = 0; /* version 0, the rest intact */
  write_file(bad, copy, size);
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_LOG_HEADER);
  memcpy(copy, image, size);
  copy[8] = 2;
  memset(copy + 20, 0, 4); /* byte order mark */
  write_file(bad, copy, size);
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_LOG_HEADER);
  memcpy(copy, image, size);
  copy[24] = 0xff; /* capacity: no longer a power of two */
  write_file(bad, copy, size);
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_LOG_HEADER);
  memcpy(copy, image, size);
  copy[56] ^= 0x10; /* slots offset */
  write_file(bad, copy, size);
  assert_int_equal(pt_log_open(&view, bad), PT_ERR_LOG_HEADER);
  assert_null(view);

  /* The intact file opens. */
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_EXITED);
  uint8_t node[32];
  assert_int_equal(pt_log_node_id(view, node), PT_OK);
  assert_int_equal(node[0], 0x42);
  pt_log_close(view);

  if (geteuid() == 0) { /* a file of another user is refused */
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(pt_log_open(&view, path), PT_ERR_PERMISSION);
  }
}

/*
 * A FIFO (or any file that is not a regular one) is refused at once:
 * opening one for reading without O_NONBLOCK waits for a writer, forever if
 * none comes.  In a child with an alarm, so that a regression fails (killed
 * by SIGALRM) instead of hanging the suite.
 */
static void test_open_fifo_does_not_block(void **state) {
  (void)state;
  char fifo[128];
  path_in_dir(fifo, sizeof fifo, "fifo.ptlog");
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGALRM, SIG_DFL);
    alarm(5);
    const pt_log *view = (const pt_log *)1;
    pt_log_file_info info;
    int rv = pt_log_open_ex(&view, fifo, &info);
    _exit(rv == PT_ERR_PERMISSION && view == NULL ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  unlink(fifo);
  if (WIFSIGNALED(status)) {
    fail_msg("pt_log_open of a FIFO: killed by signal %d (it blocked)",
             WTERMSIG(status));
  }
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * A chunk record whose state word changes at every look (a process
 * rewriting the file all the time) does not keep a reader retrying
 * forever: pt__chunk_removed gives up after PT__REMOVED_TRIES looks with
 * PT_ERR_LOG_CHANGED.  The fake load gives a new lap at every call, and
 * holds still only after far more calls than the bound allows: an
 * unbounded loop then returns PT_OK, and fails here instead of hanging.
 */
enum { RESTLESS_STILL_AFTER = 100 * PT__REMOVED_TRIES };
static uint64_t restless_looks;

static uint64_t restless_load(_Atomic uint64_t *word) {
  (void)word;
  uint64_t n = ++restless_looks;
  return n < RESTLESS_STILL_AFTER ? n << 22 : 0;
}

static void test_restless_chunk_record_is_bounded(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  cfg.no_index = 1;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  uint64_t removed = 1, chunk_state = 1;
  restless_looks = 0;
  assert_int_equal(
      pt__chunk_removed_with(log, 0, restless_load, &removed, &chunk_state),
      PT_ERR_LOG_CHANGED);
  assert_true(restless_looks <= 3u * PT__REMOVED_TRIES);
  /* The real loads of a quiet chunk settle at the first look. */
  assert_int_equal(pt__chunk_removed(log, 0, &removed, &chunk_state), PT_OK);
  assert_int_equal(removed, 0);
  pt_log_destroy(log);
}

/* ---- Crash recovery ------------------------------------------------------ */

enum { CRASH_WRITERS = 3, CRASH_CAPACITY = 4096 };

typedef struct progress {
  _Atomic uint64_t done[CRASH_WRITERS]; /* writes that returned */
} progress;

typedef struct crash_writer {
  pt_log *log;
  progress *prog;
  uint32_t id;
  int how; /* 0: wait for SIGKILL; SIGABRT / SIGSEGV: die by it */
} crash_writer;

static void *crash_writer_main(void *p) {
  crash_writer *w = p;
  for (uint64_t n = 0;; n++) {
    pt_event ev;
    pt_test_make_event(&ev, w->id, n);
    pt_log_write(w->log, &ev);
    /* release: the parent reads it after our death. */
    atomic_store_explicit(&w->prog->done[w->id], n + 1, memory_order_release);
    if (w->how != 0 && w->id == 0 && n == 30000) {
      if (w->how == SIGABRT) {
        abort();
      }
      /* A real SIGSEGV, without the undefined behaviour of a NULL store
       * (which gcc's UBSan reports and exits on instead of crashing). */
      volatile char *guard =
          mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (guard != MAP_FAILED) {
        *guard = 1;
      }
      raise(SIGSEGV);
    }
  }
  return NULL;
}

static void crash_child(const char *path, progress *prog, int how) {
  pt_log *log = NULL;
  if (create_file_log(&log, path, CRASH_CAPACITY, PT_LOG_FILE_REPLACE) !=
      PT_OK) {
    _exit(3);
  }
  pthread_t threads[CRASH_WRITERS];
  crash_writer args[CRASH_WRITERS];
  for (uint32_t i = 0; i < CRASH_WRITERS; i++) {
    args[i] = (crash_writer){log, prog, i, how};
    pthread_create(&threads[i], NULL, crash_writer_main, &args[i]);
  }
  for (;;) {
    pause();
  }
}

static void run_crash(int how, unsigned delay_us) {
  char path[128];
  path_in_dir(path, sizeof path, "crash.ptlog");
  progress *prog = mmap(NULL, sizeof *prog, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(prog != MAP_FAILED);
  memset(prog, 0, sizeof *prog);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGABRT, SIG_DFL); /* undo cmocka's handlers */
    signal(SIGSEGV, SIG_DFL);
    crash_child(path, prog, how);
  }
  if (how == 0) {
    /* Let every writer lap the ring a few times, then kill mid-flight. */
    for (;;) {
      uint64_t least = UINT64_MAX;
      for (int i = 0; i < CRASH_WRITERS; i++) {
        uint64_t d = atomic_load(&prog->done[i]);
        least = d < least ? d : least;
      }
      if (least > 3 * CRASH_CAPACITY) {
        break;
      }
      usleep(100);
    }
    usleep(delay_us);
    kill(pid, SIGKILL);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), how == 0 ? SIGKILL : how);

  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_DIED);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(view, SIZE_MAX, &events, &count), PT_OK);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);

  uint64_t done[CRASH_WRITERS];
  int last_recovered[CRASH_WRITERS] = {0};
  uint64_t prev[CRASH_WRITERS];
  int seen[CRASH_WRITERS] = {0};
  for (int i = 0; i < CRASH_WRITERS; i++) {
    done[i] = atomic_load(&prog->done[i]);
  }
  for (size_t e = 0; e < count; e++) {
    assert_true(pt_test_event_intact(&events[e])); /* never torn */
    uint32_t w;
    uint64_t n;
    pt_test_event_origin(&events[e], &w, &n);
    assert_true(w < CRASH_WRITERS);
    /* Nothing beyond the write in flight when the process died. */
    assert_true(n <= done[w]);
    if (n == done[w]) {
      last_recovered[w] = 1; /* completed, its progress store did not */
    }
    if (seen[w]) {
      assert_true(n > prev[w]); /* each writer's order kept */
    }
    seen[w] = 1;
    prev[w] = n;
  }
  uint64_t completed = 0;
  for (int i = 0; i < CRASH_WRITERS; i++) {
    completed += done[i] + (uint64_t)last_recovered[i];
  }
  print_message("signal %d: completed %llu recovered %zu overwritten %llu\n",
                how == 0 ? SIGKILL : how, (unsigned long long)completed, count,
                (unsigned long long)stats.overwritten);
  /* Every completed write is recovered or counted as overwritten. */
  assert_int_equal(count + stats.overwritten + stats.dropped, completed);
  assert_true(count > CRASH_CAPACITY / 2);
  pt_events_free(events);
  pt_log_close(view);
  munmap(prog, sizeof *prog);
}

static void test_recovery_after_sigkill(void **state) {
  (void)state;
  for (unsigned i = 0; i < 8; i++) {
    run_crash(0, i * 37);
  }
}

static void test_recovery_after_abort_and_segfault(void **state) {
  (void)state;
  run_crash(SIGABRT, 0);
  run_crash(SIGSEGV, 0);
}

/*
 * A writer killed inside a chunk claim or an event write, at each step: just
 * after the CAS that kills the chunk's old events, after the store that
 * counts them, and in the middle of writing the chunk's first event.  The steps
 * are replayed by hand on a quiet log; the recovered view must still account
 * for every completed write exactly once and return no half-written event.
 */
static void test_recovery_inside_a_claim(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "claim.ptlog");
  for (int run = 0; run < 6; run++) {
    int stop = run % 3;
    int jump = run / 3;
    pt_log *log = NULL;
    assert_int_equal(create_file_log(&log, path, 64, PT_LOG_FILE_REPLACE),
                     PT_OK);
    const uint64_t written = 100; /* wraps a 64-slot ring; not chunk-aligned */
    for (uint64_t n = 0; n < written; n++) {
      pt_event ev;
      pt_test_make_event(&ev, 0, n);
      pt_log_write(log, &ev);
    }
    /*
     * The claim another writer would make next, up to the stop; with `jump`
     * the chunk's lap moves on by 256 (a chunk skipped while held by an idle
     * thread), which an 8-bit lap tag could not tell from no move at all.
     */
    uint64_t c = atomic_load(&log->header->next_chunk) +
                 (jump ? 256 * log->chunk_count : 0);
    uint64_t j = c & (log->chunk_count - 1);
    uint64_t seen = atomic_load(pt__state_word(log, j));
    assert_false(seen & PT__STATE_OWNED);
    uint64_t filled = pt__state_filled(seen);
    assert_true(filled > 0);
    uint64_t lap = (c >> log->count_shift) + 1;
    uint64_t parity = pt__state_parity(seen) ^ 1u;
    atomic_store(&log->header->next_chunk, c + 1);
    atomic_store(pt__state_word(log, j),
                 pt__state_make(lap, parity, filled, 0, PT__STATE_OWNED));
    if (stop >= 1) { /* the removed count catches up */
      uint64_t count = pt__removed_count(atomic_load(pt__removed_word(log, j)));
      atomic_store(pt__removed_word(log, j),
                   pt__removed_make(count + filled, parity));
    }
    if (stop == 2) { /* first event of the chunk half written */
      uint64_t t = c << log->chunk_shift;
      atomic_store(&log->seqs[t & log->mask], 2 * t + 1);
      atomic_store(&log->slots[t & log->mask].word[9], 0xdeadbeef);
    }
    /* "Killed" here: read the file as a recovering process would. */
    const pt_log *view = NULL;
    assert_int_equal(pt_log_open(&view, path), PT_OK);
    pt_event *events = NULL;
    size_t count = 0;
    pt_log_stats stats;
    assert_int_equal(pt_log_recent(view, SIZE_MAX, &events, &count), PT_OK);
    assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
    assert_int_equal(count + stats.overwritten, written);
    for (size_t e = 0; e < count; e++) {
      assert_true(pt_test_event_intact(&events[e]));
    }
    pt_events_free(events);
    pt_log_close(view);
    pt_log_destroy(log);
  }
}

/*
 * The lap field is 42 bits: on a small ring it wraps after 2^46 events or
 * so.  Started just before the wrap, the ring keeps working across it.
 */
static void test_lap_field_wraps(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 16; /* 16 chunks of 1 slot: a lap per 16 claims */
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  atomic_store(&log->header->next_chunk, (PT__LAP_MASK - 3)
                                             << log->count_shift);
  for (uint64_t n = 0; n < 200; n++) { /* ~12 laps, across the wrap */
    pt_event ev;
    pt_test_make_event(&ev, 0, n);
    pt_log_write(log, &ev);
    if (n % 16 == 15) {
      pt_event *events = NULL;
      size_t count = 0;
      pt_log_stats stats;
      assert_int_equal(pt_log_recent(log, SIZE_MAX, &events, &count), PT_OK);
      assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
      assert_int_equal(count, 16);
      assert_int_equal(count + stats.overwritten, n + 1);
      uint32_t w;
      uint64_t last;
      pt_test_event_origin(&events[count - 1], &w, &last);
      assert_int_equal(last, n);
      pt_events_free(events);
    }
  }
  pt_log_destroy(log);
}

/* ---- Following a live log -------------------------------------------------
 */

enum { FOLLOW_EVENTS = 60000 };

typedef struct follow_writer {
  pt_log *log;
  _Atomic int done;
} follow_writer;

static void *follow_writer_main(void *p) {
  follow_writer *w = p;
  for (uint64_t n = 0; n < FOLLOW_EVENTS; n++) {
    pt_event ev;
    pt_test_make_event(&ev, 1, n);
    pt_log_write(w->log, &ev);
    if (n % 4096 == 0) {
      usleep(50); /* long bursts: the follower is lapped (missed events) */
    } else if (n % 128 == 0 && (n / 4096) % 2 == 0) {
      usleep(1500); /* slow stretches: the follower keeps up */
    }
  }
  atomic_store(&w->done, 1);
  return NULL; /* thread exit closes its chunk: the last events publish */
}

static void test_follow_sees_or_counts_everything(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "follow.ptlog");
  follow_writer w;
  assert_int_equal(create_file_log(&w.log, path, 256, PT_LOG_FILE_REPLACE),
                   PT_OK);
  atomic_init(&w.done, 0);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_RUNNING);
  pt_follow *f = NULL;
  assert_int_equal(pt_follow_create(&f, view, 0), PT_OK);
  uint8_t *delivered = calloc(FOLLOW_EVENTS, 1);
  assert_non_null(delivered);

  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, follow_writer_main, &w), 0);
  uint64_t got = 0, missed = 0, last_n = 0;
  int finished = 0;
  while (!finished) {
    finished = atomic_load(&w.done);
    if (finished) {
      pthread_join(t, NULL);
      pt_log_destroy(w.log); /* closed: the last poll delivers everything */
      w.log = NULL;
    }
    const pt_event *events;
    size_t count;
    uint64_t lost;
    assert_int_equal(pt_follow_poll(f, &events, &count, &lost), PT_OK);
    missed += lost;
    for (size_t i = 0; i < count; i++) {
      assert_true(pt_test_event_intact(&events[i]));
      uint32_t wid;
      uint64_t n;
      pt_test_event_origin(&events[i], &wid, &n);
      assert_true(n < FOLLOW_EVENTS);
      assert_int_equal(delivered[n], 0); /* never twice */
      delivered[n] = 1;
      if (got > 0) {
        if (n <= last_n) {
          fail_msg("out of order: %llu after %llu (poll of %zu, item %zu)",
                   (unsigned long long)n, (unsigned long long)last_n, count, i);
        }
      }
      last_n = n;
      got++;
    }
  }
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
  print_message("follow: delivered %llu missed %llu dropped %llu\n",
                (unsigned long long)got, (unsigned long long)missed,
                (unsigned long long)stats.dropped);
  assert_int_equal(got + missed + stats.dropped, FOLLOW_EVENTS);
  pt_follow_destroy(f);
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_EXITED);
  pt_log_close(view);
  free(delivered);
}

/*
 * A follower from the start that attaches after the writer lapped the ring
 * (as `peertrace tail --from-start` does when it starts late, e.g. on a
 * loaded machine): every event written is delivered or counted missed.
 * Deterministic: all the writes happen before the follower exists.
 */
static void test_follow_from_start_counts_earlier_laps(void **state) {
  (void)state;
  char path[128];
  pt_log *log = new_file_log(path, "late.ptlog", 64, PT_LOG_FILE_REPLACE);
  enum { EARLY = 5 * 64 + 10, LATE = 100 };
  pt_event ev;
  for (uint64_t n = 0; n < EARLY; n++) {
    pt_test_make_event(&ev, 1, n);
    pt_log_write(log, &ev);
  }
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  pt_follow *from_start = NULL;
  pt_follow *from_now = NULL;
  assert_int_equal(pt_follow_create(&from_start, view, PT_FOLLOW_FROM_START),
                   PT_OK);
  assert_int_equal(pt_follow_create(&from_now, view, 0), PT_OK);
  for (uint64_t n = EARLY; n < EARLY + LATE; n++) {
    pt_test_make_event(&ev, 1, n);
    pt_log_write(log, &ev);
  }
  pt_log_destroy(log); /* closed: a poll delivers everything */
  const pt_event *events;
  size_t count;
  uint64_t missed;
  assert_int_equal(pt_follow_poll(from_start, &events, &count, &missed), PT_OK);
  assert_true(missed > 0);
  assert_int_equal(count + missed, EARLY + LATE);
  for (size_t i = 0; i < count; i++) {
    uint32_t w;
    uint64_t n;
    pt_test_event_origin(&events[i], &w, &n);
    assert_int_equal(n, EARLY + LATE - count + i); /* the newest, in order */
  }
  /* Reported once: the next poll has nothing new. */
  assert_int_equal(pt_follow_poll(from_start, &events, &count, &missed), PT_OK);
  assert_int_equal(count + missed, 0);
  /* From now: only what came after it, delivered or missed. */
  assert_int_equal(pt_follow_poll(from_now, &events, &count, &missed), PT_OK);
  assert_int_equal(count + missed, LATE);
  pt_follow_destroy(from_start);
  pt_follow_destroy(from_now);
  pt_log_close(view);
}

/* ---- Files truncated or rewritten under their mappings ------------------
 * Without the SIGBUS guard (pt_region_guard.c) each of these kills its
 * process; they run in a child, which reports by its exit status (0: every
 * check held; n: check n failed; killed by a signal: not survived).
 */

/*
 * Runs body(path, arg) in a child in which SIGBUS kills again (cmocka's
 * handler would carry on with the next test in the child), and expects it
 * to exit 0.
 */
static void expect_child_ok(int (*body)(const char *, off_t), const char *path,
                            off_t arg) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGBUS, SIG_DFL);
    _exit(body(path, arg));
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) {
    fail_msg("child killed by signal %d", WTERMSIG(status));
  }
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) != 0) {
    fail_msg("child's check %d failed", WEXITSTATUS(status));
  }
}

/* A closed log of `capacity` slots holding `n` test events. */
static void make_closed_log(const char *path, size_t capacity, uint64_t n) {
  pt_log *log = NULL;
  assert_int_equal(create_file_log(&log, path, capacity, PT_LOG_FILE_REPLACE),
                   PT_OK);
  pt_event ev;
  for (uint64_t i = 0; i < n; i++) {
    pt_test_make_event(&ev, 1, i);
    pt_log_write(log, &ev);
  }
  pt_log_destroy(log);
}

/* Reads a view whose file is truncated to `keep` bytes after it was opened. */
static int read_truncated_view(const char *path, off_t keep) {
  const pt_log *view = NULL;
  if (pt_log_open(&view, path) != PT_OK) {
    return 1;
  }
  pt_follow *f = NULL;
  if (pt_follow_create(&f, view, PT_FOLLOW_FROM_START) != PT_OK) {
    return 2;
  }
  pt_log_file_info info;
  if (pt_log_check(view, &info) != PT_OK ||
      info.file_size != info.header_size) {
    return 3;
  }
  uint64_t size = info.file_size;
  if (truncate(path, keep) != 0) {
    return 4;
  }
  /* Every reader touches the pages past the new end. */
  pt_log_stats stats;
  if (pt_log_get_stats(view, &stats) != PT_OK) {
    return 5;
  }
  pt_event *events = NULL;
  size_t count = 0;
  if (pt_log_recent(view, 1000, &events, &count) != PT_OK) {
    return 6;
  }
  /* What a view read from a file cut short (here: an event cut by the new
   * end, whose page reads as zeros past it) is not trusted: pt_log_check
   * says so below. */
  pt_events_free(events);
  const pt_event *polled;
  uint64_t missed;
  if (pt_follow_poll(f, &polled, &count, &missed) != PT_ERR_LOG_TRUNCATED ||
      count != 0 || missed != 0) {
    return 8;
  }
  if (pt_log_check(view, &info) != PT_ERR_LOG_TRUNCATED ||
      info.file_size != (uint64_t)keep || info.header_size != size) {
    return 9;
  }
  pt_follow_destroy(f);
  pt_log_close(view);
  return 0;
}

/* `peertrace show`/`tail` on a log cut short while they read it: an error
 * they can report, not a SIGBUS. */
static void test_view_survives_truncation(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "cut.ptlog");
  const off_t keeps[] = {0, 4096, 20000};
  for (size_t k = 0; k < sizeof keeps / sizeof keeps[0]; k++) {
    make_closed_log(path, 1024, 3000);
    expect_child_ok(read_truncated_view, path, keeps[k]);
  }
}

/*
 * A SIGBUS outside our mappings, with a handler installed after ours that
 * chains to the one it replaced (as crash reporters do), and ours put in
 * front of it again by a later mapping: the fault ends in SIGBUS's default
 * action after one call of that handler, not in ours and it calling each
 * other until the stack overflows.
 */
static struct sigaction chained_previous;
static int chained_calls_fd = -1;

static void chaining_handler(int sig, siginfo_t *info, void *context) {
  if (write(chained_calls_fd, "c", 1) != 1) {
    _exit(90);
  }
  chained_previous.sa_sigaction(sig, info, context);
}

static void foreign_fault_child(const char *base, int calls_fd) {
  char log_path[192], other[192];
  snprintf(log_path, sizeof log_path, "%s.ptlog", base);
  snprintf(other, sizeof other, "%s.other", base);
  signal(SIGBUS, SIG_DFL);
  const pt_log *first = NULL;
  if (pt_log_open(&first, log_path) != PT_OK) { /* ours, before: default */
    _exit(91);
  }
  chained_calls_fd = calls_fd;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = chaining_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &chained_previous) != 0 ||
      !(chained_previous.sa_flags & SA_SIGINFO)) {
    _exit(92);
  }
  const pt_log *second = NULL;
  if (pt_log_open(&second, log_path) != PT_OK) { /* ours again, in front */
    _exit(93);
  }
  /* A mapping of someone else's, cut under it. */
  int fd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) {
    _exit(94);
  }
  volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED || ftruncate(fd, 0) != 0) {
    _exit(95);
  }
  (void)page[0];
  _exit(96); /* survived a fault that is not ours */
}

static void test_foreign_fault_with_chaining_handler(void **state) {
  (void)state;
  char base[128], log_path[192];
  path_in_dir(base, sizeof base, "foreign");
  snprintf(log_path, sizeof log_path, "%s.ptlog", base);
  make_closed_log(log_path, 1024, 10);
  int calls[2];
  assert_int_equal(pipe(calls), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(calls[0]);
    foreign_fault_child(base, calls[1]);
  }
  close(calls[1]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  char buf[64];
  ssize_t n = read(calls[0], buf, sizeof buf);
  close(calls[0]);
  if (!WIFSIGNALED(status)) {
    fail_msg("child exited with %d", WEXITSTATUS(status));
  }
  assert_int_equal(WTERMSIG(status), SIGBUS);
  assert_int_equal(n, 1); /* the chaining handler ran once */
}

enum { CUT_WRITERS = 2, CUT_BEFORE = 2000, CUT_AFTER = 20000 };

typedef struct cut_writer {
  pt_log *log;
  uint32_t id;
  _Atomic int *cut; /* set once the file is truncated */
  _Atomic int *ready;
} cut_writer;

static void *cut_writer_main(void *p) {
  cut_writer *w = p;
  pt_event ev;
  for (uint64_t n = 0; n < CUT_BEFORE + CUT_AFTER; n++) {
    if (n == CUT_BEFORE) {
      atomic_fetch_add(w->ready, 1);
      while (!atomic_load(w->cut)) {
        sched_yield(); /* a condition, not a delay: the file is cut now */
      }
    }
    pt_test_make_event(&ev, w->id, n);
    pt_log_write(w->log, &ev);
  }
  return NULL;
}

/* A traced process whose log file is truncated (`> node.ptlog`, logrotate's
 * copytruncate) while its threads write: it keeps running. */
static int write_through_truncation(const char *path, off_t unused) {
  (void)unused;
  pt_log *log = NULL;
  if (create_file_log(&log, path, 1024, PT_LOG_FILE_REPLACE) != PT_OK) {
    return 1;
  }
  _Atomic int cut = 0, ready = 0;
  cut_writer w[CUT_WRITERS];
  pthread_t t[CUT_WRITERS];
  for (uint32_t i = 0; i < CUT_WRITERS; i++) {
    w[i] = (cut_writer){log, i, &cut, &ready};
    if (pthread_create(&t[i], NULL, cut_writer_main, &w[i]) != 0) {
      return 2;
    }
  }
  while (atomic_load(&ready) < CUT_WRITERS) {
    sched_yield();
  }
  if (truncate(path, 0) != 0) {
    return 3;
  }
  atomic_store(&cut, 1);
  for (int i = 0; i < CUT_WRITERS; i++) {
    pthread_join(t[i], NULL);
  }
  if (pt_log_check(log, NULL) != PT_ERR_LOG_TRUNCATED) {
    return 4;
  }
  /* The ring took no more events once its memory was gone: they are
   * dropped and counted, and nothing torn is ever returned. */
  pt_log_stats stats;
  if (pt_log_get_stats(log, &stats) != PT_OK || stats.dropped == 0) {
    return 5;
  }
  pt_event *events = NULL;
  size_t count = 0;
  if (pt_log_recent(log, 1024, &events, &count) != PT_OK) {
    return 6;
  }
  for (size_t i = 0; i < count; i++) {
    if (!pt_test_event_intact(&events[i])) {
      return 7;
    }
  }
  pt_events_free(events);
  pt_log_destroy(log);
  return 0;
}

static void test_writer_survives_truncation(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "cut-live.ptlog");
  expect_child_ok(write_through_truncation, path, 0);
}

/*
 * The header is read once, validated, and only that copy is used: rewriting
 * the file's header after the open (another process with write access) moves
 * no reader: not its geometry, node id or writer identity; pt_log_check
 * says the file changed.
 */
static void test_view_ignores_rewritten_header(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "rewritten.ptlog");
  make_closed_log(path, 64, 100);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  unsigned char junk[256];
  memset(junk, 0x7f, sizeof junk);
  assert_int_equal(pwrite(fd, junk + 8, sizeof junk - 8, 8),
                   (ssize_t)sizeof junk - 8); /* all but the magic */
  close(fd);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
  assert_int_equal(stats.capacity, 64);
  uint8_t node[32];
  assert_int_equal(pt_log_node_id(view, node), PT_OK);
  assert_int_equal(node[0], 0x42);
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_EXITED);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(view, 100, &events, &count), PT_OK);
  assert_int_equal(count, 64);
  pt_events_free(events);
  /* A dump saved from it keeps the writer's clock source. */
  char saved[128];
  path_in_dir(saved, sizeof saved, "rewritten.ptd");
  assert_int_equal(pt_log_dump_save(view, saved), PT_OK);
  pt_dump_reader *reader = NULL;
  pt_dump_error err;
  assert_int_equal(pt_dump_reader_open(&reader, saved, &err), PT_OK);
  assert_int_equal(pt_dump_reader_info(reader)->clock_source,
                   view->region.info.clock_source == PT_CLOCK_SOURCE_TSC
                       ? PT_CLOCK_SOURCE_TSC
                       : PT_CLOCK_SOURCE_REALTIME);
  pt_dump_reader_close(reader);
  assert_int_equal(pt_log_check(view, NULL), PT_ERR_LOG_CHANGED);
  pt_log_close(view);

  /* Grown while followed (another program appends to it): the follower
   * says so instead of reading on as if nothing happened. */
  make_closed_log(path, 64, 100);
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  pt_follow *f = NULL;
  assert_int_equal(pt_follow_create(&f, view, 0), PT_OK);
  fd = open(path, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
  close(fd);
  const pt_event *polled;
  uint64_t missed;
  assert_int_equal(pt_follow_poll(f, &polled, &count, &missed),
                   PT_ERR_LOG_CHANGED);
  pt_log_file_info info;
  assert_int_equal(pt_log_check(view, &info), PT_ERR_LOG_CHANGED);
  assert_int_equal(info.file_size, info.header_size + sizeof junk);
  pt_follow_destroy(f);
  pt_log_close(view);
}

/*
 * A log file whose sequence words were damaged (garbage over the start of
 * the sequence area, zeros over some of a closed chunk's): every reader says
 * how many slots it could not read, and the count adds up.
 */
static void test_corrupt_slots_are_counted(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "corrupt.ptlog");
  enum { EVENTS = 328, GARBAGE = 100, ZEROED = 10, BAD = GARBAGE + ZEROED + 1 };
  make_closed_log(path, 1024, EVENTS); /* 5 closed chunks of 64, 1 owned */
  pt__region_header hdr;
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, &hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
  uint64_t garbage[GARBAGE];
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < GARBAGE; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    garbage[i] = x | 1u << 20; /* never this slot's ticket */
  }
  assert_int_equal(pwrite(fd, garbage, sizeof garbage, (off_t)hdr.seqs_offset),
                   (ssize_t)sizeof garbage);
  uint64_t zeros[ZEROED] = {0};
  assert_int_equal(
      pwrite(fd, zeros, sizeof zeros, (off_t)(hdr.seqs_offset + 8 * 200)),
      (ssize_t)sizeof zeros); /* slots 200..209: chunk 3 */
  /* Slot 150 claims its neighbour's ticket: a valid sequence word of the
   * right lap, in the wrong slot. */
  uint64_t other = 2 * 151 + 2;
  assert_int_equal(
      pwrite(fd, &other, sizeof other, (off_t)(hdr.seqs_offset + 8 * 150)),
      (ssize_t)sizeof other);
  close(fd);

  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
  assert_int_equal(stats.unreadable, BAD);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(view, 1024, &events, &count), PT_OK);
  assert_int_equal(count, EVENTS - BAD);
  pt_events_free(events);
  /* The follower passes over them (a closed log: nothing is in progress)
   * and delivers every readable event, also those after a damaged slot. */
  pt_follow *f = NULL;
  assert_int_equal(pt_follow_create(&f, view, PT_FOLLOW_FROM_START), PT_OK);
  const pt_event *polled;
  uint64_t missed;
  assert_int_equal(pt_follow_poll(f, &polled, &count, &missed), PT_OK);
  assert_int_equal(count, EVENTS - BAD);
  assert_int_equal(missed, 0);
  pt_follow_stats totals;
  assert_int_equal(pt_follow_get_stats(f, &totals), PT_OK);
  assert_int_equal(totals.delivered, count);
  assert_int_equal(totals.unreadable, BAD);
  assert_int_equal(totals.delivered + totals.missed + totals.unreadable,
                   EVENTS);
  pt_follow_destroy(f);
  pt_log_close(view);

  /* An intact log has none. */
  make_closed_log(path, 1024, EVENTS);
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
  assert_int_equal(stats.unreadable, 0);
  pt_log_close(view);
}

#if PT_TEST_WRAP_KILL
/*
 * kill() as the library calls it: pt_log_writer_status's liveness check.
 * A test can arm kill_hook to run just before it (once).
 */
int __real_kill(pid_t pid, int sig);
int __wrap_kill(pid_t pid, int sig);
static void (*kill_hook)(void);

int __wrap_kill(pid_t pid, int sig) {
  void (*hook)(void) = kill_hook;
  if (hook != NULL && sig == 0) {
    kill_hook = NULL;
    hook();
  }
  return __real_kill(pid, sig);
}

static int closer_go[2];
static pid_t closer;

/* The writer closes its log and exits, and is reaped (as a shell would). */
static void writer_closes_and_exits(void) {
  assert_int_equal(write(closer_go[1], "x", 1), 1);
  int status = 0;
  assert_int_equal(waitpid(closer, &status, 0), closer);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * A writer that closes its log and exits between the status's two looks (its
 * state, then its process) closed its log: it did not die.  `peertrace tail`
 * under load said "the writer died" of such a log.
 */
static void test_writer_closing_while_looked_at(void **state) {
  (void)state;
  char path[128];
  path_in_dir(path, sizeof path, "closing.ptlog");
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  assert_int_equal(pipe(closer_go), 0);
  closer = fork();
  assert_true(closer >= 0);
  if (closer == 0) {
    pt_log *log = NULL;
    char c;
    int ok = create_file_log(&log, path, 64, PT_LOG_FILE_REPLACE) == PT_OK &&
             write(ready[1], "r", 1) == 1 && read(closer_go[0], &c, 1) == 1;
    pt_log_destroy(log);
    _exit(ok ? 0 : 1);
  }
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  kill_hook = writer_closes_and_exits;
  assert_int_equal(pt_log_writer_status(view), PT_WRITER_EXITED);
  assert_null(kill_hook); /* the hook ran: the writer went in between */
  pt_log_close(view);
  close(ready[0]), close(ready[1]), close(closer_go[0]), close(closer_go[1]);
}
#endif

/* A write through a read-only view is ignored, with no fault and no trace
 * in the file; the writer's own events are untouched. */
static void test_write_through_view_is_ignored(void **state) {
  (void)state;
  char path[128];
  pt_log *log = new_file_log(path, "view-write.ptlog", 64, 0);
  pt_event ev;
  pt_test_make_event(&ev, 1, 0);
  pt_log_write(log, &ev);
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  pt_log *cast = (pt_log *)(uintptr_t)view;
  for (uint64_t n = 0; n < 100; n++) {
    pt_test_make_event(&ev, 2, n);
    pt_log_write(cast, &ev);
    PT_PACKET_SENT(cast, ev.trace_id, 1200, n);
  }
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(view, &stats), PT_OK);
  assert_int_equal(stats.dropped, 0);
  assert_int_equal(stats.overwritten, 0);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(view, 64, &events, &count), PT_OK);
  assert_int_equal(count, 1);
  uint32_t writer;
  uint64_t n;
  pt_test_event_origin(&events[0], &writer, &n);
  assert_int_equal(writer, 1);
  pt_events_free(events);
  pt_log_close(view);
  pt_log_destroy(log);
}

/* A child forked while its parent holds a chunk of a shared log file must
 * not write into that chunk (the parent still fills it): both sides' events
 * survive, none overwritten. */
static void test_fork_child_claims_its_own_chunks(void **state) {
  (void)state;
  char path[128];
  pt_log *log = new_file_log(path, "fork.ptlog", 4096, 0);
  pt_event ev;
  pt_test_make_event(&ev, 1, 0);
  pt_log_write(log, &ev); /* the parent now holds a chunk */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    for (uint64_t n = 0; n < 3; n++) {
      pt_test_make_event(&ev, 2, n);
      pt_log_write(log, &ev);
    }
    _exit(0); /* no destructors: the child's chunk stays open, as in a crash */
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (uint64_t n = 1; n < 4; n++) {
    pt_test_make_event(&ev, 1, n);
    pt_log_write(log, &ev);
  }
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(log, 4096, &events, &count), PT_OK);
  assert_int_equal(count, 7);
  size_t from_child = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t writer;
    uint64_t n;
    assert_true(pt_test_event_intact(&events[i]));
    pt_test_event_origin(&events[i], &writer, &n);
    from_child += writer == 2;
  }
  assert_int_equal(from_child, 3);
  pt_events_free(events);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.overwritten, 0);
  pt_log_destroy(log);
}

/* The address space this process uses now, in bytes (0 if unknown). */
static uint64_t address_space_used(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  if (f != NULL) {
    if (fscanf(f, "%llu", &pages) != 1) {
      pages = 0;
    }
    fclose(f);
  }
  return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * A mapping refused for lack of address space is PT_ERR_NOMEM when a log
 * file is opened, as when one is created (before, opening said PT_ERR_IO).
 * In a child whose address space is capped a few MiB above what it uses,
 * the 8.5 MiB mapping of a default-sized log cannot be made.  Not under
 * sanitizers: their shadow memory does not fit any such cap.
 */
static void test_mapping_without_memory_is_nomem(void **state) {
  (void)state;
#if PT_TEST_SLOW
  skip();
#endif
  char path[128];
  pt_log *log = new_file_log(path, "nomem.ptlog", 65536, PT_LOG_FILE_REPLACE);
  pt_log_destroy(log);
  for (int creating = 0; creating < 2; creating++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      uint64_t used = address_space_used();
      struct rlimit cap = {used + (4u << 20), used + (4u << 20)};
      if (used == 0 || setrlimit(RLIMIT_AS, &cap) != 0) {
        _exit(3);
      }
      int rc;
      if (creating) {
        pt_log *fresh = NULL;
        rc = create_file_log(&fresh, path, 65536, PT_LOG_FILE_REPLACE);
        pt_log_destroy(fresh);
      } else {
        const pt_log *view = NULL;
        rc = pt_log_open(&view, path);
        pt_log_close(view);
      }
      _exit(rc == PT_ERR_NOMEM ? 0 : rc == PT_ERR_IO ? 1 : 2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_create_rules),
    cmocka_unit_test(test_replace_keeps_open_views),
    cmocka_unit_test(test_writer_status_concurrent),
    cmocka_unit_test(test_open_rejects_bad_files),
    cmocka_unit_test(test_open_fifo_does_not_block),
    cmocka_unit_test(test_restless_chunk_record_is_bounded),
    cmocka_unit_test(test_recovery_after_sigkill),
    cmocka_unit_test(test_recovery_after_abort_and_segfault),
    cmocka_unit_test(test_recovery_inside_a_claim),
    cmocka_unit_test(test_lap_field_wraps),
    cmocka_unit_test(test_follow_sees_or_counts_everything),
    cmocka_unit_test(test_follow_from_start_counts_earlier_laps),
    cmocka_unit_test(test_view_survives_truncation),
    cmocka_unit_test(test_writer_survives_truncation),
    cmocka_unit_test(test_view_ignores_rewritten_header),
    cmocka_unit_test(test_foreign_fault_with_chaining_handler),
    cmocka_unit_test(test_corrupt_slots_are_counted),
#if PT_TEST_WRAP_KILL
    cmocka_unit_test(test_writer_closing_while_looked_at),
#endif
    cmocka_unit_test(test_write_through_view_is_ignored),
    cmocka_unit_test(test_fork_child_claims_its_own_chunks),
    cmocka_unit_test(test_mapping_without_memory_is_nomem),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
