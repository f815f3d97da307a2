/**
 * One error type for every mistake a user can make. The CLI prints `message` as one line
 * (no stack trace) and exits with `exitCode`; library callers can switch on `code`.
 */
export type ErrorCode =
  | 'BAD_RECIPE'
  | 'BAD_ARGUMENT'
  | 'BAD_IMAGE'
  | 'BAD_DATASET'
  | 'NOT_FOUND'
  | 'UNSAFE_PATH'
  | 'BACKEND'
  | 'INTERRUPTED';

export class AugmentError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AugmentError';
    this.code = code;
  }
  get exitCode(): number {
    return this.code === 'INTERRUPTED' ? 130 : 2;
  }
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
