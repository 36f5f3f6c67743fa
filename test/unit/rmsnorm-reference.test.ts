// The rmsnorm reference itself: hand-computed values, and its two backward passes (input and
// weight gradients) against central finite differences of Σ dy ⊙ y.
import { describe, expect, it } from 'vitest';
import { rmsnormBackwardRef, rmsnormBackwardWeightRef, rmsnormForwardRef } from '../reference/rmsnorm';
import { relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

describe('rmsnorm reference', () => {
  it('matches a hand-computed row', () => {
    // x = [3, 4]: mean(x²) = 12.5, rstd = 1/sqrt(12.5).
    const r = 1 / Math.sqrt(12.5);
    const { y, rstd } = rmsnormForwardRef([3, 4], [1, 2], 1, 2, 0);
    expect(rstd[0]).toBeCloseTo(r, 15);
    expect(y[0]).toBeCloseTo(3 * r, 15);
    expect(y[1]).toBeCloseTo(8 * r, 15);
    // dy = [1, 0], w = 1: ∂y₀/∂x = r·(1 − x₀²r²/2, −x₀x₁r²/2) = r·(0.64, −0.48).
    const dx = rmsnormBackwardRef([3, 4], [1, 1], [r], [1, 0], 1, 2);
    expect(dx[0]).toBeCloseTo(0.64 * r, 15);
    expect(dx[1]).toBeCloseTo(-0.48 * r, 15);
    // dw_d = Σ_r dy·x·rstd; accumulation adds the initial value.
    expect([...rmsnormBackwardWeightRef([3, 4], [r], [1, 0], 1, 2)]).toEqual([3 * r, 0]);
    expect([...rmsnormBackwardWeightRef([3, 4], [r], [1, 0], 1, 2, [1, 2])]).toEqual([3 * r + 1, 2]);
    expect([...rmsnormBackwardRef([3, 4], [1, 1], [r], [1, 0], 1, 2, [10, 20])]).toEqual([10 + dx[0], 20 + dx[1]]);
  });

  it('an all-zero row gives rstd = 1/sqrt(eps) and a finite gradient', () => {
    const eps = 1e-6;
    const { y, rstd } = rmsnormForwardRef([0, 0, 0], [1, 2, 3], 1, 3, eps);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(eps), 6);
    expect([...y]).toEqual([0, 0, 0]);
    const dx = rmsnormBackwardRef([0, 0, 0], [1, 2, 3], rstd, [1, 1, 1], 1, 3);
    expect(relL2(dx, [1000, 2000, 3000])).toBeLessThanOrEqual(1e-9);
  });

  it.each([
    [1, 1],
    [3, 5],
    [4, 37],
  ])('backward passes hold by central differences, R=%i D=%i (relative error ≤ 1e-6)', (R, D) => {
    const rand = rng(11 + R * D);
    // With D = 1 the input gradient is w·dy·rstd·eps/(x² + eps), tiny for a small eps and
    // then swamped by the differences' rounding: that case uses a large eps.
    const eps = D === 1 ? 0.5 : 1e-5;
    const x = randn64(R * D, rand);
    const w = randn64(D, rand);
    const dy = randn64(R * D, rand);
    const { rstd } = rmsnormForwardRef(x, w, R, D, eps);
    const numX = numericalGradient((v) => dot(dy, rmsnormForwardRef(v, w, R, D, eps).y), x);
    const numW = numericalGradient((v) => dot(dy, rmsnormForwardRef(x, v, R, D, eps).y), w);
    expect(relL2(rmsnormBackwardRef(x, w, rstd, dy, R, D), numX)).toBeLessThanOrEqual(1e-6);
    expect(relL2(rmsnormBackwardWeightRef(x, rstd, dy, R, D), numW)).toBeLessThanOrEqual(1e-6);
  });
});
