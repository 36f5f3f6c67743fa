/**
 * Philox-2x32-10, the project's counter-based random number generator, as plain 32-bit integer
 * arithmetic (no GPU, no DOM): task generation, parameter initialisation and the CPU twin of the
 * GPU sampler (src/gpu/rng.ts) all draw from here. shaders/sampling.wgsl computes the same bits,
 * so every operation is written to match the WGSL line for line.
 *
 * Construction (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011): a 64-bit counter (c0, c1) and a 32-bit key k go through ten rounds of
 *     (L, R) -> (hi(M·L) ^ k ^ R, lo(M·L)),   then k += W,
 * with M = 0xD256D193 and W = 0x9E3779B9 (the key is bumped before rounds 2..10). No state is
 * carried between draws, so any element can be computed independently by any thread.
 *
 * Streams:
 *     bits(seed, stream, i)    = word 0 of Philox-2x32-10(counter = (i, stream), key = seed)
 *     uniform(seed, stream, i) = (bits >>> 8) · 2^-24     — a float32 in [0, 1), exact in f32
 */

const PHILOX_M = 0xd256d193;
const PHILOX_W = 0x9e3779b9;
const ROUNDS = 10;

/** High 32 bits of the 64-bit product of two u32 values, from 16-bit halves (as the WGSL does). */
export function mulhi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox-2x32-10 of counter (c0, c1) under key k: both output words as u32. */
export function philox2x32(c0: number, c1: number, k: number): [number, number] {
  let l = c0 >>> 0;
  let r = c1 >>> 0;
  let key = k >>> 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) key = (key + PHILOX_W) >>> 0;
    const hi = mulhi32(PHILOX_M, l);
    const lo = Math.imul(PHILOX_M, l) >>> 0;
    l = (hi ^ key ^ r) >>> 0;
    r = lo;
  }
  return [l, r];
}

/** The 32 random bits for element i of stream `stream` under `seed`. */
export function randomBits(seed: number, stream: number, i: number): number {
  return philox2x32(i, stream, seed)[0];
}

/** Uniform in [0, 1) from the top 24 bits: exactly the float32 the GPU produces. */
export function randomUniform(seed: number, stream: number, i: number): number {
  return (randomBits(seed, stream, i) >>> 8) * 2 ** -24;
}

/** out[j] = randomUniform(seed, stream, offset + j) for j < n, as the `random_uniform` kernel writes it. */
export function randomUniforms(seed: number, stream: number, n: number, offset = 0): Float32Array {
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) out[j] = randomUniform(seed, stream, (offset + j) >>> 0);
  return out;
}
