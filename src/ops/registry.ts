/**
 * The ops by name: the names a recipe's `{op: ...}` may use. An op's name, its file
 * (`src/ops/<name>.ts`) and its test (`test/ops-<name>.test.ts`) match.
 */
import { AugmentError } from '../errors.ts';
import { affine } from './affine.ts';
import { colorJitter } from './colorJitter.ts';
import { crop } from './crop.ts';
import type { AugmentOp } from './define.ts';
import { gaussianBlur } from './gaussianBlur.ts';
import { hflip } from './hflip.ts';
import { invert } from './invert.ts';
import { perspective } from './perspective.ts';
import { resize } from './resize.ts';
import { rotate } from './rotate.ts';
import { vflip } from './vflip.ts';

const OPS = new Map<string, AugmentOp>(
  [affine, colorJitter, crop, gaussianBlur, hflip, invert, perspective, resize, rotate, vflip].map((op) => [op.name, op]),
);

/** Every op name, sorted. */
export function listOps(): string[] {
  return [...OPS.keys()].sort();
}

export function hasOp(name: string): boolean {
  return OPS.has(name);
}

/**
 * The op called `name`.
 * @throws AugmentError BAD_RECIPE naming the valid ops (and the closest one) for an unknown name.
 */
export function getOp(name: string): AugmentOp {
  const op = OPS.get(name);
  if (!op) throw new AugmentError('BAD_RECIPE', unknownOpMessage(name));
  return op;
}

export function unknownOpMessage(name: unknown): string {
  const near = typeof name === 'string' ? closest(name, listOps()) : undefined;
  return `unknown op ${JSON.stringify(name)}${near ? ` (did you mean "${near}"?)` : ''}; valid ops: ${listOps().join(', ')}`;
}

/** The candidate nearest to `name` by edit distance (case and -_ ignored), if near enough. */
function closest(name: string, candidates: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_ ]/g, '');
  let best: string | undefined, bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(norm(name), norm(c));
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
