/* No application protocols known to the CLI (see cli_apps.c). */
#include "cli.h"

#if PT_TRACE_APP
void cli_register_app_protocols(pt_app_registry *registry) {
  (void)registry;
}
#endif
