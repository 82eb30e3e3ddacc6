/* pt_hex: hexadecimal text of bytes, shared by ids, traceparent, exports. */
#ifndef PT_HEX_H
#define PT_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lowercase hex digits and a NUL to out (2n + 1 bytes). */
void pt__hex_encode(char *out, const void *bytes, size_t n);

/*
 * Reads 2n hex digits from text into out[0..n).  Digits a-f only if
 * lowercase_only, else either case.  Returns 0, or -1 at the first
 * non-digit (out is then partly written: decode into a temporary).
 */
int pt__hex_decode(const char *text, void *out, size_t n, int lowercase_only);

#endif /* PT_HEX_H */
