#!/usr/bin/env bash
# The main job: builds peertrace with full tracing and runs the example node,
# which records a connection's events and queries its own flight recorder.
# Usage (as root on Debian 12): bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset debug -B build/demo >/dev/null
cmake --build build/demo -j "$(nproc)" --target basic_node >/dev/null
./build/demo/examples/basic_node
