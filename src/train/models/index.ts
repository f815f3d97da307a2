/**
 * Every bundled model. Importing this module registers them; adding a model is one file that
 * calls `registerModel` plus one import line here.
 */
import './vgg16.ts';
import './resnet18.ts';
import './resnet50.ts';

export { createModel, listModels, registerModel, scaleChannels, type ModelOptions, type ModelBuilder } from './registry.ts';
