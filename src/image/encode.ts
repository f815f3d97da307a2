/**
 * Writing output images. PNG (the default) is encoded synchronously in JS over node:zlib
 * (`./png.ts`): fast and deterministic. JPEG and WebP go through sharp and return a Promise.
 */
import sharp from 'sharp';
import { invalidParameter } from '../errors.ts';
import { DEFAULT_PNG_LEVEL, encodePng } from './png.ts';
import type { RawImage } from './raw.ts';

export type OutputFormat = 'png' | 'jpeg' | 'webp';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpeg', 'webp'];

export interface EncodeOptions {
  /** JPEG / WebP quality 1-100 (default 90). */
  quality?: number;
  /** PNG zlib level 0-9 (default 2: zlib's fast matcher; 6 is ~1.5-2x the time for ~5-10% fewer bytes; scripts/bench-png.ts). */
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
    const level = opts.compressionLevel ?? DEFAULT_PNG_LEVEL;
    if (!Number.isInteger(level) || level < 0 || level > 9) throw invalidParameter('compressionLevel', 'an integer between 0 and 9', level);
    return encodePng(img, level);
  }
  if (format !== 'jpeg' && format !== 'webp') throw invalidParameter('format', `one of ${OUTPUT_FORMATS.join(', ')}`, format);
  const quality = opts.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw invalidParameter('quality', 'an integer between 1 and 100', quality);
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  return (format === 'jpeg' ? s.jpeg({ quality }) : s.webp({ quality })).toBuffer();
}
