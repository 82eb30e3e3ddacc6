/*
 * dmap_commands: DMAP's app id and commands, and their names.  Header only,
 * so that the peertrace CLI names DMAP's commands (STORE_CHUNK, ...) without
 * linking the example (tools/cli_apps_dmap.c); the example gets them
 * through dmap.h.
 */
#ifndef DMAP_COMMANDS_H
#define DMAP_COMMANDS_H

#include <stdint.h>

#define DMAP_APP_ID "DMAP"

#define DMAP_STORE_CHUNK 0x01u
#define DMAP_GET_CHUNK 0x02u
#define DMAP_DELETE_CHUNK 0x03u

/* The name of a DMAP command ("STORE_CHUNK", ...; "UNKNOWN" otherwise). */
static inline const char *dmap_command_name(uint16_t cmd) {
  switch (cmd) {
  case DMAP_STORE_CHUNK:
    return "STORE_CHUNK";
  case DMAP_GET_CHUNK:
    return "GET_CHUNK";
  case DMAP_DELETE_CHUNK:
    return "DELETE_CHUNK";
  default:
    return "UNKNOWN";
  }
}

#endif /* DMAP_COMMANDS_H */
