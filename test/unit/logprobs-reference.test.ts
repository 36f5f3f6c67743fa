// The logprobs reference itself: hand-computed values, its invariances, and its backward pass
// against central finite differences of Σ dlogp·logp + dentropy·H.
import { describe, expect, it } from 'vitest';
import { logprobsBackwardRef, logprobsForwardRef } from '../reference/logprobs';
import { relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

const FD_TOL = 1e-6;

describe('logprobsForwardRef', () => {
  it('matches hand-computed values', () => {
    const u = logprobsForwardRef([0, 0], [0], 1, 2);
    expect(u.logp[0]).toBeCloseTo(-Math.LN2, 14);
    expect(u.entropy[0]).toBeCloseTo(Math.LN2, 14);
    expect(u.lse[0]).toBeCloseTo(Math.LN2, 14);
    // p = [1/4, 3/4]; at τ = 2 the logits [0, 2·ln 3] give the same distribution.
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    for (const [logits, tau] of [
      [[0, Math.log(3)], 1],
      [[0, 2 * Math.log(3)], 2],
    ] as const) {
      const f = logprobsForwardRef(logits, [1], 1, 2, tau);
      expect(f.logp[0]).toBeCloseTo(Math.log(0.75), 14);
      expect(f.entropy[0]).toBeCloseTo(h, 14);
      expect(f.lse[0]).toBeCloseTo(Math.log(4), 14);
    }
    const one = logprobsForwardRef([3.5], [0], 1, 1, 0.7);
    expect([one.logp[0], one.entropy[0], one.lse[0]]).toEqual([0, 0, 5]);
  });

  it('is shift invariant and stable for large logits, with 0 ≤ H ≤ log V', () => {
    const rand = rng(11);
    const [R, V] = [4, 9];
    const logits = randn64(R * V, rand, 3);
    const targets = [0, 8, 3, 5];
    const a = logprobsForwardRef(logits, targets, R, V, 0.7);
    const b = logprobsForwardRef(
      logits.map((x) => x + 700),
      targets,
      R,
      V,
      0.7,
    );
    expect(relL2(b.logp, a.logp)).toBeLessThan(1e-12);
    expect(relL2(b.entropy, a.entropy)).toBeLessThan(1e-12);
    for (let r = 0; r < R; r++) {
      expect(a.entropy[r]).toBeGreaterThanOrEqual(0);
      expect(a.entropy[r]).toBeLessThanOrEqual(Math.log(V));
    }
  });
});

describe('logprobsBackwardRef', () => {
  it('matches hand-computed values', () => {
    // Uniform over 2: dlogp/dz = [1/2, −1/2]; dH/dz = −p(log p + H) = 0 at the maximum of H.
    expect([...logprobsBackwardRef([0, 0], [0], 1, 2, 1, [1], [5])]).toEqual([0.5, -0.5]);
    expect([...logprobsBackwardRef([0, 0], [1], 1, 2, 2, [1], null)]).toEqual([-0.25, 0.25]);
    // A single token is certain: nothing moves logp or H.
    expect(Math.abs(logprobsBackwardRef([2], [0], 1, 1, 0.7, [1], [1])[0])).toBe(0);
    // A near-certain target: 1 − p_t = e⁻⁴⁰/(1 + e⁻⁴⁰) keeps its relative precision.
    const e = Math.exp(-40);
    const d = logprobsBackwardRef([0, -40], [0], 1, 2, 1, [1], null);
    expect(Math.abs(d[0] / (e / (1 + e)) - 1)).toBeLessThan(1e-12);
    expect(Math.abs(d[1] / (-e / (1 + e)) - 1)).toBeLessThan(1e-12);
    const f = logprobsForwardRef([0, -40], [0], 1, 2);
    expect(Math.abs(f.logp[0] / -Math.log1p(e) - 1)).toBeLessThan(1e-12);
    expect(Math.abs(f.entropy[0] / (Math.log1p(e) + (40 * e) / (1 + e)) - 1)).toBeLessThan(1e-12);
  });

  it.each([
    [1, true],
    [0.7, true],
    [0.7, false],
    [1.3, true],
  ])('agrees with central differences at τ=%f (entropy term: %s)', (tau, withEntropy) => {
    const rand = rng(Math.round(tau * 100) + (withEntropy ? 1 : 0));
    const [R, V] = [3, 7];
    const logits = randn64(R * V, rand, 2);
    const targets = [6, 0, 3];
    const dlogp = randn64(R, rand);
    const dent = withEntropy ? randn64(R, rand) : null;
    const loss = (x: Float64Array): number => {
      const f = logprobsForwardRef(x, targets, R, V, tau);
      return dot(dlogp, f.logp) + (dent === null ? 0 : dot(dent, f.entropy));
    };
    const got = logprobsBackwardRef(logits, targets, R, V, tau, dlogp, dent);
    const err = relL2(got, numericalGradient(loss, logits));
    expect(err, `relative error ${err}`).toBeLessThanOrEqual(FD_TOL);
  });
});
