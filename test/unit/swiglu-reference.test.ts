// The swiglu reference itself: hand-computed values and its backward pass against central
// finite differences of Σ dh ⊙ h.
import { describe, expect, it } from 'vitest';
import { swigluBackwardRef, swigluForwardRef } from '../reference/swiglu';
import { relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

describe('swiglu reference', () => {
  it('matches hand-computed values', () => {
    const sigma1 = 1 / (1 + Math.exp(-1));
    // silu(0) = 0, silu(1) = σ(1), silu(−1) = −σ(−1) = −(1 − σ(1)).
    const h = swigluForwardRef([0, 1, -1], [5, 2, 3]);
    expect(h[0]).toBe(0);
    expect(h[1]).toBeCloseTo(2 * sigma1, 15);
    expect(h[2]).toBeCloseTo(-3 * (1 - sigma1), 15);
    // At g = 0: silu'(0) = σ(0) = 1/2, silu(0) = 0.
    const { dgate, dup } = swigluBackwardRef([0], [4], [3]);
    expect(dgate[0]).toBe(6);
    expect(dup[0]).toBe(0);
  });

  it('stays finite in both tails', () => {
    const gate = [-1000, -100, 100, 1000];
    const { dgate, dup } = swigluBackwardRef(gate, [1, 1, 1, 1], [1, 1, 1, 1]);
    const h = swigluForwardRef(gate, [1, 1, 1, 1]);
    for (const v of [...h, ...dgate, ...dup]) expect(Number.isFinite(v)).toBe(true);
    expect(h[3]).toBe(1000);
    expect(dgate[3]).toBe(1);
  });

  it('backward holds by central differences (relative error ≤ 1e-6)', () => {
    const rand = rng(5);
    const n = 41;
    const gate = randn64(n, rand, 3);
    const up = randn64(n, rand);
    const dh = randn64(n, rand);
    const { dgate, dup } = swigluBackwardRef(gate, up, dh);
    const numGate = numericalGradient((g) => dot(dh, swigluForwardRef(g, up)), gate);
    const numUp = numericalGradient((u) => dot(dh, swigluForwardRef(gate, u)), up);
    expect(relL2(dgate, numGate)).toBeLessThanOrEqual(1e-6);
    expect(relL2(dup, numUp)).toBeLessThanOrEqual(1e-6);
  });
});
