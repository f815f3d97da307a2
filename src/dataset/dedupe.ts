/**
 * Which source files must share a split: exact duplicates (the same decoded pixels), near
 * duplicates (perceptual hashes within `nearDistance` bits, flips and 90-degree rotations
 * matching, see ./phash.ts) and the recipe's name-pattern groups (`split.group`), joined with
 * union-find into components. A pure function of the file list and the options; the result does
 * not depend on the order of the files.
 *
 * Giant groups: near-duplicate links chain (a ~ b ~ c ...), and on small pictograms pHash chains
 * a lot: on the 5,589 sample icons (with the recipes' name groups), 4 bits link a component of
 * 338 files and 8 bits one of 3,433 (docs/BENCHMARKS.md, "Duplicate detection"). One group that
 * large cannot be placed without wrecking the stratified ratios. So a component of more than
 * `maxGroup` files is linked again at a smaller distance (2 bits less; pHash distances are even),
 * piece by piece, until every piece fits or only exact duplicates and name groups hold it
 * together (those are never cut: the same pixels in two splits is a certain leak, and a name
 * pattern is the user's).
 */
import type { SourceFile } from './scan.ts';
import { hashWords, popcount32 } from './phash.ts';

export const DUPLICATE_MODES = ['near', 'exact', 'off'] as const;
export type DuplicateMode = (typeof DUPLICATE_MODES)[number];

export interface DedupeOptions {
  /** `near` (default): exact and near duplicates share a split; `exact`: only the same pixels; `off`: neither. */
  duplicates?: DuplicateMode;
  /** Near duplicates: at most this many of the 64 pHash bits differ (after the best flip/rotation). */
  nearDistance?: number;
  /**
   * A near-linked component larger than this is linked again at smaller distances: a number, or
   * a function of the component (file indices), as the split's "auto" rule is.
   */
  maxGroup?: number | ((members: readonly number[]) => number);
}

export const DEFAULT_NEAR_DISTANCE = 4;

/**
 * The `auto` group cap (split.maxGroup: auto): half the smaller of the valid and test targets of
 * the smallest class a group touches, at least 2, so that one group cannot take more than half of
 * any split's share of a class. `targetsOf(cls)` gives [valid, test]; zeros are ignored.
 */
export function autoGroupCap(classOf: (i: number) => string, targetsOf: (cls: string) => number[]): (members: readonly number[]) => number {
  return (members) => {
    let cap = Infinity;
    for (const cls of new Set(members.map(classOf))) {
      const held = targetsOf(cls).filter((t) => t > 0);
      if (held.length) cap = Math.min(cap, Math.min(...held) / 2);
    }
    return Math.max(2, Math.floor(cap));
  };
}

export interface NearPair {
  a: number;
  b: number;
  distance: number;
}

/**
 * Every pair (a < b, indices into `hashes`) whose distance is at most `t`. The distance is
 * symmetric and does not depend on the order of the files: the fewer differing bits of a's own
 * hash against b's 8 flips and rotations, and of b's own hash against a's 8. Entries without a
 * hash (`undefined`) match nothing.
 *
 * Multi-index hashing (Norouzi et al.): cut the 64 bits into t + 1 chunks; two hashes within t
 * bits agree exactly on at least one chunk (pigeonhole), so only files sharing a chunk value
 * with a are compared, not all n^2 / 2 pairs (on the 5,589 sample icons at t = 4, 4-9x
 * faster than all pairs: icons on white share many chunk values). Above 15 bits the chunks get too short to help and it compares all pairs.
 */
export function nearPairs(hashes: ReadonlyArray<string | undefined>, t: number): NearPair[] {
  const n = hashes.length;
  const w = new Uint32Array(n * 16);
  const has = new Uint8Array(n);
  hashes.forEach((h, i) => {
    if (!h) return;
    w.set(hashWords(h), i * 16);
    has[i] = 1;
  });
  const oneWay = (i: number, j: number) => {
    const hi = w[i * 16];
    const lo = w[i * 16 + 1];
    let best = 65;
    for (let s = j * 16, end = s + 16; s < end; s += 2) {
      const d = popcount32(hi ^ w[s]) + popcount32(lo ^ w[s + 1]);
      if (d < best) best = d;
    }
    return best;
  };
  const distance = (i: number, j: number) => Math.min(oneWay(i, j), oneWay(j, i));
  const out: NearPair[] = [];
  if (t < 0) return out;
  if (t > 15) {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        if (!has[i] || !has[j]) continue;
        const d = distance(i, j);
        if (d <= t) out.push({ a: i, b: j, distance: d });
      }
    return out;
  }
  const m = t + 1;
  const bounds = Array.from({ length: m + 1 }, (_, c) => Math.round((c * 64) / m));
  // Chunk c of hash s of file i: its bits bounds[c] .. bounds[c + 1] - 1 counted from the top,
  // as a number (exact up to 53 bits; a wider chunk, t = 0, may round, which only adds
  // candidates: every pair is checked by its distance).
  const mask = (width: number) => (width >= 32 ? 0xffffffff : (1 << width) - 1) >>> 0;
  const chunkOf = (i: number, s: number, c: number) => {
    const hi = w[i * 16 + s * 2];
    const lo = w[i * 16 + s * 2 + 1];
    const a = bounds[c];
    const b = bounds[c + 1];
    if (b <= 32) return ((hi >>> (32 - b)) & mask(b - a)) >>> 0;
    if (a >= 32) return ((lo >>> (64 - b)) & mask(b - a)) >>> 0;
    return ((hi & mask(32 - a)) >>> 0) * 2 ** (b - 32) + (b === 32 ? 0 : lo >>> (64 - b));
  };
  const chunks = (i: number, s: number) => Array.from({ length: m }, (_, c) => chunkOf(i, s, c));
  // chunks of all 8 hashes of every file; a file's own hash is looked up in it. A pair within t
  // bits one way round is found from that side (pigeonhole), so both sides are asked, every
  // partner not only the later ones, and a pair found twice is kept once.
  const index = Array.from({ length: m }, () => new Map<number, number[]>());
  const ownChunks: number[][] = [];
  for (let j = 0; j < n; j++) {
    if (!has[j]) {
      ownChunks.push([]);
      continue;
    }
    for (let s = 0; s < 8; s++)
      chunks(j, s).forEach((k, c) => {
        const list = index[c].get(k);
        if (list) list.push(j);
        else index[c].set(k, [j]);
      });
    ownChunks.push(chunks(j, 0));
  }
  const seen = new Int32Array(n).fill(-1);
  const kept = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (!has[i]) continue;
    const own = ownChunks[i];
    for (let c = 0; c < m; c++) {
      const list = index[c].get(own[c]);
      if (!list) continue;
      for (let q = 0; q < list.length; q++) {
        const j = list[q];
        if (j === i || seen[j] === i) continue;
        seen[j] = i;
        const a = i < j ? i : j;
        const b = i < j ? j : i;
        if (kept.has(a * n + b)) continue;
        const d = distance(a, b);
        if (d <= t) {
          kept.add(a * n + b);
          out.push({ a, b, distance: d });
        }
      }
    }
  }
  return out.sort((x, y) => x.a - y.a || x.b - y.b);
}

export class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]];
      x = this.parent[x];
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  /** Components as sorted index lists, ordered by their smallest index. */
  components(members?: readonly number[]): number[][] {
    const by = new Map<number, number[]>();
    for (const i of members ?? Array.from(this.parent.keys())) {
      const r = this.find(i);
      const list = by.get(r);
      if (list) list.push(i);
      else by.set(r, [i]);
    }
    return [...by.values()].map((c) => c.sort((x, y) => x - y)).sort((x, y) => x[0] - y[0]);
  }
}

export interface Components {
  /** Every file index in exactly one component (singletons included), ordered by smallest index. */
  components: number[][];
  /** Exact-duplicate sets (the same pixels), of two or more files. */
  exact: number[][];
  /** Near pairs used (after the giant-group guard), a < b. */
  near: NearPair[];
  /** Components that the guard linked at a smaller distance than `nearDistance`. */
  relinked: number;
}

/**
 * Joins `files` (indices) by `fixed` pairs (name groups), the same pixels, and near pairs as
 * the options say, keeping near-linked components within `maxGroup`.
 */
export function duplicateComponents(files: readonly SourceFile[], fixed: ReadonlyArray<[number, number]>, opts: DedupeOptions = {}): Components {
  const mode = opts.duplicates ?? 'near';
  const t0 = opts.nearDistance ?? DEFAULT_NEAR_DISTANCE;
  const maxGroup = opts.maxGroup ?? Infinity;
  const n = files.length;
  const base: Array<[number, number]> = [...fixed];
  const exact: number[][] = [];
  if (mode !== 'off') {
    const byPixels = new Map<string, number[]>();
    files.forEach((f, i) => {
      if (!f.pixels) return;
      const list = byPixels.get(f.pixels);
      if (list) list.push(i);
      else byPixels.set(f.pixels, [i]);
    });
    for (const set of byPixels.values())
      if (set.length > 1) {
        exact.push(set);
        for (let k = 1; k < set.length; k++) base.push([set[0], set[k]]);
      }
    exact.sort((a, b) => a[0] - b[0]);
  }
  const all = mode === 'near' ? nearPairs(files.map((f) => f.phash), t0) : [];
  const uf = new UnionFind(n);
  for (const [a, b] of base) uf.union(a, b);
  const used: NearPair[] = [];
  let relinked = 0;
  const capOf = typeof maxGroup === 'number' ? () => maxGroup : maxGroup;
  // link `members` with near pairs up to distance t; pieces over their cap again at t - 2
  const link = (members: number[], pairs: NearPair[], t: number) => {
    const local = new UnionFind(n);
    for (const [a, b] of base) local.union(a, b);
    const within = pairs.filter((p) => p.distance <= t);
    for (const p of within) local.union(p.a, p.b);
    const byRoot = new Map<number, NearPair[]>();
    for (const p of within) {
      const r = local.find(p.a);
      const list = byRoot.get(r);
      if (list) list.push(p);
      else byRoot.set(r, [p]);
    }
    for (const comp of local.components(members)) {
      const inside = byRoot.get(local.find(comp[0])) ?? [];
      if (!inside.length) continue;
      if (comp.length > capOf(comp)) {
        relinked++;
        link(comp, inside, t - 2);
      } else {
        used.push(...inside);
        for (const p of inside) uf.union(p.a, p.b);
      }
    }
  };
  if (all.length) link(Array.from({ length: n }, (_, i) => i), all, t0);
  used.sort((x, y) => x.a - y.a || x.b - y.b);
  return { components: uf.components(), exact, near: used, relinked };
}
