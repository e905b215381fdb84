#!/bin/sh
# Builds surprise.wasm with Debian's clang, lld, wasi-libc and the wasm32
# compiler-rt builtins:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# The manifest is appended as the custom section "rewind.manifest".
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Wextra -Werror \
	-Wl,--strip-all -o surprise.tmp.wasm main.c json.c
llvm-objcopy --add-section=rewind.manifest=manifest.json surprise.tmp.wasm surprise.wasm
rm -f surprise.tmp.wasm
