/**
 * Backend names and their validation, apart from the backends themselves so that parsing
 * `--backend` does not load TensorFlow.js.
 */
import { AugmentError } from '../../errors.ts';

export type BackendChoice = 'node-gpu' | 'webgpu' | 'node' | 'wasm';

export const BACKENDS: readonly BackendChoice[] = ['node-gpu', 'webgpu', 'node', 'wasm'];

export const CPU_REFUSAL =
  "the plain 'cpu' backend is ~300x slower than wasm and is never used for training; " +
  'the wasm backend ships with augment (@tensorflow/tfjs-backend-wasm, installed by `npm install`): use --backend wasm';

/** Validates a `--backend` value: a BackendChoice, or a one-line AugmentError. */
export function parseBackend(name: string): BackendChoice {
  const n = name.trim().toLowerCase();
  if (n === 'cpu') throw new AugmentError('BACKEND', `--backend cpu: ${CPU_REFUSAL}`);
  if ((BACKENDS as readonly string[]).includes(n)) return n as BackendChoice;
  throw new AugmentError('BAD_ARGUMENT', `Unknown backend ${JSON.stringify(name)} for --backend: expected one of ${BACKENDS.join(', ')}`);
}
