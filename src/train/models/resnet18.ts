/** ResNet-18: BasicBlock x (2, 2, 2, 2). */
import { registerModel } from './registry.ts';
import { BasicBlock, buildResNet } from './resnet.ts';

registerModel('resnet18', (o) => buildResNet('resnet18', { block: BasicBlock, layers: [2, 2, 2, 2] }, o));
