#!/usr/bin/env bash
# Installs a Lua interpreter from Debian packages for the tests of the Argo CD health check
# (docs/argocd/health-mailsync.lua). Argo CD runs health scripts in gopher-lua, which implements
# Lua 5.1, so the tests use Debian's lua5.1: a script that passes there uses nothing newer
# (goto, //, bitwise operators) that Argo CD would reject. Idempotent and silent when installed.
set -euo pipefail

if command -v lua5.1 >/dev/null; then
  exit 0
fi

APT_WHO=ensure-lua
. "$(dirname "$0")/lib-apt.sh"
apt_begin lua5.1
trap 'rm -f "$APT_OUT"' EXIT

apt_log "installing lua5.1 from Debian packages"
apt_quiet apt-get update -qq || apt_fail "apt-get update failed"
apt_quiet apt-get install -y -qq --no-install-recommends lua5.1 || apt_fail "apt-get install lua5.1 failed"
command -v lua5.1 >/dev/null || apt_fail "install finished but lua5.1 is not on PATH"
apt_log "installed $(lua5.1 -v 2>&1)"
