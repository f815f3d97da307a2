/**
 * A recipe's `ops:` value: validation, sampling and application.
 *
 * A node is an op `{op: rotate, p: 1, ...that op's options}` (or just `rotate`), or a
 * composition: `{sequence: [...]}` (each child in order, each with its own p), `{oneOf:
 * [...], weights?}` (one child), `{someOf: [...], n: 2 | [1, 3]}` (n distinct children,
 * applied in their listed order). Any node may carry `p` (default 1): the chance that it
 * applies at all. A chosen child of oneOf / someOf still applies with its own p. A bare list
 * is a sequence. The whole value may instead be `{fixed: [node, ...]}`: copy i (1-based)
 * applies entry i-1, for deterministic copies such as rotate 30, 60, 90...
 *
 * The flow: `validateOpsSpec` at recipe load (every op's options checked by its own zod
 * schema, made on first use: see ./define.ts) -> `sampleOps` per output (the only place
 * randomness is drawn; the result is JSON for the manifest) -> `applyOps` (pure: the recorded
 * params alone reproduce the pixels). Sampling and applying never load zod.
 */
import type { z } from 'zod';
import { AugmentError } from '../errors.ts';
import type { RawImage } from '../image/raw.ts';
import type { Rng } from '../rng.ts';
import { zod } from './define.ts';
import { getOp, hasOp, unknownOpMessage } from './registry.ts';
import type { AppliedOp, ApplyContext } from './types.ts';
import { runNative, type NativeStep } from './native.ts';
import { warp, warpNativeStep, type Mat3 } from './warp.ts';

export interface OpNode {
  op: string;
  p: number;
  /** The op's options as its schema parsed them (defaults filled in). */
  options: Record<string, unknown>;
}
export interface SequenceNode {
  sequence: OpsNode[];
  p: number;
}
export interface OneOfNode {
  oneOf: OpsNode[];
  weights?: number[];
  p: number;
}
export interface SomeOfNode {
  someOf: OpsNode[];
  /** How many children to pick: [min, max] inclusive. */
  n: [number, number];
  p: number;
}
export type OpsNode = OpNode | SequenceNode | OneOfNode | SomeOfNode;
export interface FixedSpec {
  fixed: OpsNode[];
}
/** A validated `ops:` value (plain JSON). */
export type OpsSpec = OpsNode | FixedSpec;

interface Issue {
  path: Array<string | number>;
  message: string;
}

const KIND_KEYS = ['op', 'sequence', 'oneOf', 'someOf', 'fixed'] as const;
const ALLOWED_KEYS: Record<string, string[]> = {
  sequence: ['sequence', 'p'],
  oneOf: ['oneOf', 'weights', 'p'],
  someOf: ['someOf', 'n', 'p'],
  fixed: ['fixed'],
};

let specSchema: z.ZodType<OpsSpec> | undefined;

/**
 * zod schema for a recipe's `ops:` value (made on first call); parses to an `OpsSpec`. Issues
 * carry the path of the bad field.
 */
export function opsSpecSchema(): z.ZodType<OpsSpec> {
  const z = zod();
  return (specSchema ??= z.unknown().transform((value, ctx): OpsSpec => {
    const issues: Issue[] = [];
    const spec = parseNode(value, [], issues, true);
    for (const i of issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return issues.length > 0 ? z.NEVER : (spec as OpsSpec);
  }));
}

/**
 * Validate an `ops:` value.
 * @param where names the recipe in the message, e.g. its file.
 * @throws AugmentError BAD_RECIPE: `<where>: ops.sequence[2].sigma: <why>` (every issue, `; `-joined).
 */
export function validateOpsSpec(value: unknown, where: string): OpsSpec {
  const issues: Issue[] = [];
  const spec = parseNode(value, [], issues, true);
  if (issues.length === 0) return spec as OpsSpec;
  const text = issues.map((i) => `${formatPath(['ops', ...i.path])}: ${i.message}`).join('; ');
  throw new AugmentError('BAD_RECIPE', `${where}: ${text}`);
}

/** `['ops', 'sequence', 2, 'sigma']` -> `ops.sequence[2].sigma`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function parseNode(value: unknown, path: Issue['path'], issues: Issue[], top = false): OpsNode | FixedSpec | undefined {
  const fail = (message: string, at: Issue['path'] = path) => {
    issues.push({ path: at, message });
    return undefined;
  };
  if (typeof value === 'string') return parseOp({ op: value }, path, issues);
  if (Array.isArray(value)) {
    const sequence = parseList(value, path, issues);
    return sequence && { sequence, p: 1 };
  }
  if (typeof value !== 'object' || value === null) {
    return fail(`expected an op ({op: name, ...}) or a composition (sequence, oneOf, someOf${top ? ', fixed' : ''}), received ${JSON.stringify(value)}`);
  }
  const obj = value as Record<string, unknown>;
  const kinds = KIND_KEYS.filter((k) => k in obj);
  if (kinds.length !== 1) {
    const what = kinds.length === 0 ? 'none' : kinds.join(' and ');
    return fail(`expected exactly one of op, sequence, oneOf, someOf${top ? ', fixed' : ''}; found ${what}`);
  }
  const kind = kinds[0];
  if (kind === 'op') return parseOp(obj, path, issues);
  if (kind === 'fixed' && !top) return fail('fixed is only allowed as the whole ops value, not inside a composition', [...path, 'fixed']);
  for (const k of Object.keys(obj)) {
    if (!ALLOWED_KEYS[kind].includes(k)) fail(`unknown key "${k}" in a ${kind} node (allowed: ${ALLOWED_KEYS[kind].join(', ')})`, [...path, k]);
  }
  const list = parseList(obj[kind], [...path, kind], issues);
  if (kind === 'fixed') return list && { fixed: list };
  const p = parseP(obj.p, path, issues);
  if (!list || p === undefined) return undefined;
  if (kind === 'sequence') return { sequence: list, p };
  if (kind === 'oneOf') {
    if (obj.weights === undefined) return { oneOf: list, p };
    const w = obj.weights;
    if (!Array.isArray(w) || w.length !== list.length || !w.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
      return fail(`expected ${list.length} weights >= 0, one per choice, received ${JSON.stringify(w)}`, [...path, 'weights']);
    }
    if (!w.some((x) => x > 0)) return fail('expected at least one weight > 0', [...path, 'weights']);
    return { oneOf: list, weights: w as number[], p };
  }
  const n = obj.n;
  const pair = typeof n === 'number' ? [n, n] : n;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => Number.isInteger(x) && x >= 0)) {
    return fail(`expected n: a whole number or [min, max] of the ${list.length} choices, received ${JSON.stringify(n)}`, [...path, 'n']);
  }
  if (pair[0] > pair[1] || pair[1] > list.length) {
    return fail(`expected 0 <= min <= max <= ${list.length} (the number of choices), received ${JSON.stringify(n)}`, [...path, 'n']);
  }
  return { someOf: list, n: [pair[0], pair[1]], p };
}

function parseList(value: unknown, path: Issue['path'], issues: Issue[]): OpsNode[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    issues.push({ path, message: `expected a non-empty list of ops, received ${JSON.stringify(value)}` });
    return undefined;
  }
  const before = issues.length;
  const nodes = value.map((v, i) => parseNode(v, [...path, i], issues) as OpsNode | undefined);
  return issues.length === before ? (nodes as OpsNode[]) : undefined;
}

function parseP(value: unknown, path: Issue['path'], issues: Issue[]): number | undefined {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    issues.push({ path: [...path, 'p'], message: `expected a probability between 0 and 1, received ${JSON.stringify(value)}` });
    return undefined;
  }
  return value;
}

function parseOp(obj: Record<string, unknown>, path: Issue['path'], issues: Issue[]): OpNode | undefined {
  const { op: name, p: rawP, ...rest } = obj;
  if (typeof name !== 'string' || !hasOp(name)) {
    issues.push({ path: [...path, 'op'], message: unknownOpMessage(name) });
    return undefined;
  }
  const p = parseP(rawP, path, issues);
  const def = getOp(name);
  const r = def.schema.safeParse(rest);
  if (!r.success) {
    const known = Object.keys((def.schema as any).shape ?? {});
    for (const i of r.error.issues) {
      if (i.code === 'unrecognized_keys') {
        for (const k of i.keys) {
          issues.push({
            path: [...path, k],
            message: `unknown option "${k}" for ${name} (${known.length ? `options: ${known.join(', ')}, p` : 'it takes no options but p'})`,
          });
        }
      } else issues.push({ path: [...path, ...(i.path as Array<string | number>)], message: i.message });
    }
    return undefined;
  }
  return p === undefined ? undefined : { op: name, p, options: r.data as Record<string, unknown> };
}

/** Number of entries of a `{fixed: [...]}` spec; undefined for random specs. */
export function fixedCount(spec: OpsSpec): number | undefined {
  return 'fixed' in spec ? spec.fixed.length : undefined;
}

/**
 * Draw the ops of one output copy: the flat, ordered list of ops that apply, each with its
 * concrete parameters (JSON, for the manifest). Copy 0 is the original: always `[]`.
 * @throws AugmentError BAD_ARGUMENT when a fixed spec has no entry for `copyIndex`.
 */
export function sampleOps(spec: OpsSpec, rng: Rng, image: { width: number; height: number }, copyIndex: number): AppliedOp[] {
  if (!Number.isInteger(copyIndex) || copyIndex < 0) {
    throw new AugmentError('BAD_ARGUMENT', `Expected a whole number >= 0 for copyIndex but received ${copyIndex}`);
  }
  if (copyIndex === 0) return [];
  const out: AppliedOp[] = [];
  const size = { width: image.width, height: image.height };
  if ('fixed' in spec) {
    if (copyIndex > spec.fixed.length) {
      throw new AugmentError('BAD_ARGUMENT', `copy ${copyIndex} has no entry in the fixed ops list (${spec.fixed.length} entries: copies 1-${spec.fixed.length})`);
    }
    sampleNode(spec.fixed[copyIndex - 1], rng, size, out);
  } else sampleNode(spec, rng, size, out);
  return out;
}

function sampleNode(node: OpsNode, rng: Rng, size: { width: number; height: number }, out: AppliedOp[]): void {
  if (!rng.chance(node.p)) return;
  if ('op' in node) {
    const def = getOp(node.op);
    const params = def.sample(rng, node.options, { width: size.width, height: size.height });
    out.push({ op: node.op, params });
    if (def.outputSize) Object.assign(size, def.outputSize(params, size.width, size.height));
  } else if ('sequence' in node) {
    for (const child of node.sequence) sampleNode(child, rng, size, out);
  } else if ('oneOf' in node) {
    sampleNode(node.oneOf[pickWeighted(rng, node.oneOf.length, node.weights)], rng, size, out);
  } else {
    const n = rng.int(node.n[0], node.n[1]);
    const chosen = rng.shuffle(node.someOf.map((_, i) => i)).slice(0, n).sort((a, b) => a - b);
    for (const i of chosen) sampleNode(node.someOf[i], rng, size, out);
  }
}

function pickWeighted(rng: Rng, n: number, weights?: number[]): number {
  if (!weights) return rng.int(0, n - 1);
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (weights[i] === 0) continue;
    if (r < weights[i]) return i;
    r -= weights[i];
    last = i;
  }
  return last; // rounding left r >= the last weight
}

/**
 * Apply recorded ops. Pure: the output depends only on `img`, `applied` and `ctx`. Runs of
 * consecutive geometric ops (rotate, affine, perspective, flips) are fused into one
 * resampling pass through their composed inverse maps (bilinear if any of them is), with
 * each step's canvas bounds still honoured (see `warp`).
 *
 * `opts.into`: a buffer the caller reuses from one call to the next (e.g. one per thread, the
 * result encoded before the next call): where the last ops run compiled and the output has
 * its size, the result is written there (its `data` is `into`) instead of into a fresh
 * allocation. Otherwise, and with no ops (the result is then `img`), it is not touched.
 */
export function applyOps(img: RawImage, applied: readonly AppliedOp[], ctx: ApplyContext, opts: { into?: Uint8Array } = {}): RawImage {
  let out = img;
  // Consecutive units that have a compiled step run together in the kernels' memory (one copy
  // in, one out); `pending` keeps each one's JS form too, for where the kernels cannot load.
  // (`direct`: run even alone as its compiled step; an op's own step alone runs as its `apply`.)
  let pending: Array<{ step: NativeStep; js: (im: RawImage) => RawImage; direct?: boolean }> = [];
  const flush = (into?: Uint8Array) => {
    if (pending.length === 0) return;
    const run = pending.length === 1 && !into && !pending[0].direct ? undefined : runNative(out, pending.map((p) => p.step), into);
    out = run ?? pending.reduce((im, p) => p.js(im), out);
    pending = [];
  };
  for (let i = 0; i < applied.length; ) {
    const def = getOp(applied[i].op);
    let j = i + 1;
    if (def.matrix) while (j < applied.length && getOp(applied[j].op).matrix) j++;
    if (j - i === 1 && (!def.matrix || def.native)) {
      const a = applied[i];
      const step = def.native?.(a.params, ctx, out.width, out.height);
      if (step) pending.push({ step, js: (im) => def.apply(im, a.params, ctx) });
      else {
        flush();
        out = def.apply(out, a.params, ctx);
      }
    } else {
      const maps: Mat3[] = [];
      let bilinear = false;
      for (let k = i; k < j; k++) {
        const d = getOp(applied[k].op);
        maps.push(d.matrix!(applied[k].params, out.width, out.height));
        if (d.interpolation?.(applied[k].params) === 'bilinear') bilinear = true;
      }
      const interpolation = bilinear ? 'bilinear' : 'nearest';
      const step = warpNativeStep(out.width, out.height, maps, interpolation, ctx.fill);
      if (step) pending.push({ step, js: (im) => warp(im, maps, interpolation, ctx.fill), direct: true });
      else {
        flush();
        out = warp(out, maps, interpolation, ctx.fill);
      }
    }
    i = j;
  }
  flush(opts.into);
  return out;
}

/** A short label of what was applied, e.g. `blur σ1.3 · persp · rot 127° · invert`; '' for nothing. */
export function describeOps(applied: readonly AppliedOp[]): string {
  return applied
    .map((a) => getOp(a.op).label(a.params))
    .filter(Boolean)
    .join(' · ');
}
