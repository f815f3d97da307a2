/**
 * Builds real folder trees for tests: tiny real PNGs (sharp) and text files.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

let tinyPng: Buffer | undefined;

/** A real 4x4 RGB PNG (cached). */
export async function tinyPngBytes(): Promise<Buffer> {
  tinyPng ??= await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .png()
    .toBuffer();
  return tinyPng;
}

/** A fresh temp folder under os.tmpdir(). */
export function tempDir(prefix = 'augment-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Writes `files` under `root`: a value of `null` writes a real PNG (whatever the
 * extension: decoders are not involved in counting), a string writes that text.
 */
export async function writeTree(root: string, files: Record<string, string | null>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content ?? (await tinyPngBytes()));
  }
}

/** `n` PNGs named `<prefix><i>.png` in `<root>/<dir>`. */
export async function writeImages(root: string, dir: string, n: number, prefix = 'img'): Promise<string[]> {
  const names: string[] = [];
  await mkdir(join(root, dir), { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${i}.png`;
    await writeFile(join(root, dir, name), await tinyPngBytes());
    names.push(`${dir}/${name}`.split('/').slice(1).join('/'));
  }
  return names;
}
