/*
 * pt_otlp_split: an OTLP/JSON request line cut into requests of at most N
 * bytes (see pt_otlp_split.h).  One pass over the line records, as byte
 * ranges, each resourceSpans' and scopeSpans' members other than their
 * arrays and each span; requests are then written from those ranges,
 * repeating a resource and a scope in every request holding their spans.
 * Values are skipped, not decoded: strings by their quotes and escapes,
 * objects and arrays by depth.
 */
#include "pt_otlp_split.h"

#include <stdlib.h>
#include <string.h>

typedef struct pt__scan {
  pt__otlp_split *s;
  const char *p; /* the line */
  size_t i, n;
  int error; /* PT_ERR_PARSE or PT_ERR_NOMEM */
} pt__scan;

/* A new element at the end of *array (growing it), or NULL (error set). */
static void *pt__scan_add(pt__scan *sc, void **array, size_t *count,
                          size_t *cap, size_t size) {
  if (*count == *cap) {
    size_t n = *cap ? *cap * 2 : 64;
    void *a = realloc(*array, n * size);
    if (a == NULL) {
      sc->error = PT_ERR_NOMEM;
      return NULL;
    }
    *array = a;
    *cap = n;
  }
  return (char *)*array + (*count)++ * size;
}

static void pt__scan_ws(pt__scan *sc) {
  while (sc->i < sc->n && (sc->p[sc->i] == ' ' || sc->p[sc->i] == '\n' ||
                           sc->p[sc->i] == '\t' || sc->p[sc->i] == '\r')) {
    sc->i++;
  }
}

/* Skips whitespace and c; 0, or -1 with PT_ERR_PARSE. */
static int pt__scan_expect(pt__scan *sc, char c) {
  pt__scan_ws(sc);
  if (sc->i < sc->n && sc->p[sc->i] == c) {
    sc->i++;
    return 0;
  }
  sc->error = PT_ERR_PARSE;
  return -1;
}

/* After an element or member: 1 if another follows (','), 0 at close. */
static int pt__scan_more(pt__scan *sc, char close) {
  pt__scan_ws(sc);
  if (sc->i < sc->n && sc->p[sc->i] == ',') {
    sc->i++;
    return 1;
  }
  return pt__scan_expect(sc, close) == 0 ? 0 : -1;
}

/* An empty container: its close is consumed. */
static int pt__scan_empty(pt__scan *sc, char close) {
  pt__scan_ws(sc);
  if (sc->i < sc->n && sc->p[sc->i] == close) {
    sc->i++;
    return 1;
  }
  return 0;
}

/* A string at sc->i (its quotes included).  0 or -1. */
static int pt__scan_string(pt__scan *sc) {
  if (pt__scan_expect(sc, '"') != 0) {
    return -1;
  }
  while (sc->i < sc->n) {
    char c = sc->p[sc->i++];
    if (c == '"') {
      return 0;
    }
    if (c == '\\') {
      sc->i++; /* the escaped byte; \uXXXX's digits need no care */
    }
  }
  sc->error = PT_ERR_PARSE;
  return -1;
}

/* Any value: a string, an object or array (by depth), or a bare word. */
static int pt__scan_value(pt__scan *sc) {
  pt__scan_ws(sc);
  if (sc->i >= sc->n) {
    sc->error = PT_ERR_PARSE;
    return -1;
  }
  char c = sc->p[sc->i];
  if (c == '"') {
    return pt__scan_string(sc);
  }
  if (c != '{' && c != '[') {
    size_t start = sc->i;
    while (sc->i < sc->n && strchr(",}] \t\r\n", sc->p[sc->i]) == NULL) {
      sc->i++;
    }
    if (sc->i == start) {
      sc->error = PT_ERR_PARSE;
      return -1;
    }
    return 0;
  }
  size_t depth = 0;
  while (sc->i < sc->n) {
    c = sc->p[sc->i];
    if (c == '"') {
      if (pt__scan_string(sc) != 0) {
        return -1;
      }
      continue;
    }
    sc->i++;
    if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return 0;
    }
  }
  sc->error = PT_ERR_PARSE;
  return -1;
}

/*
 * A member's key, then its ':'.  Returns 1 if the key is `array`, else 0
 * (the caller records the member), -1 on bad text.  *start: the key's
 * first byte.
 */
static int pt__scan_key(pt__scan *sc, const char *array, size_t *start) {
  pt__scan_ws(sc);
  *start = sc->i;
  if (pt__scan_string(sc) != 0 || pt__scan_expect(sc, ':') != 0) {
    return -1;
  }
  size_t k = strlen(array);
  return sc->i - *start >= k + 3 && memcmp(sc->p + *start + 1, array, k) == 0 &&
                 sc->p[*start + 1 + k] == '"'
             ? 1
             : 0;
}

/* The member from start to here, owned by the group being read. */
static int pt__scan_member(pt__scan *sc, pt__otlp_range **members,
                           size_t *count, size_t *cap, size_t start) {
  if (pt__scan_value(sc) != 0) {
    return -1;
  }
  pt__otlp_range *m =
      pt__scan_add(sc, (void **)members, count, cap, sizeof **members);
  if (m == NULL) {
    return -1;
  }
  m->off = start;
  m->len = sc->i - start;
  m->owner = 0;
  return 0;
}

/* The spans array of scope (index in s->scopes). */
static int pt__scan_spans(pt__scan *sc, size_t scope) {
  pt__otlp_split *s = sc->s;
  if (pt__scan_expect(sc, '[') != 0) {
    return -1;
  }
  if (pt__scan_empty(sc, ']')) {
    return 0;
  }
  int more;
  do {
    pt__scan_ws(sc);
    size_t start = sc->i;
    if (pt__scan_value(sc) != 0) {
      return -1;
    }
    pt__otlp_range *r = pt__scan_add(sc, (void **)&s->spans, &s->n_spans,
                                     &s->cap_spans, sizeof *s->spans);
    if (r == NULL) {
      return -1;
    }
    r->off = start;
    r->len = sc->i - start;
    r->owner = scope;
  } while ((more = pt__scan_more(sc, ']')) == 1);
  return more;
}

/* A scopeSpans object of resource (index in s->resources). */
static int pt__scan_scope(pt__scan *sc, size_t resource) {
  pt__otlp_split *s = sc->s;
  pt__otlp_group *g = pt__scan_add(sc, (void **)&s->scopes, &s->n_scopes,
                                   &s->cap_scopes, sizeof *s->scopes);
  if (g == NULL || pt__scan_expect(sc, '{') != 0) {
    return -1;
  }
  size_t scope = s->n_scopes - 1;
  g->first = s->n_s_members;
  g->count = 0;
  g->owner = resource;
  if (pt__scan_empty(sc, '}')) {
    return 0;
  }
  int more;
  do {
    size_t start;
    int key = pt__scan_key(sc, "spans", &start);
    if (key < 0) {
      return -1;
    }
    if (key == 1 ? pt__scan_spans(sc, scope)
                 : pt__scan_member(sc, &s->s_members, &s->n_s_members,
                                   &s->cap_s_members, start)) {
      return -1;
    }
    s->scopes[scope].count = s->n_s_members - s->scopes[scope].first;
  } while ((more = pt__scan_more(sc, '}')) == 1);
  return more;
}

/* A resourceSpans object. */
static int pt__scan_resource(pt__scan *sc) {
  pt__otlp_split *s = sc->s;
  pt__otlp_group *g = pt__scan_add(sc, (void **)&s->resources, &s->n_resources,
                                   &s->cap_resources, sizeof *s->resources);
  if (g == NULL || pt__scan_expect(sc, '{') != 0) {
    return -1;
  }
  size_t resource = s->n_resources - 1;
  g->first = s->n_r_members;
  g->count = 0;
  g->owner = 0;
  if (pt__scan_empty(sc, '}')) {
    return 0;
  }
  int more;
  do {
    size_t start;
    int key = pt__scan_key(sc, "scopeSpans", &start);
    if (key < 0) {
      return -1;
    }
    if (key == 1) {
      if (pt__scan_expect(sc, '[') != 0) {
        return -1;
      }
      if (!pt__scan_empty(sc, ']')) {
        int scopes;
        while ((scopes = pt__scan_scope(sc, resource)) == 0 &&
               (scopes = pt__scan_more(sc, ']')) == 1) {
        }
        if (scopes != 0) {
          return -1;
        }
      }
    } else if (pt__scan_member(sc, &s->r_members, &s->n_r_members,
                               &s->cap_r_members, start) != 0) {
      return -1;
    }
    s->resources[resource].count =
        s->n_r_members - s->resources[resource].first;
  } while ((more = pt__scan_more(sc, '}')) == 1);
  return more;
}

int pt__otlp_split_scan(pt__otlp_split *s, const char *line, size_t len) {
  s->line = line;
  s->n_resources = s->n_scopes = s->n_r_members = s->n_s_members = 0;
  s->n_spans = s->next = 0;
  pt__scan sc = {s, line, 0, len, 0};
  size_t start;
  if (pt__scan_expect(&sc, '{') != 0 ||
      pt__scan_key(&sc, "resourceSpans", &start) != 1 ||
      pt__scan_expect(&sc, '[') != 0) {
    goto fail;
  }
  if (!pt__scan_empty(&sc, ']')) {
    int more;
    while ((more = pt__scan_resource(&sc)) == 0 &&
           (more = pt__scan_more(&sc, ']')) == 1) {
    }
    if (more != 0) {
      goto fail;
    }
  }
  if (pt__scan_expect(&sc, '}') != 0) {
    goto fail;
  }
  pt__scan_ws(&sc);
  if (sc.i != len) {
    goto fail;
  }
  return PT_OK;
fail:
  s->n_spans = 0;
  return sc.error ? sc.error : PT_ERR_PARSE;
}

static int pt__split_put(pt__pb_buf *out, const char *text, size_t n) {
  if (pt__pb_buf_reserve(out, n) != PT_OK) {
    return -1;
  }
  memcpy(out->data + out->len, text, n);
  out->len += n;
  return 0;
}

/* A group's members, each followed by a comma, then `array":[`. */
static int pt__split_open(const pt__otlp_split *s, const pt__otlp_group *g,
                          const pt__otlp_range *members, const char *array,
                          pt__pb_buf *out) {
  int rc = pt__split_put(out, "{", 1);
  for (size_t m = g->first; rc == 0 && m < g->first + g->count; m++) {
    rc = pt__split_put(out, s->line + members[m].off, members[m].len);
    rc = rc != 0 ? rc : pt__split_put(out, ",", 1);
  }
  return rc != 0 ? rc : pt__split_put(out, array, strlen(array));
}

/* The bytes pt__split_open writes for g. */
static size_t pt__split_open_size(const pt__otlp_group *g,
                                  const pt__otlp_range *members,
                                  const char *array) {
  size_t n = 1 + strlen(array);
  for (size_t m = g->first; m < g->first + g->count; m++) {
    n += members[m].len + 1;
  }
  return n;
}

int pt__otlp_split_next(pt__otlp_split *s, size_t max_bytes, pt__pb_buf *out,
                        uint64_t *spans) {
  static const char head[] = "{\"resourceSpans\":[";
  static const char tail[] = "]}]}]}"; /* spans, scopeSpans, resourceSpans */
  static const char scopes[] = "\"scopeSpans\":[";
  static const char span_array[] = "\"spans\":[";
  *spans = 0;
  if (s->next >= s->n_spans) {
    return 0;
  }
  out->len = 0;
  if (pt__split_put(out, head, sizeof head - 1) != 0) {
    return PT_ERR_NOMEM;
  }
  size_t cur_r = SIZE_MAX, cur_s = SIZE_MAX;
  for (; s->next < s->n_spans; s->next++) {
    const pt__otlp_range *sp = &s->spans[s->next];
    const pt__otlp_group *sg = &s->scopes[sp->owner];
    const pt__otlp_group *rg = &s->resources[sg->owner];
    size_t cost = sp->len + 1 + sizeof tail;
    if (sg->owner != cur_r) {
      cost += 2 + pt__split_open_size(rg, s->r_members, scopes);
    }
    if (sp->owner != cur_s) {
      cost += 2 + pt__split_open_size(sg, s->s_members, span_array);
    }
    if (*spans > 0 && out->len + cost > max_bytes) {
      break;
    }
    int rc = 0;
    if (sg->owner != cur_r) {
      if (cur_r != SIZE_MAX) {
        rc = pt__split_put(out, "]}]},", 5);
      }
      rc = rc != 0 ? rc : pt__split_open(s, rg, s->r_members, scopes, out);
      cur_r = sg->owner;
      cur_s = SIZE_MAX;
    }
    if (rc == 0 && sp->owner != cur_s) {
      if (cur_s != SIZE_MAX) {
        rc = pt__split_put(out, "]},", 3);
      }
      rc = rc != 0 ? rc : pt__split_open(s, sg, s->s_members, span_array, out);
      cur_s = sp->owner;
    } else if (rc == 0) {
      rc = pt__split_put(out, ",", 1);
    }
    rc = rc != 0 ? rc : pt__split_put(out, s->line + sp->off, sp->len);
    if (rc != 0) {
      return PT_ERR_NOMEM;
    }
    ++*spans;
  }
  return pt__split_put(out, tail, sizeof tail - 1) != 0 ? PT_ERR_NOMEM : 1;
}

void pt__otlp_split_free(pt__otlp_split *s) {
  free(s->resources);
  free(s->scopes);
  free(s->r_members);
  free(s->s_members);
  free(s->spans);
  memset(s, 0, sizeof *s);
}
