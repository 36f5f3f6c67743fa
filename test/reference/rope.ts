/** Float64 reference for shaders/rope.wgsl (Hugging Face Llama "rotate_half" convention). */

/** The rotation angle of pair i at position pos; formed from the definition, independent of ropeTables. */
export function ropeAngle(pos: number, i: number, headDim: number, theta: number): number {
  return pos * Math.pow(theta, (-2 * i) / headDim);
}

/**
 * y = rope(x) for x [rows, nHeads, headDim], row r at positions[r]; `inverse` rotates by the
 * negated angle, which is the backward pass (the rotation is orthogonal).
 */
export function ropeRef(
  x: ArrayLike<number>,
  positions: ArrayLike<number>,
  rows: number,
  nHeads: number,
  headDim: number,
  theta = 10000,
  inverse = false,
): Float64Array {
  if (headDim % 2 !== 0) throw new Error(`ropeRef: odd head size ${headDim}`);
  const half = headDim / 2;
  const y = new Float64Array(rows * nHeads * headDim);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < nHeads; h++) {
      const base = (r * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = ropeAngle(positions[r], i, headDim, theta);
        const c = Math.cos(angle);
        const s = inverse ? -Math.sin(angle) : Math.sin(angle);
        const a = x[base + i];
        const b = x[base + i + half];
        y[base + i] = a * c - b * s;
        y[base + i + half] = b * c + a * s;
      }
    }
  }
  return y;
}

/** dx from dy: the gradient of ropeRef with respect to x. */
export function ropeBackwardRef(
  dy: ArrayLike<number>,
  positions: ArrayLike<number>,
  rows: number,
  nHeads: number,
  headDim: number,
  theta = 10000,
): Float64Array {
  return ropeRef(dy, positions, rows, nHeads, headDim, theta, true);
}
