/**
 * sharp, loaded on first use. Importing sharp costs ~80-100 ms of CPU per thread (its JS and
 * libvips' start); a build worker whose sources are plain PNGs (decoded in JS, ./png.ts) and
 * whose outputs are PNGs (encoded in JS) never needs it, so decode.ts and encode.ts ask for it
 * here only on the paths that use it.
 */
import type SharpModule from 'sharp';

export type Sharp = typeof SharpModule;

let loading: Promise<Sharp> | undefined;
let settings: { concurrency?: number; cache?: boolean } = {};

/** sharp's module (imported the first time this is called); the settings of `configureSharp` applied. */
export function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then((m) => {
    const sharp = m.default;
    if (settings.concurrency !== undefined) sharp.concurrency(settings.concurrency);
    if (settings.cache !== undefined) sharp.cache(settings.cache);
    return sharp;
  });
  return loading;
}

/** Settings applied to sharp when it loads (at once when it already has): libvips threads, its operation cache. */
export function configureSharp(s: { concurrency?: number; cache?: boolean }): void {
  settings = { ...settings, ...s };
  if (loading) void loading.then((sharp) => {
    if (s.concurrency !== undefined) sharp.concurrency(s.concurrency);
    if (s.cache !== undefined) sharp.cache(s.cache);
  });
}

/** Whether sharp was asked for in this thread (for tests). */
export function sharpRequested(): boolean {
  return loading !== undefined;
}
