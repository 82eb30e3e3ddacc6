#!/usr/bin/env bash
# Builds everything and runs every test: gcc and clang, release and debug,
# ASan+UBSan and TSan, -Werror, clang-format.  Installs what it needs: the
# Debian packages (scripts/install-deps.sh) and, once, the npm test tools
# (tests/js/setup.sh, into build/npm or $PT_NPM_DIR); the tests themselves
# never download anything.
# Usage (as root on Debian 12): bash scripts/test-all.sh
#   PT_CONFIGS="gcc-debug clang-asan"  only these configurations
#   JOBS=N                             parallel build and test jobs
# Every configuration is configured afresh (cmake --fresh: no stale cached
# result from an earlier run), and a configuration that fails to configure
# or build is reported with its first error line; the summary is always
# printed.  Exit status 0 only if everything passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
NPM_DIR=${PT_NPM_DIR:-$ROOT/build/npm}

failures=() # "what: first error line"
not_run=()  # "config: test (Disabled)": registered, but not run
total_pass=0
total_fail=0
configs_run=0

summary() {
  local f
  echo
  for f in "${failures[@]}"; do echo "FAILED $f"; done
  if [ ${#failures[@]} -eq 0 ]; then
    echo "configurations: $configs_run; failed: none"
  else
    echo "configurations: $configs_run; failed: ${failures[*]%%:*}"
  fi
  echo "$total_pass passed, $total_fail failed"
  for f in "${not_run[@]}"; do echo "NOT RUN $f"; done
}

# first_error LOG: the first CMake error of LOG (with the two lines that say
# what it is), else its first compiler/linker/make error, else its last line.
first_error() {
  local line
  line=$(awk '/CMake Error/ && !e { e = $0; next }
              e && /^Call Stack/ { n = 2 }
              e && NF && n < 2 { sub(/^ +/, ""); e = e " " $0; n++ }
              !other && /error:|Error [0-9]|undefined reference|No such file|: not found/ { other = $0 }
              END { if (e) print e; else if (other) print other }' "$1")
  [ -n "$line" ] && echo "$line" || tail -n1 "$1"
}

echo "== Debian packages (scripts/install-deps.sh)"
if ! bash scripts/install-deps.sh; then
  failures+=("install-deps: could not install the packages of .ci/apt-packages (see above)")
  summary
  exit 1
fi

echo "== npm test tools (tests/js/setup.sh $NPM_DIR)"
if ! sh tests/js/setup.sh "$NPM_DIR"; then
  failures+=("npm-setup: the export_qlog and export_otlp tests will fail (see above)")
fi

echo "== clang-format check"
mapfile -t files < <(git ls-files '*.c' '*.h')
if clang-format --dry-run --Werror "${files[@]}"; then
  echo "clang-format: ok"
else
  failures+=("clang-format: files not formatted (see above)")
fi

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
  for w in "${wanted[@]}"; do
    known=0
    for c in "${configs[@]}"; do
      [ "${c%%|*}" = "$w" ] && selected+=("$c") && known=1
    done
    [ $known = 1 ] || failures+=("$w: no such configuration (PT_CONFIGS)")
  done
  configs=("${selected[@]}")
fi

for entry in "${configs[@]}"; do
  IFS='|' read -r name cc preset extra <<<"$entry"
  dir="$ROOT/build/ci-$name"
  configs_run=$((configs_run + 1))
  mkdir -p "$dir"
  echo "== [$name] configure + build ($cc, preset $preset $extra; logs in $dir)"
  # shellcheck disable=SC2086
  if ! cmake --fresh --preset "$preset" -B "$dir" -DCMAKE_C_COMPILER="$cc" \
    -DPT_WERROR=ON -DPT_BUILD_TESTS=ON -DPT_NPM_DIR="$NPM_DIR" $extra \
    >"$dir/configure.log" 2>&1; then
    tail -n 20 "$dir/configure.log"
    failures+=("$name: configure: $(first_error "$dir/configure.log")")
    continue
  fi
  if ! cmake --build "$dir" -j "$JOBS" >"$dir/build.log" 2>&1; then
    tail -n 20 "$dir/build.log"
    failures+=("$name: build: $(first_error "$dir/build.log")")
    continue
  fi
  echo "== [$name] ctest"
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 600 2>&1 | tee "$dir/ctest.log"
  status=${PIPESTATUS[0]}
  line=$(grep -E 'tests passed, [0-9]+ tests failed' "$dir/ctest.log" | tail -1)
  counts=$(sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2 \1/p' <<<"$line")
  if [ -z "$counts" ]; then
    failures+=("$name: ctest: no summary (exit $status): $(tail -n1 "$dir/ctest.log")")
    continue
  fi
  read -r all bad <<<"$counts"
  while read -r t; do
    [ -n "$t" ] && not_run+=("$name: $t")
  done < <(sed -n '/^The following tests did not run:/,/^$/p' "$dir/ctest.log" |
    grep -E '^\s+[0-9]+ - ' | sed -E 's/^\s+[0-9]+ - //')
  total_pass=$((total_pass + all - bad))
  total_fail=$((total_fail + bad))
  if [ "$status" -ne 0 ] || [ "$bad" -ne 0 ]; then
    # The first test under "The following tests FAILED:" (not one of the
    # tests that did not run, listed before them).
    first=$(sed -n '/^The following tests FAILED:/,$p' "$dir/ctest.log" |
      grep -m1 -E '^\s+[0-9]+ - ' | sed -E 's/^\s+//')
    failures+=("$name: ctest: $bad of $all failed: ${first:-exit status $status}")
  fi
done

summary
[ ${#failures[@]} -eq 0 ]
