#!/usr/bin/env bash
# The P2P demo in one command, on a fresh Debian 12 machine:
#   bash scripts/demo.sh                 # traced build (-O2), 4 nodes, as
#        root: each node a host in its own network namespace, links with
#        seeded delay, jitter and loss, each node its own skewed clock
#        (p2p_demo --netns); not root: says so, runs the loopback mode
#   bash scripts/demo.sh --release       # same demo, tracing compiled out
#   bash scripts/demo.sh --loopback      # all nodes on 127.0.0.1, 3% loss
#        injected by the demo (add --processes: one process per node)
#   bash scripts/demo.sh --crash-node 2  # node 2 killed at the end
#   bash scripts/demo.sh --nodes 6 --seed 9 --chunks 12 --out DIR
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

packages="build-essential cmake pkg-config libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev libfaketime iproute2"
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
# The namespace mode unless --loopback (p2p_demo falls back to loopback by
# itself, in one line, without root or namespaces).
mode=--netns
args=()
for a in "$@"; do
  if [ "$a" = --loopback ]; then mode=""; else args+=("$a"); fi
done
set -- ${mode:+"$mode"} ${args[@]+"${args[@]}"}
echo "== running $dir/examples/p2p/p2p_demo $*"
echo
exec "$dir/examples/p2p/p2p_demo" "$@"
