/**
 * One error type for every mistake a user can make. The CLI prints `message` as one line
 * (no stack trace) and exits with `exitCode`; library callers can switch on `code`.
 *
 * Exit codes are chosen so a scheduler (Slurm requeue, Kubernetes podFailurePolicy /
 * backoffLimitPerIndex, AWS Batch retry strategies) can act on them; see `EXIT` and
 * docs/CLUSTER.md.
 */
export type ErrorCode =
  | 'BAD_RECIPE'
  | 'BAD_ARGUMENT'
  | 'BAD_IMAGE'
  | 'BAD_DATASET'
  | 'NOT_FOUND'
  | 'UNSAFE_PATH'
  | 'BACKEND'
  | 'INTERRUPTED'
  /** The machine or its file system failed (I/O error, full disk, lost worker, SIGTERM): run it again. */
  | 'RETRYABLE';

/**
 * What each exit status of `augment` means:
 * - 0 `OK`: done.
 * - 1 `INTERNAL`: an unexpected error (a bug; the message has the stack). Retrying is unlikely to help.
 * - 2 `FATAL`: the user's mistake (bad recipe, flags, dataset, paths): fix it, do not retry.
 * - 75 `RETRYABLE` (EX_TEMPFAIL): I/O error, full disk, timeout, out of memory, a lost worker,
 *   SIGTERM from the scheduler: run the same command again; it resumes.
 * - 130 `INTERRUPTED`: Ctrl-C (SIGINT); finished work is kept, the same command resumes.
 * A process killed outright is reported by the shell/scheduler as 128+signal (137 for SIGKILL,
 * e.g. the kernel's out-of-memory killer; 134 for SIGABRT, e.g. V8 running out of heap): retryable too.
 */
export const EXIT = { OK: 0, INTERNAL: 1, FATAL: 2, RETRYABLE: 75, INTERRUPTED: 130 } as const;

/**
 * errno (and Node) codes that say the machine, not the user, failed. An error carrying one of
 * these is retryable. ENOENT, EACCES, EISDIR etc. are not here: they name a user's path.
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'EIO', 'ENOSPC', 'EDQUOT', 'EROFS', 'ETIMEDOUT', 'ESTALE', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOMEM',
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETDOWN', 'ENETUNREACH', 'ENETRESET', 'EPIPE',
  'ERR_WORKER_OUT_OF_MEMORY', 'ERR_WORKER_INIT_FAILED',
]);

export class AugmentError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AugmentError';
    this.code = code;
  }
  get exitCode(): number {
    if (this.code === 'INTERRUPTED') return EXIT.INTERRUPTED;
    if (this.code === 'RETRYABLE') return EXIT.RETRYABLE;
    return EXIT.FATAL;
  }
}

/** The errno-style code of an error or of any error in its `cause` chain that is retryable, if one is. */
export function retryableCode(e: unknown): string | null {
  for (let cur: any = e, depth = 0; cur && depth < 8; cur = cur.cause, depth++) {
    if (typeof cur.code === 'string' && RETRYABLE_ERROR_CODES.has(cur.code)) return cur.code;
    if (cur instanceof RangeError && /Array buffer allocation failed|Invalid array length|out of memory/i.test(cur.message)) return 'ENOMEM';
  }
  return null;
}

/**
 * How the CLI reports an error: one line and an exit status. AugmentErrors keep their own;
 * an error carrying a retryable errno (EIO, ENOSPC, ETIMEDOUT, ...) or an out-of-memory is
 * one line and 75; anything else is unexpected (1, with the stack, since it is a bug).
 */
export function describeFailure(e: unknown): { exitCode: number; message: string } {
  if (isAugmentError(e)) return { exitCode: e.exitCode, message: e.message };
  const code = retryableCode(e);
  if (code) {
    const msg = e instanceof Error ? e.message : String(e);
    return { exitCode: EXIT.RETRYABLE, message: `${msg.split('\n')[0]} (${code}: the machine or file system failed, not the input; run the same command again to resume)` };
  }
  const onPath = pathProblem(e);
  if (onPath) return { exitCode: EXIT.FATAL, message: onPath };
  return { exitCode: EXIT.INTERNAL, message: `unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
}

/**
 * A permission or file-in-the-way problem on a named path, where no command checked it first
 * (e.g. a default output folder under a read-only working folder): the user's path, one line.
 * ENOENT is not here: a missing file the user named is checked up front, so one that gets this
 * far is more likely a bug, and keeps its stack.
 */
const PATH_PROBLEMS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a file is in the way where a folder is expected',
  EISDIR: 'is a folder where a file is expected',
  EEXIST: 'already exists',
};

function pathProblem(e: unknown): string | null {
  const x = e as { code?: unknown; path?: unknown; syscall?: unknown } | null;
  if (!x || typeof x !== 'object' || typeof x.code !== 'string' || typeof x.path !== 'string' || !(x.code in PATH_PROBLEMS)) return null;
  return `${x.path}: ${PATH_PROBLEMS[x.code]} (${typeof x.syscall === 'string' ? `${x.syscall}: ` : ''}${x.code})`;
}

/** `Expected <expected> for <name> but received <value>` in the style of sharp's lib/is.js. */
export function invalidParameter(name: string, expected: string, actual: unknown): AugmentError {
  return new AugmentError('BAD_ARGUMENT', `Expected ${expected} for ${name} but received ${describe(actual)}`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function isAugmentError(e: unknown): e is AugmentError {
  return e instanceof AugmentError;
}
