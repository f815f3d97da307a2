// Worker-thread entry of the build pool, the same file in src/ and in dist/ (copied there by
// scripts/build-dist.mjs). In dist/ it runs the compiled ./worker.js: plain JavaScript, no
// TypeScript loader. In src/ (tests and `npm run augment`, under tsx) it makes TypeScript
// loadable in this thread first (a parent that registered tsx through its API does not reach
// workers), then runs ./worker.ts.
import { existsSync } from 'node:fs';

// This thread only samples and applies ops, never validates their options: the op modules
// then load no zod (../ops/define.ts NO_SCHEMAS; ~0.1 s of each worker's start-up).
globalThis[Symbol.for('augment.ops.noSchemas')] = true;

const compiled = new URL('./worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./worker.ts', import.meta.url).href);
}
