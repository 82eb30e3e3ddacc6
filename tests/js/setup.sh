#!/bin/sh
# Installs the npm test tools (pinned) into DIR/node_modules, once.
# Usage: setup.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
if [ -f "$dir/node_modules/ajv/package.json" ] &&
   [ -f "$dir/node_modules/@opentelemetry/otlp-transformer/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null || {
  # Debian's nodejs has no npm (apt-get install npm); NodeSource's includes it.
  echo "setup.sh: npm not found (Debian: apt-get install npm)" >&2
  exit 1
}
npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
  ajv@8.17.1 @opentelemetry/otlp-transformer@0.203.0
