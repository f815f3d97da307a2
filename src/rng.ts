/**
 * Seeded randomness. Every random choice in augment comes from an `Rng` made by `rngFor`
 * from a list of parts (recipe seed, class, source path, copy index...), so results never
 * depend on scheduling, concurrency or `Math.random`.
 */
import * as crypto from 'node:crypto';
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer uniform in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** A new array: Fisher-Yates shuffle of items. */
  shuffle<T>(items: readonly T[]): T[];
}

/**
 * A stable 32-hex-digit seed string from any parts (order matters): the first 128 bits of the
 * SHA-256 of `seedParts(...parts)`. Seeds fix output bytes and are manifest keys: never change
 * what this returns.
 */
export function deriveSeed(...parts: Array<string | number>): string {
  return seedOf(seedParts(...parts));
}

/**
 * The text deriveSeed hashes: `<length>:<part>;` for each part (length in UTF-16 units, the
 * text hashed as UTF-8). `seedOf(seedParts(a, b) + seedParts(c))` = `deriveSeed(a, b, c)`, so a
 * caller deriving many seeds that share leading parts encodes those once.
 */
export function seedParts(...parts: Array<string | number>): string {
  let text = '';
  for (const p of parts) {
    const s = String(p);
    text += `${s.length}:${s};`;
  }
  return text;
}

// crypto.hash (Node >= 20.12): one call, no Hash object per seed; the same digest.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** deriveSeed of already encoded parts (`seedParts`). */
export function seedOf(encoded: string): string {
  return (oneShot ? oneShot('sha256', encoded, 'hex') : crypto.createHash('sha256').update(encoded).digest('hex')).slice(0, 32);
}

export function createRng(seed: string | number): Rng {
  const prng = seedrandom(String(seed)); // Alea-free default ARC4: stable across platforms
  const next = () => prng();
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => (p >= 1 ? (next(), true) : next() < p),
    pick: (items) => items[Math.floor(next() * items.length)],
    shuffle: (items) => {
      const a = items.slice();
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    },
  };
}

/** `createRng(deriveSeed(...parts))`. */
export function rngFor(...parts: Array<string | number>): Rng {
  return createRng(deriveSeed(...parts));
}
