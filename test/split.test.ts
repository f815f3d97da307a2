import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitFiles, groupKeyOf, resolveSplit, compileGroupPattern, splitWithGroups, splitFingerprint } from '../src/dataset/split.ts';
import { DEFAULT_NEAR_DISTANCE, nearPairs } from '../src/dataset/dedupe.ts';
import { rngFor } from '../src/rng.ts';
import type { SourceFile } from '../src/dataset/scan.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { tempDir, removeDir } from './helpers/dataset.ts';

const files = (counts: Record<string, number>, names?: (c: string, i: number) => string): SourceFile[] =>
  Object.entries(counts).flatMap(([c, n]) =>
    Array.from({ length: n }, (_, i) => ({ class: c, rel: `${c}/${names ? names(c, i) : `f${i}`}.png`, size: 100 + i, mtimeMs: 0, width: 8, height: 8 })),
  );

test('stratified 6:2:2 counts are exact per class with single-file groups', () => {
  const s = splitFiles(files({ a: 10, b: 7, c: 100 }), { ratios: [0.6, 0.2, 0.2], seed: 1 });
  assert.deepEqual([s.train.a.length, s.valid.a.length, s.test.a.length], [6, 2, 2]);
  assert.deepEqual([s.train.b.length, s.valid.b.length, s.test.b.length], [5, 1, 1]); // round(7 * 0.2) = 1
  assert.deepEqual([s.train.c.length, s.valid.c.length, s.test.c.length], [60, 20, 20]);
});

test('no file is in two splits and every file is in one', () => {
  const all = files({ a: 33, b: 17 });
  const s = splitFiles(all, { ratios: [0.6, 0.2, 0.2], seed: 7 });
  const seen = new Set<string>();
  for (const sp of ['train', 'valid', 'test'] as const)
    for (const list of Object.values(s[sp]))
      for (const f of list) {
        assert.ok(!seen.has(f), `${f} twice`);
        seen.add(f);
      }
  assert.equal(seen.size, all.length);
});

test('the split is a pure function of the seed, and the seed matters', () => {
  const all = files({ a: 30 });
  const o = { ratios: [0.6, 0.2, 0.2] as [number, number, number], seed: 3 };
  assert.deepEqual(splitFiles(all, o), splitFiles([...all].reverse(), o));
  assert.notDeepEqual(splitFiles(all, o).test.a, splitFiles(all, { ...o, seed: 4 }).test.a);
});

test('groups never straddle splits', () => {
  const all = files({ a: 60 }, (_, i) => ['x', 'x-off', 'x-filled', 'x-off-filled'][i % 4].replace('x', `icon${Math.floor(i / 4)}`));
  const group = '^(.+?)(?:-off)?(?:-filled)?$';
  const s = splitFiles(all, { ratios: [0.6, 0.2, 0.2], seed: 5, group });
  const pattern = compileGroupPattern(group);
  const where = new Map<string, string>();
  for (const sp of ['train', 'valid', 'test'] as const)
    for (const f of s[sp].a) {
      const k = groupKeyOf(f, pattern);
      assert.ok(!where.has(k) || where.get(k) === sp, `group ${k} in ${where.get(k)} and ${sp}`);
      where.set(k, sp);
    }
  assert.equal(where.size, 15);
  assert.equal(s.valid.a.length, 12); // 3 groups of 4
});

test('a bad group regex is one clear line naming the field', () => {
  assert.throws(() => compileGroupPattern('(', 'recipes/x.yaml: split.group'), /recipes\/x.yaml: split.group: not a valid regular expression/);
});

test('the split file is written once and reused; a changed source gets a new one', async () => {
  const dir = await tempDir();
  try {
    const all = files({ a: 10, b: 10 });
    const o = { ratios: [0.6, 0.2, 0.2] as [number, number, number], seed: 42 };
    const first = await resolveSplit('/src/ds', all, o, dir);
    const again = await resolveSplit('/src/ds', all, o, dir);
    assert.equal(first.reused, false);
    assert.equal(again.reused, true);
    assert.equal(again.file, first.file);
    const changed = await resolveSplit('/src/ds', all.slice(1), o, dir);
    assert.notEqual(changed.file, first.file);
  } finally {
    await removeDir(dir);
  }
});

// content: `pixels` equal = the same picture; `phash` = 8 dihedral hashes of 16 hex digits
const hex16 = (seed: number) => Array.from({ length: 16 }, (_, i) => ((seed * 2654435761 + i * 40503) >>> (i % 7)) & 15).map((v) => v.toString(16)).join('');
const flipBits = (h: string, bits: number[]) => {
  const b = BigInt('0x' + h);
  return bits.reduce((x, k) => x ^ (1n << BigInt(k)), b).toString(16).padStart(16, '0');
};
const withContent = (f: SourceFile, pixels: string, hash: string): SourceFile => ({ ...f, pixels, phash: hash.repeat(8) });

test('exact and near duplicates share a split, across classes too; off keeps them apart by chance only', () => {
  const all = files({ a: 40, b: 40 }).map((f, i) => withContent(f, `p${i}`, hex16(i + 1)));
  // a/f0 and a/f1: the same pixels; a/f2 ~ b/f2 (2 bits apart): near, across classes
  all[1] = withContent(all[1], 'p0', hex16(1));
  all[42] = withContent(all[42], 'p42', flipBits(hex16(3), [0, 9]));
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const s = splitFiles(all, { ratios: [0.6, 0.2, 0.2], seed });
    const where = (rel: string) => (['train', 'valid', 'test'] as const).find((sp) => Object.values(s[sp]).some((l) => l.includes(rel)));
    assert.equal(where('a/f0.png'), where('a/f1.png'), `seed ${seed}: exact pair split`);
    assert.equal(where('a/f2.png'), where('b/f2.png'), `seed ${seed}: near pair across classes split`);
    // stratification holds: 8 valid and 8 test per class
    assert.deepEqual([s.valid.a.length, s.test.a.length, s.valid.b.length, s.test.b.length], [8, 8, 8, 8]);
  }
  const { groups } = splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1 });
  assert.deepEqual(groups, [['a/f0.png', 'a/f1.png'], ['a/f2.png', 'b/f2.png']]);
  assert.deepEqual(splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1, duplicates: 'exact' }).groups, [['a/f0.png', 'a/f1.png']]);
  assert.deepEqual(splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1, duplicates: 'off' }).groups, []);
  assert.deepEqual(splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1, nearDistance: 0 }).groups, [['a/f0.png', 'a/f1.png']]);
});

test('a flipped or rotated copy matches: any of the 8 dihedral hashes counts', () => {
  const all = files({ a: 10 }).map((f, i) => withContent(f, `p${i}`, hex16(i + 7)));
  // a/f5's own hash is a/f4's, but only as its 6th dihedral variant
  const others = Array.from({ length: 8 }, (_, k) => (k === 5 ? hex16(4 + 7) : hex16(100 + k)));
  all[5] = { ...all[5], phash: others.join('') };
  assert.deepEqual(splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1 }).groups, [['a/f4.png', 'a/f5.png']]);
  // and the other way round: the order of the files does not matter
  const o = { ratios: [0.6, 0.2, 0.2] as [number, number, number], seed: 1 };
  assert.deepEqual(splitWithGroups([...all].reverse(), o), splitWithGroups(all, o));
  const swapped = all.map((f, i) => (i === 4 ? { ...f, rel: 'a/z4.png' } : f)); // now a/f5 comes first
  assert.deepEqual(splitWithGroups(swapped, o).groups, [['a/f5.png', 'a/z4.png']]);
});

test('a chain of near duplicates larger than maxGroup is linked again at smaller distances', () => {
  // a/f(2k) and a/f(2k+1) share a hash h(k); h(k+1) differs from h(k) in 2 bits: at distance 4 one chain of 20
  const hs: string[] = [hex16(99)];
  for (let k = 1; k < 10; k++) hs.push(flipBits(hs[k - 1], [k * 2, k * 2 + 1]));
  const all = files({ a: 20, b: 20 }).map((f, i) => withContent(f, `p${i}`, f.class === 'a' ? hs[Math.floor(i / 2)] : hex16(500 + i)));
  const loose = splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1, maxGroup: 1000 });
  assert.deepEqual(loose.groups.map((g) => g.length), [20]);
  // over 8: linked again at 2 bits (still the chain of 20), then at 0: the ten pairs
  const pairs = Array.from({ length: 10 }, (_, k) => [`a/f${2 * k}.png`, `a/f${2 * k + 1}.png`]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const guarded = splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1, maxGroup: 8 });
  assert.deepEqual(guarded.groups.slice().sort((x, y) => (x[0] < y[0] ? -1 : 1)), pairs);
  assert.deepEqual([guarded.files.valid.a.length, guarded.files.test.a.length], [4, 4]);
  // auto: half of a's 4 valid / 4 test files = 2
  assert.deepEqual(splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1 }).groups.slice().sort((x, y) => (x[0] < y[0] ? -1 : 1)), pairs);
  assert.deepEqual(splitWithGroups(all, { ratios: [0.6, 0.2, 0.2], seed: 1, maxGroup: 20 }).groups.map((g) => g.length), [20]);
});

test('the split fingerprint changes with the duplicate settings and with the pixels', () => {
  const all = files({ a: 10 }).map((f, i) => withContent(f, `p${i}`, hex16(i)));
  const o = { ratios: [0.6, 0.2, 0.2] as [number, number, number], seed: 42 };
  const fp = splitFingerprint(all, o);
  assert.equal(splitFingerprint(all, { ...o, duplicates: 'near', nearDistance: DEFAULT_NEAR_DISTANCE, maxGroup: 'auto' }), fp);
  const others = [{ duplicates: 'exact' as const }, { duplicates: 'off' as const }, { nearDistance: 6 }, { maxGroup: 3 }].map((x) => splitFingerprint(all, { ...o, ...x }));
  assert.equal(new Set([fp, ...others]).size, 5);
  assert.notEqual(splitFingerprint([withContent(all[0], 'changed', hex16(0)), ...all.slice(1)], o), fp);
});

test('near pairs from the multi-index equal the all-pairs comparison, in both directions', () => {
  const rng = rngFor('near-pairs-test');
  const hashes: Array<string | undefined> = [];
  const made: string[][] = [];
  for (let i = 0; i < 300; i++) {
    const base = i % 3 === 0 ? Array.from({ length: 8 }, () => Array.from({ length: 16 }, () => rng.int(0, 15).toString(16)).join('')) : made[rng.int(0, made.length - 1)];
    const own = i % 3 === 0 ? base : base.map((h) => flipBits(h, Array.from({ length: rng.int(0, 8) }, () => rng.int(0, 63))));
    made.push(own);
    hashes.push(i === 7 ? undefined : own.join(''));
  }
  const pop = (x: bigint) => x.toString(2).replace(/0/g, '').length;
  const big = hashes.map((h) => h?.match(/.{16}/g)!.map((x) => BigInt('0x' + x)));
  const oneWay = (a: bigint[], b: bigint[]) => Math.min(...b.map((x) => pop(a[0] ^ x)));
  const dist: number[][] = big.map((a) => big.map((b) => (a && b ? Math.min(oneWay(a, b), oneWay(b, a)) : 99)));
  for (const t of [0, 2, 3, 6, 20]) {
    const want: Array<{ a: number; b: number; distance: number }> = [];
    for (let a = 0; a < hashes.length; a++) for (let b = a + 1; b < hashes.length; b++) if (dist[a][b] <= t) want.push({ a, b, distance: dist[a][b] });
    assert.deepEqual(nearPairs(hashes, t), want, `t = ${t}`);
    assert.ok(want.length > 0);
  }
});

test('near pairs read a hash as hashWords does: upper-case digits, and a malformed string word by word', () => {
  const h = Array.from({ length: 128 }, (_, i) => '0123456789abcdef'[(i * 7) % 16]).join('');
  assert.deepEqual(nearPairs([h, h.toUpperCase()], 0), [{ a: 0, b: 1, distance: 0 }]);
  // parseInt of each 8 digits: 'zz' reads as 0, a short string leaves the missing words 0
  assert.deepEqual(nearPairs(['0'.repeat(128), 'zz', undefined, '0'.repeat(127) + 'g'], 0), [
    { a: 0, b: 1, distance: 0 },
    { a: 0, b: 3, distance: 0 },
    { a: 1, b: 3, distance: 0 },
  ]);
});

test('a split file that does not hold every scanned file once, under its own class, is written anew (output names come from it)', async () => {
  const dir = await tempDir();
  try {
    const all = files({ a: 10, b: 10 });
    const o = { ratios: [0.6, 0.2, 0.2] as [number, number, number], seed: 42 };
    const first = await resolveSplit('/src/ds', all, o, dir);
    const tamper = async (edit: (s: any) => void) => {
      const rec = JSON.parse(await readFile(first.file, 'utf8'));
      edit(rec.files);
      await writeFile(first.file, JSON.stringify(rec));
      const again = await resolveSplit('/src/ds', all, o, dir);
      assert.equal(again.reused, false);
      assert.deepEqual(again.record.files, first.record.files);
      assert.deepEqual(JSON.parse(await readFile(first.file, 'utf8')).files, first.record.files);
    };
    await tamper((f) => (f.train['../..'] = [f.train.a.pop()])); // a class that would climb out of the variant folder
    await tamper((f) => f.train.a.push('a/../../../x.png')); // a path the scan never found
    await tamper((f) => f.train.b.push(f.train.a[0])); // a file under another class too
    await tamper((f) => f.test.a.pop()); // a file left out
    await tamper((f) => (f.valid = null));
    assert.equal((await resolveSplit('/src/ds', all, o, dir)).reused, true);
  } finally {
    await removeDir(dir);
  }
});
