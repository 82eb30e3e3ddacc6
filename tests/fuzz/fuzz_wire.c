/*
 * fuzz_wire: libFuzzer target for the wire trace header a remote peer sends
 * (pt_wire_header_decode, include/peertrace/pt_wire.h).  Any input is
 * either rejected with PT_ERR_PARSE, leaving the header untouched, or
 * decoded into a header that encodes back to exactly the bytes consumed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/pt_wire.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *in = pt_fuzz_copy(data, size);
  pt_msg_header h;
  pt_fuzz_poison(&h, sizeof h);
  int rc = pt_wire_header_decode(in, size, &h);
  if (rc == PT_ERR_PARSE) {
    pt_fuzz_expect_untouched(&h, sizeof h); /* *h as it was */
  } else if (rc == (int)PT_WIRE_HEADER_SIZE) {
    uint8_t out[PT_WIRE_HEADER_SIZE];
    if (pt_wire_header_encode(&h, out, sizeof out) != rc ||
        memcmp(out, in, PT_WIRE_HEADER_SIZE) != 0) {
      abort(); /* accepted bytes must round-trip */
    }
  } else {
    abort(); /* no other result is documented */
  }
  free(in);
  return 0;
}
