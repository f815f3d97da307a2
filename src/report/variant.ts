/**
 * What the report shows of one built variant: its class counts before and after (from
 * variant.json, else by counting the files), its recipe, and a contact sheet of train
 * originals beside the augmented copies made from them, with the ops and sampled parameters
 * the manifest recorded. Thumbnails are small PNGs inlined as data URIs.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MANIFEST_NAME, readVariantInfo } from '../variant/format.ts';
import { readManifest, type ManifestEntry } from '../variant/manifest.ts';
import { describeOps } from '../ops/compose.ts';
import { countDataset } from '../stats/count.ts';

export type Counts = Record<string, number>;

export interface VariantRecord {
  name: string;
  dir: string;
  /** Train counts of the source split before undersampling/oversampling (when known). */
  before?: Counts;
  train: Counts;
  valid: Counts;
  test: Counts;
  /** Where the counts came from. */
  countsFrom: 'variant.json' | 'files' | 'none';
  recipeFile?: string;
  /** The recipe file's text (when it is still readable), else the recipe from variant.json as JSON. */
  recipeText?: string;
  source?: string;
  sheet: SheetRow[];
  /** True when the manifest holds augmented copies. */
  hasCopies: boolean;
  note?: string;
}

export interface SheetCell {
  /** data:image/png;base64,... */
  src: string;
  caption: string;
  /** Longer text (full path, every parameter) for the title attribute. */
  title: string;
  original: boolean;
}

export interface SheetRow {
  class: string;
  source: string;
  cells: SheetCell[];
}

export interface SheetOptions {
  /** Rows (source images) in the contact sheet. */
  rows?: number;
  /** Copies shown beside each original. */
  copies?: number;
  /** Thumbnail side in pixels. */
  thumb?: number;
}

async function thumbnail(file: string, size: number): Promise<string | null> {
  try {
    const meta = await sharp(file).metadata();
    const small = Math.max(meta.width ?? 0, meta.height ?? 0) < size;
    const png = await sharp(file)
      .flatten({ background: '#ffffff' })
      .resize(size, size, { fit: 'contain', background: '#eeeeee', kernel: small ? 'nearest' : 'lanczos3' })
      .png({ compressionLevel: 9, palette: false })
      .toBuffer();
    return `data:image/png;base64,${png.toString('base64')}`;
  } catch {
    return null;
  }
}

function opsText(e: ManifestEntry): { caption: string; title: string } {
  let caption: string;
  try {
    caption = describeOps(e.ops);
  } catch {
    caption = e.ops.map((o) => o.op).join(' · ');
  }
  const title = e.ops.map((o) => `${o.op} ${JSON.stringify(o.params)}`).join('\n');
  return { caption: `#${e.copy} ${caption || 'no-op'}`, title: title || 'no ops applied' };
}

/** Picks the contact sheet's rows: rarest classes first (they get the most copies), one source each in turn. */
export function pickSheetRows(entries: ManifestEntry[], rows: number, before?: Counts): Array<{ cls: string; source: string; original?: ManifestEntry; copies: ManifestEntry[] }> {
  const train = entries.filter((e) => e.split === 'train');
  const bySource = new Map<string, { cls: string; source: string; original?: ManifestEntry; copies: ManifestEntry[] }>();
  for (const e of train) {
    const k = `${e.class}\u0000${e.source}`;
    const g = bySource.get(k) ?? { cls: e.class, source: e.source, copies: [] };
    if (e.copy === 0) g.original = e;
    else g.copies.push(e);
    bySource.set(k, g);
  }
  const groups = [...bySource.values()];
  const withCopies = groups.filter((g) => g.copies.length > 0);
  const pool = withCopies.length ? withCopies : groups.filter((g) => g.original);
  const classes = [...new Set(pool.map((g) => g.cls))].sort((a, b) => (before?.[a] ?? 0) - (before?.[b] ?? 0) || (a < b ? -1 : 1));
  const perClass = new Map(classes.map((c) => [c, pool.filter((g) => g.cls === c).sort((a, b) => (a.source < b.source ? -1 : 1))]));
  const picked: typeof groups = [];
  for (let i = 0; picked.length < rows && classes.some((c) => perClass.get(c)!.length > i); i++) {
    for (const c of classes) {
      const g = perClass.get(c)![i];
      if (g && picked.length < rows) picked.push(g);
    }
  }
  for (const g of picked) g.copies.sort((a, b) => a.copy - b.copy);
  return picked.sort((a, b) => classes.indexOf(a.cls) - classes.indexOf(b.cls) || (a.source < b.source ? -1 : 1));
}

async function contactSheet(dir: string, entries: ManifestEntry[], o: Required<SheetOptions>, before?: Counts): Promise<{ rows: SheetRow[]; hasCopies: boolean }> {
  const hasCopies = entries.some((e) => e.split === 'train' && e.copy > 0);
  const picked = pickSheetRows(entries, hasCopies ? o.rows : Math.max(1, Math.ceil(o.rows / 2)), before);
  const rows: SheetRow[] = [];
  if (hasCopies) {
    for (const g of picked) {
      const cells: SheetCell[] = [];
      if (g.original) {
        const src = await thumbnail(join(dir, g.original.out), o.thumb);
        if (src) cells.push({ src, caption: 'original', title: g.source, original: true });
      }
      for (const c of g.copies.slice(0, o.copies)) {
        const src = await thumbnail(join(dir, c.out), o.thumb);
        if (src) cells.push({ src, ...opsText(c), original: false });
      }
      if (cells.length) rows.push({ class: g.cls, source: g.source, cells });
    }
  } else {
    // originals only: a row of originals per class
    const classes = [...new Set(picked.map((g) => g.cls))];
    for (const cls of classes) {
      const originals = entries.filter((e) => e.split === 'train' && e.class === cls && e.copy === 0).sort((a, b) => (a.out < b.out ? -1 : 1)).slice(0, o.copies + 1);
      const cells: SheetCell[] = [];
      for (const e of originals) {
        const src = await thumbnail(join(dir, e.out), o.thumb);
        if (src) cells.push({ src, caption: e.source.split('/').pop() ?? e.source, title: e.source, original: true });
      }
      if (cells.length) rows.push({ class: cls, source: '', cells });
    }
  }
  return { rows, hasCopies };
}

/** Reads everything the report shows of the variant in `dir`. Never throws for a missing part. */
export async function readVariantRecord(name: string, dir: string, classes: string[], sheet: SheetOptions = {}): Promise<VariantRecord> {
  const o: Required<SheetOptions> = { rows: sheet.rows ?? 4, copies: sheet.copies ?? 5, thumb: sheet.thumb ?? 64 };
  const info = await readVariantInfo(dir).catch(() => null);
  const zero = () => Object.fromEntries(classes.map((c) => [c, 0]));
  const rec: VariantRecord = { name, dir, train: zero(), valid: zero(), test: zero(), countsFrom: 'none', sheet: [], hasCopies: false };
  const notes: string[] = [];
  if (info?.after?.train && info.after.valid && info.after.test) {
    rec.train = info.after.train;
    rec.valid = info.after.valid;
    rec.test = info.after.test;
    rec.before = info.before?.train;
    rec.countsFrom = 'variant.json';
  } else {
    try {
      const c = await countDataset(dir);
      if (c.kind === 'variant') {
        rec.train = c.train;
        rec.valid = c.valid;
        rec.test = c.test;
        rec.before = c.before;
        rec.countsFrom = 'files';
      }
    } catch (e) {
      notes.push(`counts unavailable: ${(e as Error).message}`);
    }
  }
  if (info) {
    rec.source = typeof info.source === 'string' ? info.source : undefined;
    rec.recipeFile = typeof info.recipeFile === 'string' ? info.recipeFile : undefined;
    if (rec.recipeFile) rec.recipeText = await readFile(rec.recipeFile, 'utf8').catch(() => undefined);
    if (!rec.recipeText && info.recipe) rec.recipeText = JSON.stringify(info.recipe, null, 2);
  } else notes.push(`no variant.json in ${dir}`);
  const entries = [...(await readManifest(join(dir, MANIFEST_NAME)).catch(() => new Map<string, ManifestEntry>())).values()];
  if (entries.length) {
    const s = await contactSheet(dir, entries, o, rec.before);
    rec.sheet = s.rows;
    rec.hasCopies = s.hasCopies;
  } else notes.push(`no ${MANIFEST_NAME} in ${dir}: no contact sheet`);
  if (notes.length) rec.note = notes.join('; ');
  return rec;
}
