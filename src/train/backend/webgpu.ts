/**
 * WebGPU trainer backend: tfjs's `@tensorflow/tfjs-backend-webgpu` on Dawn's Node binding
 * (npm `webgpu`, prebuilt `dawn.node`; Vulkan on Linux, Metal on macOS, D3D12 on Windows).
 * Installs from the npm registry alone, so it is the GPU route for machines where
 * tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1, downloaded at install) cannot load.
 *
 * Known gaps of tfjs on Dawn in Node, which callers must respect:
 * - `dataSync()` / `arraySync()` throw (`OffscreenCanvas is not defined`): read with
 *   `await t.data()` / `await t.array()` only.
 * - `model.save('file://...')` has no handler: save through your own IOHandler.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tf } from '../tf.ts';
import { registerWebgpuKernels } from '../kernels/webgpu/index.ts';

export interface WebgpuOptions {
  /**
   * Accept a software adapter (Mesa lavapipe/llvmpipe, SwiftShader, WARP). Default false:
   * a software adapter is slower than the wasm backend, so it is only for tests and for
   * `--backend webgpu` forced by hand.
   */
  allowSoftware: boolean;
  /** Receives one line per notable event (adapter found/refused, load failure). */
  log?: (line: string) => void;
}

export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
}

type DawnModule = { create: (options: string[]) => GPU; globals: object };

let dawn: Promise<DawnModule | Error> | undefined;
let active: { description: string; software: boolean } | undefined;

/** Loads Dawn once; an Error (never a throw) when the binary cannot load on this machine. */
function loadDawn(): Promise<DawnModule | Error> {
  dawn ??= import('webgpu').then(
    (m) => m as unknown as DawnModule,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  return dawn;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software|microsoft basic render|\bwarp\b/i;

/** Reads an adapter's identity; `software` is true for CPU-emulated adapters. */
export function describeAdapter(adapter: GPUAdapter): WebgpuAdapterInfo {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const software =
    info?.isFallbackAdapter === true ||
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    SOFTWARE.test([vendor, architecture, device, description].join(' '));
  return { vendor, architecture, device, description, software };
}

/** One line: vendor, architecture, device and driver (Dawn puts the driver in `description`). */
export function formatAdapter(a: WebgpuAdapterInfo): string {
  const parts = [
    `vendor ${a.vendor || '?'}`,
    a.architecture ? `architecture ${a.architecture}` : '',
    a.device ? `device ${a.device}` : '',
    a.description ? `driver ${a.description}` : '',
  ].filter(Boolean);
  return `webgpu (Dawn) ${a.software ? 'SOFTWARE adapter' : 'GPU'}: ${parts.join(', ')}`;
}

/**
 * Requests the high-performance adapter through Dawn, without touching tfjs.
 * Returns null (never throws) when Dawn cannot load or no adapter exists; `reason` says why.
 */
export async function requestWebgpuAdapter(): Promise<
  { adapter: GPUAdapter; info: WebgpuAdapterInfo; gpu: GPU; globals: object } | { adapter: null; reason: string }
> {
  const mod = await loadDawn();
  if (mod instanceof Error) {
    return { adapter: null, reason: `Dawn (npm webgpu) failed to load: ${firstLine(mod.message)}` };
  }
  let gpu: GPU;
  let adapter: GPUAdapter | null;
  try {
    gpu = mod.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { adapter: null, reason: `requestAdapter failed: ${firstLine(e instanceof Error ? e.message : String(e))}` };
  }
  if (!adapter) {
    return {
      adapter: null,
      reason: 'Dawn found none (no Vulkan driver/ICD, or libvulkan.so.1 missing; a CPU-only Debian needs Mesa >= 23 lavapipe: .ci/install-vulkan.sh)',
    };
  }
  return { adapter, info: describeAdapter(adapter), gpu, globals: mod.globals };
}

/**
 * Linux: whether any GPU device node is there to drive (/dev/nvidia*, /dev/dri/renderD*). Without
 * one, Vulkan can only offer a software adapter (lavapipe), which the automatic pick refuses
 * anyway: not probing spares the warnings Dawn prints on stderr while it sets one up.
 * Elsewhere (macOS, Windows) always true.
 */
export function gpuDevicePresent(dev = '/dev'): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (readdirSync(dev).some((f) => /^nvidia\d+$/.test(f))) return true;
    const dri = `${dev}/dri`;
    return existsSync(dri) && readdirSync(dri).some((f) => f.startsWith('renderD'));
  } catch {
    return true; // cannot tell: let Dawn look
  }
}

/**
 * Sets up the webgpu backend and makes it the active tfjs backend.
 *
 * Returns `{ description }` (one line: adapter vendor / device / driver) on success, and null
 * (never throws) when Dawn cannot load, there is no adapter, or the adapter is a software one
 * and `allowSoftware` is false. On success the faster kernels of `src/train/kernels/webgpu/`
 * are registered over the stock ones.
 *
 * @example
 * const gpu = await initWebgpu({ allowSoftware: false, log: console.log });
 * if (!gpu) { ...fall back to tfjs-node or wasm... }
 */
export async function initWebgpu(opts: WebgpuOptions): Promise<{ description: string } | null> {
  const log = opts.log ?? (() => {});
  try {
    if (active && tf.findBackend('webgpu')) {
      if (active.software && !opts.allowSoftware) {
        log('webgpu: refusing software adapter; force it with --backend webgpu');
        return null;
      }
      await tf.setBackend('webgpu');
      return { description: active.description };
    }
    if (!opts.allowSoftware && !gpuDevicePresent()) {
      log('webgpu: no GPU device (/dev/nvidia*, /dev/dri/renderD*), only a software adapter could run; force it with --backend webgpu');
      return null;
    }
    const found = await requestWebgpuAdapter();
    if (found.adapter === null) {
      log(`webgpu: ${found.reason}`);
      return null;
    }
    const { adapter, info, gpu, globals } = found;
    if (info.software && !opts.allowSoftware) {
      log(`webgpu: refusing software adapter (${info.description || info.device || info.vendor}); force it with --backend webgpu`);
      return null;
    }

    installGlobals(gpu, globals);
    // The backend package checks navigator.gpu when it is imported, so import it only now.
    const webgpuBackend = await import('@tensorflow/tfjs-backend-webgpu');
    // Its own registration requests a second adapter; register one that uses this adapter.
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend(
      'webgpu',
      async () => {
        const device = await adapter.requestDevice(deviceDescriptor(adapter));
        device.lost.then((l) => log(`webgpu: device lost (${l.reason}): ${l.message}`)).catch(() => {});
        return new webgpuBackend.WebGPUBackend(device, adapter.info);
      },
      3,
    );
    const ok = await tf.setBackend('webgpu');
    if (!ok) {
      log('webgpu: the backend failed to initialise (requestDevice failed)');
      tf.removeBackend('webgpu');
      return null;
    }
    registerWebgpuKernels();
    active = { description: formatAdapter(info), software: info.software };
    return { description: active.description };
  } catch (e) {
    log(`webgpu: ${firstLine(e instanceof Error ? e.message : String(e))}`);
    return null;
  }
}

/** Dawn's GPU* classes and constants as globals, and `navigator.gpu`, as tfjs-backend-webgpu expects. */
function installGlobals(gpu: GPU, globals: object): void {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(globals)) {
    if (g[k] === undefined) g[k] = v;
  }
  const nav = g.navigator as Record<string, unknown> | undefined;
  if (nav && typeof nav === 'object') {
    // Node >= 21 has its own navigator; add gpu to it.
    try {
      Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
      if (nav.gpu === gpu) return;
    } catch {
      // fall through and replace it
    }
  }
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(nav ?? {}), gpu },
    configurable: true,
    writable: true,
  });
}

/** Same features and limits as tfjs-backend-webgpu's own factory asks for. */
function deviceDescriptor(adapter: GPUAdapter): GPUDeviceDescriptor {
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  if (adapter.features.has('bgra8unorm-storage')) requiredFeatures.push('bgra8unorm-storage');
  const l = adapter.limits;
  return {
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
