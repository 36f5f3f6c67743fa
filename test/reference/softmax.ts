/** Float64 reference for shaders/softmax.wgsl. */

/** y = softmax(x) over the last axis of row-major [rows, cols], with the row max subtracted first. */
export function softmaxRef(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[base + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[base + j] - m);
      y[base + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) y[base + j] /= s;
  }
  return y;
}

/** dx = y ⊙ (dy − Σ_row dy⊙y): the gradient of Σ dy·softmax(x) with respect to x, given y = softmax(x). */
export function softmaxBackwardRef(y: ArrayLike<number>, dy: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let d = 0;
    for (let j = 0; j < cols; j++) d += dy[base + j] * y[base + j];
    for (let j = 0; j < cols; j++) dx[base + j] = y[base + j] * (dy[base + j] - d);
  }
  return dx;
}
