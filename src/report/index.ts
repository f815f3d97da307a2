/**
 * `augment report [RUN_DIR]`: one self-contained `report.html` in an evaluate run folder.
 *
 *   metrics.json + epochs.csv (the run) -> variant.json + manifest.jsonl + thumbnails (each
 *   variant) -> charts rendered to SVG in Node (vega) -> one HTML file (temp name, rename)
 *   -> optionally a screenshot of it in headless chromium (src/report/browser.ts).
 *
 * The page opens offline: no script, every image a data URI or inline SVG.
 */
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../train/report.ts';
import { recordLines } from './record.ts';
import { DEFAULT_RUNS_ROOT, latestFinishedRun, readEpochs, readRunMetrics } from './run.ts';
import { renderPage } from './page.ts';
import { readVariantRecord, type SheetOptions, type VariantRecord } from './variant.ts';

export { latestFinishedRun, readRunMetrics, readEpochs, DEFAULT_RUNS_ROOT } from './run.ts';
export { screenshotReport, openReport, findChromium, DEFAULT_CHROMIUM, type OpenedReport } from './browser.ts';

export const REPORT_FILE = 'report.html';

export interface ReportOptions {
  /** Output file (default `<runDir>/report.html`). */
  out?: string;
  /** Also write a PNG screenshot of the page here (headless chromium; see src/report/browser.ts). */
  screenshot?: string;
  /** Screenshot viewport width in CSS px (default 1280). */
  screenshotWidth?: number;
  /** Contact-sheet size. */
  sheet?: SheetOptions;
}

export interface ReportResult {
  file: string;
  screenshot?: string;
}

/** Writes the report of the finished run in `runDir` (default: the newest one under data/runs). */
export async function writeReport(runDir?: string, o: ReportOptions = {}): Promise<ReportResult> {
  const dir = resolve(runDir ?? (await latestFinishedRun(DEFAULT_RUNS_ROOT)));
  const metrics = await readRunMetrics(dir);
  const epochs = await readEpochs(dir);
  const variants: VariantRecord[] = [];
  for (const v of metrics.variants) variants.push(await readVariantRecord(v.name, v.dir, metrics.classes, o.sheet));
  const html = await renderPage({ metrics, epochs, variants, record: recordLines(metrics.raw, dir) });
  const file = resolve(o.out ?? join(dir, REPORT_FILE));
  await writeFileAtomic(file, html);
  const result: ReportResult = { file };
  if (o.screenshot) {
    const { screenshotReport } = await import('./browser.ts');
    result.screenshot = await screenshotReport(file, resolve(o.screenshot), { width: o.screenshotWidth ?? 1280 });
  }
  return result;
}
