// The losses reference itself: hand-computed PPO / KL / CE values in every branch, the test-input
// generator's regimes, and both backward passes against central finite differences.
import { describe, expect, it } from 'vitest';
import {
  ceLossBackwardRef,
  ceLossForwardRef,
  KL_CLAMP,
  pgCase,
  pgLossBackwardRef,
  pgLossForwardRef,
  type PgRefInputs,
  type PgRefOptions,
} from '../reference/losses';
import { relL2, rng } from '../support/check';
import { numericalGradient } from '../support/finite-diff';

const FD_TOL = 1e-6;

const OPTS: PgRefOptions = { epsLow: 0.2, epsHigh: 0.28, dualClip: 3, klCoef: 0.1, nTokens: 4 };

/** One token with ratio r, advantage a and ref − logp = d. */
function token(r: number, a: number, d = 0, mask = 1): PgRefInputs {
  const lp = -1;
  return { logp: [lp], logpOld: [lp - Math.log(r)], logpRef: [lp + d], adv: [a], mask: [mask] };
}

function fwd(x: PgRefInputs, o: Partial<PgRefOptions> = {}) {
  const f = pgLossForwardRef(x, 1, { ...OPTS, ...o });
  return { loss: f.loss[0], kl: f.kl[0], clip: f.clip[0], grad: pgLossBackwardRef(x, 1, { ...OPTS, ...o })[0] };
}

describe('pgLoss reference, hand-computed', () => {
  it('inside the clip range: pg = −A·r, gradient −A·r/N', () => {
    const t = fwd(token(1.1, 2), { klCoef: 0 });
    expect(t.loss).toBeCloseTo(-2.2 / 4, 14);
    expect(t.grad).toBeCloseTo(-2.2 / 4, 14);
    expect(t.clip).toBe(0);
  });

  it('above 1+eps_high with A > 0: clipped, no gradient, flag +1', () => {
    const t = fwd(token(2, 1), { klCoef: 0 });
    expect(t.loss).toBeCloseTo(-1.28 / 4, 14);
    expect([t.grad, t.clip]).toEqual([0, 1]);
  });

  it('above 1+eps_high with A < 0: unclipped', () => {
    const t = fwd(token(2, -1), { klCoef: 0 });
    expect(t.loss).toBeCloseTo(2 / 4, 14);
    expect(t.grad).toBeCloseTo(2 / 4, 14);
    expect(t.clip).toBe(0);
  });

  it('below 1−eps_low: clipped with A < 0 (flag −1), unclipped with A > 0', () => {
    const neg = fwd(token(0.5, -1), { klCoef: 0 });
    expect(neg.loss).toBeCloseTo(0.8 / 4, 14);
    expect([neg.grad, neg.clip]).toEqual([0, -1]);
    const pos = fwd(token(0.5, 1), { klCoef: 0 });
    expect(pos.loss).toBeCloseTo(-0.5 / 4, 14);
    expect(pos.grad).toBeCloseTo(-0.5 / 4, 14);
    expect(pos.clip).toBe(0);
  });

  it('dual clip caps −A·r at −A·c for A < 0 (flag +1), and is off with c = 0', () => {
    const on = fwd(token(5, -1), { klCoef: 0 });
    expect(on.loss).toBeCloseTo(3 / 4, 14);
    expect([on.grad, on.clip]).toEqual([0, 1]);
    const off = fwd(token(5, -1), { klCoef: 0, dualClip: 0 });
    expect(off.loss).toBeCloseTo(5 / 4, 14);
    expect(off.grad).toBeCloseTo(5 / 4, 14);
    expect(off.clip).toBe(0);
  });

  it('A = 0 gives no policy term', () => {
    const t = fwd(token(5, 0), { klCoef: 0 });
    expect(t.loss === 0 && t.grad === 0 && t.clip === 0).toBe(true);
  });

  it('k3 KL: exp(d) − d − 1, gradient 1 − exp(d), clamped at 10 with no gradient', () => {
    const t = fwd(token(1, 0, Math.LN2));
    expect(t.kl).toBeCloseTo(1 - Math.LN2, 14);
    expect(t.loss).toBeCloseTo((0.1 * (1 - Math.LN2)) / 4, 14);
    expect(t.grad).toBeCloseTo((0.1 * (1 - 2)) / 4, 14);
    const c = fwd(token(1, 0, 5));
    expect([c.kl, c.grad]).toEqual([KL_CLAMP, 0]);
    expect(c.loss).toBeCloseTo((0.1 * KL_CLAMP) / 4, 14);
    const tiny = fwd(token(1, 0, 1e-4));
    // d²/2 + d³/6 + O(d⁴): no cancellation in the reference either.
    expect(Math.abs(tiny.kl / (1e-8 / 2 + 1e-12 / 6) - 1)).toBeLessThan(1e-9);
    // Without a reference policy the KL is identically 0.
    const none = pgLossForwardRef({ ...token(1.1, 1, 3), logpRef: null }, 1, OPTS);
    expect(none.kl[0]).toBe(0);
  });

  it('mask 0 gives zeros even for overflowing inputs; mask weights scale linearly', () => {
    const g: PgRefInputs = { logp: [60], logpOld: [-60], logpRef: [-80], adv: [-1], mask: [0] };
    const t = fwd(g);
    expect([t.loss, t.kl, t.clip, t.grad]).toEqual([0, 0, 0, 0]);
    const half = fwd(token(1.1, 2, 0.3, 0.5));
    const full = fwd(token(1.1, 2, 0.3, 1));
    expect(half.loss).toBeCloseTo(full.loss / 2, 14);
    expect(half.grad).toBeCloseTo(full.grad / 2, 14);
  });
});

describe('pgCase generator', () => {
  it('covers every clip outcome, advantage sign and KL clamp', () => {
    const rand = rng(5);
    const c = pgCase(400, rand, OPTS);
    const f = pgLossForwardRef(c, 400, { ...OPTS, nTokens: c.nTokens });
    const count = (p: (i: number) => boolean): number => Array.from({ length: 400 }, (_, i) => i).filter(p).length;
    const live = (i: number): boolean => c.mask[i] !== 0;
    expect(count((i) => live(i) && f.clip[i] === 1 && c.adv[i] > 0)).toBeGreaterThan(5);
    expect(count((i) => live(i) && f.clip[i] === 1 && c.adv[i] < 0)).toBeGreaterThan(5);
    expect(count((i) => live(i) && f.clip[i] === -1)).toBeGreaterThan(5);
    expect(count((i) => live(i) && f.clip[i] === 0 && c.adv[i] !== 0)).toBeGreaterThan(5);
    expect(count((i) => live(i) && c.adv[i] === 0)).toBeGreaterThan(5);
    expect(count((i) => live(i) && f.kl[i] === KL_CLAMP)).toBeGreaterThan(5);
    expect(count((i) => live(i) && f.kl[i] < 0.2)).toBeGreaterThan(5);
    expect(count((i) => !live(i) && c.logp[i] === 60)).toBeGreaterThan(5);
    expect(c.nTokens).toBe(count(live));
  });
});

describe('backward references agree with central differences', () => {
  it.each([
    ['dual clip and KL', { dualClip: 3, klCoef: 0.1 }, false],
    ['no dual clip, large KL weight', { dualClip: 0, klCoef: 2 }, false],
    ['no KL', { dualClip: 2, klCoef: 0 }, false],
    ['no reference policy', { dualClip: 3, klCoef: 0.1 }, true],
  ] as const)('pg loss: %s', (_name, o, noRef) => {
    const rand = rng(17);
    const R = 60;
    const c = pgCase(R, rand, { ...OPTS, ...o });
    const opts = { ...OPTS, ...o, nTokens: c.nTokens };
    const at = (lp: ArrayLike<number>): PgRefInputs => ({ ...c, logp: lp, logpRef: noRef ? null : c.logpRef });
    const loss = (lp: Float64Array): number => pgLossForwardRef(at(lp), R, opts).loss.reduce((s, v) => s + v, 0);
    const logp = Float64Array.from(c.logp);
    const err = relL2(pgLossBackwardRef(at(logp), R, opts), numericalGradient(loss, logp));
    expect(err, `relative error ${err}`).toBeLessThanOrEqual(FD_TOL);
  });

  it('ce loss', () => {
    const rand = rng(3);
    const R = 20;
    const logp = Float64Array.from({ length: R }, () => -5 * rand());
    const mask = Float64Array.from({ length: R }, () => (rand() < 0.3 ? 0 : rand() < 0.5 ? 1 : 0.5));
    const loss = (x: Float64Array): number => ceLossForwardRef(x, mask, R, 13).reduce((s, v) => s + v, 0);
    const err = relL2(ceLossBackwardRef(mask, R, 13), numericalGradient(loss, logp));
    expect(err, `relative error ${err}`).toBeLessThanOrEqual(FD_TOL);
    expect([...ceLossForwardRef([-2, -3], [1, 0], 2, 1)]).toEqual([2, 0]);
    expect([...ceLossBackwardRef([1, 0, 0.5], 3, 2)]).toEqual([-0.5, 0, -0.25]);
  });
});
