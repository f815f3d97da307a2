/**
 * Shared by the webgpu-*.test.ts files: the adapter probe (tests skip with its reason when
 * there is none) and deterministic test data.
 */
import { requestWebgpuAdapter, initWebgpu } from '../src/train/backend/webgpu.ts';

export const found = await requestWebgpuAdapter();
/** Why the webgpu tests skip on this machine; undefined when an adapter exists. */
export const skipReason = found.adapter === null ? `no WebGPU adapter: ${found.reason}` : undefined;
/** The webgpu backend, software adapter allowed (the tests force it, as `--backend webgpu` does). */
export const gpu = skipReason ? null : await initWebgpu({ allowSoftware: true });

/** Deterministic values in [-0.5, 0.5). */
export function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
