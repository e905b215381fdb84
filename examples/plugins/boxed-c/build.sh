#!/bin/sh
# Builds boxed-c.wasm (or the path given as $1). Needs Debian's clang,
# lld, wasi-libc, the wasm32 compiler-rt builtins and llvm-objcopy:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32 llvm
# wasi-libc installs its sysroot under /usr (headers in
# /usr/include/wasm32-wasi, libraries in /usr/lib/wasm32-wasi), hence
# --sysroot=/usr. The manifest is appended as the custom section
# "rewind.manifest".
set -eu
cd "$(dirname "$0")"
out=${1:-boxed-c.wasm}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Wextra -Werror \
	-Wl,--strip-all -o "$tmp" abi.c json.c boxed.c bigrat.c
llvm-objcopy --add-section=rewind.manifest=manifest.json "$tmp" "$out"
