/**
 * Ops micro-benchmark: ms per call of every op, the seed's six-op chain (fused and one op at
 * a time), PNG encode and decode, at 64 and 224 px, on a rendered @tabler/icons icon.
 * Warm-up first, then the best of five timed rounds; one flat row per case. Times are CPU
 * time of this process (process.cpuUsage, all threads, so sharp's worker threads count too),
 * which a busy shared machine disturbs less than wall time.
 *
 * After each size, scripts/bench-ops-opencv.py times OpenCV's counterparts on the same PNG in
 * the same run (/usr/bin/python3 with cv2), and a second table sets them side by side.
 *
 * usage: node --import tsx scripts/bench-ops.ts [--sizes 64,224] [--ms 450] [--only REGEX]
 *        [--no-opencv] [--write-doc]
 * --only times just the cases whose label matches; --write-doc replaces the tables between the
 * bench-ops markers under "## Ops micro-benchmark" in docs/BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { decodeImageBuffer } from '../src/image/decode.ts';
import { encodeImage } from '../src/image/encode.ts';
import type { RawImage } from '../src/image/raw.ts';
import { applyOps, sampleOps, validateOpsSpec } from '../src/ops/compose.ts';
import { getOp } from '../src/ops/registry.ts';
import type { AppliedOp } from '../src/ops/types.ts';
import { createRng } from '../src/rng.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizes = opt('sizes', '64,224').split(',').map(Number);
const budgetMs = Number(opt('ms', '450'));
const writeDoc = args.includes('--write-doc');
const only = new RegExp(opt('only', ''));
const noOpencv = args.includes('--no-opencv');
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};
const ctx = { fill: [0, 0, 0] as const };

/** The seed's random chain (NOTES.md), with a useful colour jitter in place of the no-op. */
export const SEED_CHAIN = [
  { op: 'colorJitter' },
  { op: 'gaussianBlur', kernel: [5, 9] },
  { op: 'perspective', p: 0.5 },
  { op: 'rotate', degrees: [0, 180] },
  { op: 'affine', degrees: [0, 180] },
  { op: 'invert', p: 0.5 },
];

/** The seed chain with the peer's colour jitter (brightness and contrast 0.2, as opencv_random_build.py). */
export const PEER_CHAIN = [{ op: 'colorJitter', brightness: 0.2, contrast: 0.2 }, ...SEED_CHAIN.slice(1)];

const CASES: Array<[label: string, spec: unknown]> = [
  ['rotate 37° nearest', { op: 'rotate', angle: 37 }],
  ['rotate 37° bilinear', { op: 'rotate', angle: 37, interpolation: 'bilinear' }],
  ['rotate 90°', { op: 'rotate', angle: 90 }],
  ['affine rot+translate+scale+shear', { op: 'affine', degrees: [0, 180], translate: [0.1, 0.1], scale: [0.8, 1.2], shear: 10 }],
  ['perspective 0.5', { op: 'perspective', distortion: 0.5 }],
  ['hflip', { op: 'hflip' }],
  ['vflip', { op: 'vflip' }],
  ['invert', { op: 'invert' }],
  ['colorJitter default (no-op)', { op: 'colorJitter' }],
  ['colorJitter b/c 0.2', { op: 'colorJitter', brightness: 0.2, contrast: 0.2 }],
  ['colorJitter saturation 0.2', { op: 'colorJitter', saturation: 0.2 }],
  ['colorJitter hue 0.1', { op: 'colorJitter', hue: 0.1 }],
  ['colorJitter b/c/s 0.2', { op: 'colorJitter', brightness: 0.2, contrast: 0.2, saturation: 0.2 }],
  ['colorJitter b/c/s 0.2 hue 0.1', { op: 'colorJitter', brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.1 }],
  ['gaussianBlur 5x9', { op: 'gaussianBlur', kernel: [5, 9] }],
  ['resize to half, bilinear', { op: 'resize', size: 0 }],
  ['resize to half, area', { op: 'resize', size: 0, interpolation: 'area' }],
  ['crop 0.8 + resize back', { op: 'crop', fraction: 0.8, resize: true }],
  ['seed chain (6 ops, fused)', SEED_CHAIN],
  ['seed chain with b/c 0.2 jitter (the peer\'s ops)', PEER_CHAIN],
];

/** Same-run pairs: this script's case, scripts/bench-ops-opencv.py's. */
const VERSUS: Array<[ours: string, theirs: string]> = [
  ['rotate 37° nearest', 'rotate 37° nearest (warpAffine)'],
  ['rotate 37° bilinear', 'rotate 37° bilinear (warpAffine)'],
  ['perspective 0.5', 'perspective 0.5 (warpPerspective linear)'],
  ['hflip', 'hflip (cv2.flip)'],
  ['invert', 'invert (255 - img)'],
  ['colorJitter b/c 0.2', 'brightness+contrast (cv2.LUT)'],
  ['colorJitter saturation 0.2', 'saturation (grey + addWeighted)'],
  ['colorJitter hue 0.1', 'hue (HSV round trip)'],
  ['gaussianBlur 5x9', 'gaussianBlur 5x9 (cv2.GaussianBlur)'],
  ['seed chain (6 ops, fused)', 'peer chain (LUT, blur, persp p.5, 2 rot nearest, invert p.5)'],
  ['seed chain with b/c 0.2 jitter (the peer\'s ops)', 'peer chain (LUT, blur, persp p.5, 2 rot nearest, invert p.5)'],
  ['encode PNG (JS, zlib level 3) of a chain output', 'encode PNG (cv2.imencode defaults) of a chain output'],
  ['seed chain + encode PNG (JS, default level)', 'peer chain + encode PNG'],
  ['seed chain into a reused buffer + encode PNG (JS, default level)', 'peer chain + encode PNG'],
  ['peer\'s ops + encode PNG (JS, default level)', 'peer chain + encode PNG'],
  ['decode PNG icon (JS fast path)', 'decode PNG icon (cv2.imdecode)'],
];
const ours = new Map<string, number>();
const theirs = new Map<string, number>();

/** CPU milliseconds of this process (all threads, so sharp's too): steadier than wall time on a shared machine. */
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

const ROUNDS = 5;

/** Best of ROUNDS rounds (each budget / ROUNDS CPU ms) of the mean CPU ms per call. */
function time(fn: (i: number) => unknown): number {
  for (let i = 0; i < 30; i++) fn(i); // warm-up
  let best = Infinity, calls = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuMs();
    let t = t0, n = 0;
    while (t - t0 < budgetMs / ROUNDS) {
      for (let k = 0; k < 10; k++) fn(calls++);
      n += 10;
      t = cpuMs();
    }
    best = Math.min(best, (t - t0) / n);
  }
  return best;
}

async function timeAsync(fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 10; i++) await fn(i);
  let best = Infinity, calls = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuMs();
    let t = t0, n = 0;
    while (t - t0 < budgetMs / ROUNDS) {
      await fn(calls++);
      n++;
      t = cpuMs();
    }
    best = Math.min(best, (t - t0) / n);
  }
  return best;
}

function row(size: number, label: string, ms: number): void {
  ours.set(`${size} ${label}`, ms);
  say(`| ${size} | ${label} | ${ms.toFixed(4)} | ${Math.round(1000 / ms)} |`);
}

/** Time OpenCV's counterparts on the same PNG (skipped with a note where cv2 is missing). */
function opencv(size: number, png: Buffer): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ops-'));
  try {
    const file = join(dir, `icon${size}.png`);
    writeFileSync(file, png);
    const script = join(dirname(fileURLToPath(import.meta.url)), 'bench-ops-opencv.py');
    const r = spawnSync('/usr/bin/python3', [script, String(budgetMs), file], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`(no OpenCV comparison: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
      return;
    }
    for (const line of r.stdout.trim().split('\n')) {
      const j = JSON.parse(line) as { px: number; case: string; ms: number };
      theirs.set(`${j.px} ${j.case}`, j.ms);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function iconPng(size: number): Promise<Buffer> {
  const pkg = dirname(createRequire(import.meta.url).resolve('@tabler/icons/package.json'));
  const svg = readFileSync(join(pkg, 'icons/outline/photo.svg'));
  // Like `augment sample tabler`: 8-bit RGB flattened onto white.
  return sharp(svg, { density: (72 * size) / 24 }).resize(size, size).flatten({ background: '#ffffff' }).png({ compressionLevel: 9 }).toBuffer();
}

const load0 = loadavg()[0];
console.log(`node ${process.version}, ${process.platform}/${process.arch}; CPU ms per call after warm-up (budget ${budgetMs} CPU ms per case)`);
say('| px | case | CPU ms/call | calls per CPU-s |');
say('|---|---|---|---|');
// sharp's threads keep using CPU for a while after its calls, and CPU time counts every
// thread: so all JS-only cases of a size run first, then the sharp ones, then a pause.
for (const size of sizes) {
  const png = await iconPng(size);
  await new Promise((r) => setTimeout(r, 500));
  const img: RawImage = await decodeImageBuffer(png, 'icon');
  const dims = { width: img.width, height: img.height };
  let outs: RawImage[] = [];
  for (const [label, raw] of CASES) {
    if (!only.test(label)) continue;
    const specValue = (raw as any).op === 'resize' ? { ...(raw as object), size: size >> 1 } : raw;
    const spec = validateOpsSpec(specValue, label);
    // 64 different draws, so random ops are timed over their whole range.
    const draws: AppliedOp[][] = Array.from({ length: 64 }, (_, i) => sampleOps(spec, createRng(`bench-${i}`), dims, 1));
    row(size, label, time((i) => applyOps(img, draws[i & 63], ctx)));
    if (label === 'seed chain (6 ops, fused)') {
      // as a build worker can run it: the result written into one buffer reused for every copy
      const into = new Uint8Array(img.data.length);
      row(size, 'seed chain (6 ops, fused, into a reused buffer)', time((i) => applyOps(img, draws[i & 63], ctx, { into })));
      row(size, 'seed chain (6 ops, one at a time)', time((i) => draws[i & 63].reduce((im, a) => getOp(a.op).apply(im, a.params, ctx), img)));
      row(size, 'seed chain: sampleOps only', time((i) => sampleOps(spec, createRng(`s-${i & 1023}`), dims, 1)));
      outs = draws.map((d) => applyOps(img, d, ctx));
      for (const level of [1, 3, 6]) row(size, `encode PNG (JS, zlib level ${level}) of a chain output`, time((i) => encodeImage(outs[i & 63], 'png', { compressionLevel: level })));
      row(size, 'seed chain + encode PNG (JS, default level)', time((i) => encodeImage(applyOps(img, draws[i & 63], ctx))));
      row(size, 'seed chain into a reused buffer + encode PNG (JS, default level)', time((i) => encodeImage(applyOps(img, draws[i & 63], ctx, { into }))));
    }
    if (label.startsWith('seed chain with')) row(size, 'peer\'s ops + encode PNG (JS, default level)', time((i) => encodeImage(applyOps(img, draws[i & 63], ctx))));
  }
  row(size, 'decode PNG icon (JS fast path)', await timeAsync(() => decodeImageBuffer(png, 'icon')));
  const raw = { raw: { width: size, height: size, channels: 3 as const } };
  row(size, 'for comparison: encode PNG (sharp defaults) of a chain output', await timeAsync((i) => sharp(outs[i & 63].data, raw).png().toBuffer()));
  row(size, 'for comparison: decode PNG icon (sharp, as for non-plain files)', await timeAsync(() =>
    sharp(png).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer()));
  row(size, 'for comparison: sharp blur sigma 1.2, raw in/out', await timeAsync(() => sharp(img.data, raw).blur(1.2).raw().toBuffer()));
  if (!noOpencv) opencv(size, png);
  row(size, 'for comparison: sharp rotate 37, raw in/out', await timeAsync(() => sharp(img.data, raw).rotate(37, { background: '#000' }).raw().toBuffer()));
}

if (theirs.size > 0) {
  say('');
  say('Same run, against OpenCV (`/usr/bin/python3 scripts/bench-ops-opencv.py`, one OpenCV thread, the same icon; CPU ms per call):');
  say('');
  say('| px | augment case | augment ms | OpenCV case | OpenCV ms | augment / OpenCV |');
  say('|---|---|---|---|---|---|');
  for (const size of sizes) {
    for (const [a, b] of VERSUS) {
      const x = ours.get(`${size} ${a}`), y = theirs.get(`${size} ${b}`);
      if (x !== undefined && y !== undefined) say(`| ${size} | ${a} | ${x.toFixed(4)} | ${b} | ${y.toFixed(4)} | ${(x / y).toFixed(2)} |`);
    }
  }
}

if (writeDoc) {
  const doc = 'docs/BENCHMARKS.md';
  const when = new Date().toISOString().slice(0, 16) + 'Z';
  const head =
    `\`node --import tsx scripts/bench-ops.ts --ms ${budgetMs}\` \u2014 ${when}, ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
    `${cpus().length} cores, Node ${process.version}, load average ${load0.toFixed(1)} \u2192 ${loadavg()[0].toFixed(1)} ` +
    '(shared machine: CPU time of this process, best of five rounds; compare rows, not machines).';
  const block = ['<!-- bench-ops: begin -->', head, '', ...lines, '<!-- bench-ops: end -->'].join('\n');
  let text = readFileSync(doc, 'utf8');
  if (text.includes('<!-- bench-ops: begin -->')) text = text.replace(/<!-- bench-ops: begin -->[\s\S]*<!-- bench-ops: end -->/, block);
  else if (text.includes('## Ops micro-benchmark')) text = text.replace('## Ops micro-benchmark\n', `## Ops micro-benchmark\n\n${block}\n`);
  else text = `${text.trimEnd()}\n\n## Ops micro-benchmark\n\n${block}\n`;
  writeFileSync(doc, text);
  console.log(`wrote ${doc}`);
}
