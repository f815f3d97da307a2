/**
 * Decode worker (a worker thread, started by ./decode-pool.ts through ./decode-worker-entry.mjs):
 * reads, hashes and decodes a chunk of files with the same function as the main thread
 * (`decodeChunk`), so both paths give the same bytes. The pixels of a chunk go back in one
 * transferred buffer.
 */
import { parentPort } from 'node:worker_threads';
import { decodeChunk } from './decode-image.ts';

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
  const got = await decodeChunk(req.paths, req.imageSize);
  const ok = got.filter((o) => 'pixels' in o);
  const pixels = new Uint8Array(ok.length * rb);
  ok.forEach((o, k) => pixels.set(o.pixels, k * rb));
  const outcomes: DecodeOutcome[] = got.map((o) => ('pixels' in o ? { sha256: o.sha256 } : o));
  const reply: DecodeReply = { id: req.id, outcomes, pixels: pixels.buffer };
  parentPort!.postMessage(reply, [pixels.buffer]);
});
