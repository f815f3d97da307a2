/**
 * A separate process filling a decode cache, for test/train-data.test.ts (concurrent fills,
 * a fill killed half-way).
 *   node --import tsx test/helpers/decode-cache-child.ts VARIANT_DIR CACHE_DIR SIZE [--hang]
 * Prints `{"decoded":D,"reused":R}` for the train split. With --hang it prints `started` after
 * the first decoded image and then blocks (the test kills it there).
 */
import { readVariant, ensureSplitCache } from '../../src/train/data.ts';

const [dir, cacheDir, size, flag] = process.argv.slice(2);
const hang = flag === '--hang';
const v = await readVariant(dir);
const c = await ensureSplitCache(v, 'train', Number(size), cacheDir, {
  decodeIn: 'main',
  concurrency: 1,
  onWait: () => process.stderr.write('waiting\n'),
  onProgress: (done, total) => {
    if (hang && done < total) {
      process.stdout.write('started\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    }
  },
});
process.stdout.write(`${JSON.stringify({ decoded: c.decoded, reused: c.reused })}\n`);
