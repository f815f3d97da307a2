/**
 * A hostile source tree, built with real files and real symbolic links in a temp folder:
 *
 *   <base>/storage/stars/       4 images, linked in as the class folder `stars`
 *   <base>/storage/extra/       2 images, linked in as `circles/extra`
 *   <base>/src/                 the source root
 *     circles/ c0..c9.png, twin.png -> c0.png (the same file twice), extra -> ../../storage/extra
 *              notes.txt (not an image), .DS_Store (hidden)
 *     squares/ s0..s9.png, sub/s10..s11.png, again -> sub (a folder reached twice),
 *              stolen.png -> ../circles/c1.png (a link between classes: a label conflict)
 *     triangles/ t0..t9.png, loop -> .. (the bug: a loop back to the root), self -> . (a loop),
 *              gone.png -> nowhere.png (a broken link)
 *     stars -> ../storage/stars (a class folder outside the root)
 *     empty/   (an empty class folder)
 *     stray.png (an image at the root)
 *     .hidden/h0.png (a hidden folder)
 *   and content duplicates (`withDuplicates`):
 *     circles/c2-copy.png        the bytes of c2 under another name (exact, same class)
 *     squares/deep/c3.png        the bytes of circles/c3 in another class (exact, label conflict)
 *     circles/c4.jpg             c4 re-encoded as JPEG (near)
 *     circles/c5-flip.png        c5 mirrored (near, with flips matching)
 *     triangles/t6-rot.png       t6 rotated by 90 degrees (near)
 *     squares/s7-small.png       s7 resized to 40 px (near)
 *
 * Every picture is a seeded smooth grid of colours, so distinct pictures are far apart in any
 * perceptual hash and copies are close. `trueClass` maps every real file to its label.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { rngFor } from '../../src/rng.ts';

export const CELL_IMAGE_SIZE = 48;

/**
 * A seeded picture: a 4 x 4 grid of random colours blown up to `size` px with a cubic filter,
 * so smooth (perceptual hashes of distinct seeds differ in 8 or more of 64 bits; resized or
 * re-encoded copies in 4 or fewer).
 */
export function cellImage(seed: string, size = CELL_IMAGE_SIZE): Sharp {
  const rng = rngFor('hostile-cells', seed);
  const px = Buffer.alloc(4 * 4 * 3);
  for (let i = 0; i < px.length; i++) px[i] = rng.int(0, 255);
  return sharp(px, { raw: { width: 4, height: 4, channels: 3 } }).resize(size, size, { kernel: 'cubic' });
}

export interface HostileTree {
  base: string;
  root: string;
  /** Real path (under base) -> its class. */
  trueClass: Map<string, string>;
  /** The oddities, by kind, as the scan should name them (paths relative to the root). */
  expected: {
    linkLoops: string[];
    revisited: string[];
    twice: string[];
    brokenLinks: string[];
    rootImages: string[];
    emptyClasses: string[];
    /** Label conflicts by links: the paths of one file under two classes. */
    linkConflicts: string[][];
    /** Label conflicts by content: two files with the same pixels in two classes. */
    contentConflicts: string[][];
    /** Groups of paths that must share a split (exact or near duplicates). */
    groups: string[][];
  };
}

export async function makeHostileTree(base: string, o: { withDuplicates?: boolean } = {}): Promise<HostileTree> {
  const root = join(base, 'src');
  const trueClass = new Map<string, string>();
  const png = async (rel: string, seed: string, cls: string | null, under = root) => {
    const p = join(under, rel);
    await mkdir(dirname(p), { recursive: true });
    await cellImage(seed).png().toFile(p);
    if (cls) trueClass.set(p, cls);
  };
  const link = async (rel: string, target: string) => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await symlink(target, join(root, rel));
  };
  for (let i = 0; i < 10; i++) {
    await png(`circles/c${i}.png`, `c${i}`, 'circles');
    await png(`squares/s${i}.png`, `s${i}`, 'squares');
    await png(`triangles/t${i}.png`, `t${i}`, 'triangles');
  }
  for (let i = 0; i < 4; i++) await png(`stars/st${i}.png`, `st${i}`, 'stars', join(base, 'storage'));
  for (let i = 0; i < 2; i++) await png(`extra/e${i}.png`, `e${i}`, 'circles', join(base, 'storage'));
  await png('squares/sub/s10.png', 's10', 'squares');
  await png('squares/sub/s11.png', 's11', 'squares');
  await png('stray.png', 'stray', null);
  await png('.hidden/h0.png', 'h0', null);
  await writeFile(join(root, 'circles/notes.txt'), 'not an image\n');
  await writeFile(join(root, 'circles/.DS_Store'), 'hidden\n');
  await mkdir(join(root, 'empty'));
  await link('circles/twin.png', 'c0.png');
  await link('circles/extra', '../../storage/extra');
  await link('squares/again', 'sub');
  await link('squares/stolen.png', '../circles/c1.png');
  await link('triangles/loop', '..');
  await link('triangles/self', '.');
  await link('triangles/gone.png', 'nowhere.png');
  await symlink('../storage/stars', join(root, 'stars'));
  trueClass.delete(join(root, 'circles/c1.png')); // in two classes: no true class

  const expected: HostileTree['expected'] = {
    linkLoops: ['triangles/loop', 'triangles/self'],
    revisited: ['squares/again'],
    twice: ['circles/twin.png'],
    brokenLinks: ['triangles/gone.png'],
    rootImages: ['stray.png'],
    emptyClasses: ['empty'],
    linkConflicts: [['circles/c1.png', 'squares/stolen.png']],
    contentConflicts: [],
    groups: [],
  };
  if (o.withDuplicates) {
    // copies are made from the original's PNG bytes, as a user's copies are
    const copy = async (rel: string, seed: string, cls: string | null, f: (s: Sharp) => Sharp) => {
      const p = join(root, rel);
      await mkdir(dirname(p), { recursive: true });
      await f(sharp(await cellImage(seed).png().toBuffer())).toFile(p);
      if (cls) trueClass.set(p, cls);
    };
    await copy('circles/c2-copy.png', 'c2', 'circles', (s) => s.png());
    await copy('squares/deep/c3.png', 'c3', null, (s) => s.png());
    trueClass.delete(join(root, 'circles/c3.png'));
    await copy('circles/c4.jpg', 'c4', 'circles', (s) => s.jpeg({ quality: 80 }));
    await copy('circles/c5-flip.png', 'c5', 'circles', (s) => s.flop().png());
    await copy('triangles/t6-rot.png', 't6', 'triangles', (s) => s.rotate(90).png());
    await copy('squares/s7-small.png', 's7', 'squares', (s) => s.resize(40, 40).png());
    expected.contentConflicts.push(['circles/c3.png', 'squares/deep/c3.png']);
    expected.groups.push(
      ['circles/c2-copy.png', 'circles/c2.png'],
      ['circles/c4.jpg', 'circles/c4.png'],
      ['circles/c5-flip.png', 'circles/c5.png'],
      ['triangles/t6-rot.png', 'triangles/t6.png'],
      ['squares/s7-small.png', 'squares/s7.png'],
    );
  }
  return { base, root, trueClass, expected };
}

/**
 * Every entry under `dir` without following links (a link is its target text): path -> "dir",
 * "link -> target" or "file <sha256> <mtimeMs>". Two equal snapshots mean nothing was written.
 */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (abs: string, rel: string) => {
    for (const d of (await readdir(abs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(abs, d.name);
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isSymbolicLink()) out.set(r, `link -> ${await readlink(p)}`);
      else if (d.isDirectory()) {
        out.set(r, 'dir');
        await visit(p, r);
      } else out.set(r, `file ${createHash('sha256').update(await readFile(p)).digest('hex')} ${(await lstat(p)).mtimeMs}`);
    }
  };
  await visit(dir, '');
  return out;
}
