/*
 * fuzz_trace_id_hex: libFuzzer target for the trace-id hex parser
 * (pt_trace_id_from_hex, on top of pt__hex_decode), which reads ids typed
 * by users (peertrace --trace) or received as text.  Any input is either
 * rejected with PT_ERR_PARSE, output untouched, or parsed into an id whose
 * hex is the input in lowercase.  pt__hex_decode's lowercase-only mode
 * (used by the traceparent parser) is checked against the same input.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/peertrace.h>

#include "fuzz_common.h"

#include "pt_hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = (char *)pt_fuzz_copy(data, size); /* no NUL */
  pt_trace_id id;
  pt_fuzz_poison(&id, sizeof id);
  int rc = pt_trace_id_from_hex(text, size, &id);
  if (rc == PT_ERR_PARSE) {
    pt_fuzz_expect_untouched(&id, sizeof id);
  } else if (rc == PT_OK) {
    char hex[33];
    if (size != 32 || pt_trace_id_to_hex(&id, hex, sizeof hex) != PT_OK) {
      abort();
    }
    for (size_t i = 0; i < 32; i++) {
      if (hex[i] != (char)tolower((unsigned char)text[i])) {
        abort(); /* the id must be exactly the digits given */
      }
    }
  } else {
    abort();
  }
  /* Lowercase-only decoding accepts a subset: exactly the inputs above
   * that have no uppercase digit. */
  if (size % 2 == 0) {
    uint8_t *bytes = malloc(size / 2 + 1);
    if (bytes == NULL) {
      abort();
    }
    int lower = pt__hex_decode(text, bytes, size / 2, 1);
    int any = pt__hex_decode(text, bytes, size / 2, 0);
    int has_upper = 0;
    for (size_t i = 0; i < size; i++) {
      has_upper |= text[i] >= 'A' && text[i] <= 'F';
    }
    if ((lower == 0) != (any == 0 && !has_upper)) {
      abort();
    }
    free(bytes);
  }
  free(text);
  return 0;
}
