#!/usr/bin/env bash
# The fresh-machine check: do the README's two commands work on a clean
# Debian 12 with nothing but git installed?  (Not part of CI: ~15-30 min.)
#
#   bash scripts/fresh-machine-check.sh [REPO]      # as root, on Debian
#
# Builds a Debian 12 minbase root with debootstrap (installed with apt-get
# if missing), using this machine's apt sources and CA certificates (so a
# proxy this machine trusts is trusted inside too), installs only git and
# ca-certificates, clones REPO (default: the repository this script is in)
# at its HEAD (committed work only), and runs, as root inside the root:
#   bash scripts/demo.sh            then            bash scripts/test-all.sh
# (before them the README's quick start, in a clone of its own).
# It prints PASS/FAIL for each step with its time and the tail of its output;
# the full logs stay in $PT_FRESH_LOGS (default: a new /var/tmp/pt-fresh-logs.*).
# The root (under ${TMPDIR:-/var/tmp}) is unmounted and removed on every exit,
# Ctrl-C included.  Exit status: 0 if every step passed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "${1:-$here}" && git rev-parse --show-toplevel)
rev=$(git -C "$repo" rev-parse HEAD)
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: run as root" >&2; exit 2; }

logs=${PT_FRESH_LOGS:-$(mktemp -d /var/tmp/pt-fresh-logs.XXXXXX)}
mkdir -p "$logs"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/pt-fresh-root.XXXXXX")
root=$work/root
mounted=()
running= # the pid of the step in progress

# Processes still running inside the root (e.g. after Ctrl-C) keep its
# mounts busy: end them (they are ours), then unmount, newest first.
# The root is removed only when nothing is mounted under it any more.
cleanup() {
  local status=$? pid m i
  trap - EXIT INT TERM
  set +e # a process that is gone already must not stop the unmounting
  [ -n "$running" ] && kill "$running" 2>/dev/null
  for pid in /proc/[0-9]*; do
    [ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "${pid#/proc/}" 2>/dev/null
  done
  # A namespace a test left behind is a mount under /run/netns.
  for m in "$root"/run/netns/*; do
    [ -e "$m" ] && umount "$m" 2>/dev/null
  done
  [ -d "$root/run/netns" ] && umount "$root/run/netns" 2>/dev/null
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m=${mounted[i]}
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "could not unmount $m" >&2
  done
  if grep -q " $work/" /proc/mounts; then
    echo "fresh-machine-check: still mounted under $work, not removing it:" >&2
    grep " $work/" /proc/mounts >&2
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "fresh-machine-check: interrupted"; exit 130' INT TERM

steps=() results=()
# step NAME COMMAND...: runs COMMAND with its output in $logs/NAME.log.
step() {
  local name=$1 start status
  shift
  echo "== $name (log: $logs/$name.log)"
  start=$(date +%s)
  # In the background, so that a signal is handled at once (by cleanup).
  "$@" >"$logs/$name.log" 2>&1 &
  running=$!
  set +e
  wait $running
  status=$?
  set -e
  running=
  steps+=("$name")
  results+=("$([ $status -eq 0 ] && echo PASS || echo "FAIL (exit $status)") in $(($(date +%s) - start)) s")
  echo "   ${results[-1]}"
  return $status
}

summary() {
  local i
  echo
  echo "==== fresh-machine check of $repo at $rev"
  for i in "${!steps[@]}"; do
    echo
    echo "---- ${steps[i]}: ${results[i]}; last lines of $logs/${steps[i]}.log:"
    tail -n 15 "$logs/${steps[i]}.log" | sed 's/^/    /'
  done
  echo
  for i in "${!steps[@]}"; do
    echo "${steps[i]}: ${results[i]}"
  done
}

# This machine's Debian mirror: the first URI of its deb sources.
mirror=$(grep -hE '^\s*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list.d/*.list 2>/dev/null | grep -m1 -oE 'https?://[^ ]*/debian/?' || true)
mirror=${mirror:-http://deb.debian.org/debian}

install_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
}

make_root() {
  debootstrap --variant=minbase bookworm "$root" "$mirror"
}

# Mounts the kernel file systems and the repository (read-only, to clone
# from) into the root.
# The root is first bound onto itself: a fresh machine's / is a mount point
# (`ip netns add`, which the namespace demo runs, remounts / as a slave and
# fails in a plain chroot), and /run is its own tmpfs, as on a booted
# machine, so the namespaces' mounts under /run/netns stay inside the root.
mount_all() {
  local m
  mount --bind "$root" "$root" || return 1
  mounted+=("$root")
  mkdir -p "$root/run" && mount -t tmpfs tmpfs "$root/run" || return 1
  mounted+=("$root/run")
  for m in proc sys dev dev/pts dev/shm; do
    mkdir -p "$root/$m" && mount --bind "/$m" "$root/$m" || return 1
    mounted+=("$root/$m")
  done
  mkdir -p "$root/mnt/repo" && mount --bind "$repo" "$root/mnt/repo" || return 1
  mounted+=("$root/mnt/repo")
  mount -o remount,bind,ro "$root/mnt/repo"
}

# Copies in this machine's apt sources, name server and CA certificates.
configure_root() {
  rm -f "$root"/etc/apt/sources.list "$root"/etc/apt/sources.list.d/*
  cp -a /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null || true
  find /etc/apt/sources.list.d -maxdepth 1 \( -name '*.list' -o -name '*.sources' \) \
    -exec cp -a {} "$root/etc/apt/sources.list.d/" \;
  # Snapshot mirrors serve old Release files: accept them as this machine does.
  grep -rhs 'Check-Valid-Until\|Check-Date' /etc/apt/apt.conf.d/ >"$root/etc/apt/apt.conf.d/99fresh-check" || true
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  [ -s "$root/etc/hostname" ] || echo fresh-check >"$root/etc/hostname"
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
  # No daemon starts inside the root (lttng-tools ships one).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
}

# in_root COMMAND: runs a bash command as root inside the root, with a clean
# environment; npm and node trust this machine's CA bundle.
in_root() {
  env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm_config_cafile=/etc/ssl/certs/ca-certificates.crt \
    chroot "$root" /bin/bash -c "$1"
}

install_git() {
  in_root 'apt-get update -qq && apt-get install -y -qq --no-install-recommends git ca-certificates' &&
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" &&
    in_root 'dpkg-query -W -f="\${Package}\n" | wc -l | sed "s/$/ packages installed/"'
}

clone() {
  in_root "git -c safe.directory='*' clone -q /mnt/repo /root/peertrace &&
           cd /root/peertrace && git -c advice.detachedHead=false checkout -q $rev &&
           git log -1 --oneline"
}

# The README's quick start, as written (its first indented block), in a
# clone of its own; what it installs into /usr/local is removed afterwards.
quick_start() {
  local commands
  commands=$(awk '/^## Quick start/ { on = 1; next }
                  on && /^## / { exit }
                  on && /^    / { sub(/^    /, ""); print; seen = 1; next }
                  on && seen && NF { exit }' "$root/root/peertrace/README.md")
  [ -n "$commands" ] || { echo "no quick start block in README.md"; return 1; }
  printf '%s\n' "$commands"
  in_root "git clone -q /root/peertrace /root/quick && cd /root/quick && set -ex
           $commands
           xargs rm -f <build/debug/install_manifest.txt"
}

failed=0
echo "fresh-machine check of $repo at $rev (mirror $mirror)"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "note: uncommitted changes in $repo are not checked"
fi
{
  step debootstrap-install install_debootstrap &&
    step debootstrap make_root &&
    mount_all && configure_root &&
    step install-git install_git &&
    step clone clone
} || failed=1
if [ $failed -eq 0 ]; then
  step quick-start quick_start || failed=1
  step demo in_root 'cd /root/peertrace && bash scripts/demo.sh' || failed=1
  step test-all in_root 'cd /root/peertrace && bash scripts/test-all.sh' || failed=1
fi
summary
if [ $failed -eq 0 ]; then
  echo "fresh-machine check: PASS"
else
  echo "fresh-machine check: FAIL"
fi
exit $failed
