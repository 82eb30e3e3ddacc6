/*
 * The peertrace command's files: what an input path is before anything
 * opens it (a FIFO must not block us, each problem gets its own message),
 * log files opened with the CLI's rules, and output files that never
 * overwrite what they should not, with the real reason of a failed write.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The first bytes of a log file (PT__REGION_MAGIC in src/pt_region.h): a
 * file that starts with them is a log, damaged or not, and its errors are
 * the log's, never the dump reader's "bad magic bytes".
 */
static const char cli_log_magic[8] = {'P', 'T',  'L',  'O',
                                      'G', '\r', '\n', 0x1a};

/* Whether the file open at fd starts with the log file magic. */
static int cli_fd_is_log(int fd) {
  char magic[sizeof cli_log_magic];
  return pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic &&
         memcmp(magic, cli_log_magic, sizeof magic) == 0;
}

static const char *cli_file_type(mode_t mode) {
  if (S_ISDIR(mode)) {
    return "directory";
  }
  if (S_ISFIFO(mode)) {
    return "FIFO (named pipe)";
  }
  if (S_ISCHR(mode)) {
    return "character device";
  }
  if (S_ISBLK(mode)) {
    return "block device";
  }
  if (S_ISSOCK(mode)) {
    return "socket";
  }
  return "special file";
}

/* Why stat(path) failed; a dangling symlink is told by its target. */
static void cli_stat_error(const char *path, int error) {
  struct stat lst;
  char target[PATH_MAX];
  ssize_t n;
  if (error == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) &&
      (n = readlink(path, target, sizeof target - 1)) >= 0) {
    target[n] = '\0';
    cli_error(path, "dangling symbolic link: its target %s: %s", target,
              strerror(error));
  } else {
    cli_error(path, "%s", strerror(error));
  }
}

int cli_file_check(const char *path, cli_file *f) {
  memset(f, 0, sizeof *f);
  struct stat st;
  if (stat(path, &st) != 0) {
    cli_stat_error(path, errno);
    return -1;
  }
  f->resolved = realpath(path, NULL);
  if (f->resolved == NULL) {
    cli_error(path, "%s", strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    /* Through a symlink, say what it leads to: "(/dev/null)". */
    char via[PATH_MAX + 4] = "";
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
      snprintf(via, sizeof via, " (%s)", f->resolved);
    }
    cli_error(path, "is a %s%s, not a dump or log file",
              cli_file_type(st.st_mode), via);
    cli_file_free(f);
    return -1;
  }
  /* O_NONBLOCK: if a FIFO took the file's place since stat, this open
   * still does not wait for a writer; fstat below catches it. */
  int fd = open(f->resolved, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    cli_error(path, "%s", strerror(errno));
    cli_file_free(f);
    return -1;
  }
  struct stat now;
  if (fstat(fd, &now) != 0 || !S_ISREG(now.st_mode)) {
    cli_error(path, "changed while being opened");
    close(fd);
    cli_file_free(f);
    return -1;
  }
  f->dev = now.st_dev;
  f->ino = now.st_ino;
  f->uid = now.st_uid;
  f->is_log = cli_fd_is_log(fd);
  close(fd);
  return 0;
}

void cli_file_free(cli_file *f) {
  free(f->resolved);
  f->resolved = NULL;
}

int cli_log_open(const char *path, const cli_file *f, const pt_log **out) {
  /*
   * A log file is live shared memory: its owner can rewrite or truncate it
   * at any moment while we read it.  We survive a truncation, but what we
   * read from a file changed under us cannot be trusted (bytes that look
   * like events pass the checks): another user could make peertrace, often
   * run as root, show whatever they like.  So only our own logs are read
   * (as pt_log_open also insists); dumps, read and checked whole, are read
   * whoever owns them.
   */
  if (f->uid != geteuid()) {
    cli_error(path,
              "log file not owned by this user: its owner is uid %u, you "
              "are uid %u; peertrace maps only your own log files (their "
              "owner can rewrite them under the reader): run it as uid %u "
              "(sudo -u), or read a dump saved from the log",
              (unsigned)f->uid, (unsigned)geteuid(), (unsigned)f->uid);
    return -1;
  }
  pt_log_file_info info;
  int rc = pt_log_open_ex(out, f->resolved, &info);
  if (rc != PT_OK) {
    cli_log_problem(path, rc, &info);
  }
  return rc == PT_OK ? 0 : -1;
}

void cli_log_problem(const char *path, int rc, const pt_log_file_info *info) {
  unsigned long long size = info->file_size, says = info->header_size;
  if (rc == PT_ERR_LOG_TRUNCATED && says > size) {
    cli_error(path,
              "damaged peertrace log file: truncated (%llu bytes, header "
              "says %llu)",
              size, says);
  } else if (rc == PT_ERR_LOG_TRUNCATED && says == 0) {
    cli_error(path,
              "damaged peertrace log file: truncated (%llu bytes, less "
              "than a header)",
              size);
  } else if (rc == PT_ERR_LOG_TRUNCATED) {
    cli_error(path, "log file truncated while being read (a read ran past "
                    "its end)");
  } else if (rc == PT_ERR_LOG_HEADER && says != 0 && says != size) {
    cli_error(path,
              "damaged peertrace log file: corrupt header (%llu bytes, "
              "header says %llu)",
              size, says);
  } else if (rc == PT_ERR_LOG_HEADER) {
    cli_error(path, "damaged peertrace log file: corrupt header (the log "
                    "magic bytes, but not a valid layout)");
  } else if (rc == PT_ERR_LOG_CHANGED) {
    cli_error(path,
              "log file changed while being read (written by another "
              "program: now %llu bytes, was %llu)",
              size, says);
  } else {
    cli_error(path, "%s", pt_strerror(rc));
  }
}

/* ---- Outputs ------------------------------------------------------------ */

int cli_write_errno(FILE *fp, int saved) {
  if (saved != 0) {
    return saved;
  }
  /* Lost on the way: the data the failed write left buffered, flushed
   * again, fails again for the same reason (ENOSPC, EIO, ...). */
  errno = 0;
  if (fflush(fp) != 0 && errno != 0) {
    return errno;
  }
  return EIO;
}

int cli_damaged_input;

int cli_close_stdout(int rc) {
  if (cli_damaged_input && rc == CLI_EXIT_OK) {
    rc = CLI_EXIT_ERROR; /* shown, but not all of it: say so in the status */
  }
  cli_damaged_input = 0;
  if (rc != CLI_EXIT_OK) {
    fflush(stdout); /* the error is already said */
    return rc;
  }
  return cli_stdout_check() == 0 ? rc : CLI_EXIT_ERROR;
}

int cli_stdout_check(void) {
  errno = 0;
  int flushed = fflush(stdout);
  int error = errno;
  if (flushed != 0 || ferror(stdout)) {
    /* A reader that closed the pipe (`| head`) wanted no more: quiet, as
     * SIGPIPE is when it is not ignored. */
    if (error != EPIPE) {
      cli_error("stdout", "write failed: %s",
                strerror(error != 0 ? error : EIO));
    }
    return -1;
  }
  return 0;
}

/* Whether path is one of the inputs (then writing it would destroy them). */
int cli_is_input(const char *path, const cli_inputs *in) {
  struct stat st;
  if (stat(path, &st) != 0) {
    return 0;
  }
  for (unsigned i = 0; i < in->count; i++) {
    if (in->inputs[i].file.dev == st.st_dev &&
        in->inputs[i].file.ino == st.st_ino) {
      return 1;
    }
  }
  return 0;
}

static FILE *cli_fdopen(int fd, const char *path) {
  FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (fp == NULL) {
    cli_error(path, "cannot create: %s", strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
  }
  return fp;
}

FILE *cli_output_create(const char *path, const cli_inputs *in, int *created) {
  *created = 0;
  if (cli_is_input(path, in)) {
    cli_error(path, "is also an input: not overwritten");
    return NULL;
  }
  /* Exports hold what the dumps hold: private to the user (0600), like
   * them.  A symlink named by -o is followed, as the shell's > does: the
   * user chose it. */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    *created = 1;
  } else if (errno == EEXIST) {
    /* Never over a log file: truncating one under its running writer ends
     * its log (docs/crash-and-live.md). */
    int probe = open(path, O_RDONLY | O_CLOEXEC);
    int is_log = probe >= 0 && cli_fd_is_log(probe);
    if (probe >= 0) {
      close(probe);
    }
    if (is_log) {
      cli_error(path, "is a peertrace log file: not overwritten");
      return NULL;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  }
  return cli_fdopen(fd, path);
}

int cli_output_dir_open(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    cli_error(dir, "%s", strerror(errno));
  }
  return fd;
}

int cli_output_create_at(int dirfd, const char *path, const char *name,
                         int force) {
  /* O_EXCL (which also refuses a symlink, dangling or not) and O_NOFOLLOW:
   * the file is one we create, never one planted under a name we chose. */
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat(dirfd, name, flags, 0600);
  if (fd < 0 && errno == EEXIST && force) {
    /* --force replaces the entry (a file, or a symlink itself), as tar
     * does when it extracts over a file: never writes through it. */
    if (unlinkat(dirfd, name, 0) != 0) {
      cli_error(path, "exists and cannot be removed: %s", strerror(errno));
      return -1;
    }
    fd = openat(dirfd, name, flags, 0600);
  }
  if (fd < 0 && errno == EEXIST) {
    cli_error(path, "already exists: not overwritten (remove it, or give "
                    "--force to replace it)");
    return -1;
  }
  if (fd < 0) {
    cli_error(path, "cannot create: %s", strerror(errno));
  }
  return fd;
}
