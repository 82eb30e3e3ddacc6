/*
 * App command names for the CLI through the app registry (pt_app.h): in
 * PT_TRACE_APP builds, peertrace registers the protocols that
 * cli_register_app_protocols() adds (tools/cli_apps_dmap.c: the DMAP
 * example's command names; tools/cli_apps_none.c: none) and names their
 * commands (STORE_CHUNK, not DMAP/1).  Commands of other protocols, and
 * every command in builds without the app layer, show as app id and number.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#if PT_TRACE_APP

static pt_app_registry *cli_registry;

static int cli_registry_namer(const uint8_t app_id[4], uint16_t cmd, char *out,
                              size_t out_size, void *user) {
  const pt_app_registry *registry = user;
  if (pt_app_lookup(registry, app_id) == NULL) {
    return 0;
  }
  snprintf(out, out_size, "%s", pt_app_describe(registry, app_id, cmd));
  return 1;
}

static void cli_apps_release(void) {
  pt_app_registry_destroy(cli_registry);
  cli_registry = NULL;
}

void cli_apps_init(void) {
  if (pt_app_registry_create(&cli_registry) != PT_OK) {
    return; /* no names, still a working tool */
  }
  atexit(cli_apps_release);
  cli_register_app_protocols(cli_registry);
  cli_app_namer = cli_registry_namer;
  cli_app_namer_user = cli_registry;
}

#else

void cli_apps_init(void) {
}

#endif
