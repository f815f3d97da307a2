/**
 * The trainer's one import of TensorFlow.js. Every trainer module imports `tf` from here so
 * that models, kernels and backends all register against the same engine instance
 * (`@tensorflow/tfjs` resolves to its CommonJS node bundle, which `@tensorflow/tfjs-backend-wasm`
 * and the optional tfjs-node packages share through `@tensorflow/tfjs-core`).
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export default tf;
