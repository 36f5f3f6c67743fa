/** Float64 reference for shaders/optimizer.wgsl: PyTorch's AdamW (decoupled weight decay). */

export interface AdamWRefHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWRefState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

export function adamwStateRef(p: ArrayLike<number>, m?: ArrayLike<number>, v?: ArrayLike<number>): AdamWRefState {
  return {
    p: Float64Array.from(p as ArrayLike<number>),
    m: m === undefined ? new Float64Array(p.length) : Float64Array.from(m as ArrayLike<number>),
    v: v === undefined ? new Float64Array(p.length) : Float64Array.from(v as ArrayLike<number>),
  };
}

/**
 * One step t (1-based) on [offset, offset + n), in place, with gradient coef · g[i]:
 *   p ← p − lr·wd·p;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
 *   p ← p − lr · m̂ / (√v̂ + eps),  m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t).
 * A non-finite coef leaves the state untouched (the step is skipped).
 */
export function adamwStepRef(
  s: AdamWRefState,
  g: ArrayLike<number>,
  h: AdamWRefHyper,
  t: number,
  coef = 1,
  offset = 0,
  n = s.p.length - offset,
): AdamWRefState {
  if (!Number.isFinite(coef)) return s;
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = offset; i < offset + n; i++) {
    const gi = coef * g[i];
    s.p[i] -= h.lr * h.weightDecay * s.p[i];
    s.m[i] = h.beta1 * s.m[i] + (1 - h.beta1) * gi;
    s.v[i] = h.beta2 * s.v[i] + (1 - h.beta2) * gi * gi;
    const mHat = s.m[i] / bc1;
    const vHat = s.v[i] / bc2;
    s.p[i] -= (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
  }
  return s;
}
