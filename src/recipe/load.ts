/**
 * Finding and loading recipes. `<recipe>` is a path to a YAML file, or a name looked up in
 * `./recipes/<name>.yaml` and then among the recipes shipped with augment, so commands work
 * from any folder.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { AugmentError } from '../errors.ts';
import { fixedCount, validateOpsSpec, type OpsSpec } from '../ops/compose.ts';
import { recipeSchema, type ParsedRecipe } from './schema.ts';

export const SHIPPED_RECIPES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../recipes');

export interface Recipe extends Omit<ParsedRecipe, 'ops' | 'name'> {
  name: string;
  /** Absolute path of the YAML file it came from (or '<inline>'). */
  file: string;
  ops?: OpsSpec;
}

export async function listRecipes(cwd = process.cwd()): Promise<Array<{ name: string; file: string }>> {
  const seen = new Map<string, string>();
  for (const dir of [join(cwd, 'recipes'), SHIPPED_RECIPES_DIR]) {
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      if (!/\.ya?ml$/.test(n)) continue;
      const name = n.replace(/\.ya?ml$/, '');
      if (!seen.has(name)) seen.set(name, join(dir, n));
    }
  }
  return [...seen].map(([name, file]) => ({ name, file }));
}

export async function findRecipe(ref: string, cwd = process.cwd()): Promise<string> {
  const asPath = resolve(cwd, ref);
  if (/\.ya?ml$/i.test(ref) || ref.includes('/') || ref.includes('\\')) {
    if (existsSync(asPath)) return asPath;
    throw new AugmentError('NOT_FOUND', `${ref}: recipe file does not exist`);
  }
  for (const dir of [join(cwd, 'recipes'), SHIPPED_RECIPES_DIR]) {
    for (const ext of ['.yaml', '.yml']) {
      const f = join(dir, ref + ext);
      if (existsSync(f)) return f;
    }
  }
  const known = (await listRecipes(cwd)).map((r) => r.name);
  throw new AugmentError('NOT_FOUND', `${ref}: no such recipe (known: ${known.join(', ') || 'none'})`);
}

export async function loadRecipe(ref: string, cwd = process.cwd()): Promise<Recipe> {
  const file = await findRecipe(ref, cwd);
  const text = await readFile(file, 'utf8');
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: false });
  } catch (e: any) {
    throw new AugmentError('BAD_RECIPE', `${file}: not valid YAML (${String(e.message).split('\n')[0]})`);
  }
  return parseRecipe(doc ?? {}, file);
}

/** Validates a recipe object (as parsed from YAML). `file` names it in errors. */
export function parseRecipe(doc: unknown, file = '<inline>'): Recipe {
  const parsed = recipeSchema.safeParse(doc);
  if (!parsed.success) throw new AugmentError('BAD_RECIPE', `${file}: ${formatZodIssue(parsed.error.issues[0])}`);
  const r = parsed.data;
  const ops = r.ops === undefined ? undefined : validateOpsSpec(r.ops, file);
  const name = r.name ?? basename(file, extname(file));
  const recipe: Recipe = { ...r, name, file, ops };
  checkConsistency(recipe);
  return recipe;
}

function checkConsistency(r: Recipe): void {
  const bad = (field: string, why: string) => new AugmentError('BAD_RECIPE', `${r.file}: ${field}: ${why}`);
  const o = r.oversample;
  if (!o) return;
  const fixed = r.ops ? fixedCount(r.ops) : undefined;
  const maxCopies = 'tiers' in o ? Math.max(...o.tiers) - 1 : o.maxFactor - 1;
  if (maxCopies > 0 && !r.ops) throw bad('ops', 'oversample makes copies, so the recipe needs ops to make them with');
  if ('tiers' in o && fixed === undefined) throw bad('ops', 'oversample.tiers makes fixed copies: give ops as a fixed list (ops: { fixed: [...] })');
  if (fixed !== undefined && fixed < maxCopies)
    throw bad('ops.fixed', `lists ${fixed} copies but oversample may ask for ${maxCopies} per image`);
}

export function formatZodIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid recipe';
  const path = issue.path.length ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : (i ? '.' : '') + String(p))).join('') : '(top level)';
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union') {
    const inner = (issue as any).errors?.map((errs: z.core.$ZodIssue[]) => errs[0]).filter(Boolean) as z.core.$ZodIssue[] | undefined;
    const best = inner?.sort((a, b) => b.path.length - a.path.length)[0];
    if (best) return formatZodIssue({ ...best, path: [...issue.path, ...best.path] } as z.core.$ZodIssue);
  }
  return `${path}: ${msg}`;
}
