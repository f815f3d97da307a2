/**
 * augment side of the per-model default learning rates (docs/BENCHMARKS.md, "Default learning
 * rates"): train MODEL on one built variant with one optimizer setting through `fit` (the
 * trainer `evaluate` runs), and print one JSON line per seed with the per-epoch valid
 * macro-F1 and the learned verdict (`hasLearned`). Same arguments and output as
 * scripts/torch-lr-defaults.py, which trains the same architecture in PyTorch.
 *
 * usage: node --import tsx scripts/lr-defaults.ts MODEL WIDTH SIZE EPOCHS SEEDS OPTIMIZER LR WARMUP VARIANT_DIR
 *   env: BATCH (64), THREADS (1, wasm kernel threads), CACHE (decoded-image cache folder)
 *   stderr: one progress line per epoch
 */
import { initBackend } from '../src/train/backend/select.ts';
import { ensureVariantCaches, readVariant } from '../src/train/data.ts';
import { fit } from '../src/train/fit.ts';
import { createModel } from '../src/train/models/index.ts';
import { hasLearned } from '../src/train/ranking.ts';
import { DEFAULT_TRAIN_SETTINGS, type TrainSettings } from '../src/train/settings.ts';

const [model, width, size, epochs, seeds, optimizer, lr, warmup, dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: lr-defaults.ts MODEL WIDTH SIZE EPOCHS SEEDS OPTIMIZER LR WARMUP VARIANT_DIR');
  process.exit(2);
}
await initBackend({ force: 'wasm', threads: Number(process.env.THREADS ?? 1) });
const variant = await readVariant(dir);
const { caches } = await ensureVariantCaches([variant], Number(size), { cacheDir: process.env.CACHE ?? 'data/cache/decoded' });
const data = caches.get(variant.name)!;
const settings: TrainSettings = {
  ...DEFAULT_TRAIN_SETTINGS,
  epochs: Number(epochs),
  batchSize: Number(process.env.BATCH ?? 64),
  lr: Number(lr),
  optimizer: optimizer as TrainSettings['optimizer'],
  momentum: 0.9,
  warmupEpochs: Number(warmup),
  patience: 0,
};
const k = variant.classes.length;
const validCounts = new Array<number>(k).fill(0);
for (const y of data.valid.labels) validCounts[y]++;
for (let seed = 1; seed <= Number(seeds); seed++) {
  const t0 = performance.now();
  const r = await fit({
    createModel: () => createModel(model, { numClasses: k, imageSize: Number(size), width: Number(width), seed }),
    data,
    settings,
    seed,
    // one stderr line per epoch, so a long run shows where it is
    onEpoch: (e) => console.error(`augment ${optimizer} ${lr} warm-up ${warmup} seed ${seed} epoch ${e.epoch}: valid macro-F1 ${e.validMacroF1.toFixed(4)}, train loss ${e.trainLoss.toFixed(4)}, ${Math.round((performance.now() - t0) / 1000)} s`),
  });
  const hist = r.history.map((h) => Math.round(h.validMacroF1 * 1e4) / 1e4);
  const verdict = hasLearned(hist, { numClasses: k, validClassCounts: validCounts });
  console.log(
    JSON.stringify({
      engine: 'augment',
      model,
      width: Number(width),
      optimizer,
      lr: Number(lr),
      warmup: Number(warmup),
      seed,
      valid_macro_f1: hist,
      train_loss: r.history.map((h) => Math.round(h.trainLoss * 1e4) / 1e4),
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      valid_counts: validCounts,
      learned: verdict.learned,
      threshold: Math.round(verdict.threshold * 1e4) / 1e4,
    }),
  );
}
