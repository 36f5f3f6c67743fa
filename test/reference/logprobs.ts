/** Float64 reference for shaders/logprobs.wgsl. */

export interface LogprobsRef {
  logp: Float64Array;
  entropy: Float64Array;
  lse: Float64Array;
}

/**
 * logp = log softmax(z)[target], entropy of softmax(z) and logsumexp(z), z = logits/τ per row.
 * Formed as the kernel does, around the row maximum m with log1p of the other terms' sum, so
 * that rows with one near-certain token keep their tiny logp and entropy in float64 too.
 */
export function logprobsForwardRef(logits: ArrayLike<number>, targets: ArrayLike<number>, R: number, V: number, temperature = 1): LogprobsRef {
  const out: LogprobsRef = { logp: new Float64Array(R), entropy: new Float64Array(R), lse: new Float64Array(R) };
  const lp = logProbRows(logits, R, V, temperature, out.lse);
  for (let r = 0; r < R; r++) {
    let h = 0;
    for (let j = 0; j < V; j++) h -= Math.exp(lp[r * V + j]) * lp[r * V + j];
    out.logp[r] = lp[r * V + targets[r]];
    out.entropy[r] = h;
  }
  return out;
}

/** All log-probabilities [R, V]; writes each row's logsumexp into lse. */
function logProbRows(logits: ArrayLike<number>, R: number, V: number, temperature: number, lse: Float64Array): Float64Array {
  const lp = new Float64Array(R * V);
  for (let r = 0; r < R; r++) {
    let arg = 0;
    for (let j = 1; j < V; j++) if (logits[r * V + j] > logits[r * V + arg]) arg = j;
    const m = logits[r * V + arg] / temperature;
    let u = 0;
    for (let j = 0; j < V; j++) if (j !== arg) u += Math.exp(logits[r * V + j] / temperature - m);
    const l1 = Math.log1p(u);
    lse[r] = m + l1;
    for (let j = 0; j < V; j++) lp[r * V + j] = logits[r * V + j] / temperature - m - l1;
  }
  return lp;
}

/**
 * dlogits = ∂(Σ_r dlogp_r·logp_r + dentropy_r·H_r)/∂logits, from the logits alone (the forward
 * quantities are recomputed in float64). dentropy null means no entropy term.
 */
export function logprobsBackwardRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  R: number,
  V: number,
  temperature: number,
  dlogp: ArrayLike<number>,
  dentropy: ArrayLike<number> | null,
): Float64Array {
  const lse = new Float64Array(R);
  const lp = logProbRows(logits, R, V, temperature, lse);
  const out = new Float64Array(R * V);
  for (let r = 0; r < R; r++) {
    const g = dlogp[r];
    const dh = dentropy === null ? 0 : dentropy[r];
    let h = 0;
    for (let j = 0; j < V; j++) h -= Math.exp(lp[r * V + j]) * lp[r * V + j];
    for (let j = 0; j < V; j++) {
      const l = lp[r * V + j];
      const p = Math.exp(l);
      // dlogp/dz_j = δ_jt − p_j (1 − p_t as −expm1 for a near-certain target);
      // dH/dz_j = −p_j (log p_j + H);  dz/dlogit = 1/τ.
      const dlp = j === targets[r] ? -Math.expm1(l) : -p;
      out[r * V + j] = (g * dlp - dh * p * (l + h)) / temperature;
    }
  }
  return out;
}
