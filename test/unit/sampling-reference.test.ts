// The CPU twin of the GPU generator against published Philox known-answer vectors, and the
// sampling reference and chi-square helpers against hand-computed cases.
import { describe, expect, it } from 'vitest';
import { mulhi32, philox2x32, randomBits, randomUniform, randomUniforms, samplingUniform } from '../../src/gpu/rng';
import { argmaxRef, chiSquarePValue, chiSquareStatistic, keptDistributionRef, sampleRowRef } from '../reference/sampling';
import { rng } from '../support/check';

const ln = Math.log;

describe('Philox-2x32-10 twin', () => {
  it('reproduces the Random123 known-answer vectors', () => {
    // (counter word 0, counter word 1, key) -> (out 0, out 1), from Random123's kat_vectors.
    const kat: Array<[number, number, number, number, number]> = [
      [0x00000000, 0x00000000, 0x00000000, 0xff1dae59, 0x6cd10df2],
      [0xffffffff, 0xffffffff, 0xffffffff, 0x2c3f628b, 0xab4fd7ad],
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0xdd7ce038, 0xf62a4c12],
    ];
    for (const [c0, c1, k, o0, o1] of kat) expect(philox2x32(c0, c1, k)).toEqual([o0, o1]);
  });

  it('computes the high word of 32×32-bit products exactly', () => {
    const rand = rng(3);
    const cases = [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [0xd256d193, 0xffffffff],
      [0x10000, 0x10000],
    ];
    for (let i = 0; i < 1000; i++) cases.push([Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32)]);
    for (const [a, b] of cases) expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
  });

  it('maps 24 random bits to a float32 in [0, 1)', () => {
    const u = randomUniforms(42, 7, 1000, 5);
    for (let i = 0; i < u.length; i++) {
      expect(u[i]).toBe((randomBits(42, 7, 5 + i) >>> 8) / 2 ** 24);
      expect(u[i]).toBe(randomUniform(42, 7, 5 + i));
      expect(u[i] >= 0 && u[i] < 1).toBe(true);
      expect(Number.isInteger(u[i] * 2 ** 24)).toBe(true);
    }
    expect(samplingUniform(9, 4, 2)).toBe(randomUniform(9, 2, 4));
    // The largest value is 1 − 2^-24, still below 1 in float32.
    expect(Math.fround((0xffffffff >>> 8) / 2 ** 24)).toBeLessThan(1);
  });
});

describe('sampling reference', () => {
  it('takes the lowest index among tied maxima', () => {
    expect(argmaxRef([1, 5, 2, 5, 5])).toBe(1);
    expect(argmaxRef([-3])).toBe(0);
    const d = keptDistributionRef([0, 2, 2, 1], { temperature: 0 });
    expect([...d.kept]).toEqual([0, 1, 0, 0]);
    // Greedy log-prob is taken at temperature 1: log(e² / (1 + 2e² + e)).
    expect(d.logSoftmax[1]).toBeCloseTo(2 - ln(1 + 2 * Math.exp(2) + Math.E), 14);
  });

  it('keeps every tie at the top-k boundary', () => {
    const x = [1, 3, 3, 2, 0];
    expect([...keptDistributionRef(x, { temperature: 1, topK: 1 }).kept]).toEqual([0, 1, 1, 0, 0]);
    expect([...keptDistributionRef(x, { temperature: 1, topK: 2 }).kept]).toEqual([0, 1, 1, 0, 0]);
    expect([...keptDistributionRef(x, { temperature: 1, topK: 3 }).kept]).toEqual([0, 1, 1, 1, 0]);
    expect([...keptDistributionRef(x, { temperature: 1, topK: 5 }).kept]).toEqual([1, 1, 1, 1, 1]);
    expect([...keptDistributionRef(x, { temperature: 1, topK: 0 }).kept]).toEqual([1, 1, 1, 1, 1]);
  });

  it('keeps the smallest top set whose mass reaches top-p, renormalised', () => {
    const x = [ln(0.2), ln(0.5), ln(0.3)];
    const kept = (topP: number): number[] => [...keptDistributionRef(x, { temperature: 1, topP }).kept];
    expect(kept(0)).toEqual([0, 1, 0]);
    expect(kept(0.45)).toEqual([0, 1, 0]);
    expect(kept(0.55)).toEqual([0, 1, 1]);
    expect(kept(0.79)).toEqual([0, 1, 1]);
    expect(kept(0.81)).toEqual([1, 1, 1]);
    const d = keptDistributionRef(x, { temperature: 1, topP: 0.7 });
    expect(d.probs[1]).toBeCloseTo(0.625, 14);
    expect(d.probs[2]).toBeCloseTo(0.375, 14);
    expect(d.probs[0]).toBe(0);
    // 0.7 lies 0.1 from the masses 0.5 and 0.8 of the candidate sets.
    expect(d.topPMargin).toBeCloseTo(0.1, 14);
    // Top-p applies to the renormalised top-k distribution: within {0.5, 0.3} the top token has 0.625.
    expect([...keptDistributionRef(x, { temperature: 1, topK: 2, topP: 0.6 }).kept]).toEqual([0, 1, 0]);
    expect([...keptDistributionRef(x, { temperature: 1, topK: 2, topP: 0.65 }).kept]).toEqual([0, 1, 1]);
  });

  it('applies the temperature before normalising', () => {
    const x = [2 * ln(0.25), 2 * ln(0.75)];
    const d = keptDistributionRef(x, { temperature: 2 });
    expect(d.probs[0]).toBeCloseTo(0.25, 14);
    expect(d.logSoftmax[1]).toBeCloseTo(ln(0.75), 14);
  });

  it('draws by inverse CDF in index order and reports the full-softmax log-prob', () => {
    const x = [ln(0.5), ln(0.3), ln(0.2)];
    const o = { temperature: 1 };
    expect(sampleRowRef(x, o, 0).token).toBe(0);
    expect(sampleRowRef(x, o, 0.1).token).toBe(0);
    expect(sampleRowRef(x, o, 0.6).token).toBe(1);
    expect(sampleRowRef(x, o, 0.95).token).toBe(2);
    expect(sampleRowRef(x, o, 1 - 2 ** -24).token).toBe(2);
    const near = sampleRowRef(x, o, 0.49999999);
    expect(near.token).toBe(0);
    expect(near.cdfMargin).toBeLessThan(1e-7);
    expect(near.neighbour).toBe(1);
    // With top-k 2 the draw is over {0.5, 0.3} renormalised, the log-prob over all three tokens.
    const r = sampleRowRef(x, { temperature: 1, topK: 2 }, 0.7);
    expect(r.token).toBe(1);
    expect(r.logprob).toBeCloseTo(ln(0.3), 14);
    expect(sampleRowRef([4], { temperature: 0.5, topP: 0.1 }, 0.3)).toMatchObject({ token: 0, logprob: 0 });
  });
});

describe('chi-square helpers', () => {
  it('gives known p-values', () => {
    for (const x of [0.5, 3, 10]) expect(chiSquarePValue(x, 2)).toBeCloseTo(Math.exp(-x / 2), 12);
    expect(chiSquarePValue(3.841458820694124, 1)).toBeCloseTo(0.05, 9);
    expect(chiSquarePValue(9.487729036781154, 4)).toBeCloseTo(0.05, 9);
    expect(chiSquarePValue(27.877164871256568, 9)).toBeCloseTo(0.001, 9);
    expect(chiSquarePValue(124.34211340400407, 100)).toBeCloseTo(0.05, 8);
    expect(chiSquarePValue(0, 5)).toBe(1);
  });

  it('computes Pearson statistics and rejects counts in impossible cells', () => {
    expect(chiSquareStatistic([25, 50, 25], [0.25, 0.5, 0.25])).toEqual({ stat: 0, dof: 2 });
    // (30 − 25)²/25 + (45 − 50)²/50 + (25 − 25)²/25 = 1.5
    expect(chiSquareStatistic([30, 45, 25], [0.25, 0.5, 0.25]).stat).toBeCloseTo(1.5, 12);
    expect(chiSquareStatistic([1, 9, 0], [0, 0.5, 0.5]).stat).toBe(Infinity);
    expect(chiSquareStatistic([0, 5, 5], [0, 0.5, 0.5])).toEqual({ stat: 0, dof: 1 });
  });
});
