/**
 * Charts as inline SVG for the report: each vega-lite spec is rendered in Node by vega's own
 * SVG renderer (src/charts/vega.ts: View.toSVG), so the page needs no script. A chart is
 * rendered once per width (desktop, phone); CSS shows the one that fits and scales it down
 * through its viewBox in between. Ids inside each SVG (clip paths, gradients) get a prefix of
 * their own, since many SVGs share one document.
 */
import type { VegaLiteSpec } from '../charts/vega.ts';
import { vegaLiteToSvg } from '../charts/vega.ts';

let counter = 0;

/** Makes every `id` in `svg` unique in the page (and rewrites its references). */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]);
  if (!ids.size) return svg;
  let out = svg.replace(/\sid="([^"]+)"/g, (_m, id: string) => ` id="${prefix}${id}"`);
  out = out.replace(/url\(#([^)]+)\)/g, (m, id: string) => (ids.has(id) ? `url(#${prefix}${id})` : m));
  out = out.replace(/(xlink:href|href)="#([^"]+)"/g, (m, attr: string, id: string) => (ids.has(id) ? `${attr}="#${prefix}${id}"` : m));
  return out;
}

/** One chart at several widths: `{ [width]: svg }`. */
export async function renderAtWidths(spec: (width: number) => VegaLiteSpec, widths: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const w of widths) {
    const svg = await vegaLiteToSvg(spec(w));
    out.set(w, prefixSvgIds(svg, `c${++counter}-`).replace(/^<svg /, `<svg role="img" `));
  }
  return out;
}
