/**
 * Decode worker (a worker thread, started by ./decode-pool.ts through ./decode-worker-entry.mjs):
 * reads each file, hashes its bytes and decodes it to size x size RGB with the same function as
 * the main thread (`decodeBufferToSize`), so both paths give the same bytes. The pixels of a
 * chunk go back in one transferred buffer.
 */
import { parentPort } from 'node:worker_threads';
import { AugmentError } from '../errors.ts';
import { decodeBufferToSize, readImageFile } from './decode-image.ts';
import { sha256Hex } from './decode-keys.ts';

export interface DecodeRequest {
  id: number;
  imageSize: number;
  paths: string[];
}

export type DecodeOutcome = { sha256: string } | { error: string; code: string };

export interface DecodeReply {
  id: number;
  /** One per path, in order. */
  outcomes: DecodeOutcome[];
  /** The pixels of the successful outcomes, in order, size * size * 3 bytes each. */
  pixels: ArrayBuffer;
}

parentPort!.on('message', async (req: DecodeRequest) => {
  const rb = req.imageSize * req.imageSize * 3;
  const outcomes: DecodeOutcome[] = [];
  const parts: Uint8Array[] = [];
  for (const path of req.paths) {
    try {
      const buf = await readImageFile(path);
      const px = await decodeBufferToSize(buf, path, req.imageSize);
      outcomes.push({ sha256: sha256Hex(buf) });
      parts.push(px);
    } catch (e) {
      outcomes.push(e instanceof AugmentError ? { error: e.message, code: e.code } : { error: `${path}: ${e instanceof Error ? e.message : String(e)}`, code: 'BAD_IMAGE' });
    }
  }
  const pixels = new Uint8Array(parts.length * rb);
  parts.forEach((p, i) => pixels.set(p, i * rb));
  const reply: DecodeReply = { id: req.id, outcomes, pixels: pixels.buffer };
  parentPort!.postMessage(reply, [pixels.buffer]);
});
