/** Float64 reference for shaders/reduce.wgsl (IEEE semantics for NaN and ±Inf, as the kernels promise). */

/** The added term in clip_coef = min(1, max_norm / (norm + CLIP_EPS)), as in PyTorch. */
export const CLIP_EPS_REF = 1e-6;

export function sumRef(x: ArrayLike<number>, offset = 0, n = x.length - offset): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[offset + i];
  return s;
}

export function sumsqRef(x: ArrayLike<number>, offset = 0, n = x.length - offset): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[offset + i] * x[offset + i];
  return s;
}

/** d(Σ x²)/dx = 2x, the backward of the sum of squares. */
export function sumsqGradRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v) => 2 * v);
}

/** The partials of sum_partial / sumsq_partial: one sum per chunk of `chunk` elements. */
export function chunkSumsRef(x: ArrayLike<number>, offset: number, n: number, chunk: number, square: boolean): Float64Array {
  const out = new Float64Array(Math.ceil(n / chunk));
  for (let w = 0; w < out.length; w++) {
    const len = Math.min(chunk, n - w * chunk);
    out[w] = square ? sumsqRef(x, offset + w * chunk, len) : sumRef(x, offset + w * chunk, len);
  }
  return out;
}

/** [norm, clip coefficient] from a total sum of squares; coefficient NaN when the norm is not finite. */
export function normAndCoefRef(sumsq: number, maxNorm: number): [number, number] {
  const norm = Math.sqrt(sumsq);
  if (!Number.isFinite(norm)) return [norm, NaN];
  return [norm, maxNorm > 0 ? Math.min(1, maxNorm / (norm + CLIP_EPS_REF)) : 1];
}

/** The global norm over several segments (each given as its values) and its clip coefficient. */
export function gradNormRef(segments: ReadonlyArray<ArrayLike<number>>, maxNorm: number): [number, number] {
  let total = 0;
  for (const s of segments) total += sumsqRef(s);
  return normAndCoefRef(total, maxNorm);
}

/** x with [offset, offset + n) multiplied by coef; unchanged when coef is not finite. */
export function scaleByCoefRef(x: ArrayLike<number>, offset: number, n: number, coef: number): Float64Array {
  const out = Float64Array.from(x as ArrayLike<number>);
  if (!Number.isFinite(coef)) return out;
  for (let i = offset; i < offset + n; i++) out[i] *= coef;
  return out;
}
