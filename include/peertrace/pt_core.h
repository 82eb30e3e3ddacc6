/*
 * peertrace core: build switches, types and the library's functions.
 *
 * Users include <peertrace/peertrace.h>, which includes this file; read
 * peertrace.h first (the usage guide and the macros you call).  This file
 * is the reference for what those macros record and for the log's own
 * functions; reading a log back is in pt_read.h (queries, followers), dumps
 * and exports in pt_exporter.h:
 *
 *   1. Build switches      PT_TRACE, PT_TRACE_APP, PT_TRACE_INDEX, ...
 *   2. Types               events, trace ids, log configuration (always there)
 *   3. Trace builds        the library's functions and sampling
 */
#ifndef PEERTRACE_PT_CORE_H
#define PEERTRACE_PT_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <peertrace/pt_events.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* 1. Build switches                                                         */
/* ======================================================================== */
/*
 * Build switches, as preprocessor switches (0 or 1).  The CMake options of
 * the same names set them on the peertrace::peertrace target, so code that
 * links it follows the library's build.  Implications: FULL = TRACE + APP +
 * INDEX; APP, INDEX, MINIMAL and SAMPLE each imply TRACE.  All default to 0:
 * a release build records nothing.
 */
#ifndef PT_TRACE
#define PT_TRACE 0
#endif
#ifndef PT_TRACE_APP
#define PT_TRACE_APP 0
#endif
#ifndef PT_TRACE_INDEX
#define PT_TRACE_INDEX 0
#endif
#ifndef PT_TRACE_FULL
#define PT_TRACE_FULL 0
#endif
#ifndef PT_TRACE_MINIMAL
#define PT_TRACE_MINIMAL 0
#endif
#ifndef PT_TRACE_SAMPLE
#define PT_TRACE_SAMPLE 0
#endif

#if PT_TRACE_FULL
#undef PT_TRACE_APP
#define PT_TRACE_APP 1
#undef PT_TRACE_INDEX
#define PT_TRACE_INDEX 1
#endif
#if PT_TRACE_APP || PT_TRACE_INDEX || PT_TRACE_MINIMAL || PT_TRACE_SAMPLE
#undef PT_TRACE
#define PT_TRACE 1
#endif

/*
 * Default ring capacity in events (128 bytes each): 65536 (8 MiB), or 4096
 * (512 KiB) with PT_TRACE_MINIMAL.  A compile-time power of two; a log may
 * be created with another power of two through pt_log_config.capacity.
 */
#if PT_TRACE_MINIMAL
#define PT_LOG_DEFAULT_CAPACITY 4096u
#else
#define PT_LOG_DEFAULT_CAPACITY 65536u
#endif
/* Smallest capacity pt_log_create accepts. */
#define PT_LOG_MIN_CAPACITY 16u

/* ======================================================================== */
/* 2. Types (present in every build; they cost nothing)                      */
/* ======================================================================== */

/*
 * Error codes: one table, the single source of values, names and texts.
 * PT_ERR_INVALID: an argument the call never accepts (NULL, out of range,
 * malformed).  PT_ERR_STATE: a call valid in itself that the object refuses
 * at this point of its life (a node added after the first event, an event
 * after the end or older than the last one).
 */
#define PT_ERROR_TABLE(X)                                                      \
  X(PT_OK, 0, "success")                                                       \
  X(PT_ERR_INVALID, -1, "invalid argument")                                    \
  X(PT_ERR_NOMEM, -2, "out of memory")                                         \
  X(PT_ERR_PARSE, -3, "malformed input")                                       \
  X(PT_ERR_BUFFER, -4, "output buffer too small")                              \
  X(PT_ERR_CLOCK, -5, "no usable clock")                                       \
  X(PT_ERR_EXISTS, -6, "already exists")                                       \
  X(PT_ERR_FULL, -7, "no free slot left")                                      \
  X(PT_ERR_NOT_FOUND, -8, "not found")                                         \
  X(PT_ERR_STATE, -9, "not allowed at this point")                             \
  X(PT_ERR_IO, -20, "input/output error")                                      \
  X(PT_ERR_DUMP_MAGIC, -21, "not a peertrace dump file")                       \
  X(PT_ERR_DUMP_VERSION, -22, "unsupported dump format version")               \
  X(PT_ERR_DUMP_TRUNCATED, -23, "dump file truncated")                         \
  X(PT_ERR_DUMP_HEADER, -24, "invalid dump header")                            \
  X(PT_ERR_DUMP_EVENT, -25, "invalid event record in dump")                    \
  X(PT_ERR_DUMP_CHECKSUM, -26, "dump checksum mismatch")                       \
  X(PT_ERR_FORMAT, -30, "not a peertrace log file")                            \
  X(PT_ERR_VERSION, -31, "unsupported log file version")                       \
  X(PT_ERR_PERMISSION, -32, "not a regular file owned by this user")           \
  X(PT_ERR_LOG_TRUNCATED, -33, "truncated peertrace log file")                 \
  X(PT_ERR_LOG_HEADER, -34, "corrupt peertrace log header")                    \
  X(PT_ERR_LOG_CHANGED, -35, "log file changed while being read")

enum pt_error {
#define PT__ERROR_ENUM(name, value, text) name = value,
  PT_ERROR_TABLE(PT__ERROR_ENUM)
#undef PT__ERROR_ENUM
};

/* 128-bit trace id, W3C compatible.  All-zero means "no trace". */
typedef struct pt_trace_id {
  uint8_t bytes[16];
} pt_trace_id;

/* Trace flags, one byte.  SAMPLED has the W3C traceparent meaning (0x01). */
#define PT_FLAG_SAMPLED 0x01u
#define PT_FLAG_DEBUG 0x02u
#define PT_FLAG_APP_INITIATED 0x04u
typedef uint8_t pt_trace_flags;
/*
 * The trace flag bits an event records (pt_event.flags keeps the others for
 * itself): the *_FLAGS macros and the QUIC adapter keep these bits of a
 * context's flags and drop the rest.
 */
#define PT_TRACE_FLAGS_MASK                                                    \
  (PT_FLAG_SAMPLED | PT_FLAG_DEBUG | PT_FLAG_APP_INITIATED)

/* A trace context: what travels with a request. */
typedef struct pt_trace_ctx {
  pt_trace_id trace_id;
  uint64_t start_time_us; /* Unix microseconds when the trace began */
  pt_trace_flags flags;
} pt_trace_ctx;

/*
 * The trace header of a message.  Embed it only through PT_TRACE_FIELD so it
 * exists in trace builds alone (C has no zero-sized types; what matters is
 * that release builds neither store nor send it).
 */
typedef struct pt_msg_header {
  pt_trace_id trace_id;
  pt_trace_flags flags;
} pt_msg_header;

/* A 32-byte node or peer id (e.g. a hash of the node's public key). */
#define PT_NODE_ID_SIZE 32u

/* A socket address (IPv4 or IPv6 and a port) in 20 bytes. */
typedef struct pt_endpoint {
  uint8_t family;   /* 0 = none, 4 = IPv4, 6 = IPv6 */
  uint8_t reserved; /* zero */
  uint16_t port;    /* host byte order */
  uint8_t addr[16]; /* IPv4 in the first 4 bytes */
} pt_endpoint;

/* QUIC packet number spaces, for the packet events' `space` field. */
#define PT_PN_SPACE_INITIAL 0u
#define PT_PN_SPACE_HANDSHAKE 1u
#define PT_PN_SPACE_APPLICATION 2u

/* Event kinds, from the event table. */
typedef enum pt_event_kind {
  PT_EV_NONE = 0,
#define PT__KIND_ENUM(KIND, id, name, desc) PT_EV_##KIND = id,
  PT_EVENT_TABLE(PT__KIND_ENUM)
#undef PT__KIND_ENUM
      PT_EV_KIND_LIMIT
} pt_event_kind;

/* The payload structs (struct pt_<name>_data, one per event kind, with the
 * table's fields) and the setters' argument structs, generated from the
 * event table. */
#include <peertrace/detail/pt__types.h>

/*
 * Event flag bits (pt_event.flags): the trace flags of the event's context
 * (bits 0-2, PT_TRACE_FLAGS_MASK) and PT_EVENT_HAS_PEER (bit 7).  Bits 3-6
 * are reserved: pt_log_write rejects an event that sets one.
 */
#define PT_EVENT_HAS_PEER 0x80u

/*
 * One recorded event: exactly 128 bytes, no pointers.
 *
 * 128 bytes: 8 + 16 + 32 + 4 + 2 + 1 + 1 + 64.  The local node id is not in
 * the event: it is a property of the log (one log per node, see
 * pt_log_config.node_id), stored once in the log and in every dump header.
 * Whether peer_id is set is a flag bit (PT_EVENT_HAS_PEER).
 */
typedef struct pt_event {
  uint64_t timestamp_us; /* Unix microseconds, set by pt_log_write */
  pt_trace_id trace_id;  /* 128-bit correlation id (zero: none) */
  uint8_t peer_id[32];   /* remote peer, valid if flags & PT_EVENT_HAS_PEER */
  uint32_t sequence;     /* caller's sequence number (per connection, ...) */
  uint16_t kind;         /* pt_event_kind */
  uint8_t flags;         /* pt_trace_flags | PT_EVENT_HAS_PEER */
  uint8_t reserved;      /* zero */
  union {
#define PT__PAYLOAD_MEMBER(KIND, id, name, desc) struct pt_##name##_data name;
    PT_EVENT_TABLE(PT__PAYLOAD_MEMBER)
#undef PT__PAYLOAD_MEMBER
    uint8_t raw[64];
  } data;
} pt_event;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(pt_event) == 128, "pt_event must be 128 bytes");
_Static_assert(offsetof(pt_event, data) == 64, "payload starts at byte 64");
_Static_assert(offsetof(pt_event, sequence) == 56 &&
                   offsetof(pt_event, kind) == 60 &&
                   offsetof(pt_event, flags) == 62,
               "header word layout used by pt__log_write_parts");
_Static_assert(sizeof(pt_endpoint) == 20, "pt_endpoint is 20 bytes");
#endif

/* Log configuration; initialise with pt_log_config_init(). */
typedef struct pt_log_config {
  size_t capacity;     /* events, power of two >= PT_LOG_MIN_CAPACITY */
  uint8_t node_id[32]; /* this node's id, stamped on queries and dumps */
  /*
   * NULL: the ring lives in private memory.  A path: the ring lives in a
   * shared mapping of that file (mode 0600), readable by pt_log_open() from
   * another process while this one runs, and after it dies.
   * Truncating the file while it is mapped (`> file`, logrotate's
   * copytruncate) would make the next write fault with SIGBUS; the library
   * installs a SIGBUS handler (chaining to the previous one) that moves
   * anonymous memory over the ring instead, so the process keeps running:
   * the log then records nothing more (events are counted as dropped) and
   * pt_log_check() returns PT_ERR_LOG_TRUNCATED.  Never truncate a live log
   * file; see docs/crash-and-live.md for the limits of this guard.
   */
  const char *file_path;
  unsigned file_flags; /* PT_LOG_FILE_REPLACE */
  int no_index; /* 1: no query indices (PT_TRACE_INDEX builds; the queries
                  then scan; see docs/indices.md) */
} pt_log_config;

/*
 * file_flags: replace an existing file (by default creation fails).  The old
 * file is unlinked, not truncated: views of it (pt_log_open, followers) keep
 * reading the old log, whose writer then reads as exited or died.
 */
#define PT_LOG_FILE_REPLACE 1u

/* pt_log_writer_status results. */
#define PT_WRITER_RUNNING 1
#define PT_WRITER_EXITED 2 /* destroyed its log normally */
#define PT_WRITER_DIED 3   /* gone without destroying its log (crash, kill) */

/* Counters of a log (pt_log_get_stats). */
typedef struct pt_log_stats {
  uint64_t capacity;    /* slots in the ring */
  uint64_t overwritten; /* recorded events later overwritten by newer ones */
  uint64_t dropped;     /* events never recorded (no slot could be claimed) */
  uint64_t chunk_size;  /* slots a writer thread claims at a time */
  uint64_t rejected;    /* invalid events refused by pt_log_write / _write_at */
  /*
   * Slots of a log file that cannot be read: their sequence word is one no
   * writer leaves there, or an event their chunk says it holds is missing
   * (the file was damaged).  Their events, if any, are in no query or dump.
   * Counted for file-backed logs and views only (0 in private memory).
   * Also every slot of a chunk whose record kept changing through thousands
   * of looks (a process rewriting the file all the time): the reader stops
   * looking, and its overwritten count then lacks that chunk's last claim.
   */
  uint64_t unreadable;
} pt_log_stats;

/* The log: opaque; exists as a type in every build. */
typedef struct pt_log pt_log;

/* ======================================================================== */
/* 3. Trace builds: the library                                              */
/* ======================================================================== */
#if PT_TRACE

#if defined(_WIN32)
#define PT_API
#else
#define PT_API __attribute__((visibility("default")))
#endif

/*
 * pt_strerror: the text of an error code.
 * Returns a static string; "unknown error" for a value not in the table.
 * Thread-safety: safe.
 */
PT_API const char *pt_strerror(int error);

/* ---- Trace ids ---------------------------------------------------------- */

/*
 * pt_trace_id_new: a fresh random trace id, never all-zero.
 * Uses a per-thread generator seeded once per thread (and again after fork)
 * from the kernel; no system call per id.  Not for cryptographic use.
 * Thread-safety: safe.
 */
PT_API pt_trace_id pt_trace_id_new(void);

/* pt_trace_id_is_zero: 1 if every byte is zero ("no trace"), else 0. */
PT_API int pt_trace_id_is_zero(const pt_trace_id *id);

/*
 * pt_trace_id_to_hex: writes 32 lowercase hex digits and a NUL to out.
 * Returns PT_OK, or PT_ERR_INVALID if id or out is NULL, or PT_ERR_BUFFER if
 * out_size < 33.  Thread-safety: safe.
 */
PT_API int pt_trace_id_to_hex(const pt_trace_id *id, char *out,
                              size_t out_size);

/*
 * pt_trace_id_from_hex: parses exactly 32 hex digits (either case) from
 * text[0..len).  Returns PT_OK; PT_ERR_INVALID for NULL arguments;
 * PT_ERR_PARSE if len != 32 or a character is not a hex digit (out is then
 * left unchanged).  Thread-safety: safe.
 */
PT_API int pt_trace_id_from_hex(const char *text, size_t len, pt_trace_id *out);

/*
 * pt_trace_ctx_new: a new context: fresh id, start time now, given flags.
 * Thread-safety: safe.
 */
PT_API pt_trace_ctx pt_trace_ctx_new(pt_trace_flags flags);

/* ---- Clock -------------------------------------------------------------- */

/*
 * pt_clock_now_us: the current Unix time in microseconds, from the same clock
 * that stamps events: the CPU's invariant TSC anchored to CLOCK_REALTIME at
 * least once per millisecond per thread, or CLOCK_REALTIME itself where no
 * invariant TSC exists.  Thread-safety: safe.
 */
PT_API uint64_t pt_clock_now_us(void);

/* ---- Endpoints ---------------------------------------------------------- */

/*
 * pt_endpoint_from_sockaddr: converts a struct sockaddr_in / sockaddr_in6
 * (passed as const void *, with its length) to a pt_endpoint.
 * Returns PT_OK; PT_ERR_INVALID for NULL, a length too short for its family
 * or a family other than AF_INET / AF_INET6.  Thread-safety: safe.
 */
PT_API int pt_endpoint_from_sockaddr(const void *sa, size_t sa_len,
                                     pt_endpoint *out);

/* ---- Log lifecycle ------------------------------------------------------ */

/*
 * pt_log_config_init: default configuration (PT_LOG_DEFAULT_CAPACITY, node
 * id all zero).  Thread-safety: safe.
 */
PT_API void pt_log_config_init(pt_log_config *cfg);

/*
 * pt_log_create: allocates a log and its whole ring at once; its memory
 * never changes size afterwards.  cfg may be NULL for the defaults.
 * Returns PT_OK and sets *out; PT_ERR_INVALID if out is NULL or the capacity
 * is not a power of two >= PT_LOG_MIN_CAPACITY (or above 2^30);
 * PT_ERR_NOMEM if memory is short.  With cfg->file_path: PT_ERR_PERMISSION
 * if the path is a symlink (dangling or not, with or without
 * PT_LOG_FILE_REPLACE: a log is never created through one, and the link is
 * left alone) or, with PT_LOG_FILE_REPLACE, not a regular file of this
 * user; PT_ERR_EXISTS if something else is at the path and
 * PT_LOG_FILE_REPLACE is not set; PT_ERR_IO if the file cannot be created,
 * sized or mapped (a mapping refused for lack of memory or address space:
 * PT_ERR_NOMEM, as for every log file mapping).
 * Thread-safety: safe.  The first call calibrates the clock (~2 ms).
 */
PT_API int pt_log_create(pt_log **out, const pt_log_config *cfg);

/*
 * pt_log_open: a read-only view of a log file made with
 * pt_log_config.file_path, from this or another process, while its writer
 * runs or after it died.  The view supports every query, pt_log_get_stats,
 * pt_log_node_id, pt_log_writer_status and pt_follow; events whose write had
 * not completed when the writer died are never returned.  Close it with
 * pt_log_close.  Returns PT_OK; PT_ERR_INVALID for NULL; PT_ERR_NOT_FOUND;
 * PT_ERR_PERMISSION if the path is not a regular file owned by this user
 * (symlinks are not followed; a FIFO or device is opened non-blocking and
 * refused at once, never waited on); PT_ERR_FORMAT if it does not start with
 * the log magic (not a peertrace log: perhaps a dump); PT_ERR_LOG_TRUNCATED if
 * it has the magic but is shorter than a header or than its header says;
 * PT_ERR_LOG_HEADER if it has the magic but a header that is not a valid
 * layout (the magic followed by zeros too), or is longer than its header
 * says; PT_ERR_VERSION for another format version (non-zero, next to a
 * valid byte order mark); PT_ERR_NOMEM (no memory or address space for the
 * mapping or the view); PT_ERR_IO (reading or mapping failed otherwise).
 * The header is read once into private memory, validated, and only that copy
 * is used (geometry, node id, writer identity): rewriting the file's header
 * later cannot move a reader out of its mapping.  A file truncated while it
 * is mapped cannot kill the reader with SIGBUS: the library's SIGBUS handler
 * turns the view into empty memory and pt_log_check reports it (see
 * docs/crash-and-live.md for how, and its limits).
 * Thread-safety: safe.  A write through a view (its const cast away) records
 * nothing and changes nothing: the file is mapped read-only.
 */
PT_API int pt_log_open(const pt_log **out, const char *path);

/* Sizes of a log file, for error messages (pt_log_open_ex, pt_log_check). */
typedef struct pt_log_file_info {
  uint64_t file_size;   /* bytes in the file when it was looked at */
  uint64_t header_size; /* bytes its header says it has; 0: not read */
} pt_log_file_info;

/*
 * pt_log_open_ex: pt_log_open, and with info non-NULL the file's size and
 * the size its header gives (whatever the result, e.g. to say "truncated
 * peertrace log: N bytes, header says M").
 */
PT_API int pt_log_open_ex(const pt_log **out, const char *path,
                          pt_log_file_info *info);

/*
 * pt_log_check: whether a log's file is still the file that was opened (or
 * created), for a reader to call after a pass over a view.  Returns PT_OK;
 * PT_ERR_LOG_TRUNCATED if the file is shorter now or a read hit its end (the
 * view then reads as empty: what was read after that is not the file's);
 * PT_ERR_LOG_CHANGED if it is longer or its header was rewritten (another
 * program wrote into it); PT_ERR_IO if it cannot be examined; PT_ERR_INVALID
 * for NULL.  PT_OK for a log in private memory.  info (may be NULL)
 * receives the file's size now and the size it had.
 * Thread-safety: safe.
 */
PT_API int pt_log_check(const pt_log *log, pt_log_file_info *info);

/* pt_log_close: closes a view from pt_log_open.  NULL is ignored. */
PT_API void pt_log_close(const pt_log *log);

/*
 * pt_log_writer_status: whether the process that writes a log is running
 * (PT_WRITER_RUNNING), destroyed the log (PT_WRITER_EXITED) or is gone
 * without doing so (PT_WRITER_DIED).  PT_ERR_INVALID for NULL.
 * Thread-safety: safe.
 */
PT_API int pt_log_writer_status(const pt_log *log);

/*
 * pt_log_destroy: frees the log (a file-backed log's file stays, marked
 * closed).  NULL is ignored.
 * Thread-safety: no thread may write to or query the log during or after the
 * call.
 */
PT_API void pt_log_destroy(pt_log *log);

/*
 * pt_log_write: records one event built by the caller.
 * Copies *ev into the ring and stamps it with the current time (the caller's
 * timestamp_us is ignored; see pt_log_write_at).  Lock-free and wait-free
 * for the caller: it never blocks on other writers, never allocates.  When
 * the ring is full the oldest events are overwritten and counted
 * (pt_log_stats.overwritten); an event that finds no free slot is counted as
 * dropped.
 * The event is checked first, as a dump loader would check it: a known kind
 * (1 .. PT_EV_KIND_LIMIT - 1), no flag bits but PT_TRACE_FLAGS_MASK and
 * PT_EVENT_HAS_PEER, reserved byte 0, an all-zero peer id unless
 * PT_EVENT_HAS_PEER is set.  An event that fails is not recorded and is
 * counted in pt_log_stats.rejected, so that one bad event can never make
 * the log's dumps unreadable.  (The PT_EMIT macros build only valid events
 * and skip this check.)
 * Returns PT_OK (recorded); PT_ERR_INVALID for log or ev NULL (nothing
 * counted) or an invalid event (rejected); PT_ERR_FULL if no slot could be
 * claimed (dropped).  Ignoring the result is fine: losses are counted.
 * Thread-safety: any number of threads may write concurrently, with readers.
 * A thread keeps a claimed chunk of 256 slots open in up to 32 logs; writing
 * to more logs in turn closes chunks early (wasting ring space) and takes a
 * lock in those writes.
 */
PT_API int pt_log_write(pt_log *log, const pt_event *ev);

/*
 * pt_log_write_at: as pt_log_write, but keeps ev->timestamp_us as given (for
 * replaying or importing events).  Same checks and results.
 */
PT_API int pt_log_write_at(pt_log *log, const pt_event *ev);

/*
 * pt_log_get_stats: copies the log's counters.
 * Returns PT_OK; PT_ERR_INVALID if log or out is NULL.  Thread-safety: safe
 * during writes (the counters are read atomically, one by one).  For a log
 * file it reads every slot's sequence word (unreadable).
 */
PT_API int pt_log_get_stats(const pt_log *log, pt_log_stats *out);

/*
 * pt_log_node_id: copies the log's 32-byte node id to out.
 * Returns PT_OK; PT_ERR_INVALID on NULL.  Thread-safety: safe.
 */
PT_API int pt_log_node_id(const pt_log *log, uint8_t out[32]);

/* ---- Event text --------------------------------------------------------- */

/* pt_event_kind_name: "packet_sent", ...; "unknown" for other values. */
PT_API const char *pt_event_kind_name(unsigned kind);

/*
 * pt_event_format: one line of text, e.g. "packet_sent pn=5 size=1200
 * space=2", NUL-terminated, truncated to out_size.  Returns the length the
 * full text needs (like snprintf), or PT_ERR_INVALID for NULL arguments.
 */
PT_API int pt_event_format(const pt_event *ev, char *out, size_t out_size);

/*
 * pt_event_to_json: one JSON object with every field named and decoded:
 * {"timestamp_us":..,"kind":"packet_sent","trace_id":"<32 hex>","sequence":..,
 *  "sampled":..,"debug":..,"app_initiated":..,"peer_id":"<64 hex>"|null,
 *  "data":{<fields of the kind, in table order>}}.  Integers above 2^53 - 1
 * (not exact in JavaScript) are written as decimal strings; an app id as its
 * 4 characters, a byte that is not printable ASCII (or is '"' or '\') as
 * \xNN, as in every text output and export.
 * Returns as pt_event_format.
 */
PT_API int pt_event_to_json(const pt_event *ev, char *out, size_t out_size);

/* ---- Building events ---------------------------------------------------- */

/*
 * pt_event_begin: zeroes *ev and sets its trace id and, if peer_id is not
 * NULL, its 32-byte peer id.  Then one pt_event_set_<kind>() fills the kind
 * and payload.  Thread-safety: touches only *ev.
 */
static inline void pt_event_begin(pt_event *ev, pt_trace_id trace_id,
                                  const uint8_t *peer_id) {
  /* Field by field, each part at most 64 bytes, rather than one 128-byte
   * memset: a few vector stores with every compiler (BENCHMARKS.md). */
  ev->timestamp_us = 0;
  ev->trace_id = trace_id;
  if (peer_id != NULL) {
    memcpy(ev->peer_id, peer_id, sizeof ev->peer_id);
  } else {
    memset(ev->peer_id, 0, sizeof ev->peer_id);
  }
  ev->sequence = 0;
  ev->kind = 0;
  ev->flags = peer_id != NULL ? (uint8_t)PT_EVENT_HAS_PEER : 0;
  ev->reserved = 0;
  memset(&ev->data, 0, sizeof ev->data);
}

/*
 * pt_conn_id_from_cid: the connection identity (the CONN field of the
 * connection events, see pt_events.h) of the QUIC connection whose original
 * destination connection id is cid[0..len): the 64-bit FNV-1a hash of those
 * bytes (never 0).  Both ends compute the same value: the client from the
 * id it chose, the server from the client's first Initial.
 * Returns 0 (unknown) for a NULL cid or len 0.  Thread-safety: safe.
 */
PT_API uint64_t pt_conn_id_from_cid(const uint8_t *cid, size_t len);

/*
 * pt_event_conn: the connection identity of a connection event (0: none
 * recorded, or a kind without one).  pt_event_set_conn: sets it; call it
 * after pt_event_set_<kind>().  Returns PT_OK, or PT_ERR_INVALID for NULL
 * or a kind without a CONN field.  Thread-safety: touch only *ev.
 */
PT_API uint64_t pt_event_conn(const pt_event *ev);
PT_API int pt_event_set_conn(pt_event *ev, uint64_t conn);

/* ---- Sampling (PT_TRACE_SAMPLE) ---------------------------------------- */

/*
 * Sampling rate of PT_TRACE_SAMPLE builds: about one trace in
 * PT_TRACE_SAMPLE_RATE is kept (default 16, i.e. 6.25 %).  Change it with
 * -DPT_TRACE_SAMPLE_RATE=N (N >= 1; 1 keeps every trace) and give every node
 * of a network the same value: the decision is a function of the trace id
 * and the rate only, so nodes built alike keep and drop the same traces.
 */
#ifndef PT_TRACE_SAMPLE_RATE
#define PT_TRACE_SAMPLE_RATE 16u
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(PT_TRACE_SAMPLE_RATE >= 1, "PT_TRACE_SAMPLE_RATE must be >= 1");
#endif

/* A 64-bit finaliser with full avalanche (the splitmix64 output step). */
static inline uint64_t pt__sample_mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9u;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebu;
  x ^= x >> 31;
  return x;
}

/* Bytes [at, at+8) of the id as a little-endian number, on any host. */
static inline uint64_t pt__sample_load(const pt_trace_id *id, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) {
    v |= (uint64_t)id->bytes[at + i] << (8 * i);
  }
  return v;
}

/*
 * pt_trace_sample_keep: the sampling decision for one trace: 1 to keep it, 0
 * to drop it.  A pure function of the 16 id bytes and the rate (the same on
 * every node, host and run): a hash of the id, compared with 2^64 / rate, so
 * about one id in `rate` is kept whatever the ids look like.  rate 0 or 1
 * keeps everything.  The zero id ("no trace") is always kept: its events
 * belong to no trace that sampling could leave incomplete.
 * Thread-safety: safe (no state).
 */
static inline int pt_trace_sample_keep(pt_trace_id trace_id, uint32_t rate) {
  if (rate <= 1u) {
    return 1;
  }
  uint64_t lo = pt__sample_load(&trace_id, 0);
  uint64_t hi = pt__sample_load(&trace_id, 8);
  if ((lo | hi) == 0) {
    return 1;
  }
  uint64_t h = pt__sample_mix(lo ^ pt__sample_mix(hi + 0x9e3779b97f4a7c15u));
  return h <= UINT64_MAX / rate;
}

/*
 * PT_TRACE_SAMPLED(trace_id): the compile-time sampling switch.  With
 * PT_TRACE_SAMPLE=1, pt_trace_sample_keep(trace_id, PT_TRACE_SAMPLE_RATE);
 * otherwise the constant 1 (trace_id not evaluated) and every trace is kept.
 * Every event macro (PT_EMIT, PT_APP_*) consults it, so a trace is kept or
 * dropped whole, on every node.  Use it to guard other trace-only work.
 */
#if PT_TRACE_SAMPLE
#define PT_TRACE_SAMPLED(trace_id)                                             \
  pt_trace_sample_keep((trace_id), PT_TRACE_SAMPLE_RATE)
#else
#define PT_TRACE_SAMPLED(trace_id) 1
#endif

/* ---- W3C traceparent ---------------------------------------------------- */

/* "00-" 32 hex "-" 16 hex "-" 2 hex: 55 characters, plus a NUL. */
#define PT_TRACEPARENT_SIZE 56u

/*
 * pt_traceparent_format: writes the W3C traceparent header value
 * "00-<trace id>-<parent id>-<flags>" (lowercase hex) and a NUL.
 * parent_id is the 8-byte id of the calling span; only the SAMPLED bit of
 * flags is carried (W3C defines no other).
 * Returns PT_OK; PT_ERR_INVALID for NULL arguments or an all-zero trace or
 * parent id (W3C forbids them); PT_ERR_BUFFER if out_size <
 * PT_TRACEPARENT_SIZE.  Thread-safety: safe.
 */
PT_API int pt_traceparent_format(const pt_trace_id *trace_id,
                                 const uint8_t parent_id[8],
                                 pt_trace_flags flags, char *out,
                                 size_t out_size);

/*
 * pt_traceparent_parse: parses a traceparent value of length len.  Version
 * 00 must be exactly 55 characters; a higher version (not ff) may carry
 * more after a '-' (W3C forward compatibility).  Hex must be lowercase.
 * Sets *trace_id, parent_id[0..8) and *flags (the SAMPLED bit only).
 * Returns PT_OK; PT_ERR_INVALID for NULL arguments; PT_ERR_PARSE for
 * malformed text, version ff, or an all-zero trace or parent id (outputs
 * unchanged).  Thread-safety: safe.
 */
PT_API int pt_traceparent_parse(const char *text, size_t len,
                                pt_trace_id *trace_id, uint8_t parent_id[8],
                                pt_trace_flags *flags);

#else /* !PT_TRACE */
#define PT_TRACE_SAMPLED(trace_id) 1
#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_CORE_H */
