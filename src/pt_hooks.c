/*
 * pt_hooks: one pthread_atfork and one pthread key for every module's fork
 * and thread-exit hooks (pt_hooks.h).  The hook list only grows: a hook is
 * linked once, fully written before it is published, and never removed, so
 * the handlers walk it without a lock.
 */
#include "pt_hooks.h"

#include <pthread.h>
#include <stdatomic.h>

/*
 * Serialises the adds (and sets their `added` flags).  Held across fork()
 * (taken by the prepare handler, released in parent and child) so that a fork()
 * during another thread's add cannot leave it locked in the child.
 */
static pthread_mutex_t pt__hooks_add_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(pt__hook *) pt__hooks; /* the latest registered first */

static pthread_once_t pt__hooks_once = PTHREAD_ONCE_INIT;
static pthread_key_t pt__exit_key;

PT__TLS int pt__thread_exit_armed;

static pt__hook *pt__hooks_head(void) {
  /* acquire: pairs with the release in pt__hook_add (the hook's fields). */
  return atomic_load_explicit(&pt__hooks, memory_order_acquire);
}

static void pt__fork_prepare(void) {
  pthread_mutex_lock(&pt__hooks_add_lock);
  for (pt__hook *h = pt__hooks_head(); h != NULL; h = h->next) {
    if (h->prepare != NULL) {
      h->prepare();
    }
  }
}

/* Runs `parent` or `child` of `h` and of the hooks before it, oldest first
 * (the list is a handful of hooks long: the recursion stays shallow). */
static void pt__fork_after(const pt__hook *h, int in_child) {
  if (h == NULL) {
    return;
  }
  pt__fork_after(h->next, in_child);
  void (*fn)(void) = in_child ? h->child : h->parent;
  if (fn != NULL) {
    fn();
  }
}

static void pt__fork_parent(void) {
  pt__fork_after(pt__hooks_head(), 0);
  pthread_mutex_unlock(&pt__hooks_add_lock);
}

static void pt__fork_child(void) {
  pt__fork_after(pt__hooks_head(), 1);
  pthread_mutex_unlock(&pt__hooks_add_lock);
}

/* pthread key destructor: the exiting thread's hooks, latest first. */
static void pt__thread_exit(void *unused) {
  (void)unused;
  for (pt__hook *h = pt__hooks_head(); h != NULL; h = h->next) {
    if (h->thread_exit != NULL) {
      h->thread_exit();
    }
  }
  /* Re-armed: a later arm from another thread-local destructor sets the
   * key again, and pthreads runs this once more. */
  pt__thread_exit_armed = 0;
}

static void pt__hooks_install(void) {
  pthread_atfork(pt__fork_prepare, pt__fork_parent, pt__fork_child);
  pthread_key_create(&pt__exit_key, pt__thread_exit);
}

void pt__hook_add(pt__hook *hook) {
  /* acquire: pairs with the release below; the hook is in the list. */
  if (atomic_load_explicit(&hook->added, memory_order_acquire)) {
    return;
  }
  pthread_once(&pt__hooks_once, pt__hooks_install);
  pthread_mutex_lock(&pt__hooks_add_lock);
  /* relaxed: set only under the lock we hold. */
  if (!atomic_load_explicit(&hook->added, memory_order_relaxed)) {
    /* relaxed: adds are serialised by the lock. */
    hook->next = atomic_load_explicit(&pt__hooks, memory_order_relaxed);
    /* release: a handler that loads this pointer sees the hook's fields. */
    atomic_store_explicit(&pt__hooks, hook, memory_order_release);
    /* release: a caller that sees it set sees the hook published. */
    atomic_store_explicit(&hook->added, 1, memory_order_release);
  }
  pthread_mutex_unlock(&pt__hooks_add_lock);
}

void pt__thread_exit_arm_slow(pt__hook *hook) {
  pt__hook_add(hook);
  pthread_setspecific(pt__exit_key, (void *)1);
  pt__thread_exit_armed = 1;
}
