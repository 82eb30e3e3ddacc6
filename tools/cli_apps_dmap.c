/*
 * The DMAP example protocol (examples/datamap), known to the CLI so that its
 * commands print as STORE_CHUNK, GET_CHUNK, DELETE_CHUNK (see cli_apps.c).
 */
#include <stdio.h>

#include <dmap.h>

#include "cli.h"

void cli_register_app_protocols(pt_app_registry *registry) {
  int rc = pt_app_register(registry, &dmap_protocol);
  if (rc != PT_OK) {
    cli_error("app registry", "DMAP: %s", pt_strerror(rc));
  }
}
