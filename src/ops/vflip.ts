/** vflip: mirror top-bottom (torchvision's RandomVerticalFlip; its p is the node's `p:`). No options. */
import { createRaw } from '../image/raw.ts';
import { defineOp, zod } from './define.ts';

export const vflip = defineOp<Record<string, never>, Record<string, never>>({
  name: 'vflip',
  summary: 'mirror top-bottom; no options',
  schema: () => zod().strictObject({}),
  sample: () => ({}),
  matrix: (_p, _w, h) => [1, 0, 0, 0, -1, h - 1, 0, 0, 1],
  interpolation: () => 'nearest',
  apply: (img) => {
    const { width: w, height: h, data } = img;
    const stride = w * 3;
    const out = new Uint8Array(data.length);
    for (let y = 0; y < h; y++) out.set(data.subarray(y * stride, (y + 1) * stride), (h - 1 - y) * stride);
    return createRaw(w, h, out);
  },
  label: () => 'vflip',
});
