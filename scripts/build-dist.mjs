#!/usr/bin/env node
/**
 * Builds the package's dist/: the TypeScript in src/ compiled to ESM JavaScript with type
 * declarations (tsconfig.build.json; `rewriteRelativeImportExtensions` turns the sources'
 * `./x.ts` specifiers into `./x.js`), then every other file under src/ (wasm kernels, `.mjs`
 * worker entries, ...) copied to the same place under dist/, so that code finding an asset
 * next to itself (`new URL('./x.mjs', import.meta.url)`) finds it in either tree. Everything it
 * prints goes to stderr (tsc's diagnostics too), so `npm pack --json` stays JSON.
 * Built into a fresh temporary folder that replaces dist/ only when everything succeeded: a
 * failed build (a type error) leaves the previous dist/ as it was, and no stale file of an older
 * build survives (the CLI loads its commands by listing dist/commands/). Run by `npm run build` and by `prepare` (so
 * `npm install` / `npm ci` in a clone, and `npm pack`, build it). Plain JavaScript: it runs
 * before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const fresh = join(root, `.dist-${process.pid}.tmp`);

rmSync(fresh, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', fresh], { stdio: [0, 2, 2] });
if (r.status !== 0) {
  rmSync(fresh, { recursive: true, force: true });
  process.stderr.write(`build-dist: tsc failed (exit ${r.status ?? r.signal}); dist/ left as it was\n`);
  process.exit(1);
}

let copied = 0;
const copyAssets = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, e.name);
    if (e.isDirectory()) copyAssets(from);
    else if (e.isFile() && !e.name.endsWith('.ts')) {
      const to = join(fresh, relative(src, from));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
      copied++;
    }
  }
};
copyAssets(src);
rmSync(dist, { recursive: true, force: true });
renameSync(fresh, dist);
process.stderr.write(`build-dist: compiled src/ into dist/, copied ${copied} other files\n`);
