/**
 * Progress of one epoch: a cli-progress bar (batches, img/s, ETA) on a TTY, otherwise one
 * plain line per epoch. Everything goes to stderr so that `--json` output on stdout stays
 * machine-readable.
 */
import cliProgress from 'cli-progress';

export interface EpochProgress {
  /** Called after each batch: batches done, images done so far in this epoch. */
  update(batchesDone: number, imagesDone: number): void;
  /** The epoch is over; `summary` is the line to leave behind. */
  stop(summary: string): void;
}

/** Makes the progress display for one epoch of `totalBatches` batches. */
export type ProgressFactory = (label: string, totalBatches: number) => EpochProgress;

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Force the bar on or off (default: when the stream is a TTY). */
  tty?: boolean;
}

export function createProgress(opts: ProgressOptions = {}): ProgressFactory {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  return (label, totalBatches) => {
    const started = Date.now();
    if (!tty) {
      return {
        update() {},
        stop(summary) {
          stream.write(`${summary}\n`);
        },
      };
    }
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {value}/{total} batches | {rate} img/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalBatches, 0, { rate: '-' });
    return {
      update(batchesDone, imagesDone) {
        const s = (Date.now() - started) / 1000;
        bar.update(batchesDone, { rate: s > 0 ? Math.round(imagesDone / s) : '-' });
      },
      stop(summary) {
        bar.stop();
        stream.write(`${summary}\n`);
      },
    };
  };
}

/** No output at all (library use, tests). */
export const silentProgress: ProgressFactory = () => ({ update() {}, stop() {} });

/**
 * Progress lines for logs (no TTY): `beat` prints at most one line every `everySeconds`,
 * so a cluster or CI log shows a long epoch, a decode or a valid pass is alive. 0: off.
 */
export class Heartbeat {
  private last = performance.now();
  constructor(
    private readonly log: (line: string) => void,
    readonly everySeconds: number,
  ) {}
  /** Prints `progress: <line()>` when the last line is `everySeconds` old. */
  beat(line: () => string): void {
    if (!(this.everySeconds > 0)) return;
    const now = performance.now();
    if ((now - this.last) / 1000 < this.everySeconds) return;
    this.last = now;
    this.log(`progress: ${line()}`);
  }
  /** Something else was printed: the next beat waits a full period. */
  reset(): void {
    this.last = performance.now();
  }
}

/**
 * Wraps a progress factory: every batch also reaches `onBatch` (label, batches done and total,
 * images done, seconds since the epoch started), e.g. for a heartbeat line.
 */
export function tapProgress(inner: ProgressFactory, onBatch: (label: string, done: number, total: number, images: number, seconds: number) => void): ProgressFactory {
  return (label, totalBatches) => {
    const bar = inner(label, totalBatches);
    const started = performance.now();
    return {
      update(done, images) {
        bar.update(done, images);
        onBatch(label, done, totalBatches, images, (performance.now() - started) / 1000);
      },
      stop(summary) {
        bar.stop(summary);
      },
    };
  };
}
