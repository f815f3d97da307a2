/**
 * Decode throughput: 64 px PNG icons to 32 px tensors, augment's decode cache against a plain
 * PyTorch/PIL loader, side by side in one run, on the same files. Every case is a whole
 * process, run in rounds A B C ... A B C ... (alternating, so machine noise hits all alike);
 * each reports its in-process time (start-up excluded) and the parent times the process
 * (start-up included). Medians over the rounds.
 *
 * Cases:
 *   - augment, worker threads: ensureSplitCache into an empty cache, decoding on N threads
 *     (read + sha256 + decode + lanczos3 resize per image), N = defaultDecodeThreads();
 *   - augment, main thread: the same, decoding from the main thread (PNG inflate in JS there,
 *     sharp's resize on libuv's threads), N in flight;
 *   - augment, warm cache: the same fill again over a cache that holds every image (decodes 0);
 *   - PIL loop: Image.open -> convert('RGB') -> resize((32, 32), LANCZOS) -> numpy, one process;
 *   - torch DataLoader: torchvision ImageFolder with the time-to-answer anchor's transform
 *     (Resize((32, 32)), ToTensor, Normalize(0.5, 0.5)), batch 64, num_workers N.
 *
 * usage: node --import tsx scripts/bench-decode.ts [--src data/tabler] [--size 32] [--rounds 3] [--write-doc]
 * The source is rendered with the tabler sample (64 px) when missing. Python: /usr/bin/python3
 * with Debian's python3-pil python3-numpy (python3-torch python3-torchvision for the loader).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance as perfHooks } from 'node:perf_hooks';

const eventLoopUtilization = perfHooks.eventLoopUtilization;

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const python = '/usr/bin/python3';

// ---------------------------------------------------------------------------------------
// child: one augment fill, timed from inside

if (args[0] === '--child') {
  const [, where, variantDir, cacheDir, size] = args;
  const { readVariant, ensureSplitCache } = await import('../src/train/data.ts');
  const { closeDecodePool, defaultDecodeThreads } = await import('../src/train/decode-pool.ts');
  const { contentKeys } = await import('../src/train/decode-keys.ts');
  const t0 = performance.now();
  const v = await readVariant(variantDir);
  const t1 = performance.now();
  await contentKeys(v, ['train'], cacheDir); // hashes every file (no manifest) into the memo the fill then reads
  const t2 = performance.now();
  const c = await ensureSplitCache(v, 'train', Number(size), cacheDir, { decodeIn: where as 'workers' | 'main' });
  const seconds = (performance.now() - t0) / 1000;
  await closeDecodePool();
  const phases = { listSeconds: (t1 - t0) / 1000, keysSeconds: (t2 - t1) / 1000, fillSeconds: (performance.now() - t2) / 1000 };
  process.stdout.write(`${JSON.stringify({ images: c.n, decoded: c.decoded, seconds, ...phases, threads: defaultDecodeThreads() })}\n`);
  process.exit(0);
}

// in-process: decodeFiles only (no keys, no pack), worker threads vs this thread, alternating,
// the pool started before timing
if (args[0] === '--inproc') {
  const [, srcDir, size, roundsArg] = args;
  const fg = (await import('fast-glob')).default;
  const { closeDecodePool, decodeFiles, defaultDecodeThreads, setDecodePoolIdleMs } = await import('../src/train/decode-pool.ts');
  setDecodePoolIdleMs(3_600_000); // the same threads for every round
  const files = (await fg('*/*.png', { cwd: srcDir, absolute: true })).sort();
  const threads = defaultDecodeThreads();
  const once = async (where: 'workers' | 'main') => {
    let n = 0;
    const elu0 = eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await decodeFiles(files, Number(size), { where, threads, onDecoded: () => n++, onFailed: (_, e) => { throw e; } });
    const cpu = process.cpuUsage(cpu0);
    // seconds of wall time, CPU seconds of the whole process, and how busy the main thread was
    return { n, seconds: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, mainBusy: eventLoopUtilization(elu0).utilization };
  };
  await once('workers'); // start the threads, warm the page cache
  const times: Record<string, number[]> = { workers: [], main: [] };
  const cpu: Record<string, number[]> = { workers: [], main: [] };
  const busy: Record<string, number[]> = { workers: [], main: [] };
  for (let k = 0; k < Number(roundsArg); k++) {
    for (const w of ['workers', 'main'] as const) {
      const r = await once(w);
      times[w].push(r.seconds);
      cpu[w].push(r.cpu);
      busy[w].push(r.mainBusy);
    }
  }
  await closeDecodePool();
  process.stdout.write(`${JSON.stringify({ images: files.length, threads, times, cpu, busy })}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// parent

const PIL_LOOP = `
import sys, time, os
t0 = time.perf_counter()
from PIL import Image
import numpy as np
root, size = sys.argv[1], int(sys.argv[2])
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.png'))
t1 = time.perf_counter()
out = np.empty((len(files), size, size, 3), np.uint8)
for i, p in enumerate(files):
    with Image.open(p) as im:
        out[i] = np.asarray(im.convert('RGB').resize((size, size), Image.LANCZOS))
t2 = time.perf_counter()
print('{"images": %d, "seconds": %.4f}' % (len(files), t2 - t1))
`;

const TORCH_LOADER = `
import sys, time
import torch
from torchvision import datasets, transforms
root, size, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(workers)
tf = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
t1 = time.perf_counter()
ds = datasets.ImageFolder(root, transform=tf, loader=lambda p: datasets.folder.default_loader(p).convert('RGB'))
dl = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=False, num_workers=workers)
n = 0
for x, y in dl:
    n += x.shape[0]
t2 = time.perf_counter()
print('{"images": %d, "seconds": %.4f}' % (n, t2 - t1))
`;

interface Result {
  images: number;
  seconds: number;
  decoded?: number;
  threads?: number;
  listSeconds?: number;
  keysSeconds?: number;
  fillSeconds?: number;
}

function timed(cmd: string, argv: string[]): Promise<{ r: Result; wall: number }> {
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}: ${err.slice(-2000)}`));
      try {
        resolveP({ r: JSON.parse(line), wall });
      } catch {
        reject(new Error(`${cmd}: unexpected output: ${out.slice(-500)}`));
      }
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const src = resolve(opt('src', 'data/tabler'));
const size = Number(opt('size', '32'));
const rounds = Number(opt('rounds', '3'));
const writeDoc = args.includes('--write-doc');
if (!existsSync(src)) {
  const { renderTablerSample } = await import('../src/sample/index.ts');
  console.log(`rendering the tabler sample (64 px) into ${src}`);
  await renderTablerSample({ out: src, size: 64 });
}
const { defaultDecodeThreads } = await import('../src/train/decode-pool.ts');
const threads = defaultDecodeThreads();

const work = await mkdtemp(join(tmpdir(), 'augment-bench-decode-'));
// a variant whose train split is the sample (a link to it); valid and test hold one linked image per class
const variant = join(work, 'variant');
await mkdir(variant);
await symlink(src, join(variant, 'train'));
for (const cls of (await readdir(src, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)) {
  const first = (await readdir(join(src, cls))).filter((f) => f.endsWith('.png')).sort()[0];
  for (const s of ['valid', 'test']) {
    await mkdir(join(variant, s, cls), { recursive: true });
    await symlink(join(src, cls, first), join(variant, s, cls, first));
  }
}
const warmCache = join(work, 'warm-cache');
const me = ['--import', 'tsx', import.meta.filename, '--child'];
await timed(process.execPath, [...me, 'main', variant, warmCache, String(size)]);
await writeFile(join(work, 'pil_loop.py'), PIL_LOOP);
await writeFile(join(work, 'torch_loader.py'), TORCH_LOADER);
const has = (mod: string) => {
  try {
    execFileSync(python, ['-c', `import ${mod}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

interface Case {
  name: string;
  run: (round: number) => Promise<{ r: Result; wall: number }>;
}
const cases: Case[] = [
  { name: `augment, ${threads} worker threads`, run: (k) => timed(process.execPath, [...me, 'workers', variant, join(work, `cache-w${k}`), String(size)]) },
  { name: `augment, main thread (${threads} in flight, sharp's threads)`, run: (k) => timed(process.execPath, [...me, 'main', variant, join(work, `cache-m${k}`), String(size)]) },
  { name: 'augment, warm cache (every image reused)', run: () => timed(process.execPath, [...me, 'main', variant, warmCache, String(size)]) },
];
if (has('PIL') && has('numpy')) cases.push({ name: 'PIL loop (LANCZOS), 1 process', run: () => timed(python, [join(work, 'pil_loop.py'), src, String(size)]) });
else console.log('skipping the PIL loop: no python3-pil / python3-numpy');
if (has('torch') && has('torchvision')) cases.push({ name: `torch DataLoader, ${threads} workers`, run: () => timed(python, [join(work, 'torch_loader.py'), src, String(size), String(threads)]) });
else console.log('skipping the torch DataLoader: no python3-torch / python3-torchvision');

const got = new Map<string, { inside: number[]; wall: number[]; fill: number[]; images: number; decoded?: number }>();
const rawRows: string[] = [];
const loadBefore = loadavg()[0];
for (let k = 0; k < rounds; k++) {
  for (const c of cases) {
    const { r, wall } = await c.run(k);
    const g = got.get(c.name) ?? { inside: [], wall: [], fill: [], images: r.images, decoded: r.decoded };
    g.inside.push(r.seconds);
    if (r.fillSeconds !== undefined) g.fill.push(r.fillSeconds);
    g.wall.push(wall);
    got.set(c.name, g);
    const phases = r.listSeconds !== undefined ? ` list_s=${r.listSeconds.toFixed(3)} keys_s=${r.keysSeconds!.toFixed(3)} fill_s=${r.fillSeconds!.toFixed(3)}` : '';
    console.log(`round=${k + 1} case="${c.name}" images=${r.images}${r.decoded !== undefined ? ` decoded=${r.decoded}` : ''} seconds=${r.seconds.toFixed(3)}${phases} wall=${wall.toFixed(3)} load1=${loadavg()[0].toFixed(1)}`);
    rawRows.push(`round=${k + 1} case="${c.name}" seconds=${r.seconds.toFixed(3)}${phases} wall=${wall.toFixed(3)} load1=${loadavg()[0].toFixed(1)}`);
  }
}
await rm(work, { recursive: true, force: true });

const inprocRounds = Number(opt('inproc-rounds', '5'));
type Series = Record<'workers' | 'main', number[]>;
const inproc = (await timed(process.execPath, ['--import', 'tsx', import.meta.filename, '--inproc', src, String(size), String(inprocRounds)])).r as unknown as { images: number; threads: number; times: Series; cpu: Series; busy: Series };
for (const w of ['workers', 'main'] as const) {
  console.log(`inproc case="${w}" seconds=${inproc.times[w].map((t) => t.toFixed(3)).join(',')} cpu_s=${inproc.cpu[w].map((t) => t.toFixed(3)).join(',')} main_busy=${inproc.busy[w].map((t) => t.toFixed(2)).join(',')}`);
}
const inprocRow = (w: 'workers' | 'main', what: string) =>
  `| ${what} | ${(inproc.images / median(inproc.times[w])).toFixed(0)} | ${(inproc.images / Math.min(...inproc.times[w])).toFixed(0)} | ${((median(inproc.cpu[w]) / inproc.images) * 1e6).toFixed(0)} | ${(median(inproc.busy[w]) * 100).toFixed(0)}% | ${inprocRounds} |`;
const inprocLines = [
  '| decode only, in one process (threads started) | images/s (median) | images/s (best round) | CPU µs per image (median) | main thread busy | rounds |',
  '|---|---|---|---|---|---|',
  inprocRow('workers', `${inproc.threads} worker threads (read + sha256 + decode + resize there)`),
  inprocRow('main', `main thread, ${inproc.threads} chunks in flight (sharp's own threads for the resize)`),
];
console.log(inprocLines.join('\n'));

const torchName = cases.find((c) => c.name.startsWith('torch'))?.name;
const ref = torchName ? got.get(torchName)! : undefined;
const lines = [
  `| case | images | images/s, decode + pack only | images/s, start-up excluded | images/s, whole process | process s (median) |${ref ? ' vs torch DataLoader (excl. / incl.) |' : ''}`,
  `|---|---|---|---|---|---|${ref ? '---|' : ''}`,
];
for (const [name, g] of got) {
  const inside = g.images / median(g.inside);
  const whole = g.images / median(g.wall);
  const fill = g.fill.length ? (g.images / median(g.fill)).toFixed(0) : '-';
  const ratio = ref ? ` ${(inside / (ref.images / median(ref.inside))).toFixed(2)}x / ${(whole / (ref.images / median(ref.wall))).toFixed(2)}x |` : '';
  lines.push(`| ${name} | ${g.images} | ${fill} | ${inside.toFixed(0)} | ${whole.toFixed(0)} | ${median(g.wall).toFixed(2)} |${ratio}`);
}
console.log(lines.join('\n'));

if (writeDoc) {
  const docFile = join(import.meta.dirname, '..', 'docs', 'BENCHMARKS.md');
  const doc = await readFile(docFile, 'utf8');
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  // only the generated part, between the markers; the notes around it stay as written
  const BEGIN = '<!-- bench-decode:begin (generated by scripts/bench-decode.ts --write-doc) -->';
  const END = '<!-- bench-decode:end -->';
  const generated = [
    BEGIN,
    `Machine: ${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, measured ${new Date().toISOString().slice(0, 10)};`,
    `1-minute load average ${loadBefore.toFixed(0)} at the start, ${loadavg()[0].toFixed(0)} at the end (the machine was shared).`,
    '',
    ...lines,
    '',
    'Worker threads against the main thread, decode only (`decodeFiles`), in one process, alternating:',
    '',
    ...inprocLines,
    '',
    'Raw rows (list_s: `readVariant`, a stat per file; keys_s: reading and hashing every file, as a variant without a build manifest needs once; fill_s: `ensureSplitCache` then, decode + pack):',
    '',
    '```',
    ...rawRows,
    ...(['workers', 'main'] as const).map((w) => `inproc case="${w}" seconds=${inproc.times[w].map((t) => t.toFixed(3)).join(',')} cpu_s=${inproc.cpu[w].map((t) => t.toFixed(3)).join(',')}`),
    '```',
    END,
  ].join('\n');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  const out = start >= 0 && end > start ? `${doc.slice(0, start)}${generated}${doc.slice(end + END.length)}` : `${doc.trimEnd()}\n\n## Decode throughput\n\n${generated}\n`;
  await writeFile(docFile, out);
  console.log(`wrote the generated part of the "Decode throughput" section of ${docFile}`);
}
