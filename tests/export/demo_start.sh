# demo_start.sh: sourced by the checks of the P2P demo's exported dumps
# (check_*_demo.sh), after `demo=$1 peertrace=$2 out=$3 src=$4 node_dir=$5`.
# `demo_start NAME [DEMO_ARGS...]` checks that node and the npm test tooling
# are there, empties $out and runs the demo (4 nodes, 3% loss, seed 7,
# 6 chunks, then DEMO_ARGS) into $out/dumps; any failure exits 1 with a
# message that starts with NAME.
demo_start() {
  name=$1
  shift
  command -v node >/dev/null || {
    echo "$name: node not found (Debian: apt-get install nodejs)" >&2
    exit 1
  }
  sh "$src/js/setup.sh" --check "$node_dir"
  rm -rf "$out"
  mkdir -p "$out"
  timeout 90 "$demo" --nodes 4 --loss 0.03 --seed 7 --chunks 6 "$@" \
    --out "$out/dumps" >"$out/demo.out" 2>&1 || {
    echo "$name: the demo failed: $(tail -5 "$out/demo.out")" >&2
    exit 1
  }
}
