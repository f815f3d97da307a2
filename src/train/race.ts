/**
 * `evaluate --budget`: racing instead of the full grid (successive halving, Hyperband's
 * inner loop).
 *
 * 1. The rungs come from `planRace` (src/train/ranking.ts) with the plan's measured seconds
 *    per epoch: rung 0 gives every variant a short run with 1-2 seeds; each later rung keeps
 *    about 1/3 of the variants and gives them more epochs (continued from fit's checkpoint:
 *    a surviving seed pays only its new epochs) and more seeds. When not even one epoch of
 *    every variant fits, an epoch is capped to a part of the train split (`epochImages`,
 *    the first images of each epoch's seeded order) so that the race still has >= 3 epochs
 *    and 2 seeds where it can.
 * 2. After each rung, `raceDecision` drops the variants that are clearly behind the best by
 *    the table's own tie rule on valid macro-F1 (seed spread and a bootstrap of the valid
 *    set), and the ones over the next rung's cap. While no variant has learned (every seed's
 *    valid macro-F1 at a constant predictor's level), nothing is dropped: chance-level
 *    differences are noise.
 * 3. The time: each unit's cost is predicted from the measurement, corrected by what the
 *    units so far actually took (`RateTracker`). Each later rung is re-planned with the
 *    corrected rates: it grows (more epochs first, then seeds, up to --epochs / --seeds) to
 *    its share of the time left, or shrinks (fewer epochs, then fewer seeds) to fit, or is
 *    not run. A unit that cannot finish before the deadline is not started. So the race
 *    ends near the budget, not past it.
 * 4. The result: the variants still in the race are compared at the last rung that all of
 *    them completed; the others are 'raced-out' at the rung that dropped them.
 * 5. What the time buys: training. Each epoch of a rung is scored on a seeded, stratified
 *    subset of the valid split (`validImagesFor`: the valid pass costs at most VALID_SHARE
 *    of the epoch's training, >= VALID_MIN_PER_CLASS per class; the same images for every
 *    variant and seed, so comparisons stay paired; the bootstrap, the tie rule and the
 *    learned threshold are computed on the subset). The test pass is left out of the rungs
 *    and run once after the race (`testUnit`, from each unit's selected checkpoint) for
 *    every seed of the finalists that learned, the only test figures the table reports; the
 *    plan reserves it after the last rung, and the last rung's re-plan reserves it for the
 *    variants that have learned by then (one unit when none has). On the sample with vgg16
 *    width 1 (~10 train img/s, ~45 eval img/s on 2 cores), a full valid + test pass per unit
 *    (~2,240 images) alone was more than a 5-minute budget for 6 variants.
 */
import { AugmentError } from '../errors.ts';
import { epochSeconds, finishSeconds, formatSeconds, type RateTracker } from './estimate.ts';
import { bootstrapMacroF1FromConfusion, planRace, raceDecision, type RacePlan } from './ranking.ts';
import type { UnitRecord } from './run-folder.ts';
import { runUnit, testUnit, unitLabel, type Unit, type UnitContext } from './units.ts';

export const RACE_ETA = 3;
/** A rung's valid pass costs at most this share of its epoch's training (`validImagesFor`). */
export const VALID_SHARE = 0.5;
/** ...but covers at least this many valid images per class (or the whole split). */
export const VALID_MIN_PER_CLASS = 5;
/** The smallest epoch a race caps to (`epochImages`). */
export const MIN_EPOCH_IMAGES = 32;
/** Rungs a race may add after its planned ones when the units ran faster than planned. */
export const MAX_EXTRA_RUNGS = 2;

/** The schedule as one log line. */
export function scheduleLine(s: RaceSchedule): string {
  return (
    `race: ${s.plan.rungs.map((r, i) => `rung ${i + 1}: ${r.variants} variant(s) x ${r.seeds} seed(s) x ${r.epochs} epoch(s)`).join('; ')}` +
    (s.epochImages ? `; 1 epoch = ${s.epochImages} train images (a whole epoch does not fit the budget)` : '') +
    (s.validImages < s.fullValidImages ? `; each epoch scored on a stratified subset of ${s.validImages} of the ${s.fullValidImages} valid images (the race's decisions and intervals use it)` : '') +
    `; the test pass (${s.testImages} images, ~${formatSeconds(s.testSeconds)} each) only for the finalists that learned, ` +
    `${s.finalistUnits === undefined ? 'reserved for every final unit' : `reserved for ${s.finalistUnits} unit(s)`}` +
    ` (~${formatSeconds(s.plan.totalSeconds)})`
  );
}

export interface RaceInput {
  variants: Array<{ name: string; trainSize: number }>;
  validImages: number;
  testImages: number;
  /** Classes of the variants (the valid subset keeps VALID_MIN_PER_CLASS of each). */
  numClasses: number;
  maxSeeds: number;
  maxEpochs: number;
  budgetSeconds: number;
  /** Seconds already spent when the race starts (plan, decoding). */
  spentSeconds: number;
}

export interface RaceSchedule {
  plan: RacePlan;
  /** Train images per epoch when capped (undefined: whole epochs). */
  epochImages?: number;
  /** Valid images each epoch of the race is scored on (< fullValidImages: a stratified subset). */
  validImages: number;
  fullValidImages: number;
  testImages: number;
  /** Predicted seconds of one epoch of one unit, at the schedule's epoch and valid sizes. */
  secondsPerEpoch: number;
  /** Predicted seconds of one finalist's test pass. */
  testSeconds: number;
  /** The plan reserves test passes for at most this many final units (undefined: all of them). */
  finalistUnits?: number;
}

/**
 * Valid images a rung's epochs are scored on: enough that the valid pass costs at most
 * VALID_SHARE of the epoch's training at the measured rates, at least VALID_MIN_PER_CLASS per
 * class, at most the split. A race that trains few images per epoch (a short budget, a slow
 * model) thus spends its time training rather than scoring; the statistics on the subset
 * (bootstrap, tie rule, the learned threshold) are computed on the subset's own size.
 */
export function validImagesFor(trainImagesPerEpoch: number, input: Pick<RaceInput, 'validImages' | 'numClasses'>, rates: Pick<RateTracker['rates'], 'trainImagesPerSecond' | 'evalImagesPerSecond'>): number {
  const full = input.validImages;
  const floor = Math.min(full, VALID_MIN_PER_CLASS * input.numClasses);
  const share = Math.ceil((VALID_SHARE * trainImagesPerEpoch * rates.evalImagesPerSecond) / rates.trainImagesPerSecond);
  return Math.min(full, Math.max(floor, share));
}

/**
 * The rungs for a budget. The race's units score their epochs on `validImagesFor` valid
 * images and leave the test pass out; the plan reserves, after the last rung, one test pass
 * per final unit. Whole epochs when they give a useful race (>= 3 epochs, 2 seeds at the last
 * rung), else epochs capped to the largest size that does (at least MIN_EPOCH_IMAGES), else
 * the largest that fits at all; when the reserve for every final unit leaves no useful race,
 * the reserve is for one unit (more that learn run their test pass past the plan). Refused
 * (AugmentError BAD_ARGUMENT, before anything is written) when not even the shortest race
 * fits.
 */
export function scheduleRace(input: RaceInput, tracker: RateTracker): RaceSchedule {
  const remaining = input.budgetSeconds - input.spentSeconds;
  const maxTrain = Math.max(...input.variants.map((v) => v.trainSize));
  const minTrain = Math.min(...input.variants.map((v) => v.trainSize));
  const rates = tracker.rates;
  const testSeconds = tracker.predict(input.testImages / rates.evalImagesPerSecond);
  const at = (trainImages: number, finalistUnits: number | undefined) => {
    const validImages = validImagesFor(Math.min(minTrain, trainImages), input, rates);
    const spe = tracker.predict(epochSeconds({ trainImages, validImages }, rates));
    const plan = planRace({
      secondsPerEpoch: spe,
      secondsPerUnit: 0,
      secondsPerFinalist: testSeconds,
      finalistUnits,
      variants: input.variants.length,
      maxSeeds: input.maxSeeds,
      maxEpochs: input.maxEpochs,
      budgetSeconds: Math.max(1e-9, remaining),
      eta: RACE_ETA,
    });
    return { plan, spe, validImages, trainImages, finalistUnits };
  };
  const last = (p: RacePlan) => p.rungs[p.rungs.length - 1];
  const wantEpochs = Math.min(3, input.maxEpochs);
  const wantSeeds = Math.min(2, input.maxSeeds);
  const good = (p: RacePlan) => p.fits && last(p).epochs >= wantEpochs && last(p).seeds >= wantSeeds;
  const fits = (p: RacePlan) => p.fits;
  const minImages = Math.min(maxTrain, MIN_EPOCH_IMAGES);
  /** The largest epoch size whose plan passes `ok` (whole epochs first), or null. */
  const largest = (ok: (p: RacePlan) => boolean, finalists: number | undefined) => {
    const whole = at(maxTrain, finalists);
    if (ok(whole.plan)) return whole;
    if (!ok(at(minImages, finalists).plan)) return null;
    let lo = minImages;
    let hi = maxTrain;
    for (let i = 0; i < 24; i++) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid === lo) break;
      if (ok(at(mid, finalists).plan)) lo = mid;
      else hi = mid;
    }
    return at(lo, finalists);
  };
  const chosen = largest(good, undefined) ?? largest(good, 1) ?? largest(fits, undefined) ?? largest(fits, 1);
  if (!chosen) {
    const one = at(minImages, 1);
    throw new AugmentError(
      'BAD_ARGUMENT',
      `--budget ${formatSeconds(input.budgetSeconds)} is too short for ${input.variants.length} variant(s) here: the shortest race (each variant ${Math.min(2, input.maxEpochs)} epoch(s) of ${minImages} train images scored on ${one.validImages} valid images, and one test pass of ${input.testImages} images) ` +
        `takes ~${formatSeconds(one.plan.totalSeconds)}; give a longer --budget, fewer variants, or a smaller model (--quick: resnet18 at width 0.125; or --width 0.25)`,
    );
  }
  return {
    plan: chosen.plan,
    epochImages: chosen.trainImages < maxTrain ? chosen.trainImages : undefined,
    validImages: chosen.validImages,
    fullValidImages: input.validImages,
    testImages: input.testImages,
    secondsPerEpoch: chosen.spe,
    testSeconds,
    ...(chosen.finalistUnits !== undefined ? { finalistUnits: chosen.finalistUnits } : {}),
  };
}

export interface RungReport {
  rung: number;
  epochs: number;
  seeds: number;
  variants: string[];
  /** Every unit of the rung finished. */
  completed: boolean;
  dropped: Array<{ variant: string; reason: 'behind' | 'budget'; mean: number }>;
  seconds: number;
}

export interface RaceResult {
  /** Variants still in the race, with the records of the last rung all of them completed. */
  finalists: Map<string, UnitRecord[]>;
  /** Raced-out variants: the rung that dropped them and their records there. */
  racedOut: Map<string, { rung: number; records: UnitRecord[]; why: string }>;
  rungs: RungReport[];
  epochImages?: number;
  /** Why the race ended. */
  ended: 'finished' | 'one-left' | 'budget';
  /** Every record that was produced, for epochs.csv. */
  records: UnitRecord[];
  /** Valid images the rungs were scored on (< the split: a stratified subset). */
  validImages: number;
  /** The finalists' units that got the test pass (`variant/seed-s`), and its seconds. */
  tested: string[];
  testSeconds: number;
}

export interface RaceRun {
  ctx: UnitContext;
  input: RaceInput;
  tracker: RateTracker;
  /** performance.now() at the start of the evaluate (the budget's clock). */
  startedAt: number;
  /** The rungs, when planned already (the plan does, before anything is written). */
  schedule?: RaceSchedule;
  /** Before each unit (progress: which unit, how much is left). */
  onUnitStart?: (u: Unit, predictedSeconds: number) => void;
}

export async function runRace(r: RaceRun): Promise<RaceResult> {
  const { ctx, input, tracker } = r;
  const log = ctx.log;
  const schedule = r.schedule ?? scheduleRace(input, tracker);
  const deadline = r.startedAt + input.budgetSeconds * 1000;
  const left = () => (deadline - performance.now()) / 1000;
  const sizes = new Map(input.variants.map((v) => [v.name, v.trainSize]));
  const epochSecondsOf = (variant: string) =>
    epochSeconds({ trainImages: Math.min(sizes.get(variant)!, schedule.epochImages ?? Infinity), validImages: schedule.validImages }, tracker.rates);
  /** Raw (uncorrected) seconds of one finalist's test pass. */
  const testCost = finishSeconds({ validImages: input.validImages, testImages: input.testImages }, tracker.rates);
  /** Raw (uncorrected) prediction of taking a (variant, seed) from `from` to `to` epochs (the test pass comes after the race). */
  const unitCost = (variant: string, from: number, to: number) => Math.max(0, to - from) * epochSecondsOf(variant);
  const subset = schedule.validImages < input.validImages ? schedule.validImages : undefined;
  /** Test passes the last rung must leave time for: every seed of the variants that have learned, else one. */
  const reserveUnits = (seeds: number) => Math.max(1, alive.filter((v) => [...latest.values()].some((x) => x.variant === v && x.learned.learned)).length * seeds);

  let alive = input.variants.map((v) => v.name);
  const latest = new Map<string, UnitRecord>(); // `${variant}\0${seed}` -> the newest record
  const byRung = new Map<number, Map<string, UnitRecord[]>>();
  const racedOut: RaceResult['racedOut'] = new Map();
  const rungs: RungReport[] = [];
  const records: UnitRecord[] = [];
  let lastComplete = -1;
  let ended: RaceResult['ended'] = 'finished';
  let prevEpochs = 0;
  let prevSeeds = 0;
  let reserve = 0; // seconds the current rung leaves for the test passes (the last rung's)
  // the planned rungs, and up to MAX_EXTRA_RUNGS more when the units ran faster than planned
  const plannedRungs = [...schedule.plan.rungs];
  let extra = 0;

  for (let k = 0; k < plannedRungs.length; k++) {
    const planned = plannedRungs[k];
    // Shrink the rung to what the remaining time pays for (epochs first kept, then seeds).
    const cost = (epochs: number, seeds: number) => {
      let s = 0;
      for (const v of alive) {
        for (let seed = 1; seed <= seeds; seed++) {
          const had = latest.get(`${v}\u0000${seed}`)?.epochs ?? 0;
          s += unitCost(v, had, epochs);
        }
      }
      return tracker.predict(s);
    };
    let epochs = planned.epochs;
    let seeds = planned.seeds;
    const isLast = k === plannedRungs.length - 1;
    const reserveFor = (s: number) => (isLast ? tracker.predict(reserveUnits(s) * testCost) : 0);
    if (k > 0) {
      // Re-planned with the rates measured so far: the rung may grow (to its share of the
      // time left, by the plan's proportions; the last rung: all of it) or shrink to fit.
      const rest = plannedRungs.slice(k);
      const share = k === plannedRungs.length - 1 ? 1 : planned.seconds / Math.max(1e-9, rest.reduce((a, x) => a + x.seconds, 0));
      const target = left() * share;
      const options: Array<[number, number]> = [];
      for (let e = input.maxEpochs; e >= prevEpochs; e--) for (let s = input.maxSeeds; s >= prevSeeds; s--) if (e > prevEpochs || s > prevSeeds) options.push([e, s]);
      const grown = options.find(([e, s]) => e >= planned.epochs && s >= planned.seeds && cost(e, s) + reserveFor(s) <= target);
      // Not the planned shape: what fits the time left, by planRace's preference (2 seeds
      // where they fit, then the most epochs, then seeds; options run epochs-first, descending).
      // A rung where 2 new seeds do not fit thus gets more epochs of 1 seed, not 1 epoch less.
      const fitting = options.filter(([e, s]) => cost(e, s) + reserveFor(s) <= (isLast ? left() : Math.max(target, 0)));
      const fallback = fitting.length ? fitting : options.filter(([e, s]) => e <= planned.epochs && s <= planned.seeds && cost(e, s) + reserveFor(s) <= left());
      const shrunk = fallback.find(([, s]) => s >= Math.min(2, input.maxSeeds)) ?? fallback[0];
      const fit = grown ?? shrunk;
      if (!fit) {
        ended = 'budget';
        log(`race: stopping before rung ${k + 1}: even its smallest form does not fit the ${formatSeconds(Math.max(0, left()))} left`);
        break;
      }
      [epochs, seeds] = fit;
      if (epochs !== planned.epochs || seeds !== planned.seeds) {
        log(`race: rung ${k + 1} re-planned from ${planned.seeds} seed(s) x ${planned.epochs} epoch(s) to ${seeds} x ${epochs} (measured rate x${tracker.factor.toFixed(2)} of the plan's, ${formatSeconds(left())} left)`);
      }
    }
    reserve = reserveFor(seeds);
    log(
      `race: rung ${k + 1}/${plannedRungs.length}: ${alive.length} variant(s) x ${seeds} seed(s), ${epochs} epoch(s)${schedule.epochImages ? ` of ${schedule.epochImages} images` : ''}` +
        `${subset ? `, valid on ${subset} of ${input.validImages} images` : ''} (~${formatSeconds(cost(epochs, seeds))}${reserve > 0 ? `, then ~${formatSeconds(reserve)} left for test passes` : ''})`,
    );
    const t0 = performance.now();
    const here = new Map<string, UnitRecord[]>(alive.map((v) => [v, []]));
    let complete = true;
    for (let seed = 1; seed <= seeds; seed++) {
      for (const v of alive) {
        const had = latest.get(`${v}\u0000${seed}`)?.epochs ?? 0;
        const predicted = unitCost(v, had, epochs);
        if (tracker.predict(predicted) + reserve > left()) {
          complete = false;
          log(`race: ${v} seed ${seed} not started: ~${formatSeconds(tracker.predict(predicted))} needed, ${formatSeconds(Math.max(0, left()))} left`);
          continue;
        }
        const unit: Unit = { variant: v, seed, rung: k, epochs, epochImages: schedule.epochImages, validImages: subset, deferTest: true };
        r.onUnitStart?.(unit, tracker.predict(predicted));
        const rec = await runUnit(ctx, unit);
        if (rec.summary.resumedAfterEpoch < rec.epochs) tracker.observe(predicted, rec.seconds);
        latest.set(`${v}\u0000${seed}`, rec);
        here.get(v)!.push(rec);
        records.push(rec);
      }
    }
    byRung.set(k, here);
    const dropped: RungReport['dropped'] = [];
    rungs.push({ rung: k, epochs, seeds, variants: [...alive], completed: complete, dropped, seconds: (performance.now() - t0) / 1000 });
    if (!complete) {
      ended = 'budget';
      break;
    }
    lastComplete = k;
    prevEpochs = epochs;
    prevSeeds = seeds;
    if (k === plannedRungs.length - 1 && extra < MAX_EXTRA_RUNGS && (epochs < input.maxEpochs || seeds < input.maxSeeds)) {
      // The planned rungs are done and time is left (the units ran faster than the plan's
      // measurement said): one more rung, re-planned like the others to the time left, when
      // even its smallest step (one more epoch, or one more seed) fits with the test reserve.
      const reserveAfter = (s: number) => tracker.predict(reserveUnits(s) * testCost);
      const step = Math.min(
        epochs < input.maxEpochs ? cost(epochs + 1, seeds) + reserveAfter(seeds) : Infinity,
        seeds < input.maxSeeds ? cost(epochs, seeds + 1) + reserveAfter(seeds + 1) : Infinity,
      );
      if (step <= left()) {
        extra++;
        plannedRungs.push({ epochs: Math.min(input.maxEpochs, epochs + 1), seeds, variants: alive.length, seconds: left() });
        log(`race: the planned rungs took less than planned (x${tracker.factor.toFixed(2)}); ${formatSeconds(left())} left: one more rung`);
      }
    }
    if (k === plannedRungs.length - 1) break;
    if (![...here.values()].flat().some((x) => x.learned.learned)) {
      // every variant is still at chance: their differences are noise, so nobody is dropped
      // (the next rung is re-planned for all of them, or not run)
      log(`race: after rung ${k + 1} no variant has learned yet (valid macro-F1 at chance level); none dropped`);
      continue;
    }
    const decision = raceDecision(
      alive.map((v) => {
        const recs = here.get(v)!;
        return {
          variant: v,
          scores: recs.map((x) => x.summary.validMacroF1),
          seeds: recs.map((x) => x.seed),
          validCI: recs.map((x) => {
            const ci = bootstrapMacroF1FromConfusion(x.validConfusion, { seed: x.seed });
            return { lo: ci.lo, hi: ci.hi };
          }),
        };
      }),
      { eta: RACE_ETA, maxKeep: plannedRungs[k + 1].variants },
    );
    for (const d of decision.drop) {
      dropped.push(d);
      const why = `valid macro-F1 ${d.mean.toFixed(4)}, ${d.reason === 'behind' ? `clearly behind ${decision.best}` : `lowest of those the next rung has room for (${plannedRungs[k + 1].variants})`}`;
      racedOut.set(d.variant, { rung: k, records: here.get(d.variant)!, why });
      log(`race: ${d.variant} raced out after rung ${k + 1} (${why})`);
    }
    alive = decision.keep;
    if (alive.length <= 1) {
      ended = 'one-left';
      break;
    }
  }
  const finalists = new Map<string, UnitRecord[]>();
  if (lastComplete >= 0) {
    for (const v of alive) finalists.set(v, byRung.get(lastComplete)!.get(v)!);
  } else {
    // not even rung 0 completed: every variant keeps what it has from rung 0
    const r0 = byRung.get(0);
    for (const v of alive) finalists.set(v, r0?.get(v) ?? []);
  }
  // The test pass: only the finalists the table ranks (a seed of theirs learned), every seed
  // of them, from each unit's selected checkpoint; none for raced-out or not-learned variants.
  const toTest = [...finalists.entries()].filter(([, recs]) => recs.some((x) => x.learned.learned));
  const tested: string[] = [];
  const t0 = performance.now();
  const n = toTest.reduce((a, [, recs]) => a + recs.length, 0);
  if (n > 0) {
    const need = tracker.predict(n * testCost);
    log(
      `race: test pass (${input.testImages} images) for ${n} unit(s) of the ${toTest.length} finalist(s) that learned: ${toTest.map(([v]) => v).join(', ')} (~${formatSeconds(need)}, ${formatSeconds(Math.max(0, left()))} of the budget left)` +
        (finalists.size > toTest.length ? `; none for the ${finalists.size - toTest.length} that did not learn` : ''),
    );
    for (const [v, recs] of toTest) {
      const out: UnitRecord[] = [];
      for (const rec of recs) {
        let done: UnitRecord;
        try {
          done = await testUnit(ctx, rec);
        } catch (e) {
          // a later, unfinished rung continued this seed and replaced the checkpoint: test its newest record
          const newest = latest.get(`${v}\u0000${rec.seed}`);
          if (!(e instanceof AugmentError) || e.code !== 'NOT_FOUND' || !newest || newest === rec) throw e;
          log(`race: ${unitLabel(rec)}: the checkpoint of rung ${rec.rung + 1} was replaced by rung ${newest.rung + 1}'s; testing that one (${newest.epochs} epochs)`);
          done = await testUnit(ctx, newest);
        }
        out.push(done);
        records.push(done);
        tested.push(`${v}/seed-${done.seed}`);
      }
      finalists.set(v, out);
    }
    const took = (performance.now() - t0) / 1000;
    tracker.observe(n * testCost, took);
  } else {
    log(`race: no test pass: none of the ${finalists.size} finalist(s) learned (their valid figures are reported)`);
  }
  return { finalists, racedOut, rungs, epochImages: schedule.epochImages, ended, records, validImages: schedule.validImages, tested, testSeconds: (performance.now() - t0) / 1000 };
}
