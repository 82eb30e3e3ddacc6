/*
 * fuzz_dump_load: libFuzzer target for the dump loader.  Any input must be
 * either accepted (and then every event can be read) or rejected with a
 * PT_ERR_DUMP_* / PT_ERR_IO code and a message: never a crash, an
 * out-of-bounds access (ASan), a leak or a hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <string.h>

#include <peertrace/peertrace.h>

#include "pt_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_one(const uint8_t *data, size_t size) {
  pt_dump_reader *reader = NULL;
  pt_dump_error err;
  err.message[0] = '\0';
  int rc = pt_dump_reader_open_memory(&reader, data, size, &err);
  if (rc != PT_OK) {
    if (reader != NULL || err.message[0] == '\0' || rc >= 0) {
      abort(); /* a failure must leave no reader and say why */
    }
    return;
  }
  const pt_dump_info *info = pt_dump_reader_info(reader);
  uint64_t n = 0;
  pt_event ev;
  char text[512];
  while ((rc = pt_dump_reader_next(reader, &ev, NULL, &err)) == 1) {
    /* Accepted events must be printable without trouble too. */
    pt_event_format(&ev, text, sizeof text);
    pt_event_to_json(&ev, text, sizeof text);
    n++;
  }
  if (rc != 0 || n != info->event_count) {
    abort(); /* validated data must read back completely */
  }
  pt_dump_reader_close(reader);
}

/*
 * Each input is loaded as is and, when long enough, again with both CRCs
 * made right: random mutations almost never keep a checksum valid, and
 * without the fix-up the checks behind the CRCs would go unexplored.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load_one(data, size);
  if (size >= PT__DUMP_HEADER_SIZE + PT__DUMP_TRAILER_SIZE) {
    uint8_t *copy = malloc(size);
    if (copy == NULL) {
      return 0;
    }
    memcpy(copy, data, size);
    uint32_t crc = pt__crc32c(0, copy, PT__DH_CRC);
    memcpy(copy + PT__DH_CRC, &crc, 4);
    size_t records = size - PT__DUMP_HEADER_SIZE - PT__DUMP_TRAILER_SIZE;
    crc = pt__crc32c(0, copy + PT__DUMP_HEADER_SIZE, records);
    memcpy(copy + size - PT__DUMP_TRAILER_SIZE + 8, &crc, 4);
    load_one(copy, size);
    free(copy);
  }
  return 0;
}
