/*
 * fuzz_traceparent: libFuzzer target for the W3C traceparent parser
 * (pt_traceparent_parse), whose text comes from remote peers.  Any input is
 * either rejected with PT_ERR_PARSE, outputs untouched, or parsed into ids
 * that format back to the input's first 55 characters (flags: the SAMPLED
 * bit only, so the check covers inputs whose flags are 00 or 01).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/peertrace.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = (char *)pt_fuzz_copy(data, size); /* no NUL */
  pt_trace_id id;
  uint8_t parent[8];
  pt_trace_flags flags = 0x5a;
  pt_fuzz_poison(&id, sizeof id);
  pt_fuzz_poison(parent, sizeof parent);
  int rc = pt_traceparent_parse(text, size, &id, parent, &flags);
  if (rc == PT_ERR_PARSE) {
    pt_fuzz_expect_untouched(&id, sizeof id);
    pt_fuzz_expect_untouched(parent, sizeof parent);
    if (flags != 0x5a) {
      abort(); /* outputs must be left unchanged on failure */
    }
  } else if (rc == PT_OK) {
    if (size < 55 || (flags & ~PT_FLAG_SAMPLED) != 0) {
      abort();
    }
    char out[PT_TRACEPARENT_SIZE];
    if (pt_traceparent_format(&id, parent, flags, out, sizeof out) != PT_OK) {
      abort(); /* parsed ids are never all zero, so they format */
    }
    /* Bytes 3..52 (ids and dashes) always round-trip; the version and
     * flags do when they are what format writes. */
    if (memcmp(out + 2, text + 2, 51) != 0) {
      abort();
    }
    if (memcmp(text, "00", 2) == 0 &&
        (memcmp(text + 53, "00", 2) == 0 || memcmp(text + 53, "01", 2) == 0) &&
        memcmp(out, text, 55) != 0) {
      abort();
    }
  } else {
    abort(); /* no other result is documented for non-NULL arguments */
  }
  free(text);
  return 0;
}
