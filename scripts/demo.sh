#!/usr/bin/env bash
# The P2P demo in one command, on a fresh Debian 12 machine:
#   bash scripts/demo.sh                 # traced build (-O2), 4 nodes, 3% loss
#   bash scripts/demo.sh --release       # same demo, tracing compiled out
#   bash scripts/demo.sh --processes     # one process per node (+ launcher)
#   bash scripts/demo.sh --nodes 6 --loss 0.05 --seed 9 --chunks 12 --out DIR
# Installs the Debian packages it needs (apt-get, as root or through sudo),
# builds the library, the demo and (trace builds) the peertrace tool with
# CMake, and runs examples/p2p/p2p_demo, which writes one dump per node to
# p2p-logs/node<i>.ptd and prints the peertrace commands to try on them.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=bench
dir=build/demo
if [ "${1:-}" = "--release" ]; then
  preset=release
  dir=build/demo-release
  shift
fi

packages="build-essential cmake pkg-config libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

echo "== building ($preset preset) in $dir"
cmake --preset "$preset" -B "$dir" -DPT_BUILD_TESTS=OFF -DPT_BUILD_BENCH=OFF >/dev/null
targets=p2p_demo
# Trace builds: also the peertrace tool, which reads the dumps the demo
# writes ($dir/tools/peertrace; the demo prints the commands to try).
[ "$preset" = release ] || targets="p2p_demo peertrace_cli"
# shellcheck disable=SC2086
cmake --build "$dir" -j "$(nproc)" --target $targets >/dev/null
echo "== running $dir/examples/p2p/p2p_demo $*"
echo
exec "$dir/examples/p2p/p2p_demo" "$@"
