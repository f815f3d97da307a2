/**
 * Identity on wasm without a copy: the output shares the input's memory (one more reference,
 * as the stock Reshape does). The engine clones every tensor it saves for the backward pass,
 * ~180 clones per ResNet-18 step, each a full copy with the stock kernel. Tensors are immutable
 * on this backend (no kernel writes into its inputs), so sharing is safe.
 */
import { tf } from '../../tf.ts';
import type { Info } from './call.ts';
import { runStock } from './stock.ts';

interface RefCounting {
  incRef(dataId: object): void;
}

export function identityWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const { x } = args.inputs as { x: Info };
  if (x.dtype === 'string') return runStock('Identity', args);
  (args.backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identityWasm as unknown as tf.KernelFunc,
};
