#!/usr/bin/env bash
# Zero-cost check 2: a program built with tracing off contains nothing of
# peertrace: no symbol whose name starts with pt_ / pt__ / PT_ (or the same
# with leading underscores), in the static or the dynamic symbol table, and
# no libpeertrace among its needed shared libraries.  In a trace build the
# same detection must find the library's symbols, or the check is blind.
#
# Usage: no_symbols.sh trace|off NM READELF PROGRAM...
#   trace|off  the build's CMake option PT_TRACE
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 trace|off NM READELF PROGRAM..." >&2
  exit 2
fi
mode=$1
nm=$2
readelf=$3
shift 3
case $mode in trace | off) ;; *)
  echo "mode must be trace or off, not '$mode'" >&2
  exit 2
  ;;
esac

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

for program in "$@"; do
  [ -f "$program" ] || { fail "$program: not built"; continue; }
  name=$(basename "$program")
  # Every symbol name: static table (all, including local and file symbols)
  # and dynamic table.  nm -P prints "name type [value size]".
  symbols=$({
    "$nm" -P -a "$program" 2>/dev/null || true
    "$nm" -P -D "$program" 2>/dev/null || true
  } | awk '{print $1}' | sort -u)
  # A stripped binary would pass vacuously: require that we see main.
  if ! grep -qx 'main' <<<"$symbols"; then
    fail "$name: symbol 'main' not visible; cannot inspect a stripped program"
    continue
  fi
  library_symbols=$(grep -iE '^_*pt_' <<<"$symbols" || true)
  needed=$("$readelf" -d "$program" 2>/dev/null | grep -E '\(NEEDED\)' | grep -i 'peertrace' || true)
  count=$(grep -c . <<<"$library_symbols" || true)

  if [ "$mode" = off ]; then
    if [ -n "$library_symbols" ]; then
      fail "$name (tracing off) has $count pt_ symbols:"
      head -n 20 <<<"$library_symbols" >&2
    fi
    if [ -n "$needed" ]; then
      fail "$name (tracing off) links libpeertrace: $needed"
    fi
    if [ -z "$library_symbols" ] && [ -z "$needed" ]; then
      echo "$name (tracing off): 0 pt_ symbols among $(grep -c . <<<"$symbols") symbols, libpeertrace not needed"
    fi
  else
    if [ -z "$library_symbols" ]; then
      fail "$name (tracing on) has no pt_ symbol: the detection cannot see the library"
    else
      echo "$name (tracing on): $count pt_ symbols found, e.g. $(head -n 3 <<<"$library_symbols" | tr '\n' ' ')"
    fi
  fi
done

if [ "$failures" -gt 0 ]; then
  exit 1
fi
echo "PASS"
