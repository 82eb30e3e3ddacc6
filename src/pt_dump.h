/*
 * pt_dump: dump files (internal view).  The byte layout is documented in
 * docs/dump-format.md; every multi-byte field is little-endian.
 */
#ifndef PT_DUMP_H
#define PT_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "pt_common.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* Events are stored in their in-memory layout, which is little-endian here. */
#error "peertrace dumps are implemented for little-endian hosts only"
#endif

#define PT__DUMP_HEADER_SIZE 128u
#define PT__DUMP_RECORD_SIZE 136u /* 8-byte ticket + 128-byte event */
#define PT__DUMP_TRAILER_SIZE 16u
#define PT__DUMP_MAX_CAPACITY (UINT64_C(1) << 30)

/* Field offsets in the header. */
#define PT__DH_MAGIC 0
#define PT__DH_VERSION 8
#define PT__DH_HEADER_SIZE 12
#define PT__DH_EVENT_SIZE 16
#define PT__DH_RECORD_SIZE 20
#define PT__DH_CAPACITY 24
#define PT__DH_EVENT_COUNT 32
#define PT__DH_OVERWRITTEN 40
#define PT__DH_DROPPED 48
#define PT__DH_CREATED 56
#define PT__DH_CLOCK 64
#define PT__DH_FLAGS 68
#define PT__DH_NODE_ID 72
#define PT__DH_FIRST 104
#define PT__DH_LAST 112
#define PT__DH_RESERVED 120
#define PT__DH_CRC 124

extern const uint8_t pt__dump_magic[8];
extern const uint8_t pt__dump_end_magic[8];

#include "pt_crc32c.h"

#endif /* PT_DUMP_H */
