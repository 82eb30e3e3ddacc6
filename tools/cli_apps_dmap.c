/*
 * The DMAP example protocol (examples/datamap), known to the CLI so that its
 * commands print as STORE_CHUNK, GET_CHUNK, DELETE_CHUNK (see cli_apps.c).
 * Names only, from the example's header-only command table: the tool links
 * no example code.
 */
#include <dmap_commands.h>

#include "cli.h"

/* The CLI only names commands: it never records a DMAP event. */
static void cli_dmap_no_data(const pt_app_protocol *app, uint16_t cmd,
                             pt_app_payload payload,
                             uint8_t out[PT_APP_DATA_SIZE]) {
  (void)app;
  (void)cmd;
  (void)payload;
  (void)out;
}

static const char *cli_dmap_describe(const pt_app_protocol *app, uint16_t cmd) {
  (void)app;
  return dmap_command_name(cmd);
}

static PT_APP_PROTOCOL_DEFINE(cli_dmap_protocol, DMAP_APP_ID, cli_dmap_no_data,
                              cli_dmap_describe, NULL);

void cli_register_app_protocols(pt_app_registry *registry) {
  int rc = pt_app_register(registry, &cli_dmap_protocol);
  if (rc != PT_OK) {
    cli_error("app registry", "DMAP: %s", pt_strerror(rc));
  }
}
