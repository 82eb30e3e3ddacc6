#!/usr/bin/env bash
# Builds everything and runs every test: gcc and clang, release and debug,
# ASan+UBSan and TSan, -Werror, clang-format.  Installs what it needs.
# Usage (as root on Debian 12): bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}

bash scripts/install-deps.sh

echo "== clang-format check"
files=$(git ls-files '*.c' '*.h')
clang-format --dry-run --Werror $files
echo "clang-format: ok"

# name | compiler | preset | extra cmake args
configs=(
  "gcc-debug|gcc|debug|"
  "clang-debug|clang|debug|"
  "gcc-release|gcc|release|"
  "clang-release|clang|release|"
  "gcc-minimal|gcc|release|-DPT_TRACE_MINIMAL=ON"
  "gcc-asan|gcc|asan|"
  "clang-asan|clang|asan|"
  "clang-tsan|clang|tsan|"
)
if [ -n "${PT_CONFIGS:-}" ]; then
  read -r -a wanted <<<"$PT_CONFIGS"
  selected=()
  for c in "${configs[@]}"; do
    for w in "${wanted[@]}"; do [ "${c%%|*}" = "$w" ] && selected+=("$c"); done
  done
  configs=("${selected[@]}")
fi

total_pass=0
total_fail=0
failed_configs=()
for entry in "${configs[@]}"; do
  IFS='|' read -r name cc preset extra <<<"$entry"
  dir="$ROOT/build/ci-$name"
  echo "== [$name] configure + build ($cc, preset $preset $extra)"
  # shellcheck disable=SC2086
  cmake --preset "$preset" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DPT_WERROR=ON $extra >/dev/null
  cmake --build "$dir" -j "$JOBS"
  echo "== [$name] ctest"
  if ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 600 | tee "$dir/ctest.log"; then
    :
  else
    failed_configs+=("$name")
  fi
  line=$(grep -E 'tests passed, [0-9]+ tests failed' "$dir/ctest.log" | tail -1 || true)
  pass=$(sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2 \1/p' <<<"$line")
  if [ -n "$pass" ]; then
    read -r all bad <<<"$pass"
    total_pass=$((total_pass + all - bad))
    total_fail=$((total_fail + bad))
  else
    total_fail=$((total_fail + 1))
    failed_configs+=("$name(no ctest summary)")
  fi
done

echo
echo "configurations: ${#configs[@]}; failed: ${failed_configs[*]:-none}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ ${#failed_configs[@]} -eq 0 ]
