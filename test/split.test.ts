import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitFiles, groupKeyOf, resolveSplit, compileGroupPattern } from '../src/dataset/split.ts';
import type { SourceFile } from '../src/dataset/scan.ts';
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
