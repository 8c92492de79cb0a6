#!/usr/bin/env bash
# Builds promtool (Prometheus' rule checker and unit-test runner) from Go modules into a cache
# outside the repo, as hack/build-control-plane.sh builds kube-apiserver: the Go module proxy is the
# only source we may use. The Go module version v0.316.0 is Prometheus 3.x. Service-discovery
# plugins are left out (build tag remove_all_sd): promtool needs none of them to test rules, and
# they are most of the download. Prints the path of the binary.
set -euo pipefail

PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
CACHE_ROOT="${MAILSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailsync-operator}"
OUT="$CACHE_ROOT/tools/promtool-$PROMETHEUS_MODULE_VERSION"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

if [ -n "${PROMTOOL:-}" ]; then echo "$PROMTOOL"; exit 0; fi
if [ -x "$OUT/promtool" ]; then echo "$OUT/promtool"; exit 0; fi
command -v go >/dev/null || { echo "[build-promtool] Go is required to build promtool (none found on PATH)" >&2; exit 1; }
echo "[build-promtool] building promtool from github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION (first time only; several minutes)" >&2
mod="$CACHE_ROOT/tools/src/promtool-$PROMETHEUS_MODULE_VERSION"
mkdir -p "$mod" "$OUT"
gomod_file=$(cd "$mod" && go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
printf 'module mailsync.dev/promtoolbin\ngo %s\nrequire github.com/prometheus/prometheus %s\n' "$(sed -n 's/^go \(.*\)/\1/p' "$gomod_file")" "$PROMETHEUS_MODULE_VERSION" > "$mod/go.mod"
printf '//go:build tools\npackage tools\nimport _ "github.com/prometheus/prometheus/cmd/promtool"\n' > "$mod/tools.go"
(cd "$mod" && go build -tags remove_all_sd -trimpath -ldflags "-s -w" -o "$OUT/promtool.tmp" github.com/prometheus/prometheus/cmd/promtool)
mv "$OUT/promtool.tmp" "$OUT/promtool"
echo "$OUT/promtool"
