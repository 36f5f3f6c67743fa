/** Float64 reference for shaders/swiglu.wgsl: h = silu(gate) ⊙ up, silu(g) = g · σ(g). */

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

export function swigluForwardRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  if (gate.length !== up.length) throw new Error(`swigluForwardRef: lengths ${gate.length} and ${up.length}`);
  const h = new Float64Array(gate.length);
  for (let i = 0; i < h.length; i++) h[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return h;
}

/** dgate = dh ⊙ up ⊙ σ(g)·(1 + g·(1 − σ(g))), dup = dh ⊙ silu(g). */
export function swigluBackwardRef(
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  dh: ArrayLike<number>,
): { dgate: Float64Array; dup: Float64Array } {
  const n = gate.length;
  if (up.length !== n || dh.length !== n) throw new Error(`swigluBackwardRef: lengths ${n}, ${up.length}, ${dh.length}`);
  const dgate = new Float64Array(n);
  const dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dgate[i] = dh[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] = dh[i] * g * s;
  }
  return { dgate, dup };
}
