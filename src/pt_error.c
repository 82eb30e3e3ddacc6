/* pt_error: texts of the error codes, from PT_ERROR_TABLE. */
#include <peertrace/peertrace.h>

const char *pt_strerror(int error) {
  switch (error) {
#define PT__ERROR_TEXT(name, value, text)                                      \
  case value:                                                                  \
    return text;
    PT_ERROR_TABLE(PT__ERROR_TEXT)
#undef PT__ERROR_TEXT
  default:
    return "unknown error";
  }
}
