/**
 * Checks that the compiled pHash (ops.c `phash`, via ../src/dataset/phash.ts `perceptualHash`)
 * gives the JS form's bits (`perceptualHashJs`) on every image under the given folders.
 * node --import tsx scripts/check-phash-native.ts DIR...
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImageReadSync } from '../src/image/decode.ts';
import { perceptualHash, perceptualHashJs } from '../src/dataset/phash.ts';
import { hasNativeOps } from '../src/ops/native.ts';
import { isImageName } from '../src/variant/format.ts';

if (!hasNativeOps()) throw new Error('ops.wasm does not load here: nothing to compare');
function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && isImageName(e.name)) yield p;
  }
}
let bad = 0;
for (const root of process.argv.slice(2)) {
  let n = 0, failed = 0;
  const sizes = new Map<string, number>();
  for (const f of walk(root)) {
    let img;
    try {
      img = await decodeImageReadSync(f);
    } catch {
      failed++;
      continue;
    }
    const a = perceptualHash(img), b = perceptualHashJs(img);
    if (a !== b) {
      bad++;
      console.log(`DIFF ${f} (${img.width}x${img.height}): native ${a} js ${b}`);
    }
    n++;
    const k = `${img.width}x${img.height}`;
    sizes.set(k, (sizes.get(k) ?? 0) + 1);
  }
  console.log(`${root}: ${n} decoded and compared, ${failed} not decodable, sizes ${[...sizes].slice(0, 8).map(([k, v]) => `${k}:${v}`).join(' ')}${sizes.size > 8 ? ` (+${sizes.size - 8} more)` : ''}`);
}
console.log(bad ? `${bad} differ` : 'all equal');
process.exitCode = bad ? 1 : 0;
