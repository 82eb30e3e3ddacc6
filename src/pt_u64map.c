/* pt_u64map: see pt_u64map.h. */
#include "pt_u64map.h"

#include <stdlib.h>

uint64_t pt__u64_mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x ? x : 1;
}

uint64_t pt__u64_fnv(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return h;
}

pt__u64slot *pt__u64map_find(pt__u64map *m, uint64_t key) {
  key = key ? key : 1;
  if (m->cap == 0) {
    return NULL;
  }
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
    if (m->slots[i].key == key) {
      return &m->slots[i];
    }
    if (m->slots[i].key == 0) {
      return NULL;
    }
  }
}

static int pt__u64map_grow(pt__u64map *m) {
  size_t cap = m->cap ? 2 * m->cap : 64;
  pt__u64slot *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) {
    return -1;
  }
  for (size_t j = 0; j < m->cap; j++) {
    if (m->slots[j].key != 0) {
      size_t i = (size_t)m->slots[j].key & (cap - 1);
      while (slots[i].key != 0) {
        i = (i + 1) & (cap - 1);
      }
      slots[i] = m->slots[j];
    }
  }
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

pt__u64slot *pt__u64map_get(pt__u64map *m, uint64_t key) {
  key = key ? key : 1;
  pt__u64slot *s = pt__u64map_find(m, key);
  if (s != NULL) {
    return s;
  }
  /* At most half full, so probes stay short. */
  if (2 * (m->count + 1) > m->cap && pt__u64map_grow(m) != 0) {
    return NULL;
  }
  size_t mask = m->cap - 1;
  size_t i = (size_t)key & mask;
  while (m->slots[i].key != 0) {
    i = (i + 1) & mask;
  }
  m->slots[i].key = key;
  m->slots[i].a = m->slots[i].b = 0;
  m->slots[i].v = 0;
  m->count++;
  return &m->slots[i];
}

void pt__u64map_delete(pt__u64map *m, uint64_t key) {
  pt__u64slot *s = pt__u64map_find(m, key);
  if (s == NULL) {
    return;
  }
  size_t mask = m->cap - 1;
  size_t hole = (size_t)(s - m->slots);
  /* Backward shift: move later entries of the probe run into the hole. */
  for (size_t i = (hole + 1) & mask; m->slots[i].key != 0; i = (i + 1) & mask) {
    size_t home = (size_t)m->slots[i].key & mask;
    /* Entry i may move to hole if hole lies on its path home .. i. */
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      m->slots[hole] = m->slots[i];
      hole = i;
    }
  }
  m->slots[hole].key = 0;
  m->count--;
}

void pt__u64map_free(pt__u64map *m) {
  free(m->slots);
  m->slots = NULL;
  m->cap = m->count = 0;
}
