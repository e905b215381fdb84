#!/usr/bin/env bash
# Installs what Rewind's build and tests use beyond Go itself, on Debian:
#   libopenblas-dev     fast SGEMM for the CPU engine (loaded at run time; the
#                       engine falls back to pure-Go gonum without it)
#   python3-grpcio,
#   python3-protobuf    the Python process-plugin example and its tests
#   chromium            the headless-browser test of the HTML run report
#   clang, lld, llvm,
#   wasi-libc,
#   libclang-rt-14-dev-wasm32
#                       the C Wasm example and the C plugin scaffold, rebuilt
#                       by their tests
#   nodejs (and npm)    the AssemblyScript plugin scaffold's test
# then AssemblyScript for examples/plugins/boxed-as (npm ci, from the lock
# file) and, from the Go module proxy, staticcheck (the linter .ci/run
# runs). The Wasm fixtures are committed, so the tools above only rebuild
# and cross-check them; without a tool its tests are skipped, except under
# CI=true, where they fail (internal/testtool).
# Idempotent: what is already installed is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(libopenblas-dev python3-grpcio python3-protobuf chromium
  clang lld llvm wasi-libc libclang-rt-14-dev-wasm32 nodejs)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs comes without npm; other node builds bring their own.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ ! -x examples/plugins/boxed-as/node_modules/.bin/asc ]]; then
  echo "setup: installing AssemblyScript (npm ci in examples/plugins/boxed-as)"
  (cd examples/plugins/boxed-as && npm ci --no-audit --no-fund --loglevel=error)
fi
go mod download
# staticcheck 2026.2.2 (module v0.8.2), the newest release, supports Go
# 1.26; raise the pin with the go directive in go.mod.
staticcheck_version=v0.8.2
gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
if ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "(${staticcheck_version#v})"; then
  echo "setup: installing staticcheck $staticcheck_version into $gobin"
  go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
