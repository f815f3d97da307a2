import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AugmentError } from '../src/errors.ts';
import { createSchedule, parseLearningRate, parsePiecewise } from '../src/train/schedules.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-15 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('constant keeps the rate', () => {
  const s = createSchedule({ schedule: 'constant', lr: 1e-3 });
  assert.deepEqual([0, 1, 50].map(s), [1e-3, 1e-3, 1e-3]);
});

test('step multiplies by gamma every stepSize epochs (StepLR)', () => {
  const s = createSchedule({ schedule: 'step', lr: 1e-2, stepSize: 30, gamma: 0.1 });
  close(s(0), 1e-2);
  close(s(29), 1e-2);
  close(s(30), 1e-3);
  close(s(59), 1e-3);
  close(s(60), 1e-4);
  const s3 = createSchedule({ schedule: 'step', lr: 1, stepSize: 3, gamma: 0.5 });
  assert.deepEqual([0, 2, 3, 5, 6, 9].map(s3), [1, 1, 0.5, 0.5, 0.25, 0.125]);
});

test("piecewise from the seed's string", () => {
  const s = createSchedule({ schedule: 'piecewise', lr: 1, piecewise: '3e-6:30,2e-6:50,1e-6:100' });
  assert.equal(s(0), 3e-6);
  assert.equal(s(29), 3e-6);
  assert.equal(s(30), 2e-6);
  assert.equal(s(79), 2e-6);
  assert.equal(s(80), 1e-6);
  assert.equal(s(179), 1e-6);
  assert.equal(s(500), 1e-6, 'the last rate is kept after the last segment');
  assert.deepEqual(parsePiecewise(' 0.1 : 2 , 1e-2:3'), [
    { lr: 0.1, epochs: 2 },
    { lr: 0.01, epochs: 3 },
  ]);
});

test('bad piecewise strings are one-line AugmentErrors', () => {
  for (const bad of ['', '3e-6', '3e-6:30,', 'abc:3', '1e-3:0', '1e-3:2.5', '-1:3', '1e-3:3:4', '1e-3;3']) {
    assert.throws(
      () => createSchedule({ schedule: 'piecewise', lr: 1, piecewise: bad }),
      (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && !e.message.includes('\n') && e.message.includes('--piecewise'),
      bad,
    );
  }
  assert.throws(() => createSchedule({ schedule: 'piecewise', lr: 1 }), /needs --piecewise/);
  assert.throws(() => createSchedule({ schedule: 'step', lr: 1, stepSize: 0 }), /--step-size/);
  assert.throws(() => createSchedule({ schedule: 'cosine' as never, lr: 1 }), /--schedule/);
});

test('learning rates parse strictly', () => {
  assert.equal(parseLearningRate('1e-3'), 1e-3);
  assert.equal(parseLearningRate('0.01'), 0.01);
  assert.equal(parseLearningRate(3e-4), 3e-4);
  for (const bad of ['', 'fast', '1e-3x', '0', '-1e-3', 'NaN', 'Infinity', '1e-3,2e-3']) {
    assert.throws(() => parseLearningRate(bad), /Expected a positive number such as 1e-3 for --lr/, bad);
  }
});

test('warm-up: linear over warmupEpochs, per step or per epoch, on any schedule', () => {
  const s = createSchedule({ schedule: 'constant', lr: 1e-3, warmupEpochs: 2 });
  close(s(0, 0.25), 1e-3 * 0.125);
  close(s(0, 1), 1e-3 * 0.5);
  close(s(1, 0.5), 1e-3 * 0.75);
  close(s(1), 1e-3); // per-epoch callers: epoch 1 ends the warm-up
  close(s(0), 5e-4); // per-epoch callers: epoch 0 at half the rate
  close(s(5, 0.1), 1e-3);
  const st = createSchedule({ schedule: 'step', lr: 1, stepSize: 1, gamma: 0.5, warmupEpochs: 0.5 });
  close(st(0, 0.25), 0.5); // half-way through a half-epoch warm-up
  close(st(0, 1), 1);
  close(st(1, 0.1), 0.5); // the step schedule continues after the warm-up
  assert.deepEqual([0, 1, 7].map((e) => createSchedule({ schedule: 'constant', lr: 2, warmupEpochs: 0 })(e, 0.01)), [2, 2, 2], 'no warm-up ignores the fraction');
  for (const bad of [-1, Number.NaN, Infinity]) {
    assert.throws(
      () => createSchedule({ schedule: 'constant', lr: 1, warmupEpochs: bad }),
      (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && e.message.includes('--warmup-epochs'),
      String(bad),
    );
  }
});
