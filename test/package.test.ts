/**
 * The npm package as a user gets it: `npm pack` of this repo (its `prepare` builds dist/), the
 * tarball installed into an empty project (one `npm install`, from the registry or the local
 * cache), then, with no TypeScript loader anywhere in that project:
 *   - `npx augment --help` lists the commands;
 *   - a plain `.mjs` file imports `{ buildVariant, evaluate }` from 'augment' and builds the
 *     shipped `random` recipe from a generated 2-class folder of real PNGs on 2 worker threads;
 *   - the package's type declarations resolve for a TypeScript user (a wrong use is a type error).
 * Slow (the install fetches sharp and TensorFlow.js): one install for all of it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { makeDataset, tempDir, removeDir } from './helpers/dataset.ts';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..');
const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
let root: string;
let project: string;
let packed: { filename: string; files: { path: string }[] };

before(async () => {
  root = await tempDir('augment-package-');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', root, ...npmFlags], { cwd: repo, maxBuffer: 64 << 20 });
  [packed] = JSON.parse(stdout);
  project = join(root, 'project');
  await run('mkdir', ['-p', project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'uses-augment', private: true, type: 'module' }));
  await run('npm', ['install', join(root, packed.filename), ...npmFlags], { cwd: project, maxBuffer: 64 << 20, timeout: 540_000 });
});
after(async () => removeDir(root));

test('the tarball ships compiled JavaScript, declarations, worker entries, wasm kernels and recipes; no sources or tests', () => {
  const files = new Set(packed.files.map((f) => f.path));
  for (const f of [
    'bin/augment.js',
    'dist/cli.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/commands/build.js',
    'dist/variant/worker-entry.mjs',
    'dist/variant/worker.js',
    'dist/train/kernels/wasm/native-worker.mjs',
    'dist/train/kernels/wasm/native/kernels.wasm',
    'dist/ops/native/ops.wasm',
    'recipes/random.yaml',
  ])
    assert.ok(files.has(f), `${f} in the tarball`);
  const stray = [...files].filter((f) => /^(src|test|scripts)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
  assert.deepEqual(stray, []);
});

test('the installed package has no TypeScript loader and `npx augment --help` lists the commands', async () => {
  assert.equal(existsSync(join(project, 'node_modules', 'tsx')), false, 'tsx is a devDependency only');
  assert.equal(existsSync(join(project, 'node_modules', 'pngjs')), false, 'pngjs is gone');
  const { stdout } = await run('npx', ['--no-install', 'augment', '--help'], { cwd: project });
  for (const c of ['build <recipe..>', 'evaluate', 'stats', 'sample <set>']) assert.match(stdout, new RegExp(`augment ${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('a plain .mjs file imports buildVariant and evaluate from "augment" and builds a variant', async () => {
  const src = join(project, 'pics');
  await makeDataset(src, { circles: 10, squares: 4 }, 32);
  await writeFile(
    join(project, 'use.mjs'),
    [
      "import { join } from 'node:path';",
      "import { buildVariant, evaluate, readManifest } from 'augment';",
      "if (typeof evaluate !== 'function') throw new Error('evaluate is not a function');",
      "const r = await buildVariant('random', { source: 'pics', out: 'variants/random', concurrency: 2 });",
      "const manifest = await readManifest(join(r.variantDir, 'manifest.jsonl'));",
      "const { hasNativeOps } = await import('./node_modules/augment/dist/ops/native.js');",
      'console.log(JSON.stringify({ written: r.written, train: r.plan.after.train, manifest: manifest.size, dir: r.variantDir, nativeOps: hasNativeOps() }));',
    ].join('\n'),
  );
  const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: project });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
  // shipped `random`: 6:2:2 split, then each train class up to 7x towards the largest
  assert.deepEqual(r.train, { circles: 6, squares: 6 });
  assert.equal(r.manifest, r.written);
  assert.equal(r.nativeOps, true, 'the compiled op kernels (dist/ops/native/ops.wasm) load from the installed package');
  const pngs = (await readdir(join(r.dir, 'train', 'squares'))).filter((f) => f.endsWith('.png'));
  assert.equal(pngs.length, 6);
  for (const f of pngs) {
    const m = await sharp(await readFile(join(r.dir, 'train', 'squares', f))).metadata();
    assert.deepEqual([m.format, m.width, m.height], ['png', 32, 32]);
  }
});

test('the type declarations resolve from a TypeScript project (a wrong use is a type error)', async () => {
  await writeFile(
    join(project, 'typed.ts'),
    [
      "import { buildVariant, type BuildResult } from 'augment';",
      "const r: BuildResult = await buildVariant('random', { concurrency: 1 });",
      'export const ok: number = r.written;',
      'export const wrong: string = r.written;',
    ].join('\n'),
  );
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')] },
      files: ['typed.ts'],
    }),
  );
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const e = await run(process.execPath, [tsc, '-p', '.'], { cwd: project }).then(
    () => null,
    (err: { stdout: string }) => err,
  );
  assert.ok(e, 'tsc reports the wrong use');
  const errors = e.stdout.trim().split('\n').filter((l) => /error TS/.test(l));
  assert.equal(errors.length, 1, e.stdout);
  assert.match(errors[0], /typed\.ts\(4,14\): error TS2322: Type 'number' is not assignable to type 'string'/);
});
