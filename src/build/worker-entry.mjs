// Worker-thread entry: make TypeScript loadable in this thread (the parent may have been
// started through bin/augment.js, whose tsx registration does not reach workers), then run it.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
