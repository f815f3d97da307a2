/**
 * Build throughput against the OpenCV peer, whole process, alternating runs:
 *   A = `augment build` (the compiled CLI, bin/augment.js -> dist/) of the seed's `random` recipe
 *       over the whole tabler sample (split 1:0:0, so that every image is in train as the peer
 *       has it), `-j J`;
 *   B = `/usr/bin/python3 ../shared/bench/anchors/opencv_random_build.py SRC OUT 7 J` (the same
 *       six-transform chain the way Albumentations does it, PNG through OpenCV, J processes).
 * One warm-up of each, then P pairs A B A B ..., each run into a fresh folder (augment's
 * variants root is fresh too: no scan cache, no split file; cold as a first build is), with
 * `sync` and a pause between runs. The runs' folders are deleted only when every run is done:
 * on an ext4 without a journal (this VM's disk) each file created searches past the inodes
 * deleted in the last minutes (the kernel's `recently_deleted`, up to 40% of a build's samples
 * under `perf` right after a 16,000-file delete), so a run made right after deleting the
 * previous run's output paid for that delete. Per run: wall time, CPU time (user + sys of the process and
 * its children, /usr/bin/time), peak RSS of the whole process tree (sum over its processes,
 * sampled from /proc every 50 ms) and the bytes written. Reports medians and the median of the
 * per-pair ratios (augment files/s over peer files/s: above 1.0x augment is faster), at each size.
 * Work folders live under the OS temp folder (never under data/, where `augment stats` would
 * find them); the rendered sources are kept there for the next run.
 *
 * usage: node --import tsx scripts/bench-build.ts [--sizes 64,224] [--pairs 4] [--jobs 2]
 *          [--top 20] [--scan cold|cached] [--work DIR] [--write-doc]
 * --scan cached: augment's runs share one variants root, so after the warm-up its scan reads
 * the decode-check cache (a second recipe built from the same source); default cold.
 * needs dist/ (`npm run build`) and Debian's python3-opencv.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const repo = resolve(import.meta.dirname, '..');
const sizes = opt('sizes', '64,224').split(',').map(Number);
const pairs = Number(opt('pairs', '4'));
const jobs = Number(opt('jobs', String(availableParallelism())));
const top = Number(opt('top', '20'));
const writeDoc = args.includes('--write-doc');
// cold: each augment run in a fresh variants root (no scan cache, no split file: a first build);
// cached: the runs share one variants root that the warm-up filled (a second recipe built from
// the same source, as `augment build baseline random ...` does): the scan reads its cache.
const scanMode = opt('scan', 'cold');
if (scanMode !== 'cold' && scanMode !== 'cached') throw new Error('--scan cold|cached');
const anchors = resolve(opt('anchors', process.env.AUGMENT_ANCHORS ?? join(repo, '..', 'shared', 'bench', 'anchors')));
const work = resolve(opt('work', join(tmpdir(), 'augment-bench-build')));
const python = '/usr/bin/python3';
const bin = join(repo, 'bin', 'augment.js');

if (!existsSync(join(repo, 'dist', 'cli.js'))) throw new Error('dist/ is not built: npm run build');
execFileSync(python, ['-c', 'import cv2'], { stdio: 'ignore' }); // throws without python3-opencv

interface Run {
  /** 1-minute load average when the run started. */
  load: number;
  wall: number;
  user: number;
  sys: number;
  rssMiB: number;
  files: number;
  bytes: number;
}

/** VmRSS (KiB) summed over a process and all its descendants. */
function treeRssKiB(pid: number): number {
  let kib = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended between two reads
    }
  }
  return kib;
}

async function treeFiles(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.png')) continue;
    files++;
    bytes += (await stat(join(e.parentPath, e.name))).size;
  }
  return { files, bytes };
}

/** One whole-process run under /usr/bin/time, its process tree's RSS sampled every 50 ms. */
async function measure(argv: string[], outDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const timing = join(work, 'time.txt');
  const load = loadavg()[0];
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timing, ...argv], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, treeRssKiB(child.pid!))), 50);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const wall = (performance.now() - t0) / 1000;
  clearInterval(timer);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`);
  const [user, sys] = (await readFile(timing, 'utf8')).trim().split('\n').at(-1)!.split(/\s+/).map(Number);
  return { load, wall, user, sys, rssMiB: peak / 1024, ...(await treeFiles(outDir)) };
}

/** Flush pending writes and let the disk settle, so no run pays for the previous one's I/O. */
async function settle(): Promise<void> {
  execFileSync('sync');
  await new Promise((r) => setTimeout(r, 2000));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const load0 = loadavg()[0];
const started = new Date().toISOString().slice(0, 16) + 'Z';
const results: Array<{ size: number; a: Run[]; b: Run[]; ratios: number[] }> = [];
const raw: string[] = [];
await mkdir(work, { recursive: true });
for (const size of sizes) {
  const src = join(work, `tabler${size}`);
  const rendered = join(work, `tabler${size}.complete`); // outside SRC: the peer lists SRC's entries as classes
  if (!existsSync(rendered)) {
    execFileSync(process.execPath, [bin, 'sample', 'tabler', '--size', String(size), '--top', String(top), '--out', src], { stdio: 'inherit' });
    await writeFile(rendered, '');
  }
  const doc = parse(await readFile(join(repo, 'recipes', 'random.yaml'), 'utf8'));
  const recipeFile = join(work, `bench-random-${size}.yaml`);
  await writeFile(recipeFile, JSON.stringify({ ...doc, source: src, split: { ...doc.split, ratios: [1, 0, 0] } })); // JSON is YAML
  let n = 0;
  const runA = async () => {
    const root = scanMode === 'cold' ? join(work, 'runs', `augment-${n}`) : join(work, 'runs', 'augment-shared');
    const out = join(root, `v${n++}`);
    await rm(scanMode === 'cold' ? root : out, { recursive: true, force: true });
    await settle();
    return measure([process.execPath, bin, 'build', recipeFile, '--out', out, '-j', String(jobs)], out);
  };
  const runB = async () => {
    const out = join(work, 'runs', `opencv-${n++}`);
    await rm(out, { recursive: true, force: true });
    await settle();
    return measure([python, join(anchors, 'opencv_random_build.py'), src, out, '7', String(jobs)], out, { ...process.env, OMP_NUM_THREADS: '1' });
  };
  const line = (what: string, i: number | string, r: Run) =>
    `size=${size} ${what} run=${i} load=${r.load.toFixed(1)} wall_s=${r.wall.toFixed(2)} user_s=${r.user.toFixed(2)} sys_s=${r.sys.toFixed(2)} peak_rss_mib=${r.rssMiB.toFixed(0)} files=${r.files} bytes=${r.bytes}`;
  const w1 = await runA();
  const w2 = await runB();
  console.log(line('augment', 'warm-up', w1));
  console.log(line('opencv', 'warm-up', w2));
  const res = { size, a: [] as Run[], b: [] as Run[], ratios: [] as number[] };
  for (let p = 0; p < pairs; p++) {
    const a = await runA();
    const b = await runB();
    res.a.push(a);
    res.b.push(b);
    res.ratios.push(a.files / a.wall / (b.files / b.wall)); // files per second: augment leaves out label conflicts (one picture under two classes)
    for (const [what, r] of [['augment', a], ['opencv', b]] as const) {
      raw.push(line(what, p, r));
      console.log(raw.at(-1));
    }
  }
  results.push(res);
}
await rm(join(work, 'runs'), { recursive: true, force: true }); // only now: see the header

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const cell = (rs: Run[]) => {
  const user = median(rs.map((r) => r.user));
  const sys = median(rs.map((r) => r.sys));
  return [
    median(rs.map((r) => r.wall)).toFixed(2),
    `${median(rs.map((r) => r.user + r.sys)).toFixed(1)} (${user.toFixed(1)} + ${sys.toFixed(1)})`,
    `${median(rs.map((r) => r.rssMiB)).toFixed(0)} MiB`,
    `${rs[0].files}`,
    mib(median(rs.map((r) => r.bytes))),
  ];
};
const rows: string[] = [];
for (const r of results) {
  rows.push(`| ${r.size} px | augment build, -j ${jobs}, ${scanMode} scan | ${cell(r.a).join(' | ')} | **${median(r.ratios).toFixed(2)}x** (${r.ratios.map((x) => x.toFixed(2)).join(', ')}) |`);
  rows.push(`| ${r.size} px | OpenCV peer, ${jobs} processes | ${cell(r.b).join(' | ')} | |`);
}
const table = [
  '| images | tool | wall s (median) | CPU s, user + sys (median) | peak RSS, all processes (median) | files | bytes written | augment files/s vs peer (median of per-pair ratios; each pair) |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log('\n' + table);

if (writeDoc) {
  const cmd = `node --import tsx scripts/bench-build.ts --sizes ${sizes.join(',')} --pairs ${pairs} --jobs ${jobs} --top ${top} --scan ${scanMode} --write-doc`;
  const heading = scanMode === 'cold' ? '## Build throughput' : '## Build throughput, scan cached';
  const section = [
    heading,
    '',
    `Command: \`${cmd}\` (needs \`npm run build\` and Debian's python3-opencv).`,
    `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${started}, load average ${load0.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`,
    '(a machine shared with other jobs: compare the same-run ratios, not the absolute times).',
    '',
    `The seed's \`random\` recipe (each image once plus min(7, max/n) - 1 six-transform copies) over the top-${top}`,
    'tabler categories, split 1:0:0 so that both tools write the same set of files, against',
    `\`opencv_random_build.py SRC OUT 7 ${jobs}\` (../shared/bench/anchors). Whole processes (augment: the compiled`,
    scanMode === 'cold'
      ? 'CLI, start-up, scan and split included; cold: fresh output and variants folder each run, as a first build), one warm-up each, then'
      : "CLI, start-up included; the runs share one variants folder, so the scan reads the decode-check cache the warm-up wrote, as a second recipe built from the same source does), one warm-up each, then",
    `${pairs} pairs alternating augment, peer, augment, peer, ... with \`sync\` and a 2 s pause before each run;`,
    "every run's folder is kept until all runs are done (a create on this VM's journal-less ext4 searches past recently deleted inodes: deleting a run's 16k files made the next run pay for it).",
    'Load = the 1-minute load average as each run started (raw lines).',
    'CPU = user + sys of the process and its children (/usr/bin/time); peak RSS = the sum over the process tree,',
    'sampled every 50 ms; bytes = the PNGs written. Ratio = augment files/s over peer files/s of each pair (above',
    "1.0x augment is faster; files/s because augment's scan leaves out the few pictures found under two classes).",
    '',
    table,
    '',
    'Raw runs:',
    '',
    '```',
    ...raw,
    '```',
    '',
  ].join('\n');
  const docFile = join(repo, 'docs', 'BENCHMARKS.md');
  let text = await readFile(docFile, 'utf8');
  const re = new RegExp(`${heading}\\n[\\s\\S]*?(?=\\n## |$)`);
  text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : text.trimEnd() + '\n\n' + section;
  await writeFile(docFile, text);
  console.log(`updated ${docFile}`);
}
