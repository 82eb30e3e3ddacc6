/* pt_hex: hexadecimal text of bytes (see pt_hex.h). */
#include "pt_hex.h"

void pt__hex_encode(char *out, const void *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  const uint8_t *b = bytes;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 0x0fu];
  }
  out[2 * n] = '\0';
}

static int pt__hex_value(char c, int lowercase_only) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (!lowercase_only && c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int pt__hex_decode(const char *text, void *out, size_t n, int lowercase_only) {
  uint8_t *b = out;
  for (size_t i = 0; i < n; i++) {
    int hi = pt__hex_value(text[2 * i], lowercase_only);
    int lo = pt__hex_value(text[2 * i + 1], lowercase_only);
    if (hi < 0 || lo < 0) {
      return -1;
    }
    b[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}
