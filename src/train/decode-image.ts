/**
 * One training image from file bytes to size x size RGB: `decodeImageBuffer`
 * (src/image/decode.ts: EXIF orientation, alpha flattened onto white, 8-bit sRGB), then, when
 * the size differs, sharp's resize with `fit: 'fill'` (aspect ratio not kept; icons are square)
 * and its default lanczos3 kernel. The main thread and the decode workers both call this, so
 * both give the same bytes. A change here that changes any byte must bump DECODE_VERSION
 * (./decode-pack.ts), or caches would serve the old pixels.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeImage, decodeImageBuffer } from '../image/decode.ts';

/** Decodes image bytes to size x size RGB. AugmentError BAD_IMAGE naming `name` on failure. */
export async function decodeBufferToSize(buf: Buffer, name: string, imageSize: number): Promise<Uint8Array> {
  const raw = await decodeImageBuffer(buf, name);
  if (raw.width === imageSize && raw.height === imageSize) return raw.data;
  const out = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .resize(imageSize, imageSize, { fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** A file's bytes; when it cannot be read, the same one-line BAD_IMAGE error as `decodeImage`. */
export async function readImageFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    await decodeImage(path); // throws the worded error (missing, a folder, no permission...)
    return readFile(path); // it became readable meanwhile
  }
}
