/**
 * Float64 reference for shaders/losses.wgsl, and a generator of PPO test inputs whose ratios
 * and KL values lie in chosen regimes, each kept clear of the kinks of the loss.
 */

export interface PgRefOptions {
  epsLow: number;
  epsHigh: number;
  /** 0 = off, else > 1. */
  dualClip: number;
  klCoef: number;
  nTokens: number;
}

export interface PgRefInputs {
  logp: ArrayLike<number>;
  logpOld: ArrayLike<number>;
  /** null: no reference policy, the KL is 0. */
  logpRef: ArrayLike<number> | null;
  adv: ArrayLike<number>;
  mask: ArrayLike<number>;
}

export const KL_CLAMP = 10;

interface PgTerms {
  pg: number;
  dpg: number;
  kl: number;
  dkl: number;
  clip: number;
}

/** Unmasked, unscaled terms of one token and their derivatives in logp, branch by branch. */
function pgTerms(lp: number, old: number, ref: number, a: number, o: PgRefOptions): PgTerms {
  const ratio = Math.exp(lp - old);
  const lo = 1 - o.epsLow;
  const hi = 1 + o.epsHigh;
  const pg1 = -a * ratio;
  const pg2 = -a * Math.min(Math.max(ratio, lo), hi);
  let pg = pg1;
  let dpg = -a * ratio;
  let clip = 0;
  if (pg2 > pg1) {
    // The clipped branch wins; it is constant in logp.
    pg = pg2;
    dpg = 0;
    clip = ratio > 1 ? 1 : -1;
  }
  if (a < 0 && o.dualClip > 1 && pg > -a * o.dualClip) {
    pg = -a * o.dualClip;
    dpg = 0;
    clip = 1;
  }
  const d = ref - lp;
  let kl = Math.expm1(d) - d;
  let dkl = -Math.expm1(d);
  if (Math.abs(kl) > KL_CLAMP) {
    kl = Math.sign(kl) * KL_CLAMP;
    dkl = 0;
  }
  return { pg, dpg, kl, dkl, clip };
}

export interface PgRefOutputs {
  loss: Float64Array;
  kl: Float64Array;
  clip: Float64Array;
}

export function pgLossForwardRef(x: PgRefInputs, R: number, o: PgRefOptions): PgRefOutputs {
  const out: PgRefOutputs = { loss: new Float64Array(R), kl: new Float64Array(R), clip: new Float64Array(R) };
  for (let i = 0; i < R; i++) {
    const m = x.mask[i];
    if (m === 0) continue;
    const t = pgTerms(x.logp[i], x.logpOld[i], x.logpRef === null ? x.logp[i] : x.logpRef[i], x.adv[i], o);
    out.loss[i] = (m * (t.pg + o.klCoef * t.kl)) / o.nTokens;
    out.kl[i] = m * t.kl;
    out.clip[i] = t.clip;
  }
  return out;
}

/** ∂(Σ loss)/∂logp. */
export function pgLossBackwardRef(x: PgRefInputs, R: number, o: PgRefOptions): Float64Array {
  const out = new Float64Array(R);
  for (let i = 0; i < R; i++) {
    const m = x.mask[i];
    if (m === 0) continue;
    const t = pgTerms(x.logp[i], x.logpOld[i], x.logpRef === null ? x.logp[i] : x.logpRef[i], x.adv[i], o);
    out[i] = (m * (t.dpg + o.klCoef * t.dkl)) / o.nTokens;
  }
  return out;
}

export function ceLossForwardRef(logp: ArrayLike<number>, mask: ArrayLike<number>, R: number, nTokens: number): Float64Array {
  const out = new Float64Array(R);
  for (let i = 0; i < R; i++) if (mask[i] !== 0) out[i] = (-mask[i] * logp[i]) / nTokens;
  return out;
}

export function ceLossBackwardRef(mask: ArrayLike<number>, R: number, nTokens: number): Float64Array {
  const out = new Float64Array(R);
  for (let i = 0; i < R; i++) if (mask[i] !== 0) out[i] = -mask[i] / nTokens;
  return out;
}

// ---- test inputs --------------------------------------------------------------------------------

/** Where a token's ratio r = exp(logp − logp_old) lies relative to the clip range and dual clip. */
export type RatioRegime = 'inside' | 'high' | 'low' | 'beyondDual';
/** Where the KL estimate lies: the series range near 0, moderate, or clamped at 10 from d > 0 / d < 0. */
export type KlRegime = 'small' | 'moderate' | 'clampHigh' | 'clampLow';

export const RATIO_REGIMES: readonly RatioRegime[] = ['inside', 'high', 'low', 'beyondDual'];
export const KL_REGIMES: readonly KlRegime[] = ['small', 'moderate', 'clampHigh', 'clampLow'];

export interface PgCase {
  logp: Float32Array;
  logpOld: Float32Array;
  logpRef: Float32Array;
  adv: Float32Array;
  mask: Float32Array;
  /** Number of tokens with mask ≠ 0. */
  nTokens: number;
}

export interface PgCaseOptions {
  epsLow: number;
  epsHigh: number;
  dualClip: number;
  /** Relative distance every ratio keeps from 1−epsLow, 1+epsHigh and dualClip, and the KL from 10. */
  margin?: number;
  /** Fraction of tokens with mask 0; without fixed logp, half of those hold values that overflow exp. */
  maskedFraction?: number;
  ratioRegimes?: readonly RatioRegime[];
  klRegimes?: readonly KlRegime[];
  /** Fixed logp per token (the GPU chain test uses the logits' own log-probs); else random. */
  logp?: ArrayLike<number>;
}

function pick<T>(xs: readonly T[], rand: () => number): T {
  return xs[Math.min(xs.length - 1, Math.floor(rand() * xs.length))];
}

function between(rand: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rand();
}

/**
 * Inputs with every ratio regime, positive / negative / zero advantages and every KL regime,
 * mixed over the tokens. Values are float32, and the margins are checked on the float32 values
 * so that float32 rounding on the GPU cannot move a token to the other side of a kink.
 */
export function pgCase(R: number, rand: () => number, o: PgCaseOptions): PgCase {
  const margin = o.margin ?? 1e-3;
  const lo = 1 - o.epsLow;
  const hi = 1 + o.epsHigh;
  // epsLow >= 1 (PipelineRL's epsilon 4): no ratio reaches the lower bound, so "low" and the
  // bottom of "inside" start just above 0 instead.
  const bottom = lo > 0 ? lo : 0.05;
  const dualTop = o.dualClip > 1 ? o.dualClip : hi + 1.5;
  const c: PgCase = {
    logp: new Float32Array(R),
    logpOld: new Float32Array(R),
    logpRef: new Float32Array(R),
    adv: new Float32Array(R),
    mask: new Float32Array(R),
    nTokens: 0,
  };
  const f32 = Math.fround;
  const clear = (v: number, kink: number): boolean => Math.abs(v - kink) > margin * kink;
  for (let i = 0; i < R; i++) {
    const masked = rand() < (o.maskedFraction ?? 0.15);
    if (masked && o.logp === undefined && rand() < 0.5) {
      // Garbage a pad position may hold: exp(logp − logp_old) overflows float32.
      c.logp[i] = 60;
      c.logpOld[i] = -60;
      c.logpRef[i] = -80;
      c.adv[i] = -1;
      continue;
    }
    c.mask[i] = masked ? 0 : 1;
    if (!masked) c.nTokens++;
    const sign = pick([1, -1, 1, -1, 0], rand);
    c.adv[i] = f32(sign * between(rand, 0.2, 2));
    for (;;) {
      const lp = f32(o.logp !== undefined ? o.logp[i] : between(rand, -6, -0.05));
      let r: number;
      switch (pick(o.ratioRegimes ?? RATIO_REGIMES, rand)) {
        case 'inside':
          r = between(rand, bottom, hi);
          break;
        case 'high':
          r = between(rand, hi, dualTop);
          break;
        case 'low':
          r = lo > 0 ? between(rand, 0.3 * lo, lo) : between(rand, bottom, hi);
          break;
        case 'beyondDual':
          r = between(rand, dualTop, dualTop + 3);
          break;
      }
      let d: number;
      switch (pick(o.klRegimes ?? KL_REGIMES, rand)) {
        case 'small':
          d = between(rand, -0.5, 0.5);
          break;
        case 'moderate':
          d = between(rand, -4, 2);
          break;
        case 'clampHigh':
          d = between(rand, 2.5, 4);
          break;
        case 'clampLow':
          d = between(rand, -14, -11.5);
          break;
      }
      const old = f32(lp - Math.log(r));
      const ref = f32(lp + d);
      const r32 = Math.exp(lp - old);
      const d32 = ref - lp;
      const kl = Math.expm1(d32) - d32;
      if (!clear(r32, lo) || !clear(r32, hi) || (o.dualClip > 1 && !clear(r32, o.dualClip)) || !clear(kl, KL_CLAMP)) continue;
      c.logp[i] = lp;
      c.logpOld[i] = old;
      c.logpRef[i] = ref;
      break;
    }
  }
  return c;
}
