#!/usr/bin/env bash
# Installs the build tree given as $1 into a temporary prefix, then builds
# and runs a consumer with find_package(peertrace) and with pkg-config.
# $2 is the PT_TRACE value the consumer must see (0 or 1).
# $3 is 1 if the build has the QUIC adapter: then a consumer of the "quic"
# component (peertrace::quic, pkg-config peertrace-quic) is built and run too.
set -euo pipefail
shopt -s inherit_errexit
build=$1
want=$2
quic=${3:-0}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name peertrace.pc | head -1)")

# consume DIR PROGRAM PKG: builds DIR/PROGRAM.c against the install with
# find_package (DIR/CMakeLists.txt) and with pkg-config package PKG; prints
# both programs' output, one line each prefixed with how it was built.
consume() {
  local dir=$1 program=$2 pkg=$3 out flags
  cmake -S "$dir" -B "$tmp/$program" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
  cmake --build "$tmp/$program" >/dev/null
  out=$("$tmp/$program/$program")
  sed 's/^/cmake: /' <<<"$out"
  flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs "$pkg")
  # shellcheck disable=SC2086
  cc -std=c11 "$dir/$program.c" -o "$tmp/pc_$program" $flags
  out=$("$tmp/pc_$program")
  sed 's/^/pkg-config: /' <<<"$out"
}

out=$(consume "$here" consumer peertrace)
echo "$out"
[ "$(grep -cx "[a-z-]*: PT_TRACE=$want" <<<"$out")" = 2 ]
if [ "$want" = 1 ]; then
  [ "$(grep -cx "[a-z-]*: trace events=1" <<<"$out")" = 2 ]
fi

if [ "$quic" = 1 ]; then
  out=$(consume "$here/quic" quic_consumer peertrace-quic)
  echo "$out"
  [ "$(grep -c "^[a-z-]*: quic PT_TRACE=$want " <<<"$out")" = 2 ]
  if [ "$want" = 1 ]; then
    [ "$(grep -cx "[a-z-]*: quic init without log: invalid argument" <<<"$out")" = 2 ]
  fi
fi
echo "package check passed"
