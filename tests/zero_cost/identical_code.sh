#!/usr/bin/env bash
# Zero-cost check 1: with tracing off, every_macro.c compiles to exactly the
# machine code of the same file with its trace lines deleted.
#
# Usage: identical_code.sh CC OBJCOPY SOURCE_ROOT WORK_DIR [WARNING_FLAGS...]
#
# For each optimisation level (-O2 is the one the release preset uses) it
# compiles three copies of tests/zero_cost/every_macro.c, each under the same
# file name in its own directory so that nothing but the code can differ:
#   off       tracing off (PT_TRACE not defined: the header's default)
#   stripped  every line ending in the trace marker deleted (sed)
#   on        PT_TRACE=1 (the self-check: it must differ, or the comparison
#             is blind)
# and requires .text of off == .text of stripped (objcopy -O binary), the
# whole object files equal too (rodata, data, relocations, symbols), and
# .text of on != .text of off.  off and on are compiled with the project's
# warning flags plus -Werror, and must print nothing at all.
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 CC OBJCOPY SOURCE_ROOT WORK_DIR [WARNING_FLAGS...]" >&2
  exit 2
fi
cc=$1
objcopy=$2
root=$3
work=$4
shift 4
warnings=("$@" -Werror)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

command -v "$cc" >/dev/null 2>&1 || fail "compiler '$cc' not found (gcc and clang are both required)"
command -v "$objcopy" >/dev/null 2>&1 || fail "objcopy '$objcopy' not found"

src=$root/tests/zero_cost/every_macro.c
marker='/\* trace \*/[[:space:]]*$'
rm -rf "$work"
mkdir -p "$work/off" "$work/stripped" "$work/on"
cp "$src" "$work/off/every_macro.c"
cp "$src" "$work/on/every_macro.c"
sed "\\#${marker}#d" "$src" >"$work/stripped/every_macro.c"

# The stripped copy must really be free of the library: no pt_/PT_ name left
# outside comments (an unmarked trace line would make the comparison
# meaningless).  It is also compiled below without the library's include
# directory.
removed=$(($(wc -l <"$src") - $(wc -l <"$work/stripped/every_macro.c")))
[ "$removed" -gt 0 ] || fail "no line of $src carries the trace marker"
leftover=$(awk '
  { line = $0; out = "";
    while (length(line) > 0) {
      if (in_comment) {
        i = index(line, "*/");
        if (i == 0) { line = "" } else { line = substr(line, i + 2); in_comment = 0 }
      } else {
        i = index(line, "/*");
        if (i == 0) { out = out line; line = "" }
        else { out = out substr(line, 1, i - 1); line = substr(line, i + 2); in_comment = 1 }
      }
    }
    sub(/\/\/.*/, "", out);
    if (out ~ /(^|[^A-Za-z0-9_])(pt|PT)_/) print FILENAME ":" NR ": " $0
  }' "$work/stripped/every_macro.c")
[ -z "$leftover" ] || fail "unmarked trace lines survive stripping:
$leftover"
echo "$cc: $removed trace lines stripped"

version=$("$cc" --version | head -n 1)
include_workload=(-I "$root/tests/zero_cost")
include_library=(-I "$root/include")

# compile VARIANT OPT [extra flags...]: compiles VARIANT/every_macro.c to
# VARIANT/every_macro.o; any output on stderr is a failure.
compile() {
  local variant=$1 opt=$2
  shift 2
  local log="$work/$variant/cc.log"
  if ! (cd "$work/$variant" && "$cc" -std=c11 "$opt" "$@" -c every_macro.c \
    -o every_macro.o) 2>"$log"; then
    cat "$log" >&2
    fail "$cc $opt: the $variant variant does not compile"
  fi
  if [ -s "$log" ]; then
    cat "$log" >&2
    fail "$cc $opt: the $variant variant is not silent (warnings above)"
  fi
}

text_of() {
  "$objcopy" -O binary --only-section=.text "$1" "$2"
}

for opt in -O2 -O0 -O3 -Os; do
  compile off "$opt" "${warnings[@]}" "${include_workload[@]}" "${include_library[@]}"
  compile stripped "$opt" "${warnings[@]}" "${include_workload[@]}"
  compile on "$opt" "${warnings[@]}" "${include_workload[@]}" "${include_library[@]}" -DPT_TRACE=1
  for v in off stripped on; do
    text_of "$work/$v/every_macro.o" "$work/$v/text$opt.bin"
  done
  off_text=$work/off/text$opt.bin
  stripped_text=$work/stripped/text$opt.bin
  on_text=$work/on/text$opt.bin
  off_size=$(wc -c <"$off_text")
  on_size=$(wc -c <"$on_text")
  [ "$off_size" -gt 0 ] || fail "$cc $opt: empty .text, nothing was compared"

  if ! cmp -s "$off_text" "$stripped_text"; then
    echo "--- objdump of the difference (off vs stripped) ---" >&2
    diff <(objdump -dr --no-show-raw-insn "$work/off/every_macro.o" | tail -n +3) \
      <(objdump -dr --no-show-raw-insn "$work/stripped/every_macro.o" | tail -n +3) |
      head -n 60 >&2 || true
    fail "$cc $opt: .text with tracing off differs from the stripped source"
  fi
  if ! cmp -s "$work/off/every_macro.o" "$work/stripped/every_macro.o"; then
    cmp "$work/off/every_macro.o" "$work/stripped/every_macro.o" >&2 || true
    fail "$cc $opt: same .text but the object files differ (data, rodata, relocations or symbols)"
  fi
  # Self-check: the comparison must see the trace code when it is there.
  if cmp -s "$off_text" "$on_text"; then
    fail "$cc $opt: .text with PT_TRACE=1 equals tracing off: the comparison cannot see trace code"
  fi
  echo "$cc $opt: off .text == stripped .text ($off_size bytes, whole object identical); PT_TRACE=1 .text differs ($on_size bytes)"
done
echo "PASS ($version)"
