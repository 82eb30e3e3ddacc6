/*
 * peertrace - the application protocol layer (PT_TRACE_APP) and sampling
 * (PT_TRACE_SAMPLE).
 *
 * Application protocols and their registry.  An application
 * describes its protocol once, in a pt_app_protocol (a 4-byte id and three
 * functions), registers it with a pt_app_registry, and then records its
 * commands and requests with PT_APP_COMMAND, PT_APP_START and PT_APP_END.
 * The registry turns each command's untrusted payload into the 42 bytes of
 * trace data through the application's own function, and names the command
 * ("STORE_CHUNK") when events are printed.  docs/app-guide.md walks through
 * the DataMap example (examples/datamap/).
 *
 *   1. Types and constants   present in every build; they cost nothing
 *   2. Sampling              PT_TRACE_SAMPLED(trace_id), trace builds
 *   3. App builds            PT_TRACE_APP=1: registry, logging, printing
 *   4. Other builds          the same macros, expanding to nothing
 *
 * Included by peertrace.h, the header to include; it needs pt_core.h only.
 */
#ifndef PEERTRACE_PT_APP_H
#define PEERTRACE_PT_APP_H

#include <peertrace/pt_core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* 1. Types and constants                                                    */
/* ======================================================================== */

/* Size of an application id ("DMAP") and of a command's trace data. */
#define PT_APP_ID_SIZE 4u
#define PT_APP_DATA_SIZE 42u

/*
 * How many protocols one registry holds at once.  A compile-time constant of
 * the library (the registry is allocated whole, once); change it here and
 * rebuild the library to change it.
 */
#define PT_APP_REGISTRY_CAPACITY 16u

/*
 * A command's payload as the application's to_trace_data sees it: bytes that
 * came from a remote peer, untrusted, of any length (0 included).  Its
 * members are internal: read the payload only through pt_app_copy() and
 * pt_app_payload_size(), which never read past its end.
 */
typedef struct pt_app_payload {
  const uint8_t *pt__bytes;
  size_t pt__len;
} pt_app_payload;

typedef struct pt_app_protocol pt_app_protocol;

/*
 * An application protocol.
 *
 * app_id           4 bytes naming the protocol, e.g. "DMAP"; not all zero.
 * to_trace_data    fills out[0..42) with what the trace should keep of one
 *                  command (out arrives zeroed).  Must read the payload only
 *                  through pt_app_copy().  Required.
 * describe_command a static string naming a command ("STORE_CHUNK"), used
 *                  when events are printed.  Required; may return NULL for
 *                  "unknown".
 * should_trace     1 to record a command, 0 to skip it.  NULL: record every
 *                  command.
 *
 * Each function receives the descriptor itself as its first argument:
 * embed the pt_app_protocol as the first member of a larger struct to give
 * the functions state.  The functions are called on the logging path,
 * possibly from many threads at once: they must not block and must be safe
 * to call concurrently.
 *
 * Lifetime rule: a registered descriptor (and whatever its functions use)
 * must stay valid and unchanged until the registry is destroyed, not merely
 * until it is unregistered: a thread that looked it up just before
 * pt_app_unregister() may still be calling its functions.  Define
 * descriptors with static storage (PT_APP_PROTOCOL_DEFINE does) and this
 * holds by construction.
 */
struct pt_app_protocol {
  uint8_t app_id[PT_APP_ID_SIZE];
  void (*to_trace_data)(const pt_app_protocol *app, uint16_t cmd,
                        pt_app_payload payload, uint8_t out[PT_APP_DATA_SIZE]);
  const char *(*describe_command)(const pt_app_protocol *app, uint16_t cmd);
  int (*should_trace)(const pt_app_protocol *app, uint16_t cmd);
};

/*
 * PT_APP_PROTOCOL_DEFINE(name, "ABCD", to_trace_data, describe_command,
 * should_trace): defines a constant descriptor; at file scope (optionally
 * after `static`) it has static storage, which satisfies the lifetime rule
 * above.  The id must be a string literal of exactly 4 characters.
 * should_trace may be NULL.
 */
#define PT_APP_PROTOCOL_DEFINE(name, id4, to_data, describe, should)           \
  const pt_app_protocol name = {id4, (to_data), (describe), (should)}

/* The registry: opaque; exists as a type in every build. */
typedef struct pt_app_registry pt_app_registry;

/* Counters of a registry (pt_app_registry_get_stats). */
typedef struct pt_app_registry_stats {
  uint64_t capacity;    /* PT_APP_REGISTRY_CAPACITY */
  uint64_t registered;  /* protocols registered now */
  uint64_t unknown_app; /* events logged for an app id not registered */
  uint64_t filtered;    /* commands skipped because should_trace said 0 */
} pt_app_registry_stats;

/*
 * A request in flight, between PT_APP_START and PT_APP_END: the start time
 * and what the end event needs.  Keep it in trace-only storage
 * (PT_APP_FIELD(pt_app_span span;)); its members are internal.
 */
typedef struct pt_app_span {
  uint64_t start_us;
  pt_trace_id trace_id;
  uint8_t app_id[PT_APP_ID_SIZE];
  uint16_t cmd;
  uint8_t recorded;     /* 1 if the start event was recorded */
  pt_trace_flags flags; /* trace flags of the request's context */
} pt_app_span;

/* 2. Sampling: PT_TRACE_SAMPLED and pt_trace_sample_keep live in pt_core.h,
 * since PT_TRACE_SAMPLE is a core switch that every event macro honours. */

/* ======================================================================== */
/* 3. App builds (PT_TRACE_APP=1): the registry and the app macros           */
/* ======================================================================== */
#if PT_TRACE_APP

/* ---- Reading untrusted payloads ----------------------------------------- */

/*
 * pt_app_payload_make: a payload view of bytes[0..len).  bytes == NULL is
 * taken as an empty payload whatever len says.  Thread-safety: safe.
 */
static inline pt_app_payload pt_app_payload_make(const void *bytes,
                                                 size_t len) {
  pt_app_payload p;
  p.pt__bytes = (const uint8_t *)bytes;
  p.pt__len = bytes == NULL ? 0 : len;
  return p;
}

/* pt_app_payload_size: the payload's length in bytes. */
static inline size_t pt_app_payload_size(pt_app_payload payload) {
  return payload.pt__len;
}

/*
 * pt_app_copy: copies up to n bytes of the payload, starting at payload_off,
 * to out[out_off..], clipped to what the payload holds and to the 42 bytes
 * of out: it never reads past the payload nor writes past out, for any
 * offsets and lengths (no overflow either).  Bytes of out it does not reach
 * keep their value (zero, in to_trace_data).
 * Returns the number of bytes copied (0 .. n).  Thread-safety: safe.
 */
static inline size_t pt_app_copy(uint8_t out[PT_APP_DATA_SIZE], size_t out_off,
                                 pt_app_payload payload, size_t payload_off,
                                 size_t n) {
  if (out == NULL || payload_off >= payload.pt__len ||
      out_off >= PT_APP_DATA_SIZE) {
    return 0;
  }
  size_t available = payload.pt__len - payload_off;
  size_t room = PT_APP_DATA_SIZE - out_off;
  if (n > available) {
    n = available;
  }
  if (n > room) {
    n = room;
  }
  memcpy(out + out_off, payload.pt__bytes + payload_off, n);
  return n;
}

/* ---- Registry ----------------------------------------------------------- */

/*
 * pt_app_registry_create: allocates an empty registry of
 * PT_APP_REGISTRY_CAPACITY slots; it never allocates again.
 * Returns PT_OK and sets *out; PT_ERR_INVALID if out is NULL; PT_ERR_NOMEM.
 * Thread-safety: safe.
 */
PT_API int pt_app_registry_create(pt_app_registry **out);

/*
 * pt_app_registry_destroy: frees the registry (not the descriptors, which
 * belong to the caller).  NULL is ignored.
 * Thread-safety: no thread may use the registry during or after the call.
 */
PT_API void pt_app_registry_destroy(pt_app_registry *registry);

/*
 * pt_app_register: adds a protocol.  The registry keeps the pointer: see the
 * lifetime rule at struct pt_app_protocol.
 * Returns PT_OK; PT_ERR_INVALID if registry or app is NULL, app's id is all
 * zero or to_trace_data / describe_command is NULL; PT_ERR_EXISTS if a
 * protocol with the same id is registered; PT_ERR_FULL if all
 * PT_APP_REGISTRY_CAPACITY slots are taken.  On error nothing changes.
 * Thread-safety: safe with every other registry call and with logging;
 * registrations and unregistrations are serialised by a mutex that lookups
 * never take.  Not for the hot path.
 */
PT_API int pt_app_register(pt_app_registry *registry,
                           const pt_app_protocol *app);

/*
 * pt_app_unregister: removes the protocol with this 4-byte id.  Later
 * lookups miss it; a logger that found it just before may still finish its
 * call with it (hence the lifetime rule), so its event may appear after
 * unregistration.  Events logged for it afterwards are handled as for any
 * unregistered id (see pt_app_log_command).
 * Returns PT_OK; PT_ERR_INVALID for NULL arguments; PT_ERR_NOT_FOUND if no
 * protocol with that id is registered.  Thread-safety: as pt_app_register.
 */
PT_API int pt_app_unregister(pt_app_registry *registry, const void *app_id);

/*
 * pt_app_lookup: the registered protocol with this 4-byte id, or NULL (also
 * for NULL arguments).  Lock-free and allocation-free: at most
 * PT_APP_REGISTRY_CAPACITY atomic loads.  A lookup concurrent with the
 * registration or unregistration of the same id sees either state.
 * Thread-safety: safe, concurrently with everything but destroy.
 */
PT_API const pt_app_protocol *pt_app_lookup(const pt_app_registry *registry,
                                            const void *app_id);

/*
 * pt_app_describe: the name of command cmd of protocol app_id, from its
 * describe_command ("STORE_CHUNK"); "UNKNOWN" if the app is not registered
 * (or registry is NULL) or the describer returns NULL.  Never NULL.
 * Thread-safety: as pt_app_lookup.
 */
PT_API const char *pt_app_describe(const pt_app_registry *registry,
                                   const void *app_id, uint16_t cmd);

/*
 * pt_app_registry_get_stats: copies the registry's counters.
 * Returns PT_OK; PT_ERR_INVALID on NULL.  Thread-safety: safe.
 */
PT_API int pt_app_registry_get_stats(const pt_app_registry *registry,
                                     pt_app_registry_stats *out);

/* ---- Logging (the hot path; use the macros below) ----------------------- */

/*
 * pt_app_log_command: records an APP_COMMAND event for command cmd of
 * protocol app_id with the given payload (untrusted; payload may be NULL
 * when len is 0; payload == NULL is read as empty).  The protocol's
 * should_trace decides whether it is recorded (skips are counted in
 * stats.filtered); its to_trace_data fills the event's 42 data bytes.
 * Unregistered app id (or registry NULL): the event is recorded anyway, with
 * its app id and cmd but all-zero data (nobody interprets the payload), and
 * counted in stats.unknown_app when registry is not NULL.
 * Like the PT_EMIT macros: never fails, never blocks, never allocates;
 * log == NULL or app_id == NULL: nothing happens.
 * Thread-safety: safe from any number of threads.
 */
PT_API void pt_app_log_command(pt_log *log, const pt_app_registry *registry,
                               pt_trace_id trace_id, const void *app_id,
                               uint16_t cmd, const void *payload, size_t len);

/*
 * pt_app_log_command_flags: as pt_app_log_command, for a command of a trace
 * whose context is known: the event carries the context's trace flags (the
 * bits of PT_TRACE_FLAGS_MASK; pt_app_log_command records 0).
 */
PT_API void pt_app_log_command_flags(pt_log *log,
                                     const pt_app_registry *registry,
                                     pt_trace_id trace_id, pt_trace_flags flags,
                                     const void *app_id, uint16_t cmd,
                                     const void *payload, size_t len);

/*
 * pt_app_log_start: as pt_app_log_command, but records an APP_START event
 * and fills *span (the start time, trace id, app id and cmd) for
 * pt_app_log_end.  If should_trace skips the command, or log or app_id is
 * NULL, nothing is recorded and span->recorded is 0.  span must not be NULL.
 */
PT_API void pt_app_log_start(pt_log *log, const pt_app_registry *registry,
                             pt_trace_id trace_id, const void *app_id,
                             uint16_t cmd, const void *payload, size_t len,
                             pt_app_span *span);

/*
 * pt_app_log_start_flags: as pt_app_log_start, with the trace flags of the
 * request's context, which its APP_START event carries and *span keeps for
 * the APP_END event (pt_app_log_start records 0).
 */
PT_API void pt_app_log_start_flags(pt_log *log, const pt_app_registry *registry,
                                   pt_trace_id trace_id, pt_trace_flags flags,
                                   const void *app_id, uint16_t cmd,
                                   const void *payload, size_t len,
                                   pt_app_span *span);

/*
 * pt_app_log_end: records the APP_END event of the request *span began:
 * same trace id, trace flags, app id and cmd, ok (nonzero: success) and the
 * duration in microseconds since pt_app_log_start (pt_clock_now_us; 0 if the
 * clock went back).  Nothing if span is NULL or its start was not recorded; a
 * span ends once (span->recorded is cleared).  Never fails, blocks or
 * allocates.
 */
PT_API void pt_app_log_end(pt_log *log, pt_app_span *span, int ok);

/* pt_app_span_skip: marks a span as not recorded (a sampled-out request). */
static inline void pt_app_span_skip(pt_app_span *span) {
  memset(span, 0, sizeof *span);
}

/* ---- Printing with command names ---------------------------------------- */

/*
 * pt_app_event_format / pt_app_event_to_json: pt_event_format and
 * pt_event_to_json, plus, for the three app event kinds, the command's name
 * from pt_app_describe: " command=STORE_CHUNK" at the end of the line, or
 * "command":"STORE_CHUNK" as the last member of "data" in JSON (names longer
 * than 63 bytes are cut; JSON escapes are applied).  Other kinds print
 * exactly as with pt_event_format / pt_event_to_json.  registry may be NULL
 * (every command then reads "UNKNOWN").
 * Returns the length the full text needs (like snprintf); PT_ERR_INVALID
 * for a NULL ev, or a NULL out with out_size > 0.
 * Thread-safety: as pt_app_lookup.
 */
PT_API int pt_app_event_format(const pt_app_registry *registry,
                               const pt_event *ev, char *out, size_t out_size);
PT_API int pt_app_event_to_json(const pt_app_registry *registry,
                                const pt_event *ev, char *out, size_t out_size);

/* ---- The zero-cost layer, app branch ------------------------------------ */

/* PT_IF_APP(stmts): the statements, in PT_TRACE_APP builds only. */
#define PT_IF_APP(...) __VA_ARGS__
/* PT_APP_FIELD(decls): struct members / declarations for PT_TRACE_APP. */
#define PT_APP_FIELD(...) __VA_ARGS__

/*
 * PT_APP_COMMAND(log, registry, trace_id, app_id, cmd, payload, len): one
 * command of an application protocol (pt_app_log_command), if the trace is
 * sampled (PT_TRACE_SAMPLED).
 */
#define PT_APP_COMMAND(log, registry, trace_id, app_id, cmd, payload, len)     \
  PT_APP_COMMAND_FLAGS(log, registry, trace_id, 0, app_id, cmd, payload, len)

/*
 * PT_APP_START(log, registry, span, trace_id, app_id, cmd, payload, len):
 * a request begins (pt_app_log_start); span is a pt_app_span lvalue, filled
 * here and handed to PT_APP_END.  A sampled-out trace records nothing and
 * leaves the span marked "not recorded".
 */
#define PT_APP_START(log, registry, span, trace_id, app_id, cmd, payload, len) \
  PT_APP_START_FLAGS(log, registry, span, trace_id, 0, app_id, cmd, payload,   \
                     len)

/*
 * PT_APP_COMMAND_FLAGS and PT_APP_START_FLAGS: the same with the trace flags
 * of the request's context after the trace id (e.g. ctx.trace_id, ctx.flags
 * of a pt_trace_ctx, or header.trace_id, header.flags of a pt_msg_header
 * received with the request), so that the app events of a trace carry the
 * flags its context has, as on the wire.  PT_APP_END then repeats them.
 */
#define PT_APP_COMMAND_FLAGS(log, registry, trace_id, flags, app_id, cmd,      \
                             payload, len)                                     \
  do {                                                                         \
    pt_trace_id pt__app_trace = (trace_id);                                    \
    if (PT_TRACE_SAMPLED(pt__app_trace)) {                                     \
      pt_app_log_command_flags((log), (registry), pt__app_trace,               \
                               (pt_trace_flags)(flags), (app_id),              \
                               (uint16_t)(cmd), (payload), (len));             \
    }                                                                          \
  } while (0)

#define PT_APP_START_FLAGS(log, registry, span, trace_id, flags, app_id, cmd,  \
                           payload, len)                                       \
  do {                                                                         \
    pt_trace_id pt__app_trace = (trace_id);                                    \
    if (PT_TRACE_SAMPLED(pt__app_trace)) {                                     \
      pt_app_log_start_flags((log), (registry), pt__app_trace,                 \
                             (pt_trace_flags)(flags), (app_id),                \
                             (uint16_t)(cmd), (payload), (len), &(span));      \
    } else {                                                                   \
      pt_app_span_skip(&(span));                                               \
    }                                                                          \
  } while (0)

/* PT_APP_END(log, span, ok): the request of span ends (pt_app_log_end). */
#define PT_APP_END(log, span, ok) pt_app_log_end((log), &(span), (ok))

#else /* !PT_TRACE_APP =================================================== */

/* ======================================================================== */
/* 4. Other builds (PT_TRACE_APP=0, tracing on or off): nothing at all       */
/* ======================================================================== */
/*
 * Arguments are not evaluated (not even compiled), so they may name the
 * registry, spans and variables that exist only in app builds.  No function
 * of this layer is declared.
 */
#define PT_IF_APP(...)
#define PT_APP_FIELD(...)
#define PT_APP_COMMAND(log, registry, trace_id, app_id, cmd, payload, len)     \
  ((void)0)
#define PT_APP_START(log, registry, span, trace_id, app_id, cmd, payload, len) \
  ((void)0)
#define PT_APP_COMMAND_FLAGS(log, registry, trace_id, flags, app_id, cmd,      \
                             payload, len)                                     \
  ((void)0)
#define PT_APP_START_FLAGS(log, registry, span, trace_id, flags, app_id, cmd,  \
                           payload, len)                                       \
  ((void)0)
#define PT_APP_END(log, span, ok) ((void)0)

#endif /* PT_TRACE_APP */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_APP_H */
