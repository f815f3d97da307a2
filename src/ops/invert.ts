/** invert: 255 - v on every channel (torchvision's RandomInvert; its p of 0.5 is the node's `p:`). No options. */
import { createRaw, type RawImage } from '../image/raw.ts';
import { defineOp, zod } from './define.ts';
import { invertNative, invertStep } from './native.ts';

export function invertPixels(img: RawImage): RawImage {
  return invertNative(img) ?? invertJs(img);
}

/** The JS loop (the fallback, and the tests' reference). */
export function invertJs(img: RawImage): RawImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  // Four bytes at a time where the buffer is aligned (always, for images augment allocates).
  const words = src.byteOffset % 4 === 0 ? src.length >> 2 : 0;
  if (words > 0) {
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    const o32 = new Uint32Array(out.buffer, 0, words);
    for (let i = 0; i < words; i++) o32[i] = ~s32[i];
  }
  for (let i = words << 2; i < src.length; i++) out[i] = 255 - src[i];
  return createRaw(img.width, img.height, out);
}

export const invert = defineOp<Record<string, never>, Record<string, never>>({
  name: 'invert',
  summary: 'negative: 255 - value; no options',
  schema: () => zod().strictObject({}),
  sample: () => ({}),
  apply: (img) => invertPixels(img),
  native: () => invertStep,
  label: () => 'invert',
});
