/**
 * Child process for test/train-backend.test.ts: starts wasm with T threads (env) and prints, as
 * JSON, the backend line and the worst relative difference from cpu of a strided conv, its
 * input gradient and its filter gradient.
 */
import { tf } from '../../src/train/tf.ts';
import { initBackend } from '../../src/train/backend/select.ts';

const info = await initBackend({ force: 'wasm', threads: Number(process.env.T ?? 1), log: () => {} });
const run = (): number[][] => {
  const x = tf.tensor4d(Array.from({ length: 2 * 9 * 9 * 6 }, (_, i) => Math.sin(i)), [2, 9, 9, 6]);
  const f = tf.tensor4d(Array.from({ length: 3 * 3 * 6 * 12 }, (_, i) => Math.cos(i)), [3, 3, 6, 12]);
  const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
  const [dx, df] = tf.grads(loss)([x, f]);
  return [tf.conv2d(x, f, 2, 'same'), dx, df].map((t) => Array.from(t.dataSync()));
};
const got = run();
await tf.setBackend('cpu');
const want = run();
let worst = 0;
got.forEach((g, k) =>
  g.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - want[k][i]) / (1 + Math.abs(want[k][i])));
  }),
);
console.log(JSON.stringify({ description: info.description, worst }));
