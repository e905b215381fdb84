#!/usr/bin/env bash
# Installs what Rewind's build and tests use beyond Go itself, on Debian:
#   libopenblas-dev     fast SGEMM for the CPU engine (loaded at run time; the
#                       engine falls back to pure-Go gonum without it)
#   python3-grpcio,
#   python3-protobuf    the Python process-plugin example and its tests
#   chromium            the headless-browser test of the HTML run report
# Wasm fixtures are committed, so no Wasm toolchain is needed to test.
# Idempotent: packages already installed are skipped.
set -euo pipefail
pkgs=(libopenblas-dev python3-grpcio python3-protobuf chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
go mod download
