#!/usr/bin/env bash
# Builds kube-apiserver, etcd and helm from Go modules into a versioned cache outside the repo.
# Neither is packaged for this machine; the Go module proxy is the only source we may use.
# Prints the directory that holds the three binaries (the equivalent of KUBEBUILDER_ASSETS).
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.14}"
HELM_VERSION="${HELM_VERSION:-3.21.4}"
CACHE_ROOT="${MAILSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailsync-operator}"
OUT="$CACHE_ROOT/control-plane/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { echo "[build-control-plane] $*" >&2; }

# helm is stamped with the Kubernetes version it assumes when it has no cluster to ask (helm
# template); the marker tells a helm built before that stamp was added, which is rebuilt.
HELM_MARKER="$OUT/.helm-assumes-k8s-$KUBE_VERSION"
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kubectl" ] && [ -x "$OUT/etcd" ] && [ -x "$OUT/helm" ] && [ -f "$HELM_MARKER" ]; then
  echo "$OUT"; exit 0
fi
command -v go >/dev/null || { log "Go is required to build the control plane (none found on PATH)"; exit 1; }
mkdir -p "$OUT"
# Two builds at once (two checkouts, or make test beside make run) share the cache: the second
# waits for the first, then finds the binaries built.
exec 9>"$OUT/.lock"
flock 9
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kubectl" ] && [ -x "$OUT/etcd" ] && [ -x "$OUT/helm" ] && [ -f "$HELM_MARKER" ]; then
  echo "$OUT"; exit 0
fi
work="$CACHE_ROOT/control-plane/src"
mkdir -p "$work"

# --- kube-apiserver: k/k's go.mod requires its staging modules at v0.0.0, so a wrapper module
# replaces each of them with the published v0.x.y of the same release.
if [ ! -x "$OUT/kube-apiserver" ]; then
  log "building kube-apiserver v$KUBE_VERSION (first time only; several minutes)"
  mod="$work/kube-$KUBE_VERSION"; mkdir -p "$mod"
  staging_minor="0.${KUBE_VERSION#1.}"
  gomod_file=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module mailsync.dev/kubebins"
    echo "go $(sed -n 's/^go \(.*\)/\1/p' "$gomod_file")"
    echo "require k8s.io/kubernetes v$KUBE_VERSION"
    echo "replace ("
    grep -oE 'k8s\.io/[a-z0-9-]+ v0\.0\.0(\s|$)' "$gomod_file" | awk -v v="v$staging_minor" '{print "  " $1 " => " $1 " " v}' | sort -u
    echo ")"
  } > "$mod/go.mod"
  printf '//go:build tools\npackage tools\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\nimport _ "k8s.io/kubernetes/cmd/kubectl"\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION#1.}" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
fi
# kubectl from the same module, for `make dev-cluster` users and for `kubectl explain`.
if [ ! -x "$OUT/kubectl" ]; then
  log "building kubectl v$KUBE_VERSION"
  mod="$work/kube-$KUBE_VERSION"
  printf '//go:build tools\npackage tools\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\nimport _ "k8s.io/kubernetes/cmd/kubectl"\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION" -o "$OUT/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
  mv "$OUT/kubectl.tmp" "$OUT/kubectl"
fi

# --- etcd: its main package lives in go.etcd.io/etcd/server/v3, whose go.mod has local replaces
# that make `go install` refuse it; a wrapper module requiring it builds fine.
if [ ! -x "$OUT/etcd" ]; then
  log "building etcd v$ETCD_VERSION"
  mod="$work/etcd-$ETCD_VERSION"; mkdir -p "$mod"
  printf 'module mailsync.dev/etcdbin\ngo 1.25.0\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > "$mod/go.mod"
  printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi

# --- helm v3 has no replace directives, so a plain module build works.
if [ ! -x "$OUT/helm" ] || [ ! -f "$HELM_MARKER" ]; then
  log "building helm v$HELM_VERSION"
  mod="$work/helm-$HELM_VERSION"; mkdir -p "$mod"
  printf 'module mailsync.dev/helmbin\ngo 1.26.0\nrequire helm.sh/helm/v3 v%s\n' "$HELM_VERSION" > "$mod/go.mod"
  printf '//go:build tools\npackage tools\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${KUBE_VERSION%%.*} -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" -o "$OUT/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$OUT/helm.tmp" "$OUT/helm"
  touch "$HELM_MARKER"
fi
echo "$OUT"
