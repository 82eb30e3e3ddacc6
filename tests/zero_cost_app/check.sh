#!/bin/sh
# Zero-cost check of the app macros (PT_APP_COMMAND / START / END, their
# _FLAGS forms, PT_IF_APP, PT_APP_FIELD).  For each build without
# PT_TRACE_APP -- tracing off, and tracing on with the app layer off --
# compiles probe.c without and with the app lines, at -O0 and -O2, and
# requires the same .text bytes and the same symbols.  As a control, the
# PT_TRACE_APP=1 build of the same lines must differ (else this check could
# not see anything).
# Usage: check.sh CC INCLUDE_DIR WORK_DIR
set -eu
CC=$1
INC=$2
WORK=$3
HERE=$(dirname "$0")
mkdir -p "$WORK"
FLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -I$INC"

build() { # out.o extra-flags...
  out=$1
  shift
  # shellcheck disable=SC2086
  $CC $FLAGS "$@" -c "$HERE/probe.c" -o "$WORK/$out.o"
  objcopy -O binary --only-section=.text "$WORK/$out.o" "$WORK/$out.text"
  nm "$WORK/$out.o" | awk '{print $NF}' | sort >"$WORK/$out.sym"
}

same() { # base app label
  if cmp -s "$WORK/$1.text" "$WORK/$2.text" &&
    cmp -s "$WORK/$1.sym" "$WORK/$2.sym"; then
    echo "ok: $3: app lines add nothing ($(wc -c <"$WORK/$1.text") bytes of .text)"
  else
    echo "FAIL: $3: app lines change the object" >&2
    exit 1
  fi
}

for opt in -O0 -O2; do
  build off_base "$opt" -DWITH_APP=0
  build off_app "$opt" -DWITH_APP=1
  same off_base off_app "tracing off $opt"

  build trace_base "$opt" -DPT_TRACE=1 -DWITH_APP=0
  build trace_app "$opt" -DPT_TRACE=1 -DWITH_APP=1
  same trace_base trace_app "PT_TRACE=1 PT_TRACE_APP=0 $opt"

  build app_base "$opt" -DPT_TRACE_APP=1 -DWITH_APP=0
  build app_app "$opt" -DPT_TRACE_APP=1 -DWITH_APP=1 \
    "-DPROBE_TRACE_ID=pt_trace_id_new()"
  if cmp -s "$WORK/app_base.text" "$WORK/app_app.text"; then
    echo "FAIL: control: PT_TRACE_APP=1 $opt app lines compiled to nothing" >&2
    exit 1
  fi
  grep -qx pt_app_log_start_flags "$WORK/app_app.sym" || {
    echo "FAIL: control: PT_TRACE_APP=1 $opt does not call pt_app_log_start_flags" >&2
    exit 1
  }
  echo "ok: control: PT_TRACE_APP=1 $opt app lines are compiled in"
done
