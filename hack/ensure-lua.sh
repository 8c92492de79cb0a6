#!/usr/bin/env bash
# Installs a Lua interpreter from Debian packages for the tests of the Argo CD health check
# (docs/argocd/health-mailsync.lua). Argo CD runs health scripts in gopher-lua, which implements
# Lua 5.1, so the tests use Debian's lua5.1: a script that passes there uses nothing newer
# (goto, //, bitwise operators) that Argo CD would reject. Idempotent and silent when installed.
set -euo pipefail

if command -v lua5.1 >/dev/null; then
  exit 0
fi

log() { echo "[ensure-lua] $*" >&2; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "lua5.1 is missing and installing it needs root (or sudo)"; exit 1; }
  sudo=(sudo -E)
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
log "installing lua5.1 from Debian packages"
export DEBIAN_FRONTEND=noninteractive
# apt's chatter goes to a file that is shown only when something goes wrong.
"${sudo[@]}" apt-get update -qq >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
"${sudo[@]}" apt-get install -y -qq --no-install-recommends lua5.1 >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
command -v lua5.1 >/dev/null || { cat "$out" >&2; log "install finished but lua5.1 is not on PATH"; exit 1; }
log "installed $(lua5.1 -v 2>&1)"
