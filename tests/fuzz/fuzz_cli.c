/*
 * fuzz_cli: libFuzzer target for the peertrace command line (tools/): the
 * input, split on NUL bytes, is argv[1..] of one run of pt_cli_main.  It
 * runs in a private temporary directory holding a few input files (see
 * FIXTURES), so that the commands get past their argument parsing into
 * reading, filtering, merging and exporting.  To keep it from touching
 * anything else, an input with an argument that contains '/' or is ".." is
 * not run (so every file it names or writes is in that directory, and no
 * FIFO or device is reachable); files it writes are removed and fixtures
 * it overwrote are restored after each run.  The fixture log files have no
 * live writer, so `tail` ends at once.  A run must return one of the
 * documented exit codes; ASan/UBSan catch the rest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <peertrace/peertrace.h>

#include "cli.h"
#include "cli_commands.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32u

/*
 * Input files, by name (tests/fuzz/make_fuzz_seeds.c's cli seeds use the
 * same names): two nodes' dumps sharing a trace, an empty dump, a log file
 * whose writer closed it, one whose writer died, and a file that is
 * neither.
 */
enum { FX_A, FX_B, FX_EMPTY, FX_LOG, FX_DIED, FX_TEXT, FX_COUNT };
static const char *const fixture_names[FX_COUNT] = {"a.ptd", "b.ptd", "e.ptd",
                                                    "l.log", "d.log", "x.txt"};
static struct {
  uint8_t *bytes;
  size_t size;
} fixtures[FX_COUNT];

static void record_events(pt_log *log, uint8_t node) {
  pt_trace_id shared = {{0x11, 0x11, 0x11, 0x11}};
  pt_trace_id own = {{0x22, node}};
  pt_fuzz_record_kinds(log, shared, own, (uint8_t)(0x30 + node));
}

static pt_log *new_log(uint8_t node, const char *file_path) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 32;
  memset(cfg.node_id, node, sizeof cfg.node_id);
  cfg.file_path = file_path;
  pt_log *log;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    abort();
  }
  return log;
}

static void make_fixtures(void) {
  pt_log *log = new_log(1, NULL);
  if (pt_log_dump_save(log, fixture_names[FX_EMPTY]) != PT_OK) {
    abort();
  }
  record_events(log, 1);
  if (pt_log_dump_save(log, fixture_names[FX_A]) != PT_OK) {
    abort();
  }
  pt_log_destroy(log);
  log = new_log(2, NULL);
  record_events(log, 2);
  if (pt_log_dump_save(log, fixture_names[FX_B]) != PT_OK) {
    abort();
  }
  pt_log_destroy(log);
  log = new_log(3, fixture_names[FX_LOG]);
  record_events(log, 3);
  pt_log_destroy(log);
  pid_t child = fork();
  if (child == 0) { /* a writer that dies with its log open */
    record_events(new_log(4, fixture_names[FX_DIED]), 4);
    _exit(0);
  }
  int status;
  if (child < 0 || waitpid(child, &status, 0) != child) {
    abort();
  }
  FILE *fp = fopen(fixture_names[FX_TEXT], "w");
  if (fp == NULL || fputs("not a dump\n", fp) < 0 || fclose(fp) != 0) {
    abort();
  }
}

/* The whole of a file; NULL if it cannot be read. */
static uint8_t *read_file(const char *path, size_t *size) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    return NULL;
  }
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 8192;
      uint8_t *grown = realloc(buf, cap);
      if (grown == NULL) {
        abort();
      }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) {
      break;
    }
  }
  fclose(fp);
  *size = n;
  return buf;
}

static int is_fixture(const char *name) {
  for (unsigned i = 0; i < FX_COUNT; i++) {
    if (strcmp(name, fixture_names[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Removes what a run wrote and puts back any fixture it replaced. */
static void restore_dir(void) {
  DIR *d = opendir(".");
  if (d == NULL) {
    abort();
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
        !is_fixture(e->d_name) && unlink(e->d_name) != 0) {
      abort();
    }
  }
  closedir(d);
  for (unsigned i = 0; i < FX_COUNT; i++) {
    size_t size = 0;
    uint8_t *now = read_file(fixture_names[i], &size);
    if (now == NULL || size != fixtures[i].size ||
        memcmp(now, fixtures[i].bytes, size) != 0) {
      FILE *fp = fopen(fixture_names[i], "wb");
      if (fp == NULL ||
          fwrite(fixtures[i].bytes, 1, fixtures[i].size, fp) !=
              fixtures[i].size ||
          fclose(fp) != 0) {
        abort();
      }
    }
    free(now);
  }
}

/*
 * The private directory, and the directory libFuzzer was started in: runs
 * go into the first and come back, since libFuzzer's corpus and artifact
 * paths may be relative to the second.
 */
static const char *dir;
static int home_fd = -1;

static void enter_dir(void) {
  if (chdir(dir) != 0) {
    abort();
  }
}

static void leave_dir(void) {
  if (fchdir(home_fd) != 0) {
    abort();
  }
}

static void remove_dir(void) {
  enter_dir();
  restore_dir(); /* leaves the fixtures only */
  for (unsigned i = 0; i < FX_COUNT; i++) {
    unlink(fixture_names[i]);
  }
  leave_dir();
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* In /dev/shm where there is one: commands save dumps, with fsync. */
  static char shm_dir[] = "/dev/shm/pt-fuzz-cli.XXXXXX";
  static char tmp_dir[] = "/tmp/pt-fuzz-cli.XXXXXX";
  dir = mkdtemp(shm_dir);
  if (dir == NULL) {
    dir = mkdtemp(tmp_dir);
  }
  home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir == NULL || home_fd < 0) {
    abort();
  }
  enter_dir();
  make_fixtures();
  for (unsigned i = 0; i < FX_COUNT; i++) {
    fixtures[i].bytes = read_file(fixture_names[i], &fixtures[i].size);
    if (fixtures[i].bytes == NULL) {
      abort();
    }
  }
  leave_dir();
  atexit(remove_dir);
  /* The CLI's output would drown libFuzzer's: its stdio goes nowhere.
   * libFuzzer and the sanitizers keep the real stderr (file descriptor 2
   * and libFuzzer's own FILE, taken before this runs). */
  FILE *null = fopen("/dev/null", "w");
  if (null == NULL) {
    abort();
  }
  stdout = null;
  stderr = null;
  cli_apps_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* argv[1..]: the input's NUL-separated pieces, each its own allocation
   * of exactly its length + 1, so that ASan sees a read past its end. */
  char *argv[MAX_ARGS + 2];
  int argc = 0;
  argv[argc++] = strdup("peertrace");
  size_t start = 0;
  int refuse = 0;
  for (size_t i = 0; i <= size && argc <= (int)MAX_ARGS; i++) {
    if (i == size || data[i] == '\0') {
      char *arg = strndup((const char *)data + start, i - start);
      if (arg == NULL) {
        abort();
      }
      refuse |= strchr(arg, '/') != NULL || strcmp(arg, "..") == 0;
      argv[argc++] = arg;
      start = i + 1;
    }
  }
  argv[argc] = NULL;
  if (!refuse) {
    /* tail installs SIGINT/SIGTERM handlers: give libFuzzer its own back. */
    struct sigaction saved_int, saved_term;
    sigaction(SIGINT, NULL, &saved_int);
    sigaction(SIGTERM, NULL, &saved_term);
    char *args[MAX_ARGS + 2]; /* commands may reorder argv */
    memcpy(args, argv, (size_t)(argc + 1) * sizeof *argv);
    enter_dir();
    int rc = pt_cli_main(argc, args);
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
    fflush(stdout);
    if (rc != CLI_EXIT_OK && rc != CLI_EXIT_ERROR && rc != CLI_EXIT_USAGE) {
      abort(); /* exit codes are 0, 1 or 2 (docs/cli.md) */
    }
    restore_dir();
    leave_dir();
  }
  for (int i = 0; i < argc; i++) {
    free(argv[i]);
  }
  return 0;
}
