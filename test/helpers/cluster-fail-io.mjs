// Preloaded (node --import) into a child `augment build` by test/cluster-exit.test.ts: opening
// a manifest journal for appending (fs.promises.open or fs.openSync, 'a' / 'a+') fails with a real-looking EIO, as a failing disk or a
// network file system would. Everything else is untouched.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const open = fs.promises.open;
fs.promises.open = async function (file, flags, ...rest) {
  if (String(file).endsWith('.jsonl') && flags === 'a') {
    throw Object.assign(new Error(`EIO: i/o error, open '${file}'`), { code: 'EIO', errno: -5, syscall: 'open', path: String(file) });
  }
  return open.call(this, file, flags, ...rest);
};
const openSync = fs.openSync;
fs.openSync = function (file, flags, ...rest) {
  if (String(file).endsWith('.jsonl') && (flags === 'a' || flags === 'a+')) {
    throw Object.assign(new Error(`EIO: i/o error, open '${file}'`), { code: 'EIO', errno: -5, syscall: 'open', path: String(file) });
  }
  return openSync.call(this, file, flags, ...rest);
};
syncBuiltinESMExports();
