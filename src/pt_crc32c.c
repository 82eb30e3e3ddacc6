/*
 * pt_crc32c: CRC-32C (Castagnoli), the dump files' checksum.  The SSE4.2
 * crc32 instruction computes exactly this CRC; without it (or with
 * PT_CRC32C_PORTABLE set in the environment) a slice-by-8 table is used.
 */
#include "pt_crc32c.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint32_t pt__crc_table[8][256];
static pthread_once_t pt__crc_once = PTHREAD_ONCE_INIT;

static void pt__crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) {
      c = (c & 1u) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    pt__crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int t = 1; t < 8; t++) {
      uint32_t prev = pt__crc_table[t - 1][i];
      pt__crc_table[t][i] = (prev >> 8) ^ pt__crc_table[0][prev & 0xffu];
    }
  }
}

static uint32_t pt__crc32c_table(uint32_t crc, const uint8_t *p, size_t len) {
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    w ^= crc;
    crc = pt__crc_table[7][w & 0xffu] ^ pt__crc_table[6][(w >> 8) & 0xffu] ^
          pt__crc_table[5][(w >> 16) & 0xffu] ^
          pt__crc_table[4][(w >> 24) & 0xffu] ^
          pt__crc_table[3][(w >> 32) & 0xffu] ^
          pt__crc_table[2][(w >> 40) & 0xffu] ^
          pt__crc_table[1][(w >> 48) & 0xffu] ^ pt__crc_table[0][w >> 56];
    p += 8;
    len -= 8;
  }
  while (len-- > 0) {
    crc = (crc >> 8) ^ pt__crc_table[0][(crc ^ *p++) & 0xffu];
  }
  return crc;
}

#if defined(__x86_64__)
/* The SSE4.2 crc32 instruction computes exactly CRC-32C, 8 bytes a step. */
__attribute__((target("sse4.2"))) static uint32_t
pt__crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len) {
  uint64_t c = crc;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    len -= 8;
  }
  crc = (uint32_t)c;
  while (len-- > 0) {
    crc = __builtin_ia32_crc32qi(crc, *p++);
  }
  return crc;
}
#endif

static uint32_t (*pt__crc32c_impl)(uint32_t, const uint8_t *, size_t);

static void pt__crc_setup(void) {
  pt__crc_init();
  pt__crc32c_impl = pt__crc32c_table;
#if defined(__x86_64__)
  if (getenv("PT_CRC32C_PORTABLE") == NULL &&
      __builtin_cpu_supports("sse4.2")) {
    pt__crc32c_impl = pt__crc32c_sse42;
  }
#endif
}

uint32_t pt__crc32c(uint32_t crc, const void *data, size_t len) {
  pthread_once(&pt__crc_once, pt__crc_setup);
  return ~pt__crc32c_impl(~crc, data, len);
}
