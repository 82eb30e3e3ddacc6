# Writes OUT: the file IN without the lines marked "trace-line", i.e. the
# same source as a program that never had trace calls.
# Usage: cmake -DIN=bench_workload.c -DOUT=stripped.c -P strip_trace_lines.cmake
file(READ "${IN}" text)
string(REGEX REPLACE "[^\n]*/\\* trace-line \\*/[^\n]*\n" "" stripped "${text}")
if(stripped STREQUAL text)
  message(FATAL_ERROR "${IN}: no trace-line marker found")
endif()
string(FIND "${stripped}" "PT_" leftover)
if(NOT leftover EQUAL -1)
  message(FATAL_ERROR "${IN}: a PT_ name survived stripping")
endif()
file(WRITE "${OUT}" "${stripped}")
