/*
 * pt_app: the application protocol registry, app event logging and app
 * event printing (PT_TRACE_APP builds only; CMake compiles this file only
 * then).
 *
 * Registry protocol.  The registry is a fixed array of atomic pointers to
 * caller-owned descriptors.  Writers (register / unregister) serialise on a
 * mutex, so the duplicate check and the slot choice are one atomic step for
 * every other writer.  Readers (lookups on the logging path) take no lock:
 * they load each slot with acquire order and compare the id.  A slot goes
 * from NULL to a descriptor (release store: the descriptor's fields, written
 * before registration, are visible to whoever loads the pointer) and back to
 * NULL.  Nothing is ever freed while the registry lives: a reader holding a
 * pointer it loaded before unregistration keeps using a valid descriptor
 * (the lifetime rule in pt_app.h), so there is no use after free.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt_common.h"
#include "pt_event.h"

struct pt_app_registry {
  _Atomic(const pt_app_protocol *) slots[PT_APP_REGISTRY_CAPACITY];
  pthread_mutex_t writer_lock;
  /* Written by logging threads: kept off the read-mostly slots' lines. */
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t unknown_app;
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t filtered;
};

static const char pt__unknown_command[] = "UNKNOWN";

int pt_app_registry_create(pt_app_registry **out) {
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  /* sizeof is a multiple of the struct's cache-line alignment, as
   * aligned_alloc requires. */
  pt_app_registry *registry = aligned_alloc(PT__CACHE_LINE, sizeof *registry);
  if (registry == NULL) {
    return PT_ERR_NOMEM;
  }
  memset(registry, 0, sizeof *registry);
  if (pthread_mutex_init(&registry->writer_lock, NULL) != 0) {
    free(registry);
    return PT_ERR_NOMEM;
  }
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    /* relaxed: not yet shared with any other thread. */
    atomic_init(&registry->slots[i], NULL);
  }
  atomic_init(&registry->unknown_app, 0);
  atomic_init(&registry->filtered, 0);
  *out = registry;
  return PT_OK;
}

void pt_app_registry_destroy(pt_app_registry *registry) {
  if (registry == NULL) {
    return;
  }
  pthread_mutex_destroy(&registry->writer_lock);
  free(registry);
}

static int pt__app_id_equal(const pt_app_protocol *app, const void *app_id) {
  return memcmp(app->app_id, app_id, PT_APP_ID_SIZE) == 0;
}

int pt_app_register(pt_app_registry *registry, const pt_app_protocol *app) {
  static const uint8_t zero_id[PT_APP_ID_SIZE];
  if (registry == NULL || app == NULL || app->to_trace_data == NULL ||
      app->describe_command == NULL || pt__app_id_equal(app, zero_id)) {
    return PT_ERR_INVALID;
  }
  int rv = PT_ERR_FULL;
  size_t free_slot = PT_APP_REGISTRY_CAPACITY;
  pthread_mutex_lock(&registry->writer_lock);
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    /* relaxed: slots change only under writer_lock, which we hold. */
    const pt_app_protocol *cur =
        atomic_load_explicit(&registry->slots[i], memory_order_relaxed);
    if (cur == NULL) {
      if (free_slot == PT_APP_REGISTRY_CAPACITY) {
        free_slot = i;
      }
    } else if (pt__app_id_equal(cur, app->app_id)) {
      rv = PT_ERR_EXISTS;
      goto unlock;
    }
  }
  if (free_slot < PT_APP_REGISTRY_CAPACITY) {
    /* release: publishes the descriptor's fields to lookups that acquire
     * this pointer. */
    atomic_store_explicit(&registry->slots[free_slot], app,
                          memory_order_release);
    rv = PT_OK;
  }
unlock:
  pthread_mutex_unlock(&registry->writer_lock);
  return rv;
}

int pt_app_unregister(pt_app_registry *registry, const void *app_id) {
  if (registry == NULL || app_id == NULL) {
    return PT_ERR_INVALID;
  }
  int rv = PT_ERR_NOT_FOUND;
  pthread_mutex_lock(&registry->writer_lock);
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    /* relaxed: slots change only under writer_lock, which we hold. */
    const pt_app_protocol *cur =
        atomic_load_explicit(&registry->slots[i], memory_order_relaxed);
    if (cur != NULL && pt__app_id_equal(cur, app_id)) {
      /* relaxed: storing NULL publishes nothing; the descriptor itself stays
       * valid for readers that loaded it earlier (lifetime rule). */
      atomic_store_explicit(&registry->slots[i], NULL, memory_order_relaxed);
      rv = PT_OK;
      break;
    }
  }
  pthread_mutex_unlock(&registry->writer_lock);
  return rv;
}

const pt_app_protocol *pt_app_lookup(const pt_app_registry *registry,
                                     const void *app_id) {
  if (registry == NULL || app_id == NULL) {
    return NULL;
  }
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    /* acquire: pairs with the release store in pt_app_register, so the
     * descriptor's fields read below are the registered ones. */
    const pt_app_protocol *cur = atomic_load_explicit(
        (_Atomic(const pt_app_protocol *) *)&registry->slots[i],
        memory_order_acquire);
    if (cur != NULL && pt__app_id_equal(cur, app_id)) {
      return cur;
    }
  }
  return NULL;
}

const char *pt_app_describe(const pt_app_registry *registry, const void *app_id,
                            uint16_t cmd) {
  const pt_app_protocol *app = pt_app_lookup(registry, app_id);
  const char *name = app != NULL ? app->describe_command(app, cmd) : NULL;
  return name != NULL ? name : pt__unknown_command;
}

int pt_app_registry_get_stats(const pt_app_registry *registry,
                              pt_app_registry_stats *out) {
  if (registry == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  uint64_t registered = 0;
  for (size_t i = 0; i < PT_APP_REGISTRY_CAPACITY; i++) {
    /* relaxed: a count, not a pointer we dereference. */
    if (atomic_load_explicit(
            (_Atomic(const pt_app_protocol *) *)&registry->slots[i],
            memory_order_relaxed) != NULL) {
      registered++;
    }
  }
  out->capacity = PT_APP_REGISTRY_CAPACITY;
  out->registered = registered;
  /* relaxed: independent counters, read one by one. */
  out->unknown_app = atomic_load_explicit(
      (_Atomic uint64_t *)&registry->unknown_app, memory_order_relaxed);
  out->filtered = atomic_load_explicit((_Atomic uint64_t *)&registry->filtered,
                                       memory_order_relaxed);
  return PT_OK;
}

/* ---- Logging ------------------------------------------------------------- */

/* Logging threads count through a const registry: const protects the
 * registry's configuration, not its statistics (the object is never const). */
static void pt__app_count(const _Atomic uint64_t *counter) {
  /* relaxed: a statistic; it orders nothing. */
  atomic_fetch_add_explicit((_Atomic uint64_t *)counter, 1,
                            memory_order_relaxed);
}

/*
 * Decides whether a command is recorded and computes its trace data.
 * Returns 1 to record (data filled, zero for an unknown app), 0 to skip.
 */
static int pt__app_prepare(const pt_app_registry *registry, const void *app_id,
                           uint16_t cmd, const void *payload, size_t len,
                           uint8_t data[PT_APP_DATA_SIZE]) {
  memset(data, 0, PT_APP_DATA_SIZE);
  const pt_app_protocol *app = pt_app_lookup(registry, app_id);
  if (app == NULL) {
    if (registry != NULL) {
      pt__app_count(&registry->unknown_app);
    }
    return 1;
  }
  if (app->should_trace != NULL && !app->should_trace(app, cmd)) {
    pt__app_count(&registry->filtered);
    return 0;
  }
  app->to_trace_data(app, cmd, pt_app_payload_make(payload, len), data);
  return 1;
}

/* Records an APP_COMMAND (start == 0) or APP_START event; 1 if recorded. */
static int pt__app_record(pt_log *log, const pt_app_registry *registry,
                          pt_trace_id trace_id, pt_trace_flags flags,
                          const void *app_id, uint16_t cmd, const void *payload,
                          size_t len, int start) {
  uint8_t data[PT_APP_DATA_SIZE];
  if (log == NULL || app_id == NULL ||
      !pt__app_prepare(registry, app_id, cmd, payload, len, data)) {
    return 0;
  }
  /* The core's table-generated emitters: no pt_event built on the stack. */
  if (start) {
    pt__emit_app_start(log, trace_id, flags, NULL, app_id, cmd, data,
                       sizeof data);
  } else {
    pt__emit_app_command(log, trace_id, flags, NULL, app_id, cmd, data,
                         sizeof data);
  }
  return 1;
}

void pt_app_log_command_flags(pt_log *log, const pt_app_registry *registry,
                              pt_trace_id trace_id, pt_trace_flags flags,
                              const void *app_id, uint16_t cmd,
                              const void *payload, size_t len) {
  pt__app_record(log, registry, trace_id, flags, app_id, cmd, payload, len, 0);
}

void pt_app_log_command(pt_log *log, const pt_app_registry *registry,
                        pt_trace_id trace_id, const void *app_id, uint16_t cmd,
                        const void *payload, size_t len) {
  pt__app_record(log, registry, trace_id, 0, app_id, cmd, payload, len, 0);
}

void pt_app_log_start_flags(pt_log *log, const pt_app_registry *registry,
                            pt_trace_id trace_id, pt_trace_flags flags,
                            const void *app_id, uint16_t cmd,
                            const void *payload, size_t len,
                            pt_app_span *span) {
  if (span == NULL) {
    return;
  }
  pt_app_span_skip(span);
  if (!pt__app_record(log, registry, trace_id, flags, app_id, cmd, payload, len,
                      1)) {
    return;
  }
  span->trace_id = trace_id;
  memcpy(span->app_id, app_id, PT_APP_ID_SIZE);
  span->cmd = cmd;
  span->flags = (pt_trace_flags)(flags & PT_TRACE_FLAGS_MASK);
  span->recorded = 1;
  /* After the start event is written: the duration covers the request, not
   * the cost of tracing it. */
  span->start_us = pt_clock_now_us();
}

void pt_app_log_start(pt_log *log, const pt_app_registry *registry,
                      pt_trace_id trace_id, const void *app_id, uint16_t cmd,
                      const void *payload, size_t len, pt_app_span *span) {
  pt_app_log_start_flags(log, registry, trace_id, 0, app_id, cmd, payload, len,
                         span);
}

void pt_app_log_end(pt_log *log, pt_app_span *span, int ok) {
  if (log == NULL || span == NULL || !span->recorded) {
    return;
  }
  uint64_t now = pt_clock_now_us();
  uint64_t duration = now > span->start_us ? now - span->start_us : 0;
  span->recorded = 0;
  pt__emit_app_end(log, span->trace_id, span->flags, NULL, span->app_id,
                   span->cmd, ok, duration);
}

/* ---- Printing ------------------------------------------------------------ */

static int pt__app_is_app_kind(unsigned kind) {
  return kind == PT_EV_APP_COMMAND || kind == PT_EV_APP_START ||
         kind == PT_EV_APP_END;
}

/* The command name of an app event (the three kinds share app_id, cmd). */
static const char *pt__app_event_name(const pt_app_registry *registry,
                                      const pt_event *ev) {
  switch (ev->kind) {
  case PT_EV_APP_START:
    return pt_app_describe(registry, ev->data.app_start.app_id,
                           ev->data.app_start.cmd);
  case PT_EV_APP_END:
    return pt_app_describe(registry, ev->data.app_end.app_id,
                           ev->data.app_end.cmd);
  default:
    return pt_app_describe(registry, ev->data.app_command.app_id,
                           ev->data.app_command.cmd);
  }
}

/* Longest command name printed, in bytes of the describer's string. */
#define PT__APP_NAME_MAX 63u

/*
 * Writes `text` into out at byte `at` of the full output, keeping what fits
 * in out_size (with the NUL), as snprintf would for the whole text.
 */
static void pt__app_place(char *out, size_t out_size, size_t at,
                          const char *text, size_t len) {
  if (out_size == 0 || at >= out_size - 1) {
    return;
  }
  size_t n = len < out_size - 1 - at ? len : out_size - 1 - at;
  memcpy(out + at, text, n);
  out[at + n] = '\0';
}

int pt_app_event_format(const pt_app_registry *registry, const pt_event *ev,
                        char *out, size_t out_size) {
  int n = pt_event_format(ev, out, out_size);
  if (n < 0 || !pt__app_is_app_kind(ev->kind)) {
    return n;
  }
  char extra[sizeof " command=" + PT__APP_NAME_MAX];
  int m = snprintf(extra, sizeof extra, " command=%.*s", (int)PT__APP_NAME_MAX,
                   pt__app_event_name(registry, ev));
  size_t extra_len = m > 0 ? (size_t)m : 0;
  pt__app_place(out, out_size, (size_t)n, extra, extra_len);
  return n + (int)extra_len;
}

int pt_app_event_to_json(const pt_app_registry *registry, const pt_event *ev,
                         char *out, size_t out_size) {
  if (ev == NULL || !pt__app_is_app_kind(ev->kind)) {
    return pt_event_to_json(ev, out, out_size);
  }
  /* The name is data's last member, written with the event's fields. */
  return pt__event_to_json_named(ev, pt__app_event_name(registry, ev),
                                 PT__APP_NAME_MAX, out, out_size);
}
