/**
 * Which TensorFlow.js backend trains, decided at run time. Pick order: `node-gpu`
 * (@tensorflow/tfjs-node-gpu on CUDA), `webgpu` (Dawn; hardware adapters only unless forced),
 * `node` (@tensorflow/tfjs-node), `wasm` (@tensorflow/tfjs-backend-wasm, always installed, with
 * SIMD, threads and augment's training kernels). `--backend` forces one. The plain `cpu`
 * backend is never used for training: it is ~300x slower than wasm.
 *
 * @example
 * const info = await initBackend({ force: argv.backend, log: console.log });
 * // prints e.g. "backend: wasm (SIMD + FMA, 2 threads; custom kernels: Conv2DBackpropFilter, ...)"
 */
import { AugmentError } from '../../errors.ts';
import { tf } from '../tf.ts';
import { initNode } from './node.ts';
import { initWasm } from './wasm.ts';

import { BACKENDS, CPU_REFUSAL, parseBackend, type BackendChoice } from './names.ts';

export { BACKENDS, CPU_REFUSAL, parseBackend, type BackendChoice };

export interface BackendInfo {
  choice: BackendChoice;
  /** tfjs backend name: 'tensorflow', 'webgpu' or 'wasm'. */
  tfBackend: string;
  /** CPU threads the backend computes with (1 for a GPU backend's host side). */
  threads: number;
  /** One line, printed at start. */
  description: string;
}

export interface InitBackendOptions {
  /** A BackendChoice; anything else is a one-line error listing the valid names. */
  force?: BackendChoice | string;
  /** Receives the chosen backend's line and, when something was skipped, why. */
  log?: (line: string) => void;
  /** wasm only: threads (default: every available core, 1..8; env AUGMENT_WASM_THREADS). */
  threads?: number;
}

type Attempt = { ok: true; info: BackendInfo } | { ok: false; reason: string };


let current: BackendInfo | null = null;

async function attempt(choice: BackendChoice, forced: boolean, threads: number | undefined): Promise<Attempt> {
  switch (choice) {
    case 'node-gpu':
    case 'node': {
      const r = await initNode(choice === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node', choice === 'node-gpu');
      if (!r.ok) return r;
      return { ok: true, info: { choice, tfBackend: 'tensorflow', threads: r.threads, description: r.description } };
    }
    case 'webgpu': {
      const reasons: string[] = [];
      try {
        // Loaded lazily: a missing file or a Dawn binding that fails to load means "not available".
        const mod = (await import('./webgpu.ts')) as {
          initWebgpu(o: { allowSoftware: boolean; log?: (l: string) => void }): Promise<{ description: string } | null>;
        };
        const r = await mod.initWebgpu({ allowSoftware: forced, log: (l) => reasons.push(l) });
        if (!r) return { ok: false, reason: reasons.join('; ') || 'no suitable WebGPU adapter' };
        const description = r.description.startsWith('webgpu') ? r.description : `webgpu (${r.description})`;
        return { ok: true, info: { choice, tfBackend: 'webgpu', threads: 1, description } };
      } catch (e) {
        return { ok: false, reason: `webgpu unavailable: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
      }
    }
    case 'wasm': {
      try {
        const r = await initWasm({ threads });
        if (!r) return { ok: false, reason: '@tensorflow/tfjs-backend-wasm failed to initialise' };
        return { ok: true, info: { choice, tfBackend: 'wasm', threads: r.threads, description: r.description } };
      } catch (e) {
        return { ok: false, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
      }
    }
  }
}


/**
 * Selects and initialises the training backend, logs `backend: <description>` and returns what
 * was chosen. Forced: that backend or a one-line AugmentError('BACKEND') saying why not.
 * Otherwise the first of node-gpu, webgpu, node, wasm that starts; if none does,
 * AugmentError('BACKEND') (never the cpu backend).
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const log = opts.log ?? (() => {});
  const forced = opts.force != null && opts.force !== '' ? parseBackend(String(opts.force)) : null;
  if (current && tf.getBackend() === current.tfBackend && (forced === null || forced === current.choice)) {
    return current;
  }
  const order = forced ? [forced] : BACKENDS;
  const skipped: string[] = [];
  for (const choice of order) {
    const r = await attempt(choice, forced !== null, opts.threads);
    if (r.ok) {
      current = r.info;
      log(`backend: ${r.info.description}`);
      return r.info;
    }
    if (forced) throw new AugmentError('BACKEND', `--backend ${forced} cannot start: ${r.reason}`);
    skipped.push(`${choice}: ${r.reason}`);
  }
  throw new AugmentError('BACKEND', `No training backend could start (${skipped.join('; ')}); ${CPU_REFUSAL}`);
}

/** The backend chosen by the last successful `initBackend`, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}
