/** hflip: mirror left-right (torchvision's RandomHorizontalFlip; its p is the node's `p:`). No options. */
import { createRaw, type RawImage } from '../image/raw.ts';
import { defineOp, zod } from './define.ts';
import { hflipNative, hflipStep } from './native.ts';

export const hflip = defineOp<Record<string, never>, Record<string, never>>({
  name: 'hflip',
  summary: 'mirror left-right; no options',
  schema: () => zod().strictObject({}),
  sample: () => ({}),
  matrix: (_p, w) => [-1, 0, w - 1, 0, 1, 0, 0, 0, 1],
  interpolation: () => 'nearest',
  apply: (img) => hflipNative(img) ?? hflipJs(img),
  native: () => hflipStep,
  label: () => 'hflip',
});

/** The JS loop (the fallback, and the tests' reference). */
export function hflipJs(img: RawImage): RawImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0, o = row, i = row + (w - 1) * 3; x < w; x++, o += 3, i -= 3) {
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
    }
  }
  return createRaw(w, h, out);
}
