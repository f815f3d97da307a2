/**
 * The report in a real browser: headless chromium (Debian's `chromium` package, or the
 * binary in AUGMENT_CHROMIUM) driven by playwright-core, offline. Used by
 * `augment report --screenshot` and by the browser test (test/report.test.ts), so both see
 * the page the same way. Every request that is not the report file itself (or a data: URI)
 * is aborted and recorded: a self-contained report makes none.
 *
 * playwright-core is an optional dependency, loaded only here, only when a browser is needed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { AugmentError } from '../errors.ts';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
const CANDIDATES = [DEFAULT_CHROMIUM, '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** Flags this machine's chromium needs headless in a container (no sandbox, no GPU, no network chatter). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The chromium binary: AUGMENT_CHROMIUM, else the first of the usual paths that exists; null if none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.AUGMENT_CHROMIUM) return existsSync(env.AUGMENT_CHROMIUM) ? env.AUGMENT_CHROMIUM : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface OpenOptions {
  /** Viewport width in CSS px (default 1280). */
  width?: number;
  /** Viewport height (default 900). */
  height?: number;
}

export interface OpenedReport {
  page: Page;
  context: BrowserContext;
  /** URLs the page tried to fetch (all were aborted). */
  requests: string[];
  /** console.error messages and uncaught page errors. */
  errors: string[];
  close(): Promise<void>;
}

async function loadPlaywright(): Promise<typeof import('playwright-core')> {
  try {
    return await import('playwright-core');
  } catch {
    throw new AugmentError('NOT_FOUND', 'playwright-core is not installed (it is an optional dependency of augment): npm install playwright-core, then run again');
  }
}

/** Opens `file` (an HTML report) in headless chromium with every network request blocked. */
export async function openReport(file: string, o: OpenOptions = {}): Promise<OpenedReport> {
  const executablePath = findChromium();
  if (!executablePath) {
    const where = process.env.AUGMENT_CHROMIUM ? `${process.env.AUGMENT_CHROMIUM} (AUGMENT_CHROMIUM)` : DEFAULT_CHROMIUM;
    throw new AugmentError('NOT_FOUND', `chromium not found at ${where}: apt-get install chromium (or set AUGMENT_CHROMIUM to a chromium binary)`);
  }
  const { chromium } = await loadPlaywright();
  const profile = await mkdtemp(join(tmpdir(), 'augment-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: o.width ?? 1280, height: o.height ?? 900 },
      offline: true,
    });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw new AugmentError('BACKEND', `could not start ${executablePath}: ${(e as Error).message.split('\n')[0]}`);
  }
  const target = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === target || url.startsWith('data:')) return route.continue();
    requests.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const close = async () => {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  };
  try {
    await page.goto(target, { waitUntil: 'load' });
  } catch (e) {
    await close();
    throw new AugmentError('BACKEND', `chromium could not open ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return { page, context, requests, errors, close };
}

/** Tallest screenshot taken (chromium's texture limit is 16384 px). */
const MAX_SCREENSHOT_HEIGHT = 16000;

/** Writes a full-page PNG screenshot of the report `file` to `out` (temp name, rename); returns `out`. */
export async function screenshotReport(file: string, out: string, o: OpenOptions = {}): Promise<string> {
  const r = await openReport(file, o);
  try {
    const height = await r.page.evaluate(() => document.documentElement.scrollHeight);
    const width = o.width ?? 1280;
    const tmp = `${out}.${process.pid}.tmp.png`;
    await r.page.screenshot({ path: tmp, fullPage: true, ...(height > MAX_SCREENSHOT_HEIGHT ? { clip: { x: 0, y: 0, width, height: MAX_SCREENSHOT_HEIGHT } } : {}) });
    await rename(tmp, out);
    return out;
  } finally {
    await r.close();
  }
}
