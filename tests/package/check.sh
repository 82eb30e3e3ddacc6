#!/usr/bin/env bash
# Installs the build tree given as $1 into a temporary prefix, then builds
# and runs a consumer with find_package(peertrace) and with pkg-config.
# $2 is the PT_TRACE value the consumer must see (0 or 1).
set -euo pipefail
build=$1
want=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$here" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
out=$("$tmp/consumer/consumer")
echo "$out"
grep -qx "PT_TRACE=$want" <<<"$out"
if [ "$want" = 1 ]; then grep -qx "trace events=1" <<<"$out"; fi

# pkg-config route
pcdir=$(dirname "$(find "$tmp/prefix" -name peertrace.pc | head -1)")
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs peertrace)
# shellcheck disable=SC2086
cc -std=c11 "$here/consumer.c" -o "$tmp/pc_consumer" $flags
out=$("$tmp/pc_consumer")
echo "pkg-config: $out"
grep -qx "PT_TRACE=$want" <<<"$out"
echo "package check passed"
