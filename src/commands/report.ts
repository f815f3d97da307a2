/**
 * `augment report [RUN_DIR] [--out FILE] [--screenshot FILE.png]`: one self-contained HTML
 * page of an evaluate run (src/report/index.ts). Thin: parses flags, calls writeReport, prints.
 */
import type { CommandModule } from 'yargs';
import { invalidParameter } from '../errors.ts';
import { outputFile } from './flags.ts';

interface Args {
  run?: string;
  out?: string;
  screenshot?: string;
  width?: string;
  runsRoot: string;
}

export const command: CommandModule<object, Args> = {
  command: 'report [run]',
  describe: 'Write report.html for an evaluate run: leaderboard with intervals, every variant\'s histograms, contact sheet, curves, confusion',
  builder: (y) =>
    y
      .positional('run', { type: 'string', describe: 'run folder (default: the newest finished run under --runs-root)' })
      .option('out', { type: 'string', describe: 'HTML file to write (default RUN/report.html)' })
      .option('screenshot', { type: 'string', describe: 'also write a full-page PNG screenshot (headless chromium at /usr/bin/chromium)' })
      .option('width', { type: 'string', describe: 'screenshot width in CSS px (default 1280; 390 for a phone)' })
      .option('runs-root', { type: 'string', default: 'data/runs', describe: 'where the newest run is looked for' })
      .example('$0 report', 'report of the newest run under data/runs')
      .example('$0 report data/runs/2026-12-01T22-00-00 --screenshot report.png', 'and a picture of it') as any,
  handler: async (a) => {
    let width: number | undefined;
    if (a.width !== undefined) {
      width = Number(a.width);
      if (!/^\d+$/.test(String(a.width).trim()) || width < 200 || width > 4000) throw invalidParameter('--width', 'a whole number of CSS pixels in [200, 4000]', a.width);
    }
    if (a.screenshot !== undefined && !/\.png$/i.test(a.screenshot)) throw invalidParameter('--screenshot', 'a .png file name', a.screenshot);
    if (a.out !== undefined) await outputFile('--out', a.out, { extensions: ['.html', '.htm'], makeParents: true }); // H8: flags.ts
    if (a.screenshot !== undefined) await outputFile('--screenshot', a.screenshot, { extensions: ['.png'], makeParents: true });
    const { writeReport, latestFinishedRun } = await import('../report/index.ts'); // vega loads only here
    const run = a.run ?? (await latestFinishedRun(a.runsRoot));
    const r = await writeReport(run, { out: a.out, screenshot: a.screenshot, screenshotWidth: width });
    process.stdout.write(`report: ${r.file}\n`);
    if (r.screenshot) process.stdout.write(`screenshot: ${r.screenshot}\n`);
  },
};
