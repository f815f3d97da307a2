/**
 * Every user mistake is one line. The real CLI (`node --import tsx src/cli.ts ...`, a child
 * process, as a user runs it) over a table of bad invocations: for each, the exit status (2,
 * the user's mistake), stderr exactly one line `augment: ...` naming the flag or file and the
 * problem, no stack frames, nothing on stdout, and nothing written: the case's own working
 * folder and the shared fixtures are as they were. Every mistake here is one that can be seen
 * before slow work starts, so none of them may start a TensorFlow.js backend (it prints a
 * `backend:` line first: two lines) or a build.
 *
 * The unwritable-folder cases need permission bits that stop writes. Tests run as root here,
 * where they do not, so when the test runs as root those cases run the CLI as user `nobody`
 * (uid 65534; the fixtures are made readable for it); as any other user they run as that user.
 * "A file where a folder is expected" cases need no such help.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { AugmentError } from '../src/errors.ts';
import { existingFolder, isWithin, numberFlag, oneOf, optionalNumber, optionalWholeNumber, outputFile, outputFolder, requireWith, wholeNumber } from '../src/commands/flags.ts';
import { makeDataset, removeDir, tempDir } from './helpers/dataset.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx'); // absolute: the cases run in their own empty folders
const asRoot = process.getuid?.() === 0;

let root: string; // fixtures, readable by everyone
let cases: string; // one empty working folder per case

interface Case {
  /** `$SRC` (a 2-class dataset), `$FILE` (a plain file), `$RO` (a folder no one may write), `$FOREIGN`, `$BAD`, `$NOTYAML`, `$VARIANTS`, `$RUN`. */
  args: string;
  /** What the one line must say (after `augment: `): the flag or file and the problem. */
  says: RegExp;
  /** Run as a user whom permission bits stop (nobody when the test runs as root). */
  unprivileged?: boolean;
  /** Files to put in the case's working folder first (relative path -> content). */
  files?: Record<string, string>;
  /** Make the case's working folder read-only (for the unprivileged user) before the run. */
  readonlyCwd?: boolean;
  /** What stdout may hold (default: nothing). */
  stdout?: RegExp;
  /** Known to be wrong still, in a file someone else is changing: reported, not failed. */
  todo?: string;
}

const R = 'random --source $SRC'; // a shipped recipe on the fixture dataset

const CASES: Case[] = [
  // the command line itself
  { args: '', says: /^Give a command/ },
  { args: 'bogus', says: /bogus/ },
  { args: 'build random --frobnicate', says: /Unknown argument: frobnicate/ },
  { args: 'sample', says: /Not enough non-option arguments/ },

  // build
  { args: `build ${R} --out v -j abc`, says: /^Expected a whole number >= 1 for -j\/--concurrency but received "abc"$/ },
  { args: `build ${R} --out v -j 0`, says: /-j\/--concurrency but received "0"/ },
  { args: `build ${R} --out v -j -3`, says: /-j\/--concurrency but received "-3"/ },
  { args: `build ${R} --out v -j 1.5`, says: /-j\/--concurrency but received "1.5"/ },
  { args: 'build random random_v3 --out v', says: /^--out takes one recipe at a time$/ },
  { args: 'build nosuch --out v', says: /^nosuch: no such recipe \(known: .*random/ },
  // the CLI pre-starts the build's threads before reading its flags: at most one per core, not 300
  { args: 'build nosuch -j 300', says: /^nosuch: no such recipe \(known: .*random/ },
  { args: 'build recipes/nosuch.yaml --out v', says: /^recipes\/nosuch.yaml: recipe file does not exist$/ },
  { args: 'build $BAD --out v', says: /bad\.yaml: oversample\.maxFactor/ },
  { args: 'build $NOTYAML --out v', says: /notyaml\.yaml: not valid YAML/ },
  { args: 'build random --source nosuch --out v', says: /nosuch: source folder does not exist/ },
  { args: 'build random --source $FILE --out v', says: /afile\.txt: .*not a folder/ },
  { args: `build ${R} --out $SRC/inside`, says: /src\/inside: output folder is inside the source/ },
  { args: `build ${R} --out $FILE`, says: /^--out .*afile\.txt: .*afile\.txt is a file, not a folder$/ },
  { args: `build ${R} --out $FILE/v`, says: /^--out .*afile\.txt\/v: .*afile\.txt is a file, not a folder$/ },
  { args: `build ${R} --out $FOREIGN`, says: /foreign: output folder exists and is not an augment variant/ },
  { args: `build ${R} --out $RO/v`, says: /^--out .*ro\/v: the folder .*ro is not writable/, unprivileged: true },
  { args: 'build random --source $SRC', says: /cases\/\d+\/data: permission denied \(mkdir: EACCES\)$/, unprivileged: true, readonlyCwd: true }, // the default data/variants/random
  { args: `build ${R} --out v --shard 3/3`, says: /--shard/ },
  { args: `build ${R} --out v --shard abc`, says: /--shard/ },

  // preview
  { args: `preview ${R} -n abc`, says: /^Expected a whole number >= 1 for -n but received "abc"$/ },
  { args: `preview ${R} -n 0`, says: /for -n but received "0"/ },
  { args: `preview ${R} -n -2`, says: /for -n but received "-2"/ },
  { args: `preview ${R} --copies 1.5`, says: /for --copies but received "1.5"/ },
  { args: `preview ${R} --class zz`, says: /^--class zz: no such class in .*src \(classes: a, b\)$/ },
  { args: 'preview nosuch', says: /^nosuch: no such recipe/ },
  { args: 'preview random --source nosuch', says: /^--source nosuch: no such folder$/ },
  { args: 'preview random --source $FILE', says: /^--source .*afile\.txt: is a file, not a folder$/ },
  { args: `preview ${R} --out sheet.jpg`, says: /^--out sheet\.jpg: expected a \.png file name/ },
  { args: `preview ${R} --out nodir/sheet.png`, says: /^--out nodir\/sheet\.png: the folder .*nodir does not exist$/ },
  { args: `preview ${R} --out $FILE/sheet.png`, says: /afile\.txt is a file, not a folder$/ },
  { args: `preview ${R} --out $SRC/a/sheet.png`, says: /^--out .*src\/a\/sheet\.png: is inside the source .*src; the source is never written to/ },
  { args: `preview ${R} --out $RO/sheet.png`, says: /^--out .*ro\/sheet\.png: the folder .*ro is not writable/, unprivileged: true },

  // sample
  { args: 'sample nosuch', says: /^Expected one of tabler, streamline for the sample set but received "nosuch"$/ },
  { args: 'sample tabler --size abc --out s', says: /^Expected a whole number for --size but received "abc"$/ },
  { args: 'sample tabler --size 0 --out s', says: /for --size but received 0$/ },
  { args: 'sample tabler --top 0 --out s', says: /for --top but received 0$/ },
  { args: 'sample tabler --out $FILE', says: /^--out .*afile\.txt: .*is a file, not a folder$/ },
  { args: 'sample tabler --out $RO/s', says: /^--out .*ro\/s: the folder .*ro is not writable/, unprivileged: true },

  // stats
  { args: 'stats nosuch', says: /^nosuch: no such folder$/ },
  { args: 'stats $FILE', says: /afile\.txt: is a file, not a folder$/ },
  { args: 'stats --data-dir nosuch', says: /^--data-dir nosuch: no such folder$/ },
  { args: 'stats $SRC --data-dir .', says: /^--data-dir applies only when no folder is given$/ },
  { args: 'stats $SRC --log', says: /^--log applies only with --plot$/ },
  { args: 'stats $SRC --plot chart.jpg', says: /^--plot chart\.jpg: expected a \.png file name/ },
  { args: 'stats $SRC --plot nodir/chart.png', says: /^--plot nodir\/chart\.png: the folder .*nodir does not exist$/ },
  { args: 'stats $SRC --plot $SRC/a/chart.png', says: /^--plot .*src\/a\/chart\.png: is inside the dataset/ },
  { args: 'stats $SRC --plot $RO/chart.png', says: /^--plot .*ro\/chart\.png: the folder .*ro is not writable/, unprivileged: true },

  // recipes
  { args: 'recipes extra', says: /Unknown argument: extra/ },
  { args: 'recipes --check', says: /^--check: 1 of \d+ recipes invalid \(recipes\/broken\.yaml\)$/, files: { 'recipes/broken.yaml': 'oversample: { maxFactor: 0 }\n' }, stdout: /^broken +INVALID: .*broken\.yaml: oversample\.maxFactor/m },

  // audit, merge, report
  { args: 'audit nosuch', says: /^nosuch: no such folder$/ },
  { args: 'audit $FILE', says: /afile\.txt: is a file, not a folder$/ },
  { args: 'audit $SRC --near-distance abc', says: /for --near-distance but received "abc"$/ },
  { args: 'audit $SRC --duplicates bogus', says: /for --duplicates but received "bogus"$/ },
  { args: 'audit $SRC -j 0', says: /--concurrency but received "0"$/ },
  { args: 'merge nosuch', says: /^nosuch: no such folder$/ },
  { args: 'merge $FILE', says: /afile\.txt: is a file, not a folder$/ },
  { args: 'merge $SRC', says: /src: no \.shards\/ folder/ },
  { args: 'report nosuch', says: /nosuch.*not an evaluate run folder/ },
  { args: 'report --runs-root nosuch', says: /^no finished run under nosuch/ },
  { args: 'report $RUN --out report.png', says: /^--out report\.png: expected a \.html or \.htm file name/ },
  { args: 'report $RUN --out $FILE/report.html', says: /^--out .*afile\.txt\/report\.html: .*afile\.txt is a file, not a folder$/ },
  { args: 'report $RUN --width abc', says: /for --width but received "abc"$/ },
  { args: 'report $RUN --screenshot shot.jpg', says: /--screenshot/ },

  // evaluate: every flag is checked before the backend starts (its line would make two)
  { args: 'evaluate --model vgg17', says: /^Expected one of .*vgg16.* for --model but received "vgg17"$/ },
  { args: 'evaluate --epochs abc', says: /for --epochs but received "abc"/ },
  { args: 'evaluate --epochs 0', says: /--epochs/ },
  { args: 'evaluate --seeds 1.5', says: /--seeds/ },
  { args: 'evaluate --batch-size 0', says: /--batch-size/ },
  { args: 'evaluate --width 0', says: /--width/ },
  { args: 'evaluate --image-size 4', says: /--image-size/ },
  { args: 'evaluate --patience -1', says: /--patience/ },
  { args: 'evaluate --optimizer sgd --momentum 2', says: /--momentum but received 2/ },
  { args: 'evaluate --momentum 0.5', says: /^--momentum is only used with --optimizer sgd \(the optimizer is adam\)$/ },
  { args: 'evaluate --schedule step --gamma 0', says: /--gamma but received 0/ },
  { args: 'evaluate --loss focal --focal-gamma -1', says: /--focal-gamma but received -1/ },
  { args: 'evaluate --schedule piecewise --piecewise 1e-3:x', says: /--piecewise/ },
  { args: 'evaluate --budget soon', says: /--budget but received "soon"/ },
  { args: 'evaluate --shard 3/3 --run r', says: /^--shard/ },
  { args: 'evaluate --lr abc', says: /--lr/ },
  { args: 'evaluate --threads 0', says: /--threads/ },
  { args: 'evaluate --backend tpu', says: /--backend/ },
  { args: 'evaluate --optimizer nadam', says: /optimizer.*nadam/ },
  { args: 'evaluate nosuch', says: /^variant "nosuch": no folder/ },
  { args: 'evaluate --variants-root nosuch', says: /^no built variants under nosuch/ },
  { args: 'evaluate --variants-root $VARIANTS --run $FILE', says: /^--run .*afile\.txt: .*afile\.txt is a file, not a folder$/ },
  { args: 'evaluate --variants-root $VARIANTS --run $RO/run', says: /^--run .*ro\/run: the folder .*ro is not writable/, unprivileged: true },
  { args: 'evaluate --variants-root $VARIANTS --cache $FILE/c', says: /^--cache .*afile\.txt\/c: .*is a file, not a folder$/ },
];

/** Every path under `dir` with its size and mtime: what "nothing was written" compares. */
async function snapshot(dir: string, skip?: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (p === skip) continue;
      const st = await stat(p);
      out.push(`${p} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

function run(c: Case, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = c.args
    .split(/\s+/)
    .filter(Boolean)
    .map((a) =>
      a
        .replace('$SRC', join(root, 'src'))
        .replace('$FILE', join(root, 'afile.txt'))
        .replace('$RO', join(root, 'ro'))
        .replace('$FOREIGN', join(root, 'foreign'))
        .replace('$BAD', join(root, 'bad.yaml'))
        .replace('$NOTYAML', join(root, 'notyaml.yaml'))
        .replace('$VARIANTS', join(root, 'variants'))
        .replace('$RUN', join(root, 'run')),
    );
  const nobody = c.unprivileged && asRoot ? { uid: 65534, gid: 65534 } : {};
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', AUGMENT_WASM_THREADS: '1' }, ...nobody },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  root = await tempDir('augment-cli-errors-');
  await chmod(root, 0o755); // mkdtemp makes it 0700: `nobody` must read the fixtures
  await makeDataset(join(root, 'src'), { a: 4, b: 4 }, 16);
  await writeFile(join(root, 'afile.txt'), 'a file, not a folder\n');
  await mkdir(join(root, 'ro'));
  await chmod(join(root, 'ro'), 0o555);
  await mkdir(join(root, 'foreign'));
  await writeFile(join(root, 'foreign', 'precious.txt'), 'keep me\n');
  await writeFile(join(root, 'bad.yaml'), 'source: data/tabler\noversample: { maxFactor: 0 }\n');
  await writeFile(join(root, 'notyaml.yaml'), 'ops: [rotate\n');
  for (const split of ['train', 'valid', 'test']) await makeDataset(join(root, 'variants', 'v1', split), { a: 2, b: 2 }, 16); // a built variant
  await mkdir(join(root, 'run'));
  await writeFile(join(root, 'run', 'metrics.json'), JSON.stringify({ version: 1, classes: [], variants: [], leaderboard: [], runs: [] })); // an evaluate run folder, as far as report looks first
  cases = join(root, 'cases');
  await mkdir(cases);
  await chmod(cases, 0o755);
});
after(async () => removeDir(root));

test('every bad invocation is one line naming the flag or file, exit 2, nothing written', { concurrency: 2 }, async (t) => {
  const fixturesBefore = await snapshot(root, cases);
  const only = process.env.CLI_ERRORS_ONLY; // a regex over the args, to run a few cases while working on them
  await Promise.all(
    CASES.map((c, i) => [c, i] as const)
      .filter(([c]) => !only || new RegExp(only).test(c.args))
      .map(([c, i]) =>
      t.test(`augment ${c.args.replace(/\$(\w+)/g, (_, k: string) => k.toLowerCase())}`, { todo: c.todo }, async () => {
        const cwd = join(cases, String(i).padStart(2, '0'));
        await mkdir(cwd);
        for (const [rel, content] of Object.entries(c.files ?? {})) {
          await mkdir(join(cwd, rel, '..'), { recursive: true });
          await writeFile(join(cwd, rel), content);
        }
        if (c.readonlyCwd) await chmod(cwd, 0o555);
        const cwdBefore = await snapshot(cwd);
        const r = await run(c, cwd);
        const shown = `stderr: ${JSON.stringify(r.stderr)}`;
        assert.ok(!/^\s+at /m.test(r.stderr), `no stack trace; ${shown}`);
        assert.match(r.stderr, /^augment: [^\n]+\n$/, `exactly one line starting "augment: "; ${shown}`);
        assert.match(r.stderr.slice('augment: '.length, -1), c.says, shown);
        assert.equal(r.code, 2, `exit status 2 (the user's mistake); ${shown}`);
        if (c.stdout) assert.match(r.stdout, c.stdout);
        else assert.equal(r.stdout, '', 'nothing on stdout');
        assert.deepEqual(await snapshot(cwd), cwdBefore, 'nothing written in the working folder (no data/, no output)');
        assert.deepEqual(await snapshot(root, cases), fixturesBefore, 'the fixtures (the source among them) are untouched');
      }),
    ),
  );
});

test('a build names what it left out of the source once (an empty class folder, an image at the root); exit 0', async () => {
  const src = join(root, 'odd');
  await makeDataset(src, { a: 4, b: 4 }, 16);
  await mkdir(join(src, 'empty'));
  await writeFile(join(src, 'stray.png'), await readFile(join(src, 'a', 'a_0.png')));
  const cwd = join(cases, 'odd');
  await mkdir(cwd);
  const r = await run({ args: `build random --source ${src} --out v -j 1`, says: /./ }, cwd);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!/^\s+at /m.test(r.stderr), r.stderr);
  const summary = r.stdout;
  assert.match(summary, /empty class folders: empty\b/);
  assert.match(summary, /images at the source root[^:]*: stray\.png/);
  assert.equal(summary.split('stray.png').length - 1, 1, 'named once');
  const info = JSON.parse(await readFile(join(cwd, 'v', 'variant.json'), 'utf8'));
  assert.deepEqual(
    (info.skipped as Array<{ kind: string; rel: string }>).map((s) => `${s.kind} ${s.rel}`).sort(),
    ['empty-class empty', 'root-image stray.png'],
  );
});

// ---------------------------------------------------------------------------------------------
// the parsers themselves (src/commands/flags.ts), in-process

const bad = (flag: string, re: RegExp) => (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && e.message.includes(flag) && re.test(e.message) && !e.message.includes('\n');

test('wholeNumber, numberFlag, oneOf: the value as typed, or one line naming the flag and the range', () => {
  assert.equal(wholeNumber('-j', '4', { min: 1 }), 4);
  assert.equal(wholeNumber('-j', ' 4 ', { min: 1 }), 4);
  assert.equal(wholeNumber('-j', 4, { min: 1 }), 4, 'a library caller may pass a number');
  for (const raw of ['abc', '', '1.5', '1e3', '0x10', '-1', '0', 'NaN', 'Infinity', undefined, null, ['1', '2']])
    assert.throws(() => wholeNumber('-j', raw, { min: 1 }), bad('-j', /^Expected a whole number >= 1 for -j but received /), String(raw));
  assert.throws(() => wholeNumber('--size', '9', { min: 1, max: 8 }), bad('--size', /a whole number in \[1, 8\] for --size but received "9"/));
  assert.throws(() => wholeNumber('-n', '99999999999999999999'), bad('-n', /whole number/), 'past the safe integers');
  assert.equal(optionalWholeNumber('-n', undefined), undefined);

  assert.equal(numberFlag('--width', '0.5', { min: 0, max: 8, minExclusive: true }), 0.5);
  assert.equal(numberFlag('--lr', '1e-3', { min: 0, minExclusive: true }), 1e-3);
  assert.throws(() => numberFlag('--width', '0', { min: 0, max: 8, minExclusive: true }), bad('--width', /a number in \(0, 8\] for --width but received "0"/));
  assert.throws(() => numberFlag('--gamma', '1e999'), bad('--gamma', /a number for --gamma/), 'not finite');
  assert.throws(() => numberFlag('--gamma', '0.5x'), bad('--gamma', /received "0.5x"/));
  assert.equal(optionalNumber('--gamma', undefined), undefined);

  assert.equal(oneOf('--mode', ' Exact ', ['exact', 'near', 'off'] as const), 'exact');
  assert.throws(() => oneOf('--mode', 'fuzzy', ['exact', 'near', 'off']), bad('--mode', /^Expected one of exact, near, off for --mode but received "fuzzy"$/));
  assert.doesNotThrow(() => requireWith('--log', false, '--plot', false));
  assert.throws(() => requireWith('--log', true, '--plot', false), bad('--log', /^--log applies only with --plot$/));
});

test('path checks: a file in the way, a missing folder, a folder as the file, the source, links', async () => {
  const dir = join(root, 'paths');
  await mkdir(join(dir, 'data', 'a'), { recursive: true });
  await writeFile(join(dir, 'file.txt'), 'x');
  await symlink(join(dir, 'data'), join(dir, 'link-to-data'));
  const path = (e: unknown, code: string, re: RegExp) => e instanceof AugmentError && e.code === code && re.test(e.message) && !e.message.includes('\n');

  assert.equal(await existingFolder('--source', join(dir, 'data')), join(dir, 'data'));
  await assert.rejects(existingFolder('--source', join(dir, 'nope')), (e) => path(e, 'NOT_FOUND', /^--source .*nope: no such folder$/));
  await assert.rejects(existingFolder('--source', join(dir, 'file.txt')), (e) => path(e, 'BAD_DATASET', /file\.txt: is a file, not a folder$/));
  await assert.rejects(existingFolder(undefined, join(dir, 'file.txt', 'x')), (e) => path(e, 'NOT_FOUND', /no such folder/));

  assert.equal(await outputFile('--out', join(dir, 'sheet.png'), { extensions: ['.png'] }), join(dir, 'sheet.png'));
  await assert.rejects(outputFile('--out', join(dir, 'sheet.PNG.jpg'), { extensions: ['.png'] }), (e) => path(e, 'BAD_ARGUMENT', /expected a \.png file name/));
  await assert.rejects(outputFile('--out', join(dir, 'data')), (e) => path(e, 'UNSAFE_PATH', /data: is a folder; give a file name$/));
  await assert.rejects(outputFile('--out', join(dir, 'no', 'sheet.png')), (e) => path(e, 'NOT_FOUND', /the folder .*no does not exist$/));
  assert.ok(await outputFile('--out', join(dir, 'no', 'deeper', 'r.html'), { makeParents: true }), 'makeParents: a makeable folder is enough');
  await assert.rejects(outputFile('--out', join(dir, 'file.txt', 'deeper', 'r.html'), { makeParents: true }), (e) => path(e, 'UNSAFE_PATH', /file\.txt is a file, not a folder$/));
  // inside the source, also when reached through a link
  const source = [{ path: join(dir, 'data'), what: 'the source' }];
  await assert.rejects(outputFile('--out', join(dir, 'data', 'a', 'x.png'), { outside: source }), (e) => path(e, 'UNSAFE_PATH', /is inside the source/));
  await assert.rejects(outputFile('--out', join(dir, 'link-to-data', 'x.png'), { outside: source }), (e) => path(e, 'UNSAFE_PATH', /is inside the source/));
  await assert.rejects(outputFolder('--out', join(dir, 'link-to-data', 'new', 'v'), { outside: source }), (e) => path(e, 'UNSAFE_PATH', /is inside the source/));
  assert.ok(await outputFolder('--out', join(dir, 'data-out', 'v'), { outside: source }), 'a sibling whose name starts like the source is outside it');
  assert.equal(await isWithin(join(dir, 'data'), join(dir, 'data')), true);
  assert.equal(await isWithin(join(dir, '..data'), dir), true, 'a name starting with two dots is still inside');
  assert.equal(await isWithin(dir, join(dir, 'data')), false);
  await assert.rejects(outputFolder('--out', join(dir, 'file.txt')), (e) => path(e, 'UNSAFE_PATH', /file\.txt is a file, not a folder$/));
  await assert.rejects(outputFolder('--out', ''), (e) => path(e, 'BAD_ARGUMENT', /for --out but received ""/));
});
