/**
 * What `augment sample` prints: a progress line (count, files/s) and a one-line summary.
 */
import type { SampleResult } from './render.ts';

export interface ProgressPrinter {
  update: (done: number, total: number) => void;
  end: () => void;
}

/**
 * A progress line on `stream`: rewritten in place on a terminal (at most ~10 times a
 * second), otherwise one line at the end.
 */
export function progressPrinter(stream: NodeJS.WriteStream): ProgressPrinter {
  const start = performance.now();
  let last = 0;
  let lastDone = 0;
  let lastTotal = 0;
  const line = (done: number, total: number) => {
    const secs = (performance.now() - start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    return `rendered ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} files (${rate.toFixed(0)} files/s)`;
  };
  return {
    update(done, total) {
      lastDone = done;
      lastTotal = total;
      if (!stream.isTTY) return;
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      stream.write(`\r${line(done, total)}\x1b[K`);
    },
    end() {
      if (lastTotal === 0) return;
      stream.write(stream.isTTY ? `\r${line(lastDone, lastTotal)}\x1b[K\n` : `${line(lastDone, lastTotal)}\n`);
    },
  };
}

/** `data/tabler: 20 classes, 6,000 files (10 written, 5,990 unchanged); imbalance 10.9x (System 963 / Sport 76)` */
export function formatSampleSummary(out: string, r: SampleResult): string {
  const entries = Object.entries(r.classes);
  const files = entries.reduce((s, [, n]) => s + n, 0);
  const fmt = (n: number) => n.toLocaleString('en-US');
  let s = `${out}: ${entries.length} classes, ${fmt(files)} files (${fmt(r.written)} written, ${fmt(r.skipped)} unchanged)`;
  if (entries.length > 0) {
    const max = entries.reduce((a, b) => (b[1] > a[1] ? b : a));
    const min = entries.reduce((a, b) => (b[1] < a[1] ? b : a));
    s += `; imbalance ${(max[1] / min[1]).toFixed(1)}x (${max[0]} ${fmt(max[1])} / ${min[0]} ${fmt(min[1])})`;
  }
  if (r.stale.length > 0) {
    s += `\nnote: ${out} also holds folders that are not classes of this sample (left alone): ${r.stale.join(', ')}`;
  }
  return s;
}
