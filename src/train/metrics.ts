/**
 * Classification metrics over a whole evaluation set (never averaged per batch: that was
 * the seed's mistake, see ../shared/seed/NOTES.md).
 *
 * Definitions follow scikit-learn 1.2 (`precision_recall_fscore_support`, `f1_score`):
 * - per class c: precision = TP / (TP + FP), recall = TP / (TP + FN),
 *   F1 = 2 TP / (2 TP + FP + FN). A ratio whose denominator is 0 is 0 (sklearn's
 *   `zero_division="warn"` default, which returns 0 and warns). So a class that is never
 *   predicted has precision 0 and F1 0; a class absent from y_true has recall 0 and F1 0.
 * - macro averages are the unweighted mean over the *labels*: by default, as in sklearn, the
 *   classes that occur in y_true or y_pred (`labels: 'present'`); `labels: 'all'` averages
 *   over all `numClasses` (sklearn's `labels=range(numClasses)`). The trainer refuses
 *   datasets where a class is missing from valid or test, so there the two agree.
 * - accuracy = correct / total.
 */

export interface ClassificationMetrics {
  /** Number of examples. */
  n: number;
  accuracy: number;
  macroF1: number;
  macroPrecision: number;
  macroRecall: number;
  /** Indexed by class; classes outside the averaged labels still get their value (0 when empty). */
  perClassF1: number[];
  perClassPrecision: number[];
  perClassRecall: number[];
  /** Count of each class in y_true. */
  support: number[];
  /** confusion[true][pred] = count (rows: true class, columns: predicted class). */
  confusion: number[][];
  /** The classes that the macro averages ran over. */
  labels: number[];
}

export interface MetricsOptions {
  /** 'present' (sklearn default: classes in y_true ∪ y_pred) or 'all' (0..numClasses-1). */
  labels?: 'present' | 'all';
}

function checkLabels(name: string, ys: ArrayLike<number>, numClasses: number): void {
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new RangeError(`${name}[${i}] = ${y} is not a class index in 0..${numClasses - 1}`);
    }
  }
}

/** confusion[true][pred] counts. */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`y_true has ${yTrue.length} labels but y_pred has ${yPred.length}`);
  }
  checkLabels('y_true', yTrue, numClasses);
  checkLabels('y_pred', yPred, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) m[yTrue[i]][yPred[i]]++;
  return m;
}

const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);
const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Metrics from a confusion matrix (confusion[true][pred]). */
export function metricsFromConfusion(confusion: number[][], options: MetricsOptions = {}): ClassificationMetrics {
  const k = confusion.length;
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predicted = Array.from({ length: k }, (_, c) => confusion.reduce((a, row) => a + row[c], 0));
  const n = support.reduce((a, b) => a + b, 0);
  const tp = confusion.map((row, c) => row[c]);
  const perClassPrecision = tp.map((t, c) => ratio(t, predicted[c]));
  const perClassRecall = tp.map((t, c) => ratio(t, support[c]));
  const perClassF1 = tp.map((t, c) => ratio(2 * t, support[c] + predicted[c]));
  const labels =
    options.labels === 'all'
      ? Array.from({ length: k }, (_, c) => c)
      : Array.from({ length: k }, (_, c) => c).filter((c) => support[c] > 0 || predicted[c] > 0);
  return {
    n,
    accuracy: ratio(tp.reduce((a, b) => a + b, 0), n),
    macroF1: mean(labels.map((c) => perClassF1[c])),
    macroPrecision: mean(labels.map((c) => perClassPrecision[c])),
    macroRecall: mean(labels.map((c) => perClassRecall[c])),
    perClassF1,
    perClassPrecision,
    perClassRecall,
    support,
    confusion,
    labels,
  };
}

/** All metrics for integer labels `yTrue` and predictions `yPred` in 0..numClasses-1. */
export function classificationMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  numClasses: number,
  options: MetricsOptions = {},
): ClassificationMetrics {
  return metricsFromConfusion(confusionMatrix(yTrue, yPred, numClasses), options);
}

/** sklearn-compatible `f1_score(y_true, y_pred, average='macro')`. */
export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number, options: MetricsOptions = {}): number {
  return classificationMetrics(yTrue, yPred, numClasses, options).macroF1;
}

// ---------------------------------------------------------------------------------------
// Statistics over seeds: mean, sample standard deviation, Welch's t-test.

/** Arithmetic mean (NaN for no values). */
export function meanOf(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1 in the denominator); 0 for a single value. */
export function sdOf(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), |error| < 1e-13 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (Numerical Recipes' betacf). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a - 1 + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + 1 + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lbt) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lbt) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom. */
export function studentTTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

export interface WelchResult {
  t: number;
  df: number;
  /** Two-sided p-value; NaN when it cannot be computed (fewer than 2 values on a side). */
  p: number;
}

/**
 * Welch's unequal-variance t-test of mean(a) vs mean(b), as scipy's
 * `ttest_ind(a, b, equal_var=False)`. When both samples have zero variance, p is 1 for
 * equal means and 0 otherwise.
 */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) return { t: NaN, df: NaN, p: NaN };
  const va = sdOf(a) ** 2 / a.length;
  const vb = sdOf(b) ** 2 / b.length;
  const diff = meanOf(a) - meanOf(b);
  if (va + vb === 0) return { t: diff === 0 ? 0 : Infinity * Math.sign(diff), df: NaN, p: diff === 0 ? 1 : 0 };
  const t = diff / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return { t, df, p: studentTTwoSidedP(t, df) };
}

/**
 * Paired t-test of mean(a - b) = 0 over matched pairs (a[i], b[i]), as scipy's
 * `ttest_rel(a, b)`: t = mean(d) / (sd(d) / sqrt(n)), n - 1 degrees of freedom. When every
 * difference is the same, p is 1 if it is 0 and 0 otherwise. NaN for fewer than 2 pairs.
 */
export function pairedTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length !== b.length) throw new RangeError(`paired t-test: ${a.length} values against ${b.length}`);
  if (a.length < 2) return { t: NaN, df: NaN, p: NaN };
  const d = a.map((x, i) => x - b[i]);
  const m = meanOf(d);
  const s = sdOf(d);
  const df = d.length - 1;
  if (s === 0) return { t: m === 0 ? 0 : Infinity * Math.sign(m), df, p: m === 0 ? 1 : 0 };
  const t = m / (s / Math.sqrt(d.length));
  return { t, df, p: studentTTwoSidedP(t, df) };
}
