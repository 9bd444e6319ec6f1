// Small seeded pseudo-random generators: the same seed gives the same cycle on every machine.
import { createHash } from 'node:crypto';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
  /** A version-4-shaped UUID drawn from this generator, so submission ids are reproducible too. */
  uuid(): string;
}

const fromNext = (next: () => number): Random => {
  const hex = (digits: number): string => {
    let text = '';
    for (let i = 0; i < digits; i += 1) text += Math.floor(next() * 16).toString(16);
    return text;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('cannot pick from an empty list');
      return item;
    },
    chance: (probability) => next() < probability,
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(next() * 4)]}${hex(3)}-${hex(12)}`,
  };
};

/**
 * mulberry32, for small samples (the quick start's). Every seed walks the same cycle of 2^32 states, so two
 * seeds give the same stream shifted: fine for a few thousand draws, not for many independent streams.
 */
export const createRandom = (seed: number): Random => {
  let state = seed >>> 0;
  return fromNext(() => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
};

/**
 * sfc32 (128 bits of state) seeded with the SHA-256 of `key`: different keys give independent streams. A
 * national cycle draws some ten million numbers over 342 cities; with mulberry32 per city some cities'
 * streams overlapped and drew the same submission ids.
 */
export const createKeyedRandom = (key: string): Random => {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The usual warm-up, so the first outputs do not echo the seed words.
  for (let i = 0; i < 12; i += 1) next32();
  return fromNext(() => next32() / 4294967296);
};
