/*
 * pt_u64map (internal): a hash map from nonzero 64-bit keys to two 32-bit
 * values and a 64-bit one, open addressing with linear probing and
 * backward-shift deletion, for the exporters' streaming state (pending flows,
 * connection tracks, span ids) that must stay small when entries come and go.
 * Keys are expected to be hashes already (pt__u64_mix): the slot is key & mask.
 */
#ifndef PT_U64MAP_H
#define PT_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pt__u64slot {
  uint64_t key; /* 0: empty */
  uint32_t a, b;
  uint64_t v;
} pt__u64slot;

typedef struct pt__u64map {
  pt__u64slot *slots;
  size_t cap; /* a power of two, or 0 */
  size_t count;
} pt__u64map;

/* A 64-bit mix (splitmix64's finaliser); never 0 for the map's keys. */
uint64_t pt__u64_mix(uint64_t x);

/* FNV-1a over bytes, continued from h (start with PT__FNV_START). */
#define PT__FNV_START 0xcbf29ce484222325ull
uint64_t pt__u64_fnv(uint64_t h, const void *data, size_t len);

/* The slot of key, or NULL. */
pt__u64slot *pt__u64map_find(pt__u64map *m, uint64_t key);

/*
 * The slot of key, inserted with a = b = v = 0 if absent (key 0 is mapped to
 * 1).  NULL only when out of memory.  The pointer is valid until the next
 * insert or delete.
 */
pt__u64slot *pt__u64map_get(pt__u64map *m, uint64_t key);

/* Removes key's slot if present. */
void pt__u64map_delete(pt__u64map *m, uint64_t key);

void pt__u64map_free(pt__u64map *m);

#endif /* PT_U64MAP_H */
