#!/bin/sh
# Builds boxed-c.wasm. Needs Debian's clang, lld, wasi-libc and
# libclang-rt-14-dev-wasm32 (the compiler-rt builtins for wasm32):
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# wasi-libc installs its sysroot under /usr (headers in
# /usr/include/wasm32-wasi, libraries in /usr/lib/wasm32-wasi), so
# --sysroot=/usr. The manifest is appended as the custom section
# "rewind.manifest" with llvm-objcopy.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Wextra -Werror \
	-Wl,--strip-all -o boxed-c.tmp.wasm abi.c json.c boxed.c bigrat.c
llvm-objcopy --add-section=rewind.manifest=manifest.json boxed-c.tmp.wasm boxed-c.wasm
rm -f boxed-c.tmp.wasm
