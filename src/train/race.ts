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
 */
import { AugmentError } from '../errors.ts';
import { epochSeconds, finishSeconds, formatSeconds, type RateTracker } from './estimate.ts';
import { bootstrapMacroF1FromConfusion, planRace, raceDecision, type RacePlan } from './ranking.ts';
import type { UnitRecord } from './run-folder.ts';
import { runUnit, type Unit, type UnitContext } from './units.ts';

export const RACE_ETA = 3;

/** The schedule as one log line. */
export function scheduleLine(s: RaceSchedule): string {
  return (
    `race: ${s.plan.rungs.map((r, i) => `rung ${i + 1}: ${r.variants} variant(s) x ${r.seeds} seed(s) x ${r.epochs} epoch(s)`).join('; ')}` +
    (s.epochImages ? `; 1 epoch = ${s.epochImages} train images (a whole epoch does not fit the budget)` : '') +
    ` (~${formatSeconds(s.plan.totalSeconds)})`
  );
}

export interface RaceInput {
  variants: Array<{ name: string; trainSize: number }>;
  validImages: number;
  testImages: number;
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
  /** Predicted seconds of one epoch of one unit and of a unit's end, at the schedule's epoch size. */
  secondsPerEpoch: number;
  secondsPerUnit: number;
}

/** The rungs for a budget; caps the epoch size when whole epochs do not fit. */
export function scheduleRace(input: RaceInput, tracker: RateTracker): RaceSchedule {
  const remaining = input.budgetSeconds - input.spentSeconds;
  const maxTrain = Math.max(...input.variants.map((v) => v.trainSize));
  const rates = tracker.rates;
  const perUnit = tracker.predict(finishSeconds({ validImages: input.validImages, testImages: input.testImages }, rates));
  const at = (trainImages: number) => {
    const spe = tracker.predict(epochSeconds({ trainImages, validImages: input.validImages }, rates));
    const plan = planRace({
      secondsPerEpoch: spe,
      secondsPerUnit: perUnit,
      variants: input.variants.length,
      maxSeeds: input.maxSeeds,
      maxEpochs: input.maxEpochs,
      budgetSeconds: Math.max(1e-9, remaining),
      eta: RACE_ETA,
    });
    return { plan, spe };
  };
  const full = at(maxTrain);
  const last = (p: RacePlan) => p.rungs[p.rungs.length - 1];
  const wantEpochs = Math.min(3, input.maxEpochs);
  const wantSeeds = Math.min(2, input.maxSeeds);
  const good = (p: RacePlan) => p.fits && last(p).epochs >= wantEpochs && last(p).seeds >= wantSeeds;
  if (good(full.plan)) return { plan: full.plan, secondsPerEpoch: full.spe, secondsPerUnit: perUnit };
  // Whole epochs are too long for a useful race: the largest epoch size that gives one.
  const minImages = Math.min(maxTrain, 64);
  let lo = minImages;
  let hi = maxTrain;
  if (!good(at(lo).plan)) {
    // not even that: the largest epoch size that fits at all
    if (full.plan.fits) return { plan: full.plan, secondsPerEpoch: full.spe, secondsPerUnit: perUnit };
    if (!at(lo).plan.fits) {
      const one = at(lo);
      throw new AugmentError(
        'BAD_ARGUMENT',
        `--budget ${formatSeconds(input.budgetSeconds)} is too short for ${input.variants.length} variant(s) here: one unit's shortest run (${minImages} train images, a valid and a test pass of ${input.validImages} and ${input.testImages}) ` +
          `takes ~${formatSeconds(one.spe + perUnit)}; give a longer --budget, fewer variants, or a smaller model (--quick: resnet18 at width 0.125; or --width 0.25)`,
      );
    }
    hi = lo;
    for (let i = 0; i < 14 && hi < maxTrain; i++) hi = Math.min(maxTrain, hi * 2);
    for (let i = 0; i < 20; i++) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid === lo) break;
      if (at(mid).plan.fits) lo = mid;
      else hi = mid;
    }
  } else {
    for (let i = 0; i < 20; i++) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid === lo) break;
      if (good(at(mid).plan)) lo = mid;
      else hi = mid;
    }
  }
  const chosen = at(lo);
  return { plan: chosen.plan, epochImages: lo < maxTrain ? lo : undefined, secondsPerEpoch: chosen.spe, secondsPerUnit: perUnit };
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
    epochSeconds({ trainImages: Math.min(sizes.get(variant)!, schedule.epochImages ?? Infinity), validImages: input.validImages }, tracker.rates);
  const finish = finishSeconds({ validImages: input.validImages, testImages: input.testImages }, tracker.rates);
  /** Raw (uncorrected) prediction of taking a (variant, seed) from `from` to `to` epochs. */
  const unitCost = (variant: string, from: number, to: number) => Math.max(0, to - from) * epochSecondsOf(variant) + finish;

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

  for (let k = 0; k < schedule.plan.rungs.length; k++) {
    const planned = schedule.plan.rungs[k];
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
    if (k > 0) {
      // Re-planned with the rates measured so far: the rung may grow (to its share of the
      // time left, by the plan's proportions; the last rung: all of it) or shrink to fit.
      const rest = schedule.plan.rungs.slice(k);
      const share = k === schedule.plan.rungs.length - 1 ? 1 : planned.seconds / Math.max(1e-9, rest.reduce((a, x) => a + x.seconds, 0));
      const target = left() * share;
      const options: Array<[number, number]> = [];
      for (let e = input.maxEpochs; e >= prevEpochs; e--) for (let s = input.maxSeeds; s >= prevSeeds; s--) if (e > prevEpochs || s > prevSeeds) options.push([e, s]);
      const grown = options.find(([e, s]) => e >= planned.epochs && s >= planned.seeds && cost(e, s) <= target);
      const shrunk = options.filter(([e, s]) => e <= planned.epochs && s <= planned.seeds).find(([e, s]) => cost(e, s) <= left());
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
    log(`race: rung ${k + 1}/${schedule.plan.rungs.length}: ${alive.length} variant(s) x ${seeds} seed(s), ${epochs} epoch(s)${schedule.epochImages ? ` of ${schedule.epochImages} images` : ''} (~${formatSeconds(cost(epochs, seeds))})`);
    const t0 = performance.now();
    const here = new Map<string, UnitRecord[]>(alive.map((v) => [v, []]));
    let complete = true;
    for (let seed = 1; seed <= seeds; seed++) {
      for (const v of alive) {
        const had = latest.get(`${v}\u0000${seed}`)?.epochs ?? 0;
        const predicted = unitCost(v, had, epochs);
        if (tracker.predict(predicted) > left()) {
          complete = false;
          log(`race: ${v} seed ${seed} not started: ~${formatSeconds(tracker.predict(predicted))} needed, ${formatSeconds(Math.max(0, left()))} left`);
          continue;
        }
        const unit: Unit = { variant: v, seed, rung: k, epochs, epochImages: schedule.epochImages };
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
    if (k === schedule.plan.rungs.length - 1) break;
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
      { eta: RACE_ETA, maxKeep: schedule.plan.rungs[k + 1].variants },
    );
    for (const d of decision.drop) {
      dropped.push(d);
      const why = `valid macro-F1 ${d.mean.toFixed(4)}, ${d.reason === 'behind' ? `clearly behind ${decision.best}` : `lowest of those the next rung has room for (${schedule.plan.rungs[k + 1].variants})`}`;
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
  return { finalists, racedOut, rungs, epochImages: schedule.epochImages, ended, records };
}
