/**
 * Float64 reference for shaders/rmsnorm.wgsl, Hugging Face Llama RMSNorm on rows of D:
 * y = w ⊙ x · rstd, rstd = 1 / sqrt(mean(x²) + eps).
 */

export function rmsnormForwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  dim: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * dim);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += x[r * dim + d] ** 2;
    const s = 1 / Math.sqrt(ss / dim + eps);
    rstd[r] = s;
    for (let d = 0; d < dim; d++) y[r * dim + d] = w[d] * x[r * dim + d] * s;
  }
  return { y, rstd };
}

/**
 * dx_j = rstd · (w_j·dy_j − x_j · rstd² · mean_i(w_i·dy_i·x_i)), using the given rstd (as the
 * kernel does); plus `dx0` when accumulating.
 */
export function rmsnormBackwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  dim: number,
  dx0?: ArrayLike<number>,
): Float64Array {
  const dx = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const s = rstd[r];
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += w[d] * dy[r * dim + d] * x[r * dim + d];
    const c = (s * s * dot) / dim;
    for (let d = 0; d < dim; d++) {
      const i = r * dim + d;
      dx[i] = s * (w[d] * dy[i] - x[i] * c) + (dx0 !== undefined ? dx0[i] : 0);
    }
  }
  return dx;
}

/** dw_d = Σ_r dy[r,d] · x[r,d] · rstd[r]; plus `dw0` when accumulating. */
export function rmsnormBackwardWeightRef(
  x: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  dim: number,
  dw0?: ArrayLike<number>,
): Float64Array {
  const dw = new Float64Array(dim);
  if (dw0 !== undefined) for (let d = 0; d < dim; d++) dw[d] = dw0[d];
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dim; d++) dw[d] += dy[r * dim + d] * x[r * dim + d] * rstd[r];
  }
  return dw;
}
