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

/** `hashes` as 16 words per file (hashWords' values) and which files have one. */
function parseHashes(hashes: ReadonlyArray<string | undefined>): { w: Uint32Array; has: Uint8Array } {
  const n = hashes.length;
  const w = new Uint32Array(n * 16);
  const has = new Uint8Array(n);
  // The well-formed ones (128 hex digits, as the scan writes them) read digit by digit into
  // their words; any other string word by word as hashWords reads it (parseInt of each 8 digits).
  for (let i = 0; i < n; i++) {
    const h = hashes[i];
    if (!h) continue;
    has[i] = 1;
    if (h.length !== 128 || !hexWords(h, w, i * 16)) w.set(hashWords(h), i * 16);
  }
  return { w, has };
}

/** Each hex digit's value by its char code (-1: not a hex digit). */
const HEX_DIGIT = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let d = 0; d < 16; d++) {
    t['0123456789abcdef'.charCodeAt(d)] = d;
    t['0123456789ABCDEF'.charCodeAt(d)] = d;
  }
  return t;
})();

/** 128 hex digits into 16 words at w[at..]: false (w[at..] half written) when one is not a hex digit. */
function hexWords(h: string, w: Uint32Array, at: number): boolean {
  for (let q = 0; q < 16; q++) {
    let v = 0;
    for (let k = q * 8, end = k + 8; k < end; k++) {
      const c = h.charCodeAt(k);
      const d = c < 128 ? HEX_DIGIT[c] : -1;
      if (d < 0) return false;
      v = v * 16 + d; // < 2^32: exact
    }
    w[at + q] = v;
  }
  return true;
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
 *
 * The index holds (file, which of its 8 hashes) per chunk value, in flat typed arrays (a
 * bucket's entries lie together, CSR style). File i asks with its own hash's chunks and compares
 * its own hash with just the hash of j that shared a chunk (2 popcounts, not 32): i's own hash
 * is within t bits of j's hash s exactly when, by the pigeonhole, they share a chunk, so "i's
 * own hash is within t of one of j's" (one way round) is decided from i's side alone. A pair
 * within t one way round is found from that side; found from both, it is kept from the smaller
 * index's side. Only a kept pair's distance (both ways, all 16 hashes) is computed.
 */
export function nearPairs(hashes: ReadonlyArray<string | undefined>, t: number): NearPair[] {
  const n = hashes.length;
  const { w, has } = parseHashes(hashes);
  const distance = (i: number, j: number) => Math.min(oneWayOf(w, i, j), oneWayOf(w, j, i));
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
  // Chunk c of hash s of file j: its bits bounds[c] .. bounds[c + 1] - 1 counted from the top,
  // as a number (exact up to 53 bits; a wider chunk, t = 0, may round, which only adds
  // candidates: every candidate is checked by its distance).
  const mask = (width: number) => (width >= 32 ? 0xffffffff : (1 << width) - 1) >>> 0;
  const chunkOf = (j: number, s: number, c: number) => {
    const hi = w[j * 16 + s * 2];
    const lo = w[j * 16 + s * 2 + 1];
    const a = bounds[c];
    const b = bounds[c + 1];
    if (b <= 32) return ((hi >>> (32 - b)) & mask(b - a)) >>> 0;
    if (a >= 32) return ((lo >>> (64 - b)) & mask(b - a)) >>> 0;
    return ((hi & mask(32 - a)) >>> 0) * 2 ** (b - 32) + (b === 32 ? 0 : lo >>> (64 - b));
  };
  // Per chunk c: the entries (j * 8 + s: file j's hash s) grouped by their chunk value, CSR
  // style (bucket k's entries are entries[c][3 * starts[c][k] .. 3 * starts[c][k + 1]], each
  // as e and its hash's two words), and the bucket of each file's own hash (-1 without a hash).
  const entries: Int32Array[] = [];
  const starts: Int32Array[] = [];
  const own: Int32Array[] = [];
  const bucketOf = new Int32Array(n * 8);
  for (let c = 0; c < m; c++) {
    const a = bounds[c];
    const b = bounds[c + 1];
    let buckets: number;
    if (b - a <= 16) buckets = shortChunks(w, has, a, b, bucketOf); // t >= 3: the chunk value is the bucket
    else {
      const map = new Map<number, number>();
      for (let e = 0; e < n * 8; e++) {
        if (!has[e >> 3]) continue;
        const key = chunkOf(e >> 3, e & 7, c);
        let k = map.get(key);
        if (k === undefined) map.set(key, (k = map.size));
        bucketOf[e] = k;
      }
      buckets = map.size;
    }
    const { start, list, ownC } = group(bucketOf, has, buckets, w);
    entries.push(list);
    starts.push(start);
    own.push(ownC);
  }
  const { keys, dists } = search(w, has, entries, starts, own, t);
  const order = Array.from(keys.keys()).sort((x, y) => keys[x] - keys[y]);
  for (const x of order) {
    const a = Math.floor(keys[x] / n);
    out.push({ a, b: keys[x] - a * n, distance: dists[x] });
  }
  return out;
}

/**
 * File i against each hash that shares a chunk with i's own hash (`entries`, `starts`, `own` as
 * nearPairs builds them): within t bits of it means i's own hash is within t of one of j's
 * (seen[j] = i: decided), and, by the pigeonhole, every such j is met. A pair within t both ways
 * round is kept from the smaller index's side, one within t only one way round from that side.
 * Returns each pair as a * n + b (a < b) with its distance.
 */
function search(w: Uint32Array, has: Uint8Array, entries: Int32Array[], starts: Int32Array[], own: Int32Array[], t: number): { keys: number[]; dists: number[] } {
  const n = has.length;
  const m = entries.length;
  const seen = new Int32Array(n).fill(-1);
  const keys: number[] = [];
  const dists: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!has[i]) continue;
    const hi = w[i * 16];
    const lo = w[i * 16 + 1];
    for (let c = 0; c < m; c++) {
      const list = entries[c];
      const start = starts[c];
      const k = own[c][i];
      for (let q = start[k] * 3, end = start[k + 1] * 3; q < end; q += 3) {
        const j = list[q] >> 3;
        if (j === i || seen[j] === i) continue;
        if (popcount32(hi ^ list[q + 1]) + popcount32(lo ^ list[q + 2]) > t) continue;
        seen[j] = i;
        const back = oneWayOf(w, j, i);
        if (j < i && back <= t) continue; // kept from j's side
        keys.push(i < j ? i * n + j : j * n + i);
        dists.push(Math.min(oneWayOf(w, i, j), back));
      }
    }
  }
  return { keys, dists };
}

/** Fewest differing bits between file i's own hash and any of file j's 8. */
function oneWayOf(w: Uint32Array, i: number, j: number): number {
  const hi = w[i * 16];
  const lo = w[i * 16 + 1];
  let best = 65;
  for (let s = j * 16, end = s + 16; s < end; s += 2) {
    const d = popcount32(hi ^ w[s]) + popcount32(lo ^ w[s + 1]);
    if (d < best) best = d;
  }
  return best;
}

/** Bits a .. b - 1 (from the top, b - a <= 16) of each entry's hash (e = j * 8 + s), into `key`; returns 2^(b - a). */
function shortChunks(w: Uint32Array, has: Uint8Array, a: number, b: number, key: Int32Array): number {
  const msk = (1 << (b - a)) - 1;
  const total = has.length * 8;
  for (let e = 0; e < total; e++) {
    const hi = w[e * 2];
    const lo = w[e * 2 + 1];
    key[e] = (b <= 32 ? hi >>> (32 - b) : a >= 32 ? lo >>> (64 - b) : (hi << (b - 32)) | (lo >>> (64 - b))) & msk;
  }
  return msk + 1;
}

/** The entries of files with a hash grouped by bucket (CSR), and each file's own hash's bucket (-1: none). */
function group(bucketOf: Int32Array, has: Uint8Array, buckets: number, w: Uint32Array): { start: Int32Array; list: Int32Array; ownC: Int32Array } {
  const n = has.length;
  const start = new Int32Array(buckets + 1);
  for (let e = 0; e < n * 8; e++) if (has[e >> 3]) start[bucketOf[e] + 1]++;
  for (let k = 0; k < buckets; k++) start[k + 1] += start[k];
  const fill = start.slice(0, buckets);
  // per entry: e and its hash's two words side by side, so that a bucket is one sequential read
  const list = new Int32Array(start[buckets] * 3);
  for (let e = 0; e < n * 8; e++)
    if (has[e >> 3]) {
      const q = fill[bucketOf[e]]++ * 3;
      list[q] = e;
      list[q + 1] = w[e * 2];
      list[q + 2] = w[e * 2 + 1];
    }
  const ownC = new Int32Array(n);
  for (let j = 0; j < n; j++) ownC[j] = has[j] ? bucketOf[j * 8] : -1;
  return { start, list, ownC };
}

export class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
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
    const add = (i: number) => {
      const r = this.find(i);
      const list = by.get(r);
      if (list) list.push(i);
      else by.set(r, [i]);
    };
    if (members) for (const i of members) add(i);
    else for (let i = 0; i < this.parent.length; i++) add(i);
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
