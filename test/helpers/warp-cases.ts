/** Warp test cases shared by the JS/wasm parity tests (test/ops-warp.test.ts, test/ops-native.test.ts). */
import type { RawImage } from '../../src/image/raw.ts';
import { affineMatrix } from '../../src/ops/affine.ts';
import { perspectiveMatrix } from '../../src/ops/perspective.ts';
import { rotateMatrix } from '../../src/ops/rotate.ts';
import { mul, type Mat3 } from '../../src/ops/warp.ts';
import type { createRng } from '../../src/rng.ts';

/** Random maps of each kind the ops make, and random partial spans. */
export function warpCases(img: RawImage, t: number, rng: ReturnType<typeof createRng>): { m: Mat3; spans: Int32Array } {
  const { width: w, height: h } = img;
  const kind = t % 4;
  let m: Mat3;
  if (kind === 0) m = rotateMatrix(rng.uniform(-360, 360), w, h);
  else if (kind === 1) m = affineMatrix({ angle: rng.uniform(0, 180), translate: [rng.int(-5, 5), rng.int(-5, 5)], scale: rng.uniform(0.5, 2), shear: [rng.uniform(-30, 30), rng.uniform(-30, 30)], interpolation: 'nearest' }, w, h);
  else if (kind === 2) {
    const c = (x: number, y: number): [number, number] => [x + rng.int(-8, 8), y + rng.int(-8, 8)];
    m = mul(perspectiveMatrix({ corners: [c(0, 0), c(w + 5, 0), c(w + 5, h + 5), c(0, h + 5)], interpolation: 'bilinear' }, Math.max(2, w), Math.max(2, h)), rotateMatrix(rng.uniform(0, 90), w, h));
  } else m = [1, 0.1, -2, 0.05, 1, 1, -0.06 * rng.next(), 0.04 * rng.next(), 1]; // a horizon inside the canvas
  const spans = new Int32Array(2 * h);
  for (let y = 0; y < h; y++) {
    const a = rng.int(0, w), b = rng.int(0, w);
    spans[2 * y] = t % 3 === 0 ? 0 : Math.min(a, b);
    spans[2 * y + 1] = t % 3 === 0 ? w : Math.max(a, b);
  }
  return { m, spans };
}
