/*
 * pt_registry: the live logs of this process, for the writers' slow paths
 * (thread exit and cursor eviction close chunks only of logs still alive).
 * Not the write path: a write takes its lock only when it evicts a cursor
 * of a live log with an open chunk (pt_log_write.c).
 */
#ifndef PT_REGISTRY_H
#define PT_REGISTRY_H

#include <stdint.h>

#include "pt_ring.h"

/* Gives a new log its never-reused uid and makes it known. */
void pt__registry_add(pt_log *log);

/* Forgets a log (before its memory is freed). */
void pt__registry_remove(pt_log *log);

/*
 * Calls fn(log, arg) with the registry locked if the log with this uid is
 * still alive (it cannot be destroyed meanwhile).  Returns whether it was.
 */
int pt__registry_with(uint64_t uid, void (*fn)(pt_log *log, void *arg),
                      void *arg);

#endif /* PT_REGISTRY_H */
