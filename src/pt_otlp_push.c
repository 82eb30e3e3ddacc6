/*
 * pt_otlp_push: OTLP/HTTP POSTs of an OTLP export's lines, with libcurl's
 * multi interface (see pt_otlp_push.h).  The stream is a fopencookie
 * stream whose writes collect bytes into a line; each complete line is cut
 * into requests (pt_otlp_split.h), each put in one of PT__PUSH_WINDOW
 * slots, which holds it through its attempts.  The transfers move on
 * whenever the exporter writes, so the collector decodes some requests
 * while the exporter builds the next; a full window waits for a slot.
 * Everything runs on the caller's thread.
 */
#define _GNU_SOURCE /* fopencookie */
#include <peertrace/pt_otlp_push.h>

#include "pt_otlp_proto.h"
#include "pt_otlp_split.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PT__PUSH_BODY_MAX 512 /* of an answer kept for messages */
/* Requests in flight at most: the next are built and sent while a
 * collector decodes the last ones. */
#define PT__PUSH_WINDOW 4
/* Of a request's JSON: a longer export line is cut into requests of its
 * spans (pt_otlp_split.h says why). */
#define PT__PUSH_REQUEST_BYTES (128u * 1024u)
/* Bytes written between two calls that move the transfers on. */
#define PT__PUSH_PUMP_BYTES (64u * 1024u)

enum pt__push_state {
  PT__SLOT_FREE,
  PT__SLOT_SENDING, /* added to the multi handle */
  PT__SLOT_WAITING  /* backing off until `due` before its next attempt */
};

/* One request and its attempts. */
typedef struct pt__push_slot {
  CURL *curl;
  enum pt__push_state state;
  pt__pb_buf body; /* what is POSTed: JSON or protobuf */
  uint64_t spans;
  unsigned attempt; /* attempts made */
  unsigned wait;    /* the next backoff, ms */
  uint64_t due;     /* PT__SLOT_WAITING: monotonic ms of the next attempt */
  /* The answer of the attempt in progress. */
  char answer[PT__PUSH_BODY_MAX + 1];
  size_t answer_len;
  long retry_after_s; /* -1: no Retry-After */
} pt__push_slot;

struct pt_otlp_push {
  CURLM *multi;
  struct curl_slist *headers;
  char url[2048];
  pt_otlp_push_options opt;
  FILE *stream;
  char *line; /* bytes of the line being written */
  size_t len, cap;
  size_t unpumped; /* bytes written since the transfers last moved on */
  int failed;      /* a request failed: no new attempt, writes fail */
  pt_otlp_push_stats stats;
  pt__otlp_split split;
  pt__pb_buf json; /* a request's JSON, before its protobuf encoding */
  pt__push_slot slots[PT__PUSH_WINDOW];
  char error[2600]; /* url (<= 2047) + reason */
};

static uint64_t pt__push_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t pt__push_body(char *data, size_t size, size_t n, void *user) {
  pt__push_slot *q = user;
  size_t bytes = size * n;
  size_t room = PT__PUSH_BODY_MAX - q->answer_len;
  size_t take = bytes < room ? bytes : room;
  memcpy(q->answer + q->answer_len, data, take);
  q->answer_len += take;
  q->answer[q->answer_len] = '\0';
  return bytes;
}

static size_t pt__push_header(char *data, size_t size, size_t n, void *user) {
  pt__push_slot *q = user;
  size_t bytes = size * n;
  static const char name[] = "retry-after:";
  if (bytes > sizeof name - 1 &&
      strncasecmp(data, name, sizeof name - 1) == 0) {
    char value[32];
    size_t v = bytes - (sizeof name - 1);
    v = v < sizeof value - 1 ? v : sizeof value - 1;
    memcpy(value, data + sizeof name - 1, v);
    value[v] = '\0';
    char *end;
    long s = strtol(value, &end, 10);
    /* Seconds only; an HTTP date is left to the backoff. */
    if (end != value && s >= 0) {
      q->retry_after_s = s;
    }
  }
  return bytes;
}

/* The spans of a line that is not a request the splitter reads: one
 * "spanId" key each (parentSpanId differs). */
static uint64_t pt__push_span_count(const char *text, size_t len) {
  static const char key[] = "\"spanId\":";
  uint64_t n = 0;
  for (const char *s = text;
       (s = memmem(s, len - (size_t)(s - text), key, sizeof key - 1)) != NULL;
       s += sizeof key - 1) {
    n++;
  }
  return n;
}

/* partialSuccess.rejectedSpans of an answer (a string or a number), or 0. */
static uint64_t pt__push_rejected(const char *body) {
  const char *s = strstr(body, "\"rejectedSpans\"");
  if (s == NULL || (s = strchr(s, ':')) == NULL) {
    return 0;
  }
  s++;
  while (*s == ' ' || *s == '"') {
    s++;
  }
  return strtoull(s, NULL, 10);
}

/* 1 for the answers and failures the OTLP specification retries. */
static int pt__push_retryable(CURLcode res, long status) {
  if (res != CURLE_OK) {
    return res == CURLE_COULDNT_CONNECT || res == CURLE_OPERATION_TIMEDOUT ||
           res == CURLE_SEND_ERROR || res == CURLE_RECV_ERROR ||
           res == CURLE_GOT_NOTHING || res == CURLE_COULDNT_RESOLVE_HOST;
  }
  return status == 429 || status == 502 || status == 503 || status == 504;
}

/* The request of a slot that will not be delivered: counted, the first
 * such failure kept as the push's error. */
static void pt__push_lost(pt_otlp_push *p, pt__push_slot *q) {
  p->stats.spans_failed += q->spans;
  p->failed = 1;
  q->state = PT__SLOT_FREE;
}

/* Starts the slot's next attempt.  0, or -1 (the request is lost). */
static int pt__push_start(pt_otlp_push *p, pt__push_slot *q) {
  q->attempt++;
  q->answer_len = 0;
  q->answer[0] = '\0';
  q->retry_after_s = -1;
  if (curl_multi_add_handle(p->multi, q->curl) != CURLM_OK) {
    if (p->error[0] == '\0') {
      snprintf(p->error, sizeof p->error, "%s: the HTTP client failed", p->url);
    }
    pt__push_lost(p, q);
    return -1;
  }
  q->state = PT__SLOT_SENDING;
  return 0;
}

/* What a finished attempt means for its request: accepted, retried later,
 * or lost (p->error). */
static void pt__push_done(pt_otlp_push *p, pt__push_slot *q, CURLcode res) {
  curl_multi_remove_handle(p->multi, q->curl);
  long status = 0;
  if (res == CURLE_OK) {
    curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
  }
  p->stats.last_status = status;
  if (res == CURLE_OK && status >= 200 && status < 300) {
    uint64_t rejected = pt__push_rejected(q->answer);
    rejected = rejected < q->spans ? rejected : q->spans;
    p->stats.requests++;
    p->stats.spans_sent += q->spans - rejected;
    p->stats.spans_rejected += rejected;
    q->state = PT__SLOT_FREE;
    return;
  }
  int retry = pt__push_retryable(res, status);
  if (retry && q->attempt < p->opt.max_attempts && !p->failed) {
    unsigned pause = q->wait;
    if (q->retry_after_s >= 0) {
      unsigned long ms = (unsigned long)q->retry_after_s * 1000ul;
      pause = ms > p->opt.max_backoff_ms ? p->opt.max_backoff_ms : (unsigned)ms;
    }
    q->wait = q->wait * 2 > p->opt.max_backoff_ms ? p->opt.max_backoff_ms
                                                  : q->wait * 2;
    q->due = pt__push_now_ms() + pause;
    q->state = PT__SLOT_WAITING;
    p->stats.retries++;
    return;
  }
  if (p->error[0] == '\0') {
    if (res != CURLE_OK) {
      snprintf(p->error, sizeof p->error,
               "%s: unreachable after %u attempt%s: %s", p->url, q->attempt,
               q->attempt == 1 ? "" : "s", curl_easy_strerror(res));
    } else if (retry) {
      snprintf(p->error, sizeof p->error,
               "%s: gave up after %u attempts: HTTP %ld: %.300s", p->url,
               q->attempt, status, q->answer);
    } else {
      snprintf(p->error, sizeof p->error, "%s: refused: HTTP %ld: %.300s",
               p->url, status, q->answer);
    }
  }
  pt__push_lost(p, q);
}

enum pt__push_until {
  PT__UNTIL_NOW,  /* only what is ready */
  PT__UNTIL_SLOT, /* a slot is free */
  PT__UNTIL_IDLE  /* every slot is free: all delivered or lost */
};

/*
 * Moves the transfers on: starts the attempts that are due, collects the
 * finished ones, waiting as `until` says.  After a failure nothing new is
 * started: a request waiting for its retry is lost.
 */
static void pt__push_pump(pt_otlp_push *p, enum pt__push_until until) {
  for (;;) {
    uint64_t now = pt__push_now_ms(), next_due = UINT64_MAX;
    int sending = 0;
    for (size_t i = 0; i < PT__PUSH_WINDOW; i++) {
      pt__push_slot *q = &p->slots[i];
      if (q->state == PT__SLOT_WAITING && p->failed) {
        pt__push_lost(p, q);
      } else if (q->state == PT__SLOT_WAITING && q->due <= now) {
        pt__push_start(p, q);
      } else if (q->state == PT__SLOT_WAITING && q->due < next_due) {
        next_due = q->due;
      }
      sending += q->state == PT__SLOT_SENDING;
    }
    int running = 0;
    if (sending > 0) {
      curl_multi_perform(p->multi, &running);
      CURLMsg *m;
      int left;
      while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        char *slot = NULL;
        if (m->msg == CURLMSG_DONE &&
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &slot) ==
                CURLE_OK &&
            slot != NULL) {
          pt__push_done(p, (pt__push_slot *)(void *)slot, m->data.result);
        }
      }
    }
    size_t free_slots = 0;
    for (size_t i = 0; i < PT__PUSH_WINDOW; i++) {
      free_slots += p->slots[i].state == PT__SLOT_FREE;
    }
    if (until == PT__UNTIL_NOW || (until == PT__UNTIL_SLOT && free_slots > 0) ||
        free_slots == PT__PUSH_WINDOW) {
      return;
    }
    /* Wait for a socket, or for the next retry that is due. */
    long ms = 1000;
    if (next_due != UINT64_MAX) {
      uint64_t wait = next_due > now ? next_due - now : 0;
      ms = wait < 1000 ? (long)wait : 1000;
    }
    if (running > 0) {
      curl_multi_poll(p->multi, NULL, 0, (int)ms, NULL);
    } else if (ms > 0 && sending == 0) {
      struct timespec ts = {0, ms * 1000000L};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    }
  }
}

/* A free slot (waiting for one), or NULL after a failure. */
static pt__push_slot *pt__push_slot_free(pt_otlp_push *p) {
  for (;;) {
    if (p->failed) {
      return NULL;
    }
    for (size_t i = 0; i < PT__PUSH_WINDOW; i++) {
      if (p->slots[i].state == PT__SLOT_FREE) {
        return &p->slots[i];
      }
    }
    pt__push_pump(p, PT__UNTIL_SLOT);
  }
}

/* Puts a request's JSON (json, spans) in a free slot and starts it.
 * 0, or -1 (the push failed: this request, or an earlier one). */
static int pt__push_queue(pt_otlp_push *p, const char *json, size_t len,
                          uint64_t spans) {
  pt__push_slot *q = pt__push_slot_free(p);
  if (q == NULL) {
    p->stats.spans_failed += spans;
    return -1;
  }
  q->body.len = 0;
  int rc = p->opt.protobuf ? pt__otlp_json_to_proto(json, len, &q->body)
                           : pt__pb_buf_reserve(&q->body, len);
  if (rc == PT_OK && !p->opt.protobuf) {
    memcpy(q->body.data, json, len);
    q->body.len = len;
  }
  q->spans = spans;
  if (rc != PT_OK) {
    snprintf(p->error, sizeof p->error, "%s: could not %s a request: %s",
             p->url, p->opt.protobuf ? "encode as protobuf" : "copy",
             pt_strerror(rc));
    pt__push_lost(p, q);
    return -1;
  }
  curl_easy_setopt(q->curl, CURLOPT_POSTFIELDS, (const char *)q->body.data);
  curl_easy_setopt(q->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   (curl_off_t)q->body.len);
  q->attempt = 0;
  q->wait = p->opt.backoff_ms;
  if (pt__push_start(p, q) != 0) {
    return -1;
  }
  pt__push_pump(p, PT__UNTIL_NOW);
  return p->failed ? -1 : 0;
}

/*
 * Sends one line of the export: its spans in requests of at most
 * PT__PUSH_REQUEST_BYTES (a line the splitter does not read, whole).
 * 0, or -1 with the spans not queued counted as not delivered.
 */
static int pt__push_line(pt_otlp_push *p, const char *text, size_t len) {
  if (pt__otlp_split_scan(&p->split, text, len) != PT_OK) {
    return pt__push_queue(p, text, len, pt__push_span_count(text, len));
  }
  uint64_t total = p->split.n_spans, queued = 0, spans;
  int rc;
  while ((rc = pt__otlp_split_next(&p->split, PT__PUSH_REQUEST_BYTES, &p->json,
                                   &spans)) == 1) {
    queued += spans;
    if (pt__push_queue(p, (const char *)p->json.data, p->json.len, spans) !=
        0) {
      break;
    }
  }
  if (rc < 0) {
    snprintf(p->error, sizeof p->error, "%s: could not cut a request: %s",
             p->url, pt_strerror(rc));
    p->failed = 1;
  }
  p->stats.spans_failed += total - queued;
  return p->failed ? -1 : 0;
}

/* The stream's write: collects lines, sends each complete one. */
static ssize_t pt__push_write(void *cookie, const char *buf, size_t size) {
  pt_otlp_push *p = cookie;
  if (p->failed) {
    errno = EIO;
    return -1;
  }
  size_t done = 0;
  while (done < size) {
    const char *nl = memchr(buf + done, '\n', size - done);
    size_t n = nl != NULL ? (size_t)(nl - (buf + done)) : size - done;
    if (p->len + n + 1 > p->cap) {
      size_t cap = p->cap ? p->cap : 65536;
      while (cap < p->len + n + 1) {
        cap *= 2;
      }
      char *line = realloc(p->line, cap);
      if (line == NULL) {
        errno = ENOMEM;
        return -1;
      }
      p->line = line;
      p->cap = cap;
    }
    memcpy(p->line + p->len, buf + done, n);
    p->len += n;
    done += n;
    if (nl != NULL) {
      done++; /* the newline ends the request */
      p->line[p->len] = '\0';
      if (p->len > 0 && pt__push_line(p, p->line, p->len) != 0) {
        p->len = 0;
        pt__push_pump(p, PT__UNTIL_IDLE);
        errno = EIO;
        return -1;
      }
      p->len = 0;
    }
  }
  p->unpumped += size;
  if (p->unpumped >= PT__PUSH_PUMP_BYTES) {
    p->unpumped = 0;
    pt__push_pump(p, PT__UNTIL_NOW);
  }
  return (ssize_t)size;
}

static int pt__push_close(void *cookie) {
  (void)cookie;
  return 0;
}

int pt_otlp_push_new(pt_otlp_push **out, const char *endpoint,
                     const pt_otlp_push_options *options) {
  if (out == NULL || endpoint == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  size_t n = strlen(endpoint);
  if ((strncmp(endpoint, "http://", 7) != 0 &&
       strncmp(endpoint, "https://", 8) != 0) ||
      n > 2000) {
    return PT_ERR_INVALID;
  }
  static int curl_ready;
  if (!curl_ready) {
    /* Once per process; not thread-safe, as curl_global_init is not. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      return PT_ERR_IO;
    }
    curl_ready = 1;
  }
  pt_otlp_push *p = calloc(1, sizeof *p);
  if (p == NULL) {
    return PT_ERR_NOMEM;
  }
  static const char path[] = "/v1/traces";
  int has_path = n >= sizeof path - 1 &&
                 strcmp(endpoint + n - (sizeof path - 1), path) == 0;
  snprintf(p->url, sizeof p->url, "%.*s%s",
           (int)(n > 0 && endpoint[n - 1] == '/' ? n - 1 : n), endpoint,
           has_path ? "" : path);
  if (options != NULL) {
    p->opt = *options;
  }
  p->opt.max_attempts = p->opt.max_attempts ? p->opt.max_attempts : 5;
  p->opt.backoff_ms = p->opt.backoff_ms ? p->opt.backoff_ms : 200;
  p->opt.max_backoff_ms = p->opt.max_backoff_ms ? p->opt.max_backoff_ms : 5000;
  p->opt.timeout_ms = p->opt.timeout_ms ? p->opt.timeout_ms : 10000;
  p->multi = curl_multi_init();
  p->headers = curl_slist_append(
      NULL, p->opt.protobuf ? "Content-Type: application/x-protobuf"
                            : "Content-Type: application/json");
  /* No "Expect: 100-continue" round trip before a large body. */
  struct curl_slist *h =
      p->headers != NULL ? curl_slist_append(p->headers, "Expect:") : NULL;
  p->headers = h != NULL ? h : p->headers;
  int ready = p->multi != NULL && h != NULL;
  for (size_t i = 0; ready && i < PT__PUSH_WINDOW; i++) {
    pt__push_slot *q = &p->slots[i];
    CURL *c = q->curl = curl_easy_init();
    if (c == NULL) {
      ready = 0;
      break;
    }
    curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)(void *)q);
    curl_easy_setopt(c, CURLOPT_URL, p->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->opt.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->opt.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pt__push_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, pt__push_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    /* No proxy from the environment: the endpoint is what was asked. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  }
  cookie_io_functions_t io = {NULL, pt__push_write, NULL, pt__push_close};
  p->stream = ready ? fopencookie(p, "w", io) : NULL;
  if (p->stream == NULL) {
    pt_otlp_push_free(p);
    return PT_ERR_IO;
  }
  *out = p;
  return PT_OK;
}

FILE *pt_otlp_push_stream(pt_otlp_push *p) {
  return p != NULL ? p->stream : NULL;
}

int pt_otlp_push_finish(pt_otlp_push *p) {
  if (p == NULL || p->stream == NULL) {
    return PT_ERR_INVALID;
  }
  int rc = fclose(p->stream) != 0 ? PT_ERR_IO : PT_OK;
  p->stream = NULL;
  pt__push_pump(p, PT__UNTIL_IDLE); /* the requests still in flight */
  if (rc == PT_OK && p->len > 0) {
    snprintf(p->error, sizeof p->error,
             "%s: %zu bytes after the last complete request not sent", p->url,
             p->len);
    rc = PT_ERR_IO;
  }
  return p->failed ? PT_ERR_IO : rc;
}

void pt_otlp_push_get_stats(const pt_otlp_push *p, pt_otlp_push_stats *out) {
  if (p != NULL && out != NULL) {
    *out = p->stats;
  }
}

const char *pt_otlp_push_error(const pt_otlp_push *p) {
  return p != NULL ? p->error : "";
}

void pt_otlp_push_free(pt_otlp_push *p) {
  if (p == NULL) {
    return;
  }
  if (p->stream != NULL) {
    fclose(p->stream);
  }
  for (size_t i = 0; i < PT__PUSH_WINDOW; i++) {
    pt__push_slot *q = &p->slots[i];
    if (q->state == PT__SLOT_SENDING) {
      curl_multi_remove_handle(p->multi, q->curl);
    }
    if (q->curl != NULL) {
      curl_easy_cleanup(q->curl);
    }
    free(q->body.data);
  }
  if (p->multi != NULL) {
    curl_multi_cleanup(p->multi);
  }
  curl_slist_free_all(p->headers);
  pt__otlp_split_free(&p->split);
  free(p->line);
  free(p->json.data);
  free(p);
}
