/* A peertrace built without SQLite: export sqlite and sql say so. */
#include "cli_sql.h"

static int cli_sql_missing(void) {
  cli_error("sqlite", "this peertrace was built without SQLite (install "
                      "libsqlite3-dev and configure with -DPT_SQLITE=ON)");
  return CLI_EXIT_ERROR;
}

int cli_export_sqlite(cli_args *a, cli_inputs *in) {
  (void)a;
  (void)in;
  return cli_sql_missing();
}

int cli_sql(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_sql_missing();
}
