#!/usr/bin/env bash
# Compiles src/ops/native/ops.c (the ops' pixel loops) into src/ops/native/ops.wasm, which
# src/ops/native.ts loads, and records the source's sha256 in ops.build.json (a test checks it,
# so an edited .c without a rebuild fails `npm test`). Needs clang >= 16 and its wasm-ld
# (Debian bookworm: apt-get install clang-16 lld-16). The .wasm is committed: users and CI never
# need a C toolchain.
# -ffp-contract=off: no fused multiply-adds, so the f64 kernels do the JS loops' arithmetic
# (wasm's SIMD128 has no FMA either; relaxed SIMD is not enabled).
set -euo pipefail
cd "$(dirname "$0")/../src/ops/native"
CC=${CC:-clang-16}
"$CC" --target=wasm32 -O3 -msimd128 -mbulk-memory -mnontrapping-fptoint -ffp-contract=off -nostdlib -ffreestanding \
  -Wall -Werror -Wl,--no-entry -Wl,--export=__heap_base -Wl,--strip-all -o ops.wasm.tmp ops.c
mv ops.wasm.tmp ops.wasm
sha=$(sha256sum ops.c | cut -d' ' -f1)
printf '{\n  "source": "ops.c",\n  "sha256": "%s",\n  "compiler": "%s"\n}\n' "$sha" "$("$CC" --version | head -1)" > ops.build.json
echo "built ops.wasm ($(wc -c < ops.wasm) bytes) from ops.c ($sha)"
