/**
 * Seeded randomness and hashing for task generation. The draws come from the project's
 * counter-based Philox generator (src/math/philox.ts, plain integer arithmetic), so item
 * `index` of a stream is computed directly without generating the items before it.
 */
import { randomBits } from '../math/philox';

/** 32-bit FNV-1a over UTF-16 code units: cheap, stable, good enough to salt seeds. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * 53-bit hash (two independent 32-bit lanes mixed together) used to place a question in a split
 * and to build ids; 53 bits keep collisions negligible for millions of items.
 */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A sequential view on one Philox stream: (key, stream) fixed, the counter advances per draw. */
export class Rng {
  private counter = 0;
  private readonly key: number;
  private readonly stream: number;

  constructor(key: number, stream: number) {
    this.key = key >>> 0;
    this.stream = stream >>> 0;
  }

  /** 32 random bits. */
  u32(): number {
    return randomBits(this.key, this.stream, this.counter++);
  }

  /** Uniform integer in [lo, hi] (inclusive). 53 bits of randomness, so the bias is negligible. */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new Error(`Rng.int: bad range [${lo}, ${hi}]`);
    const u = (this.u32() * 2 ** 21 + (this.u32() >>> 11)) / 2 ** 53;
    return lo + Math.floor(u * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(0, list.length - 1)];
  }
}

/** The generator for item `index` of `family` under `seed`: families never share draws. */
export function itemRng(family: string, seed: number, index: number): Rng {
  return new Rng((hash32(family) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0, index);
}
