/**
 * tfjs-node (libtensorflow, CPU) and tfjs-node-gpu (libtensorflow with CUDA 11.2 + cuDNN 8.1).
 * Both are optional dependencies: their install downloads a binary and fails offline, and npm
 * then skips them, so they are loaded with `require` inside try/catch. Each registers the
 * `tensorflow` backend with the shared tfjs-core.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { tf } from '../tf.ts';

const require = createRequire(import.meta.url);

export type NodePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export type NodeLoad = { ok: true; description: string; threads: number } | { ok: false; reason: string };

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0].slice(0, 200);
}

/**
 * Loads one of the tfjs-node packages and selects its `tensorflow` backend. With
 * `requireGpu`, a package that loads but runs on the CPU (no CUDA device) counts as a failure.
 */
export async function initNode(pkg: NodePackage, requireGpu: boolean): Promise<NodeLoad> {
  try {
    require.resolve(pkg);
  } catch {
    return { ok: false, reason: `${pkg} is not installed (optional dependency; its install needs internet)` };
  }
  try {
    require(pkg);
  } catch (e) {
    return { ok: false, reason: `${pkg} failed to load: ${firstLine(e)}` };
  }
  try {
    if (!tf.findBackend('tensorflow') && !tf.findBackendFactory('tensorflow')) {
      return { ok: false, reason: `${pkg} loaded but registered no 'tensorflow' backend (a second copy of tfjs-core?)` };
    }
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: `${pkg}: the tensorflow backend failed to initialise` };
    const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    const onGpu = Boolean(be.isUsingGpuDevice);
    if (requireGpu && !onGpu) return { ok: false, reason: `${pkg} loaded but found no CUDA device` };
    const threads = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    return {
      ok: true,
      threads,
      description: onGpu ? `node-gpu (${pkg}, libtensorflow on CUDA)` : `node (${pkg}, libtensorflow CPU, ${threads} threads)`,
    };
  } catch (e) {
    return { ok: false, reason: `${pkg}: ${firstLine(e)}` };
  }
}
