/*
 * pt_otlp_push: OTLP/HTTP JSON POSTs of an OTLP export's lines, with
 * libcurl (see pt_otlp_push.h).  The stream is a fopencookie stream whose
 * writes collect bytes into a line; each complete line is one request.
 */
#define _GNU_SOURCE /* fopencookie */
#include <peertrace/pt_otlp_push.h>

#include "pt_otlp_proto.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PT__PUSH_BODY_MAX 512 /* of an answer kept for messages */

struct pt_otlp_push {
  CURL *curl;
  struct curl_slist *headers;
  char url[2048];
  pt_otlp_push_options opt;
  FILE *stream;
  char *line; /* bytes of the line being written */
  size_t len, cap;
  int failed; /* a request failed: every later write fails */
  pt_otlp_push_stats stats;
  pt__pb_buf proto; /* the request in protobuf (options.protobuf) */
  char error[2600]; /* url (<= 2047) + reason */
  /* The answer of the attempt in progress. */
  char body[PT__PUSH_BODY_MAX + 1];
  size_t body_len;
  long retry_after_s; /* -1: no Retry-After */
};

static size_t pt__push_body(char *data, size_t size, size_t n, void *user) {
  pt_otlp_push *p = user;
  size_t bytes = size * n;
  size_t room = PT__PUSH_BODY_MAX - p->body_len;
  size_t take = bytes < room ? bytes : room;
  memcpy(p->body + p->body_len, data, take);
  p->body_len += take;
  p->body[p->body_len] = '\0';
  return bytes;
}

static size_t pt__push_header(char *data, size_t size, size_t n, void *user) {
  pt_otlp_push *p = user;
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
      p->retry_after_s = s;
    }
  }
  return bytes;
}

static void pt__push_sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* The spans of a request: one "spanId" key each (parentSpanId differs). */
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

/* POSTs one request, retrying as the options say.  0 or -1 (p->error). */
static int pt__push_send(pt_otlp_push *p, const char *text, size_t len) {
  uint64_t spans = pt__push_span_count(text, len);
  unsigned wait = p->opt.backoff_ms;
  if (p->opt.protobuf) {
    int rc = pt__otlp_json_to_proto(text, len, &p->proto);
    if (rc != PT_OK) {
      p->stats.spans_failed += spans;
      snprintf(p->error, sizeof p->error,
               "%s: could not encode a request as protobuf: %s", p->url,
               pt_strerror(rc));
      return -1;
    }
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, (const char *)p->proto.data);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)p->proto.len);
  } else {
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  for (unsigned attempt = 1;; attempt++) {
    p->body_len = 0;
    p->body[0] = '\0';
    p->retry_after_s = -1;
    CURLcode res = curl_easy_perform(p->curl);
    long status = 0;
    if (res == CURLE_OK) {
      curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    p->stats.last_status = status;
    if (res == CURLE_OK && status >= 200 && status < 300) {
      uint64_t rejected = pt__push_rejected(p->body);
      rejected = rejected < spans ? rejected : spans;
      p->stats.requests++;
      p->stats.spans_sent += spans - rejected;
      p->stats.spans_rejected += rejected;
      return 0;
    }
    int retry = pt__push_retryable(res, status);
    if (!retry || attempt >= p->opt.max_attempts) {
      p->stats.spans_failed += spans;
      if (res != CURLE_OK) {
        snprintf(p->error, sizeof p->error,
                 "%s: unreachable after %u attempt%s: %s", p->url, attempt,
                 attempt == 1 ? "" : "s", curl_easy_strerror(res));
      } else if (retry) {
        snprintf(p->error, sizeof p->error,
                 "%s: gave up after %u attempts: HTTP %ld: %.300s", p->url,
                 attempt, status, p->body);
      } else {
        snprintf(p->error, sizeof p->error, "%s: refused: HTTP %ld: %.300s",
                 p->url, status, p->body);
      }
      return -1;
    }
    unsigned pause = wait;
    if (p->retry_after_s >= 0) {
      unsigned long ms = (unsigned long)p->retry_after_s * 1000ul;
      pause = ms > p->opt.max_backoff_ms ? p->opt.max_backoff_ms : (unsigned)ms;
    }
    pt__push_sleep_ms(pause);
    wait = wait * 2 > p->opt.max_backoff_ms ? p->opt.max_backoff_ms : wait * 2;
    p->stats.retries++;
  }
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
      if (p->len > 0 && pt__push_send(p, p->line, p->len) != 0) {
        p->failed = 1;
        p->len = 0;
        errno = EIO;
        return -1;
      }
      p->len = 0;
    }
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
  p->curl = curl_easy_init();
  p->headers = curl_slist_append(
      NULL, p->opt.protobuf ? "Content-Type: application/x-protobuf"
                            : "Content-Type: application/json");
  cookie_io_functions_t io = {NULL, pt__push_write, NULL, pt__push_close};
  p->stream =
      p->curl != NULL && p->headers != NULL ? fopencookie(p, "w", io) : NULL;
  if (p->stream == NULL) {
    pt_otlp_push_free(p);
    return PT_ERR_IO;
  }
  CURL *c = p->curl;
  curl_easy_setopt(c, CURLOPT_URL, p->url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->opt.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->opt.timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pt__push_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, pt__push_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
  /* No proxy from the environment: the endpoint is what was asked. */
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
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
  if (p->curl != NULL) {
    curl_easy_cleanup(p->curl);
  }
  curl_slist_free_all(p->headers);
  free(p->line);
  free(p->proto.data);
  free(p);
}
