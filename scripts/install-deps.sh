#!/usr/bin/env bash
# Installs the Debian packages listed in .ci/apt-packages (missing ones only).
# A line "PACKAGE COMMAND" means: needed only if COMMAND is not on PATH
# (NodeSource's nodejs ships npm and conflicts with Debian's npm package).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
while read -r p command _; do
  [ -n "$command" ] && command -v "$command" >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done < <(sed -E 's/#.*//' .ci/apt-packages | grep -vE '^\s*$')
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
