#!/usr/bin/env bash
# Compiles src/train/kernels/wasm/native/kernels.c into the modules the trainer loads:
#   kernels.wasm                 imports a plain memory (tfjs-backend-wasm's single-threaded module)
#   kernels-shared.wasm          imports a shared memory (its threaded module)
#   kernels-fma.wasm, kernels-fma-shared.wasm
#                                the same with relaxed-SIMD fused multiply-adds (used where the
#                                runtime validates relaxed SIMD, see native.ts)
# and records the source's sha256 in kernels.build.json (a test checks it, so an edited .c
# without a rebuild fails `npm test`). Needs clang >= 16 and its wasm-ld (Debian bookworm:
# apt-get install clang-16 lld-16). The .wasm files are committed: users and CI never need a C
# toolchain.
set -euo pipefail
cd "$(dirname "$0")/../src/train/kernels/wasm/native"
CC=${CC:-clang-16}
FLAGS=(--target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding -Wall -Werror
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all)
# The functions must not touch the stack: it would sit at the start of the imported memory,
# which belongs to tfjs.
"$CC" "${FLAGS[@]:0:7}" -S -o - kernels.c | { ! grep -q __stack_pointer; } || {
  echo "kernels.c: a function uses the stack (__stack_pointer); keep locals scalar" >&2
  exit 1
}
"$CC" "${FLAGS[@]}" -o kernels.wasm.tmp kernels.c
"$CC" "${FLAGS[@]}" -matomics -Wl,--shared-memory -Wl,--max-memory=4294967296 -o kernels-shared.wasm.tmp kernels.c
FMA=(-DAUGMENT_FMA -mrelaxed-simd)
"$CC" "${FLAGS[@]}" "${FMA[@]}" -o kernels-fma.wasm.tmp kernels.c
"$CC" "${FLAGS[@]}" "${FMA[@]}" -matomics -Wl,--shared-memory -Wl,--max-memory=4294967296 -o kernels-fma-shared.wasm.tmp kernels.c
for f in kernels kernels-shared kernels-fma kernels-fma-shared; do mv "$f.wasm.tmp" "$f.wasm"; done
sha=$(sha256sum kernels.c | cut -d' ' -f1)
printf '{\n  "source": "kernels.c",\n  "sha256": "%s",\n  "compiler": "%s"\n}\n' "$sha" "$("$CC" --version | head -1)" > kernels.build.json
echo "built kernels.wasm, kernels-shared.wasm ($(wc -c < kernels.wasm) bytes) from kernels.c ($sha)"
