/** Keeps the README true: its recipe example validates, and every command it names exists. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { parse } from 'yaml';
import { parseRecipe } from '../src/recipe/load.ts';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');

test('the README recipe example is a valid recipe', () => {
  const block = /```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a yaml block');
  const r = parseRecipe(parse(block[1]), 'README.md');
  assert.equal(r.oversample && 'maxFactor' in r.oversample ? r.oversample.maxFactor : 0, 7);
  assert.deepEqual(r.fill, [255, 255, 255]);
});

test('every `augment <command>` in the README is a real command', async () => {
  const commands = new Set((await readdir(new URL('../src/commands/', import.meta.url))).map((f) => f.replace(/\.ts$/, '')));
  const named = new Set([...readme.matchAll(/`(?:npx )?augment ([a-z]+)/g)].map((m) => m[1]));
  assert.ok(named.size >= 6);
  for (const c of named) assert.ok(commands.has(c), `augment ${c}`);
});
