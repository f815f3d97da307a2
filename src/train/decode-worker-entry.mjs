// Worker-thread entry of the decode pool (./decode-pool.ts), the same pattern as
// src/variant/worker-entry.mjs: the same file in src/ and in dist/. In dist/ it runs the compiled
// ./decode-worker.js; in src/ (tests and `npm run augment`, under tsx) it makes TypeScript
// loadable in this thread first (the parent's tsx registration does not reach workers), then
// runs ./decode-worker.ts.
import { existsSync } from 'node:fs';

const compiled = new URL('./decode-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./decode-worker.ts', import.meta.url).href);
}
