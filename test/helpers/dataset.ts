/**
 * Fixtures for dataset tests: real image files made with sharp in a temp folder.
 * `makeDataset(counts)` writes `<root>/<class>/<class>_<i>.png`, each a distinct small picture
 * (a shape whose position and colour depend on the index), so outputs differ per source.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fg from 'fast-glob';
import sharp from 'sharp';

export async function tempDir(prefix = 'augment-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A deterministic w x h RGB PNG: a coloured rectangle on white, placed by `i`. */
export async function iconPng(i: number, size = 24): Promise<Buffer> {
  const x = (i * 7) % (size - 8);
  const y = (i * 11) % (size - 8);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <rect width="100%" height="100%" fill="white"/>
    <rect x="${x}" y="${y}" width="${6 + (i % 5)}" height="${4 + (i % 3)}" fill="rgb(${(i * 53) % 256},${(i * 97) % 256},${(i * 31) % 256})"/>
    <line x1="0" y1="${i % size}" x2="${size}" y2="${(i * 3) % size}" stroke="black" stroke-width="2"/></svg>`;
  return sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
}

export async function makeDataset(root: string, counts: Record<string, number>, size = 24): Promise<void> {
  let i = 0;
  for (const [cls, n] of Object.entries(counts)) {
    await mkdir(join(root, cls), { recursive: true });
    for (let k = 0; k < n; k++) await writeFile(join(root, cls, `${cls}_${k}.png`), await iconPng(i++, size));
  }
}

/** Map of relative path -> sha256 of every file under `dir` (hidden files included). */
export async function treeHashes(dir: string, pattern = '**'): Promise<Map<string, string>> {
  const files = (await fg(pattern, { cwd: dir, dot: true, onlyFiles: true })).sort();
  const out = new Map<string, string>();
  for (const f of files) out.set(f, createHash('sha256').update(await readFile(join(dir, f))).digest('hex'));
  return out;
}

export async function countFiles(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const cls of (await readdir(dir)).sort()) out[cls] = (await fg('**/*', { cwd: join(dir, cls), onlyFiles: true })).length;
  return out;
}

export { relative };
