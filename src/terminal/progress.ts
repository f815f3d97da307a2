/**
 * Progress for long work: a cli-progress bar with count, rate and ETA on a terminal; on a
 * non-terminal (CI logs, pipes) a plain line at most every few seconds.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function createProgress(label: string, unit = 'files', stream: NodeJS.WriteStream = process.stderr): Progress {
  const start = performance.now();
  const rate = (done: number) => done / Math.max(1e-3, (performance.now() - start) / 1000);
  if (!stream.isTTY) {
    let last = 0;
    return {
      update(done, total) {
        const now = performance.now();
        if (done < total && now - last < 5000) return;
        last = now;
        stream.write(`${label}: ${done}/${total} ${unit} (${rate(done).toFixed(0)} ${unit}/s)\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {bar} {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 200,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done, { rate: '0' });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { rate: rate(done).toFixed(0) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
