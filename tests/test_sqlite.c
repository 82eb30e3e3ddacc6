/*
 * test_sqlite: pt_sqlite_export's contract beyond what tests/cli/sqlite.py
 * checks on real dumps: the arguments, the decoded columns of each kind,
 * an SQLite failure (the tables exist already) reported with SQLite's
 * message and rolled back whole, and a second pipeline run (the export
 * runs the pipeline from its first event).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/pt_pipeline.h>
#include <peertrace/pt_sqlite.h>

static const uint8_t node_a[32] = {0xaa};

/* A pipeline over one log of a few events of every decoded kind. */
static pt_pipeline *one_log(pt_log **log_out) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  memcpy(cfg.node_id, node_a, 32);
  pt_log *log;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  pt_trace_id t = {{0x4b, 0xf9}};
  pt_event ev;
  uint64_t ts = 1000;
  pt_event_begin(&ev, t, NULL);
  pt_event_set_packet_sent(&ev, 7, 1200, PT_PN_SPACE_INITIAL);
  pt_event_set_conn(&ev, 0xc0ffee);
  ev.timestamp_us = ts++;
  assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  pt_event_begin(&ev, t, NULL);
  pt_event_set_app_end(&ev, "DMAP", 2, 0, 250);
  ev.timestamp_us = ts++;
  assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  pt_event_begin(&ev, t, NULL);
  pt_event_set_conn_established(&ev, 1800);
  pt_event_set_conn(&ev, 0xc0ffee);
  ev.timestamp_us = ts++;
  assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  pt_pipeline *p;
  assert_int_equal(pt_pipeline_new(&p), PT_OK);
  assert_int_equal(pt_pipeline_add_log(p, log, "a", NULL), PT_OK);
  *log_out = log;
  return p;
}

static sqlite3 *memory_db(void) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  return db;
}

/* The one-row, one-column answer of sql, as text ("" for NULL). */
static void expect(sqlite3 *db, const char *sql, const char *want) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  const unsigned char *got = sqlite3_column_text(st, 0);
  assert_string_equal(got ? (const char *)got : "", want);
  sqlite3_finalize(st);
}

/* The tests' state: one_log's pipeline and log, and an empty database. */
typedef struct one_log_db {
  pt_log *log;
  pt_pipeline *p;
  sqlite3 *db;
} one_log_db;

static int one_log_setup(void **state) {
  one_log_db *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->p = one_log(&f->log);
  f->db = memory_db();
  *state = f;
  return 0;
}

static int one_log_teardown(void **state) {
  one_log_db *f = *state;
  sqlite3_close(f->db);
  pt_pipeline_free(f->p);
  pt_log_destroy(f->log);
  free(f);
  return 0;
}

static void test_arguments(void **state) {
  one_log_db *f = *state;
  pt_pipeline *p = f->p;
  sqlite3 *db = f->db;
  char msg[64] = "x";
  assert_int_equal(pt_sqlite_export(NULL, db, NULL, NULL, msg, sizeof msg),
                   PT_ERR_INVALID);
  assert_int_equal(pt_sqlite_export(p, NULL, NULL, NULL, NULL, 0),
                   PT_ERR_INVALID);
}

static void test_columns(void **state) {
  one_log_db *f = *state;
  pt_pipeline *p = f->p;
  sqlite3 *db = f->db;
  char msg[64] = "x";
  assert_int_equal(pt_sqlite_export(p, db, NULL, NULL, msg, sizeof msg), PT_OK);
  assert_string_equal(msg, "");
  expect(db,
         "SELECT kind || ' ' || pn || ' ' || space || ' ' || size || ' ' || "
         "conn || ' ' || trace FROM events WHERE id = 1",
         "packet_sent 7 initial 1200 0000000000c0ffee "
         "4bf90000000000000000000000000000");
  expect(db,
         "SELECT command || ' ' || ok || ' ' || duration_us || ' ' || "
         "coalesce(pn, 'no pn') FROM events WHERE kind = 'app_end'",
         "DMAP/2 0 250 no pn");
  expect(db, "SELECT rtt_us FROM events WHERE kind = 'conn_established'",
         "1800");
  expect(db, "SELECT time_us = raw_time_us FROM events WHERE id = 3", "1");
  expect(db, "SELECT clock_status || ' ' || times FROM nodes",
         "reference aligned");
  /* The client sent the first packet, an Initial. */
  expect(db, "SELECT role || ' ' || sent || ' ' || received FROM connections",
         "client 1 0");
  /* A second export into the same database: its tables exist already. */
  assert_int_equal(pt_sqlite_export(p, db, NULL, NULL, msg, sizeof msg),
                   PT_ERR_IO);
  assert_non_null(strstr(msg, "already exists"));
  expect(db, "SELECT count(*) FROM events", "3"); /* the first, untouched */
  sqlite3_close(db);
  /* The pipeline runs again from its first event into a new database. */
  db = f->db = memory_db();
  assert_int_equal(pt_sqlite_export(p, db, NULL, NULL, NULL, 0), PT_OK);
  expect(db, "SELECT count(*) FROM events", "3");
}

/* A failure rolls everything back: no table is left half made. */
static void test_rollback(void **state) {
  one_log_db *f = *state;
  pt_pipeline *p = f->p;
  sqlite3 *db = f->db;
  /* A table the schema creates late (after nodes and events). */
  assert_int_equal(
      sqlite3_exec(db, "CREATE TABLE hop_packets(x)", NULL, NULL, NULL),
      SQLITE_OK);
  char msg[64];
  assert_int_equal(pt_sqlite_export(p, db, NULL, NULL, msg, sizeof msg),
                   PT_ERR_IO);
  assert_non_null(strstr(msg, "hop_packets"));
  expect(db,
         "SELECT count(*) FROM sqlite_master WHERE name IN ('nodes', "
         "'events')",
         "0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_arguments, one_log_setup,
                                      one_log_teardown),
      cmocka_unit_test_setup_teardown(test_columns, one_log_setup,
                                      one_log_teardown),
      cmocka_unit_test_setup_teardown(test_rollback, one_log_setup,
                                      one_log_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
