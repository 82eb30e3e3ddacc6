#!/usr/bin/env bash
# Zero-cost check 1, completeness: every public function-like macro of
# peertrace.h and pt_core.h, which it includes (PT_* except internal PT__*
# and the X-macro tables), is used in
# every_macro.c, so the identical-code test covers the whole zero-cost layer.
# A macro added to the header without a use there makes this test fail.
#
# Usage: macro_coverage.sh SOURCE_ROOT
set -euo pipefail
root=${1:?usage: $0 SOURCE_ROOT}
headers=("$root/include/peertrace/peertrace.h" "$root/include/peertrace/pt_core.h")
unit=$root/tests/zero_cost/every_macro.c

macros=$(grep -oE '^[[:space:]]*#[[:space:]]*define[[:space:]]+PT_[A-Za-z0-9_]+\(' "${headers[@]}" |
  sed -E 's/.*define[[:space:]]+//; s/\($//' | grep -v '^PT__' | grep -v '_TABLE$' | sort -u)
[ -n "$macros" ] || { echo "FAIL: no PT_ function-like macro found in ${headers[*]}" >&2; exit 1; }

missing=()
count=0
for m in $macros; do
  count=$((count + 1))
  grep -qE "(^|[^A-Za-z0-9_])${m}\(" "$unit" || missing+=("$m")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "FAIL: not used in $unit (add a marked use): ${missing[*]}" >&2
  exit 1
fi
echo "PASS: all $count public macros of peertrace.h and pt_core.h are used in every_macro.c:" $macros
