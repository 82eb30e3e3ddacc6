#!/bin/sh
# The npm tools the export tests use (pinned), in DIR/node_modules.  The
# tests never download: scripts/test-all.sh runs this once, before them.
#   setup.sh DIR           installs them, unless they are there already
#   setup.sh --check DIR   exit 1 with the command to run if they are not
# An unreachable or silent registry fails within seconds (15 s at most),
# with one message naming the registry and npm's reason.
set -eu
check=0
if [ "${1:-}" = --check ]; then
  check=1
  shift
fi
dir=$1
if [ -f "$dir/node_modules/ajv/package.json" ] &&
  [ -f "$dir/node_modules/@opentelemetry/otlp-transformer/package.json" ] &&
  [ -f "$dir/node_modules/@paulirish/trace_engine/package.json" ]; then
  exit 0
fi
if [ "$check" = 1 ]; then
  echo "the npm test tools (ajv, @opentelemetry/otlp-transformer," \
    "@paulirish/trace_engine) are not in $dir:" \
    "install them once with: sh tests/js/setup.sh $dir  (scripts/test-all.sh does)" >&2
  exit 1
fi
command -v npm >/dev/null || {
  # Debian's nodejs has no npm; NodeSource's includes it.
  echo "setup.sh: npm not found (Debian: apt-get install npm; scripts/install-deps.sh does)" >&2
  exit 1
}
mkdir -p "$dir"
log=$dir/npm-install.log
# npm_or_fail COMMAND...: runs npm with its output in $log; if it fails,
# says so in one message with npm's reason, and exits.
npm_or_fail() {
  npm "$@" --loglevel=error >"$log" 2>&1 && return 0
  reason=$(grep -m1 -E 'Error: |network|reason|E40[0-9]|ENOTFOUND|EAI_AGAIN' "$log" ||
    grep -m1 -E '^npm (ERR!|error) code' "$log" || tail -n1 "$log")
  echo "setup.sh: could not install the npm test tools from registry" \
    "$(npm config get registry 2>/dev/null) (full log: $log): $reason" >&2
  exit 1
}
# One bounded request first: an unreachable or silent registry fails here
# within 15 s, instead of each package's fetches timing out and retrying.
npm_or_fail view --fetch-retries=0 --fetch-timeout=15000 ajv@8.17.1 version
npm_or_fail install --prefix "$dir" --no-save --no-audit --no-fund \
  --fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=2000 \
  --fetch-timeout=30000 ajv@8.17.1 @opentelemetry/otlp-transformer@0.203.0 \
  @paulirish/trace_engine@0.0.65
