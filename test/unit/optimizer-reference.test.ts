// The AdamW reference: a first step and a clipped first step computed by hand, the constant-
// gradient property (m̂ = g, v̂ = g² at every step), skipping on a non-finite coefficient, and
// agreement with the kernel's rearranged formula built from the wrapper's float64 hyper-parameters.
import { describe, expect, it } from 'vitest';
import { adamwDerived } from '../../src/gpu/ops/optimizer';
import { adamwStateRef, adamwStepRef, type AdamWRefHyper } from '../reference/optimizer';
import { relL2, rng } from '../support/check';
import { randn64 } from '../support/finite-diff';

const H: AdamWRefHyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

describe('adamwStepRef', () => {
  it('matches a hand-computed first step', () => {
    // p = 1, g = 0.5: decay gives 1 − 0.1·0.01 = 0.999; m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25;
    // p = 0.999 − 0.1 · 0.5 / (0.5 + 1e-8).
    // p = 2, g = 0: decay only, 2 − 0.002 = 1.998 (m = v = 0, so the Adam term is 0 / eps = 0).
    const s = adamwStepRef(adamwStateRef([1, 2]), [0.5, 0], H, 1);
    expect(s.p[0]).toBeCloseTo(0.999 - 0.05 / 0.50000001, 15);
    expect(s.m[0]).toBeCloseTo(0.05, 15);
    expect(s.v[0]).toBeCloseTo(0.00025, 15);
    expect([s.p[1], s.m[1], s.v[1]]).toEqual([1.998, 0, 0]);
  });

  it('multiplies the gradient by the clip coefficient first', () => {
    // g = −2 · 0.5 = −1: m = −0.1, v = 0.001, m̂ = −1, v̂ = 1; p = 0.999 + 0.1 / (1 + 1e-8).
    const s = adamwStepRef(adamwStateRef([1]), [-2], H, 1, 0.5);
    expect(s.p[0]).toBeCloseTo(0.999 + 0.1 / (1 + 1e-8), 15);
    expect(s.m[0]).toBeCloseTo(-0.1, 15);
    expect(s.v[0]).toBeCloseTo(0.001, 15);
  });

  it('has m̂ = g and v̂ = g² at every step under a constant gradient', () => {
    const s = adamwStateRef([0.3]);
    let p = 0.3;
    for (let t = 1; t <= 10; t++) {
      adamwStepRef(s, [-0.25], H, t);
      p = p * (1 - H.lr * H.weightDecay) + (H.lr * 0.25) / (0.25 + H.eps);
      expect(s.p[0]).toBeCloseTo(p, 14);
    }
  });

  it('skips the step when the coefficient is not finite, and touches only its segment', () => {
    const s = adamwStepRef(adamwStateRef([1, 2, 3], [0.1, 0.2, 0.3], [1, 2, 3]), [1, 1, 1], H, 4, NaN);
    expect([...s.p, ...s.m, ...s.v]).toEqual([1, 2, 3, 0.1, 0.2, 0.3, 1, 2, 3]);
    adamwStepRef(s, [1, 1, 1], H, 4, 1, 1, 1);
    expect([s.p[0], s.p[2], s.m[0], s.m[2]]).toEqual([1, 3, 0.1, 0.3]);
    expect(s.p[1]).not.toBe(2);
  });

  it("agrees with the kernel's formula built from adamwDerived (relative error ≤ 1e-12)", () => {
    const rand = rng(11);
    const n = 50;
    const h = { lr: 3e-3, beta1: 0.85, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 };
    const ref = adamwStateRef(randn64(n, rand), randn64(n, rand, 0.1), randn64(n, rand, 0.1).map((x) => x * x));
    const p = Float64Array.from(ref.p);
    const m = Float64Array.from(ref.m);
    const v = Float64Array.from(ref.v);
    for (let t = 1; t <= 5; t++) {
      const g = randn64(n, rand);
      const coef = 0.7;
      adamwStepRef(ref, g, h, t, coef);
      const d = adamwDerived({ ...h, step: t });
      for (let i = 0; i < n; i++) {
        const gi = coef * g[i];
        p[i] -= d.lrWd * p[i];
        m[i] = d.beta1 * m[i] + d.oneMinusBeta1 * gi;
        v[i] = d.beta2 * v[i] + d.oneMinusBeta2 * gi * gi;
        p[i] -= (d.stepSize * m[i]) / (Math.sqrt(v[i]) * d.invBc2Sqrt + d.eps);
      }
    }
    expect(relL2(p, ref.p)).toBeLessThanOrEqual(1e-12);
    expect(relL2(m, ref.m)).toBeLessThanOrEqual(1e-12);
    expect(relL2(v, ref.v)).toBeLessThanOrEqual(1e-12);
  });
});
