#!/usr/bin/env node
// Entry point for the `augment` bin: the compiled CLI in dist/ (built by `npm install` /
// `npm ci` through the `prepare` script, or `npm run build`). No TypeScript loader at run time.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('augment: dist/ is not built: run `npm run build` (or `npm install`) in the package folder\n');
  process.exit(1);
}
await import(cli.href);
