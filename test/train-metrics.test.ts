/**
 * Metrics against fixed reference values from scikit-learn 1.2.1 (Debian python3-sklearn):
 * f1_score / precision_score / recall_score (average='macro' and average=None),
 * accuracy_score and confusion_matrix(labels=range(k)); Welch's test against scipy 1.10's
 * ttest_ind(a, b, equal_var=False). The script that produced them is in the comment below.
 *
 *   cases = {'never_predicted': ([0,0,1,1,2,2,2,3], [0,1,1,1,2,0,1,0], 4),
 *            'absent_from_true': ([0,1,2,0,1,2,0], [0,2,1,0,0,1,3], 4),
 *            'absent_from_both': ([0,1,1,2,3,3], [0,1,2,2,3,1], 5),
 *            'random7': (RandomState(7).randint(0,7,50), then .randint(0,6,50), 7)}
 *   macro_f1 = f1_score(t, p, average='macro'); macro_f1_all = f1_score(..., labels=range(k)) ...
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classificationMetrics, confusionMatrix, macroF1, meanOf, sdOf, welchTTest } from '../src/train/metrics.ts';

interface Ref {
  y_true: number[];
  y_pred: number[];
  k: number;
  macro_f1: number;
  macro_f1_all: number;
  macro_precision: number;
  macro_recall: number;
  accuracy: number;
  per_class_f1: number[];
  confusion: number[][];
}

const SKLEARN: Record<string, Ref> = {"never_predicted": {"y_true": [0, 0, 1, 1, 2, 2, 2, 3], "y_pred": [0, 1, 1, 1, 2, 0, 1, 0], "k": 4, "macro_f1": 0.39166666666666666, "macro_f1_all": 0.39166666666666666, "macro_precision": 0.4583333333333333, "macro_recall": 0.4583333333333333, "accuracy": 0.5, "per_class_f1": [0.4, 0.6666666666666666, 0.5, 0.0], "confusion": [[1, 1, 0, 0], [0, 2, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]]}, "absent_from_true": {"y_true": [0, 1, 2, 0, 1, 2, 0], "y_pred": [0, 2, 1, 0, 0, 1, 3], "k": 4, "macro_f1": 0.16666666666666666, "macro_f1_all": 0.16666666666666666, "macro_precision": 0.16666666666666666, "macro_recall": 0.16666666666666666, "accuracy": 0.2857142857142857, "per_class_f1": [0.6666666666666666, 0.0, 0.0, 0.0], "confusion": [[2, 0, 0, 1], [1, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 0]]}, "absent_from_both": {"y_true": [0, 1, 1, 2, 3, 3], "y_pred": [0, 1, 2, 2, 3, 1], "k": 5, "macro_f1": 0.7083333333333333, "macro_f1_all": 0.5666666666666667, "macro_precision": 0.75, "macro_recall": 0.75, "accuracy": 0.6666666666666666, "per_class_f1": [1.0, 0.5, 0.6666666666666666, 0.6666666666666666, 0.0], "confusion": [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 0, 0, 0]]}, "random7": {"y_true": [4, 1, 6, 3, 3, 4, 1, 6, 0, 1, 6, 2, 2, 0, 6, 4, 0, 4, 0, 3, 2, 6, 3, 4, 4, 5, 0, 0, 5, 0, 3, 5, 0, 2, 0, 1, 6, 6, 4, 6, 1, 3, 3, 0, 3, 0, 1, 0, 0, 6], "y_pred": [5, 4, 4, 4, 2, 1, 3, 0, 5, 4, 0, 5, 4, 3, 1, 3, 3, 3, 1, 3, 3, 4, 3, 1, 3, 1, 5, 1, 5, 1, 2, 3, 2, 2, 5, 3, 3, 2, 0, 4, 5, 3, 1, 1, 4, 3, 4, 4, 5, 4], "k": 7, "macro_f1": 0.09668109668109667, "macro_f1_all": 0.09668109668109667, "macro_precision": 0.0770408163265306, "macro_recall": 0.1369047619047619, "accuracy": 0.1, "per_class_f1": [0.0, 0.0, 0.22222222222222224, 0.2727272727272727, 0.0, 0.18181818181818182, 0.0], "confusion": [[0, 4, 1, 3, 1, 4, 0], [0, 0, 0, 2, 3, 1, 0], [0, 0, 1, 1, 1, 1, 0], [0, 1, 2, 3, 2, 0, 0], [1, 2, 0, 3, 0, 1, 0], [0, 1, 0, 1, 0, 1, 0], [2, 1, 1, 1, 4, 0, 0]]}};

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs sklearn ${b}`);

for (const [name, r] of Object.entries(SKLEARN)) {
  test(`metrics match sklearn: ${name}`, () => {
    const m = classificationMetrics(r.y_true, r.y_pred, r.k);
    close(m.macroF1, r.macro_f1, 'macro F1');
    close(m.macroPrecision, r.macro_precision, 'macro precision');
    close(m.macroRecall, r.macro_recall, 'macro recall');
    close(m.accuracy, r.accuracy, 'accuracy');
    r.per_class_f1.forEach((f, c) => close(m.perClassF1[c], f, `F1 of class ${c}`));
    assert.deepEqual(m.confusion, r.confusion);
    close(macroF1(r.y_true, r.y_pred, r.k, { labels: 'all' }), r.macro_f1_all, 'macro F1 over all labels');
  });
}

test('a class never predicted has F1 0 and still counts in the macro average', () => {
  const m = classificationMetrics([0, 0, 1, 1], [0, 0, 0, 0], 2);
  assert.equal(m.perClassF1[1], 0);
  assert.equal(m.perClassPrecision[1], 0);
  close(m.macroF1, (2 / 3 + 0) / 2, 'macro F1');
});

test('macro F1 over the whole set differs from the mean of per-batch macro F1 (the seed\'s bug)', () => {
  const yTrue = [0, 0, 1, 1, 2, 2];
  const yPred = [0, 1, 1, 1, 2, 0];
  const whole = macroF1(yTrue, yPred, 3);
  const perBatch = (macroF1(yTrue.slice(0, 3), yPred.slice(0, 3), 3) + macroF1(yTrue.slice(3), yPred.slice(3), 3)) / 2;
  assert.notEqual(whole.toFixed(6), perBatch.toFixed(6));
});

test('bad label vectors are refused', () => {
  assert.throws(() => confusionMatrix([0, 1], [0], 2), /2 labels but y_pred has 1/);
  assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /y_true\[1\] = 3/);
});

test('mean, sd and Welch t-test match scipy', () => {
  close(meanOf([1, 2, 4]), 7 / 3, 'mean');
  close(sdOf([1, 2, 4]), Math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2), 'sd');
  const cases: Array<[number[], number[], number, number]> = [
    [[0.71, 0.74, 0.69], [0.62, 0.66, 0.6], 3.7924897789452547, 0.02053327799493772],
    [[0.5, 0.52, 0.49], [0.51, 0.47, 0.55], -0.2696799449852983, 0.8075654177608831],
    [[0.8, 0.81, 0.79, 0.8], [0.6, 0.9], 0.33320994508800544, 0.7951744358454691],
  ];
  for (const [a, b, t, p] of cases) {
    const r = welchTTest(a, b);
    assert.ok(Math.abs(r.t - t) < 1e-9, `t ${r.t} vs ${t}`);
    assert.ok(Math.abs(r.p - p) < 1e-9, `p ${r.p} vs ${p}`);
  }
  assert.ok(Number.isNaN(welchTTest([0.5], [0.4, 0.6]).p));
  assert.equal(welchTTest([0.5, 0.5], [0.5, 0.5]).p, 1);
});
