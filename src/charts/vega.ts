/**
 * Charts as pictures: a Vega-Lite spec is compiled to Vega, rendered headless to SVG by
 * vega's own renderer, and rasterised to PNG by sharp (librsvg). No browser or canvas.
 */
import { rename, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export type VegaLiteSpec = Record<string, unknown>;

export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vegaLite.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders `spec` to a PNG at `outFile` (written to a temp name, then renamed). */
export async function renderVegaLitePng(spec: VegaLiteSpec, outFile: string, scale = 2): Promise<void> {
  const svg = await vegaLiteToSvg({ background: 'white', ...spec });
  const png = await sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
  const tmp = `${outFile}.${process.pid}.tmp`;
  await writeFile(tmp, png);
  await rename(tmp, outFile);
}
