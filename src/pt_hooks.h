/*
 * pt_hooks: the library's reactions to fork() and to a thread's exit,
 * installed once for the whole library (one pthread_atfork, one pthread
 * key).  A module registers one hook object of its own (static storage,
 * never freed); a module that needs none installs nothing.
 *
 * Users: the registry of live logs (its lock is held across fork()), the
 * log writers (a child forgets its parent's cursors; an exiting thread
 * closes its chunks), the query index (counts forks) and the trace id
 * generator (reseeds in a child).
 */
#ifndef PT_HOOKS_H
#define PT_HOOKS_H

#include <stdatomic.h>

#include "pt_common.h"

/*
 * What a module does around fork() and at a thread's exit, any of them
 * NULL.  As with pthread_atfork: `prepare` runs in the forking thread
 * before fork() (the latest registered first), `parent` and `child` after
 * it in the parent and in the child (the earliest registered first).
 * `thread_exit` runs when a thread that armed it (pt__thread_exit_arm)
 * exits, as a pthread key destructor: other TLS destructors may run before
 * or after it, and an arm from one of those runs it again.
 */
typedef struct pt__hook {
  void (*prepare)(void);
  void (*parent)(void);
  void (*child)(void);
  void (*thread_exit)(void);
  struct pt__hook *next; /* the hook registered before; set by add */
  _Atomic int added;     /* set once, under the add lock */
} pt__hook;

/*
 * Registers `hook` for every later fork() and thread exit.  A later call
 * with the same hook is one load; the first takes a lock (a caller that
 * raced with it returns once the hook is registered).  Thread-safe; not
 * from a hook itself.
 */
void pt__hook_add(pt__hook *hook);

/* Nonzero once this thread armed the exit hooks (until they run). */
extern PT__TLS int pt__thread_exit_armed;

void pt__thread_exit_arm_slow(pt__hook *hook);

/*
 * Registers `hook` (pt__hook_add) and makes every hook's thread_exit run
 * when the calling thread exits.  Cheap after a thread's first call (one
 * TLS load) until its exit hooks ran.
 */
static inline void pt__thread_exit_arm(pt__hook *hook) {
  if (PT__UNLIKELY(!pt__thread_exit_armed)) {
    pt__thread_exit_arm_slow(hook);
  }
}

#endif /* PT_HOOKS_H */
