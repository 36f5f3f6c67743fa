// The softmax reference itself: hand-computed rows, invariance to a per-row shift, stability for
// large logits, and its backward against central finite differences in float64.
import { describe, expect, it } from 'vitest';
import { softmaxBackwardRef, softmaxRef } from '../reference/softmax';
import { relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

describe('softmaxRef', () => {
  it('computes hand-checked rows', () => {
    const y = softmaxRef([0, Math.log(3), 5, 5, 5, 5], 2, 3);
    // Row [0, ln 3, 5] exponentiates to [1, 3, e⁵].
    expect(y[0]).toBeCloseTo(1 / (4 + Math.exp(5)), 15);
    expect(y[1]).toBeCloseTo(3 / (4 + Math.exp(5)), 15);
    const two = softmaxRef([0, Math.log(3)], 1, 2);
    expect(two[0]).toBeCloseTo(0.25, 15);
    expect(two[1]).toBeCloseTo(0.75, 15);
    for (let j = 3; j < 6; j++) expect(y[j]).toBeCloseTo(1 / 3, 15);
    expect([...softmaxRef([7], 1, 1)]).toEqual([1]);
  });

  it('is invariant to a per-row shift and stable for large logits', () => {
    const x = [1000, 1001, -1000, 0.5];
    const y = softmaxRef(x, 2, 2);
    expect(y[0]).toBeCloseTo(1 / (1 + Math.E), 15);
    expect(y[1]).toBeCloseTo(Math.E / (1 + Math.E), 15);
    const shifted = softmaxRef([0, 1, -1000.5, 0], 2, 2);
    expect(relL2(y, shifted)).toBeLessThan(1e-15);
    expect(y.every(Number.isFinite)).toBe(true);
  });

  it('backward matches a hand-computed case', () => {
    // y = [1/4, 3/4], dy = [1, 0]: Σ dy·y = 1/4, dx = [1/4 · 3/4, 3/4 · (−1/4)].
    const dx = softmaxBackwardRef([0.25, 0.75], [1, 0], 1, 2);
    expect(dx[0]).toBeCloseTo(0.1875, 15);
    expect(dx[1]).toBeCloseTo(-0.1875, 15);
    // A constant upstream gradient has no effect on a normalised output.
    const flat = softmaxBackwardRef([0.2, 0.3, 0.5], [2, 2, 2], 1, 3);
    for (const v of flat) expect(Math.abs(v)).toBeLessThan(1e-15);
  });

  it('backward agrees with central finite differences (relative L2 ≤ 1e-6)', () => {
    const rand = rng(11);
    for (const [rows, cols] of [
      [1, 1],
      [1, 7],
      [3, 5],
      [4, 13],
    ] as const) {
      const x = randn64(rows * cols, rand, 2);
      const dy = randn64(rows * cols, rand);
      const analytic = softmaxBackwardRef(softmaxRef(x, rows, cols), dy, rows, cols);
      const numeric = numericalGradient((v) => dot(dy, softmaxRef(v, rows, cols)), x);
      const err = relL2(analytic, numeric);
      // A single column has zero gradient: compare absolutely there.
      if (cols === 1) expect(Math.max(...analytic.map(Math.abs), ...numeric.map(Math.abs))).toBeLessThan(1e-9);
      else expect(err, `rows=${rows} cols=${cols}`).toBeLessThanOrEqual(1e-6);
    }
  });
});
