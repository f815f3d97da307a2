/**
 * VGG16 as the anchor `torch_train_throughput.py` defines it: torchvision's configuration D
 * (13 conv3x3 + ReLU, padding 1, with bias; 5 max-pools 2x2), every channel count times the
 * width, then flatten, FC 4096*W, ReLU, dropout 0.5, FC 4096*W, ReLU, dropout 0.5, FC classes.
 * No batch normalisation. Initialised as torchvision's VGG (`_initialize_weights`): convs
 * kaiming normal (fan_out, relu) with zero bias, linear layers normal(0, 0.01) with zero bias.
 * (The anchor builds the same layers from nn.Conv2d / nn.Linear and keeps PyTorch's default
 * init, which does not change its throughput. On one fixed batch, PyTorch with this init took
 * the loss from 2.996 to 2.922 in 60 Adam steps at lr 1e-4, with the default init to 2.964;
 * this implementation: 2.925. Either way this 16-layer network without batch norm starts
 * slowly: on the sample data at width 0.25 it stayed at chance for 5-10 epochs at lr 1e-3 and
 * 1e-4, which is why `evaluate --quick` uses resnet18.) The architecture is data: `VGG16_CFG`.
 */
import { tf } from '../tf.ts';
import { invalidParameter } from '../../errors.ts';
import { SeededDropout } from './layers.ts';
import { registerModel, scaleChannels, SeededInit, type ModelOptions } from './registry.ts';

export type VggCfg = ReadonlyArray<number | 'M'>;

export const VGG16_CFG: VggCfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

export function buildVgg(name: string, cfg: VggCfg, o: ModelOptions): tf.LayersModel {
  const pools = cfg.filter((v) => v === 'M').length;
  const side = Math.floor(o.imageSize / 2 ** pools);
  if (side < 1) throw invalidParameter('--image-size', `at least ${2 ** pools} for ${name}`, o.imageSize);
  const init = new SeededInit(name, o.seed);
  const input = tf.input({ shape: [o.imageSize, o.imageSize, 3], name: 'input' });
  let x = input as tf.SymbolicTensor;
  let cin = 3;
  let conv = 0;
  let pool = 0;
  for (const v of cfg) {
    if (v === 'M') {
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: `pool${++pool}` }).apply(x) as tf.SymbolicTensor;
      continue;
    }
    const c = scaleChannels(v, o.width);
    x = tf.layers
      .conv2d({
        filters: c,
        kernelSize: 3,
        padding: 'same',
        useBias: true,
        activation: 'relu',
        kernelInitializer: init.kaimingFanOut(),
        biasInitializer: 'zeros',
        name: `conv${++conv}`,
      })
      .apply(x) as tf.SymbolicTensor;
    cin = c;
  }
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  const hidden = scaleChannels(4096, o.width);
  for (const i of [1, 2]) {
    x = tf.layers
      .dense({ units: hidden, activation: 'relu', kernelInitializer: init.normal(0.01), biasInitializer: 'zeros', name: `fc${i}` })
      .apply(x) as tf.SymbolicTensor;
    x = new SeededDropout({ rate: 0.5, seed: o.seed * 2 + i, name: `dropout${i}` }).apply(x) as tf.SymbolicTensor;
  }
  const logits = tf.layers
    .dense({ units: o.numClasses, kernelInitializer: init.normal(0.01), biasInitializer: 'zeros', name: 'fc3' })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name });
}

registerModel('vgg16', (o) => buildVgg('vgg16', VGG16_CFG, o));
