# js_tools.sh: sourced by the export checks (check_*.sh) after they set src
# (the tests folder) and node_dir (where tests/js/setup.sh installed the npm
# test tools before the tests, never here); demo_start also wants demo (the
# P2P demo) and out.  Every failure exits 1 with a message that starts with
# the NAME given.

# node_tools NAME: node and the npm tools are there.
node_tools() {
  command -v node >/dev/null || {
    echo "$1: node not found (Debian: apt-get install nodejs)" >&2
    exit 1
  }
  sh "$src/js/setup.sh" --check "$node_dir"
}

# js SCRIPT [ARGS...]: tests/js/SCRIPT run by node with the npm tools.
js() {
  script=$1
  shift
  NODE_PATH="$node_dir/node_modules" node "$src/js/$script" "$@"
}

# must_reject NAME WHAT SCRIPT FILE: the validator SCRIPT refuses FILE (a
# copy broken on purpose, to show that the validator can fail).
must_reject() {
  if js "$3" "$4" 2>/dev/null; then
    echo "$1: the $2 validator accepted a broken file" >&2
    exit 1
  fi
}

# demo_start NAME [DEMO_ARGS...]: node_tools, then $out emptied and the demo
# (4 nodes, 3% loss, seed 7, 6 chunks, then DEMO_ARGS) run into $out/dumps.
demo_start() {
  name=$1
  shift
  node_tools "$name"
  rm -rf "$out"
  mkdir -p "$out"
  timeout 90 "$demo" --nodes 4 --loss 0.03 --seed 7 --chunks 6 "$@" \
    --out "$out/dumps" >"$out/demo.out" 2>&1 || {
    echo "$name: the demo failed: $(tail -5 "$out/demo.out")" >&2
    exit 1
  }
}
