/** ResNet-50: Bottleneck (expansion 4) x (3, 4, 6, 3). */
import { registerModel } from './registry.ts';
import { Bottleneck, buildResNet } from './resnet.ts';

registerModel('resnet50', (o) => buildResNet('resnet50', { block: Bottleneck, layers: [3, 4, 6, 3] }, o));
