/*
 * pt_registry: the list of live logs (pt_registry.h), under one mutex that
 * only slow paths take: creating and destroying a log, and a writer closing
 * a chunk of a log it is not writing now (thread exit, cursor eviction).
 */
#include "pt_registry.h"

#include <pthread.h>

#include "pt_hooks.h"

static pthread_mutex_t pt__registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pt_log *pt__registry_head; /* guarded by pt__registry_lock */
static uint64_t pt__next_uid = 1; /* guarded by pt__registry_lock */

/*
 * fork() while another thread holds the registry lock (creating, destroying,
 * or exiting and closing its chunks) would leave the lock held forever in the
 * child, whose next pt_log_create or cursor eviction then deadlocks.  The
 * forking thread takes the lock around fork() so the child starts with it
 * free.
 */
static void pt__registry_lock_all(void) {
  pthread_mutex_lock(&pt__registry_lock);
}

static void pt__registry_unlock_all(void) {
  pthread_mutex_unlock(&pt__registry_lock);
}

static pt__hook pt__registry_hook = {.prepare = pt__registry_lock_all,
                                     .parent = pt__registry_unlock_all,
                                     .child = pt__registry_unlock_all};

void pt__registry_add(pt_log *log) {
  /* Before the first lock: nobody can hold it across a fork before then. */
  pt__hook_add(&pt__registry_hook);
  pthread_mutex_lock(&pt__registry_lock);
  log->uid = pt__next_uid++;
  log->registry_next = pt__registry_head;
  pt__registry_head = log;
  pthread_mutex_unlock(&pt__registry_lock);
}

void pt__registry_remove(pt_log *log) {
  pthread_mutex_lock(&pt__registry_lock);
  for (pt_log **link = &pt__registry_head; *link != NULL;
       link = &(*link)->registry_next) {
    if (*link == log) {
      *link = log->registry_next;
      break;
    }
  }
  pthread_mutex_unlock(&pt__registry_lock);
}

int pt__registry_with(uint64_t uid, void (*fn)(pt_log *log, void *arg),
                      void *arg) {
  int found = 0;
  pthread_mutex_lock(&pt__registry_lock);
  for (pt_log *log = pt__registry_head; log != NULL; log = log->registry_next) {
    if (log->uid == uid) {
      fn(log, arg);
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&pt__registry_lock);
  return found;
}
