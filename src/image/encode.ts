/**
 * Writing output images. PNG (the default) is encoded synchronously in JS over node:zlib
 * (`./png.ts`): fast and deterministic. JPEG and WebP go through sharp (loaded on first use,
 * ./sharp.ts) and return a Promise.
 */
import { invalidParameter } from '../errors.ts';
import { encodePng } from './png.ts';
import { loadSharp } from './sharp.ts';
import type { RawImage } from './raw.ts';

export type OutputFormat = 'png' | 'jpeg' | 'webp';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpeg', 'webp'];

export interface EncodeOptions {
  /** JPEG / WebP quality 1-100 (default 90). */
  quality?: number;
  /**
   * PNG zlib level 0-9, with zlib's matcher. Default: level 1 with Z_RLE (DEFAULT_PNG_ENCODING in
   * ./png.ts: fewer bytes than OpenCV's default PNG for less CPU; level 6 is ~3x the time for
   * ~10% fewer bytes; scripts/bench-png.ts).
   */
  compressionLevel?: number;
}

/**
 * Encode raw RGB. PNG returns a Buffer directly; jpeg and webp return a Promise.
 * @example writeFileSync('out.png', encodeImage(img) as Buffer);
 * @throws AugmentError BAD_ARGUMENT for an unknown format or an out-of-range option.
 */
export function encodeImage(img: RawImage, format?: 'png', opts?: EncodeOptions): Buffer;
export function encodeImage(img: RawImage, format: 'jpeg' | 'webp', opts?: EncodeOptions): Promise<Buffer>;
export function encodeImage(img: RawImage, format?: OutputFormat, opts?: EncodeOptions): Buffer | Promise<Buffer>;
export function encodeImage(img: RawImage, format: OutputFormat = 'png', opts: EncodeOptions = {}): Buffer | Promise<Buffer> {
  if (format === 'png') {
    const level = opts.compressionLevel;
    if (level === undefined) return encodePng(img);
    if (!Number.isInteger(level) || level < 0 || level > 9) throw invalidParameter('compressionLevel', 'an integer between 0 and 9', level);
    return encodePng(img, level);
  }
  if (format !== 'jpeg' && format !== 'webp') throw invalidParameter('format', `one of ${OUTPUT_FORMATS.join(', ')}`, format);
  const quality = opts.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw invalidParameter('quality', 'an integer between 1 and 100', quality);
  return loadSharp().then((sharp) => {
    const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
    return (format === 'jpeg' ? s.jpeg({ quality }) : s.webp({ quality })).toBuffer();
  });
}
