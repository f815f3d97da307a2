/**
 * ResNet builder, torchvision's definition with every stage width scaled by W (as the anchor
 * `torch_train_throughput.py` does): 7x7/2 stem conv (no bias) + BN + ReLU + 3x3/2 max-pool,
 * four stages of BasicBlock or Bottleneck (expansion 4, stride on the 3x3 as in torchvision),
 * a 1x1 conv + BN shortcut where the shape changes, global average pool, FC classes.
 * Convs are initialised as torchvision does (kaiming normal, fan_out), BN with gamma 1 beta 0,
 * the FC with PyTorch's Linear default. BatchNorm (`FusedBatchNorm`, PyTorch semantics: epsilon
 * 1e-5, momentum 0.1) has the ReLU that follows it fused in where there is one.
 *
 * Padding as torchvision: k // 2 zeros on every side of each conv, 1 around the max-pool (tfjs's
 * 'same' would pad stride-2 layers at the bottom/right only: a grid shifted by one pixel).
 */
import { tf } from '../tf.ts';
import { FusedBatchNorm, PaddedMaxPool, PlainConv2D } from './layers.ts';
import { scaleChannels, SeededInit, type ModelOptions } from './registry.ts';

export interface BlockSpec {
  /** Output channels = planes * expansion. */
  expansion: number;
  build(b: Builder, x: tf.SymbolicTensor, inChannels: number, planes: number, stride: number, prefix: string): tf.SymbolicTensor;
}

export interface ResNetSpec {
  block: BlockSpec;
  layers: readonly [number, number, number, number];
}

/** Small helpers that name every layer after torchvision's module path (dots become '_'). */
export class Builder {
  constructor(readonly init: SeededInit) {}

  conv(x: tf.SymbolicTensor, filters: number, kernel: number, stride: number, name: string): tf.SymbolicTensor {
    // torchvision's padding: kernel // 2 on every side (3 for the stem, 1 for 3x3, 0 for 1x1)
    return new PlainConv2D({ filters, kernelSize: kernel, strides: stride, padding: kernel >> 1, kernelInitializer: this.init.kaimingFanOut(), name }).apply(
      x,
    ) as tf.SymbolicTensor;
  }

  bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return new FusedBatchNorm({ epsilon: 1e-5, momentum: 0.1, name }).apply(x) as tf.SymbolicTensor;
  }

  /** BN followed by ReLU, one layer (one fused kernel on wasm). */
  bnRelu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return new FusedBatchNorm({ epsilon: 1e-5, momentum: 0.1, relu: true, name }).apply(x) as tf.SymbolicTensor;
  }

  relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
  }

  add(a: tf.SymbolicTensor, b: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.add({ name }).apply([a, b]) as tf.SymbolicTensor;
  }

  /** 1x1 conv + BN when the block changes shape, else the identity. */
  shortcut(x: tf.SymbolicTensor, inChannels: number, outChannels: number, stride: number, prefix: string): tf.SymbolicTensor {
    if (stride === 1 && inChannels === outChannels) return x;
    return this.bn(this.conv(x, outChannels, 1, stride, `${prefix}_downsample_0`), `${prefix}_downsample_1`);
  }
}

export const BasicBlock: BlockSpec = {
  expansion: 1,
  build(b, x, inChannels, planes, stride, p) {
    let y = b.bnRelu(b.conv(x, planes, 3, stride, `${p}_conv1`), `${p}_bn1`);
    y = b.bn(b.conv(y, planes, 3, 1, `${p}_conv2`), `${p}_bn2`);
    return b.relu(b.add(y, b.shortcut(x, inChannels, planes, stride, p), `${p}_add`), `${p}_relu2`);
  },
};

export const Bottleneck: BlockSpec = {
  expansion: 4,
  build(b, x, inChannels, planes, stride, p) {
    const out = planes * 4;
    let y = b.bnRelu(b.conv(x, planes, 1, 1, `${p}_conv1`), `${p}_bn1`);
    y = b.bnRelu(b.conv(y, planes, 3, stride, `${p}_conv2`), `${p}_bn2`);
    y = b.bn(b.conv(y, out, 1, 1, `${p}_conv3`), `${p}_bn3`);
    return b.relu(b.add(y, b.shortcut(x, inChannels, out, stride, p), `${p}_add`), `${p}_relu3`);
  },
};

export function buildResNet(name: string, spec: ResNetSpec, o: ModelOptions): tf.LayersModel {
  const init = new SeededInit(name, o.seed);
  const b = new Builder(init);
  const input = tf.input({ shape: [o.imageSize, o.imageSize, 3], name: 'input' });
  const stem = scaleChannels(64, o.width);
  let x = b.bnRelu(b.conv(input, stem, 7, 2, 'conv1'), 'bn1');
  x = new PaddedMaxPool({ poolSize: 3, strides: 2, padding: 1, name: 'maxpool' }).apply(x) as tf.SymbolicTensor;
  let channels = stem;
  const stagePlanes = [64, 128, 256, 512];
  spec.layers.forEach((blocks, s) => {
    const planes = scaleChannels(stagePlanes[s], o.width);
    for (let i = 0; i < blocks; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      x = spec.block.build(b, x, channels, planes, stride, `layer${s + 1}_${i}`);
      channels = planes * spec.block.expansion;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ units: o.numClasses, kernelInitializer: init.torchDefault(), biasInitializer: init.torchBias(channels), name: 'fc' })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name });
}
