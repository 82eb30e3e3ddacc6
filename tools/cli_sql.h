/* peertrace export sqlite and peertrace sql (tools/cli_sql.c; without
 * SQLite, tools/cli_sql_none.c says they are not built). */
#ifndef PT_CLI_SQL_H
#define PT_CLI_SQL_H

#include "cli_commands.h"

/* export sqlite -o FILE.db (after cli_start); an exit code. */
int cli_export_sqlite(cli_args *a, cli_inputs *in);
/* peertrace sql "SELECT ..." DUMP...; an exit code. */
int cli_sql(int argc, char **argv);

#endif /* PT_CLI_SQL_H */
