/**
 * The in-memory image every op works on: 8-bit interleaved RGB (channels = 3), row-major.
 * Sources are decoded once by sharp into this form (EXIF orientation applied, alpha
 * flattened, grey/CMYK/16-bit normalised) and ops are pure functions RawImage -> RawImage.
 */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly data: Uint8Array; // length width * height * 3
}

export type Rgb = readonly [number, number, number];

export function createRaw(width: number, height: number, data?: Uint8Array): RawImage {
  const d = data ?? new Uint8Array(width * height * 3);
  if (d.length !== width * height * 3) throw new Error(`raw image data has ${d.length} bytes, expected ${width * height * 3}`);
  return { width, height, channels: 3, data: d };
}
