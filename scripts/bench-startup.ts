/**
 * Start-up of the `augment` command, compiled (bin/augment.js -> dist/) against the old way
 * (`node --import tsx src/cli.ts`, what bin/augment.js did through tsx's API before the
 * package was compiled), whole process, alternating A B A B after one warm-up of each:
 *   - `augment --help`
 *   - `augment build random` of a tiny 2-class dataset (8 PNGs, 64 px) into a fresh folder
 *     (two workers start, each loads the build worker: so this is mostly start-up too).
 * Wall time (median of the pairs, and the median per-pair ratio) and CPU time (user+sys, from
 * /usr/bin/time) of each. Needs dist/ built (`npm run build`).
 *
 * usage: node --import tsx scripts/bench-startup.ts [--pairs 8]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

const args = process.argv.slice(2);
const pairs = Number(args[args.indexOf('--pairs') + 1] || 8) || 8;
const repo = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'augment-startup-'));

const src = join(work, 'src');
for (const [c, colour] of [['a', { r: 220, g: 40, b: 40 }], ['b', { r: 40, g: 40, b: 220 }]] as const) {
  mkdirSync(join(src, c), { recursive: true });
  for (let i = 0; i < 4; i++) {
    await sharp({ create: { width: 64, height: 64, channels: 3, background: colour } })
      .composite([{ input: { create: { width: 8 + 8 * i, height: 16, channels: 3, background: { r: 255, g: 255, b: 255 } } }, left: 4 * i, top: 8 * i }])
      .png()
      .toFile(join(src, c, `${i}.png`));
  }
}

const ways = {
  compiled: [join(repo, 'bin', 'augment.js')],
  tsx: ['--import', 'tsx', join(repo, 'src', 'cli.ts')],
} as const;
type Way = keyof typeof ways;
let n = 0;
const cases: Record<string, () => string[]> = {
  'augment --help': () => ['--help'],
  'augment build random (8 files, -j 2)': () => ['build', 'random', '--source', src, '--out', join(work, `out${n++}`), '-j', '2'],
};

function once(way: Way, argv: string[]): { wall: number; cpu: number } {
  const timing = join(work, 'time.txt');
  const t0 = performance.now();
  execFileSync('/usr/bin/time', ['-f', '%U %S', '-o', timing, process.execPath, ...ways[way], ...argv], { cwd: repo, stdio: 'ignore' });
  const wall = (performance.now() - t0) / 1000;
  const [u, s] = readFileSync(timing, 'utf8').trim().split(/\s+/).map(Number);
  return { wall, cpu: u + s };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const lines: string[] = [];
for (const [name, argv] of Object.entries(cases)) {
  once('compiled', argv());
  once('tsx', argv());
  const r: Record<Way, { wall: number; cpu: number }[]> = { compiled: [], tsx: [] };
  const ratios: number[] = [];
  for (let p = 0; p < pairs; p++) {
    const a = once('compiled', argv());
    const b = once('tsx', argv());
    r.compiled.push(a);
    r.tsx.push(b);
    ratios.push(b.wall / a.wall);
  }
  const row = (w: Way) => `${median(r[w].map((x) => x.wall)).toFixed(2)} s wall, ${median(r[w].map((x) => x.cpu)).toFixed(2)} s CPU`;
  const line = `| ${name} | ${row('compiled')} | ${row('tsx')} | ${median(ratios).toFixed(2)}x |`;
  console.log(line);
  lines.push(line);
}
rmSync(work, { recursive: true, force: true });
console.log(['', `| command | compiled (bin/augment.js -> dist/) | through tsx (node --import tsx src/cli.ts) | speed-up (median per-pair ratio) |`, '|---|---|---|---|', ...lines].join('\n'));
