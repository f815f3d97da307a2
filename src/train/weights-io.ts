/**
 * Saving and loading weights without tfjs's `file://` handler (absent on the wasm and webgpu
 * backends): a folder with `model.json` (tfjs's layers-model format: topology +
 * weightsManifest) and `weights.bin`, written to a temp folder and renamed into place, so a
 * reader never sees half a checkpoint. Tensor values are read only with async `data()`.
 *
 * Loading for training goes by position (`model.weights` order), not by variable name: names
 * carry per-process suffixes (`conv2d_12/kernel`), the order and shapes do not change.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tf } from './tf.ts';
import { AugmentError } from '../errors.ts';

/** A tensor with its name (tfjs-core's NamedTensor, not re-exported by @tensorflow/tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

function toArrayBuffer(d: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(d) ? tf.io.CompositeArrayBuffer.join(d) : d;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Writes `files` into `dir` atomically: a temp sibling folder, then rename (replacing `dir`). */
export async function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  for (const [name, content] of Object.entries(files)) await writeFile(join(tmp, name), content);
  if (await exists(dir)) {
    const old = `${dir}.old-${process.pid}`;
    await rm(old, { recursive: true, force: true });
    await rename(dir, old);
    await rename(tmp, dir);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, dir);
  }
}

/** An IOHandler over a folder holding model.json + weights.bin. `extra` goes into model.json as `augment`. */
export function dirHandler(dir: string, extra?: Record<string, unknown>): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const weightData = artifacts.weightData ? new Uint8Array(toArrayBuffer(artifacts.weightData)) : new Uint8Array(0);
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(extra ? { augment: extra } : {}),
      };
      await writeDirAtomic(dir, { [MODEL_JSON]: JSON.stringify(modelJson), [WEIGHTS_BIN]: weightData });
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: any;
      try {
        json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8'));
      } catch (e) {
        throw new AugmentError('NOT_FOUND', `${join(dir, MODEL_JSON)}: cannot read saved weights (${(e as Error).message.split('\n')[0]})`);
      }
      const buf = await readFile(join(dir, WEIGHTS_BIN));
      const weightSpecs: tf.io.WeightsManifestEntry[] = (json.weightsManifest ?? []).flatMap((g: any) => g.weights);
      return {
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        modelTopology: json.modelTopology ?? undefined,
        weightSpecs,
        weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
      };
    },
  };
}

/** Named tensors (e.g. optimizer state) to a folder, atomically. */
export async function saveTensors(dir: string, tensors: NamedTensor[], extra?: Record<string, unknown>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await dirHandler(dir, extra).save!({ weightSpecs: specs, weightData: data, format: 'tensors' });
}

/** Reads what `saveTensors` wrote, in the saved order. The caller disposes the tensors. */
export async function loadTensors(dir: string): Promise<NamedTensor[]> {
  const a = await dirHandler(dir).load!();
  const map = tf.io.decodeWeights(a.weightData!, a.weightSpecs!);
  return a.weightSpecs!.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/**
 * Saves a model's weights (and its topology when it serialises) through `dirHandler`.
 * `extra` (class names, epoch, settings...) is stored in model.json under `augment`.
 */
export async function saveModel(model: tf.LayersModel, dir: string, extra?: Record<string, unknown>): Promise<void> {
  try {
    await model.save(dirHandler(dir, extra));
  } catch (e) {
    if (e instanceof AugmentError) throw e;
    // Topology that does not serialise (a custom layer without a registered class): weights only.
    const tensors = model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }));
    await saveTensors(dir, tensors, { ...extra, topologyError: (e as Error).message });
  }
}

/** Loads weights saved by `saveModel` into `model`, by position; throws if the shapes differ. */
export async function loadModelWeights(model: tf.LayersModel, dir: string): Promise<void> {
  const named = await loadTensors(dir);
  try {
    const weights = model.weights;
    if (named.length !== weights.length) {
      throw new AugmentError('BAD_DATASET', `${dir}: saved weights hold ${named.length} tensors but the model has ${weights.length}; were they saved from another model or settings?`);
    }
    named.forEach((n, i) => {
      const want = weights[i].shape.join('x');
      const got = n.tensor.shape.join('x');
      if (want !== got) throw new AugmentError('BAD_DATASET', `${dir}: weight ${i} (${n.name}) has shape ${got}, the model expects ${want}`);
    });
    model.setWeights(named.map((n) => n.tensor));
  } finally {
    tf.dispose(named.map((n) => n.tensor));
  }
}

/** Saves an optimizer's state (Adam moments or SGD momentum, and its iteration count). */
export async function saveOptimizer(opt: tf.Optimizer, dir: string): Promise<void> {
  const named = await opt.getWeights();
  await saveTensors(dir, named, { optimizer: opt.getClassName() });
  // getWeights returns a fresh scalar for the iteration count; the rest are the optimizer's own variables.
  const iter = named.find((n) => n.name === 'iter');
  iter?.tensor.dispose();
}

/** Restores what `saveOptimizer` wrote into a fresh optimizer of the same kind. */
export async function loadOptimizer(opt: tf.Optimizer, dir: string): Promise<void> {
  const named = await loadTensors(dir);
  await opt.setWeights(named);
  // setWeights copies each tensor into a new variable; drop the loaded tensors.
  tf.dispose(named.map((n) => n.tensor));
}
