/*
 * peertrace export sqlite, peertrace sql: the dumps as an SQLite database
 * (pt_sqlite.h has the schema), written to a file or, to answer one
 * query, to a temporary file that is unlinked as soon as it is open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <peertrace/pt_sqlite.h>

#include "cli_commands.h"
#include "cli_sql.h"

/* Fills db from the inputs; prints the failure.  0 or -1. */
static int cli_sql_fill(cli_inputs *in, sqlite3 *db, const char *name) {
  char message[256];
  int rc = pt_sqlite_export(in->pipeline, db, cli_app_namer, cli_app_namer_user,
                            message, sizeof message);
  if (rc == PT_OK) {
    return 0;
  }
  unsigned source = UINT_MAX;
  const char *why = pt_pipeline_message(in->pipeline, &source);
  if (source != UINT_MAX) {
    fprintf(stderr, "peertrace: %s\n", why);
  } else if (rc == PT_ERR_IO) {
    cli_error(name, "SQLite: %s", message);
  } else {
    cli_error(name, "%s", pt_strerror(rc));
  }
  return -1;
}

/*
 * A new database in a file made from the mkstemp template tmp (0600, like
 * the dumps and other exports), set up with PT_SQLITE_NEW_FILE_PRAGMAS
 * plus extra (NULL for none).  0 with *db open; -1 if the file could not
 * be made (errno says why; nothing printed, nothing left); -2 if SQLite
 * failed (printed under label; the file removed, *db NULL).
 */
static int cli_sql_create(char *tmp, const char *label, sqlite3 **db,
                          const char *extra) {
  int fd = mkstemp(tmp);
  if (fd < 0) {
    return -1;
  }
  close(fd);
  /* One thread uses it: no mutex around every call. */
  if (sqlite3_open_v2(tmp, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    cli_error(label, "SQLite: %s", *db ? sqlite3_errmsg(*db) : "no memory");
  } else if (sqlite3_exec(*db, PT_SQLITE_NEW_FILE_PRAGMAS, NULL, NULL, NULL) !=
                 SQLITE_OK ||
             (extra != NULL &&
              sqlite3_exec(*db, extra, NULL, NULL, NULL) != SQLITE_OK)) {
    cli_error(label, "SQLite: %s", sqlite3_errmsg(*db));
  } else {
    return 0;
  }
  sqlite3_close(*db);
  *db = NULL;
  unlink(tmp);
  return -2;
}

/*
 * export sqlite -o FILE.db: built in FILE.db.XXXXXX next to it, renamed
 * over FILE.db once complete, so that a failed export leaves no file and
 * an existing FILE.db is replaced whole (as -o replaces a file).
 */
int cli_export_sqlite(cli_args *a, cli_inputs *in) {
  if (a->output == NULL) {
    cli_error("sqlite", "a database is a file: give -o FILE.db");
    return CLI_EXIT_USAGE;
  }
  if (cli_is_input(a->output, in)) {
    cli_error(a->output, "is also an input: not overwritten");
    return CLI_EXIT_ERROR;
  }
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", a->output) >= (int)sizeof tmp) {
    cli_error(a->output, "name too long");
    return CLI_EXIT_ERROR;
  }
  sqlite3 *db = NULL;
  int rc = cli_sql_create(tmp, a->output, &db, NULL);
  if (rc == -1) {
    cli_error(a->output, "cannot create: %s", strerror(errno));
  }
  if (rc != 0) {
    return CLI_EXIT_ERROR;
  }
  int failed = cli_sql_fill(in, db, a->output) != 0;
  if (sqlite3_close(db) != SQLITE_OK && !failed) {
    cli_error(a->output, "SQLite: cannot close");
    failed = 1;
  }
  if (!failed && rename(tmp, a->output) != 0) {
    cli_error(a->output, "cannot rename %s to it: %s", tmp, strerror(errno));
    failed = 1;
  }
  if (failed) {
    unlink(tmp);
    return CLI_EXIT_ERROR;
  }
  return CLI_EXIT_OK;
}

/* One value as sqlite3's list mode prints it: NULL as nothing. */
static void cli_sql_value(sqlite3_stmt *st, int col) {
  const unsigned char *text = sqlite3_column_text(st, col);
  if (text != NULL) {
    fputs((const char *)text, stdout);
  }
}

/*
 * sql's database: a new file in $TMPDIR (default /tmp), unlinked as soon
 * as SQLite has it open, so that it goes on every exit (even a kill); the
 * pages SQLite caches are bounded by CLI_SQL_CACHE_KIB, the rest is in
 * the file (in memory, 8 x 65536 events peaked at 122 MiB; so, at 58 MiB,
 * about what export sqlite peaks at).  No journal
 * (PT_SQLITE_NEW_FILE_PRAGMAS); SQLite's own temporary files (the sorts
 * of CREATE INDEX and of queries) are unlinked as they are opened too.
 * Prints the failure.  0 or -1.
 */
#define CLI_SQL_CACHE_KIB "2048" /* a string: spliced into the pragma */
static int cli_sql_open_temp(sqlite3 **db) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0') {
    dir = "/tmp";
  }
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s/peertrace-sql.XXXXXX", dir) >=
      (int)sizeof tmp) {
    cli_error("sql", "TMPDIR %s: name too long", dir);
    return -1;
  }
  int rc =
      cli_sql_create(tmp, "sql", db, "PRAGMA cache_size=-" CLI_SQL_CACHE_KIB);
  if (rc == -1) {
    cli_error("sql",
              "cannot create a temporary database in %s: %s (set TMPDIR "
              "to a writable directory)",
              dir, strerror(errno));
  }
  if (rc != 0) {
    return -1;
  }
  unlink(tmp); /* SQLite holds it open */
  return 0;
}

int cli_sql(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(
      argc, argv, CLI_ARG_FILTER | CLI_ARG_FORMAT | CLI_ARG_CLOCK,
      "usage: peertrace sql \"SELECT ...\" [--raw-time | --reference N] "
      "[FILTERS] DUMP...\n"
      "Loads the matching events of the dumps into a temporary SQLite\n"
      "database (the schema of export sqlite: nodes, events, connections,\n"
      "hops, hop_packets; views packet_pairs, request_hops; docs/cli.md)\n"
      "and prints the query's rows as sqlite3 does: a header line, then\n"
      "one line per row, values separated by '|', NULL as nothing.\n"
      "The database is a file in $TMPDIR (default /tmp), unlinked once\n"
      "open: nothing is left behind.\n",
      &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int failed = cli_sql_open_temp(&db) != 0;
  if (!failed) {
    failed = cli_sql_fill(&in, db, "sql") != 0;
  }
  const char *tail = NULL;
  if (!failed &&
      sqlite3_prepare_v2(db, a.format, -1, &st, &tail) != SQLITE_OK) {
    cli_error("sql", "%s", sqlite3_errmsg(db));
    failed = 1;
  } else if (!failed &&
             (st == NULL || strspn(tail, " \t\n;") != strlen(tail))) {
    cli_error("sql", "give one SQL statement");
    failed = 1;
  }
  int cols = failed ? 0 : sqlite3_column_count(st);
  for (int i = 0; i < cols; i++) {
    printf("%s%s", i ? "|" : "", sqlite3_column_name(st, i));
  }
  if (cols > 0) {
    putchar('\n');
  }
  int step = SQLITE_DONE;
  while (!failed && (step = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < cols; i++) {
      if (i > 0) {
        putchar('|');
      }
      cli_sql_value(st, i);
    }
    putchar('\n');
  }
  if (!failed && step != SQLITE_DONE) {
    cli_error("sql", "%s", sqlite3_errmsg(db));
    failed = 1;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  cli_stop(&a, &in);
  return failed ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
