/**
 * Float64 reference for shaders/sampling.wgsl, plus the chi-square statistics the sampling tests
 * use. The uniforms come from the CPU twin of the GPU generator (src/gpu/rng.ts), so given the
 * same (seed, row, step) the reference draws with the very same u as the kernel.
 */
import { samplingUniform } from '../../src/gpu/rng';

export interface SampleRefOptions {
  /** 0 = greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
}

export interface KeptDistribution {
  /** kept[j] = 1 when token j survives top-k and top-p. */
  kept: Uint8Array;
  /** Sampling distribution: the renormalised softmax(x / T) over the kept tokens, 0 elsewhere. */
  probs: Float64Array;
  /** log softmax(x / T) over the FULL row (T = 1 when greedy). */
  logSoftmax: Float64Array;
  /** Unnormalised weights exp(z − max z) of the kept tokens (0 elsewhere), in index order. */
  weights: Float64Array;
  /**
   * Smallest distance |cumulative kept mass / top-k mass − topP| over the candidate top-p sets:
   * when it is tiny, float32 rounding may decide the top-p set differently. Infinity when top-p is off.
   */
  topPMargin: number;
}

export interface SampleRowResult {
  token: number;
  logprob: number;
  u: number;
  /** Distance of u from the nearest boundary of the kept-token CDF (as a fraction of the kept mass). */
  cdfMargin: number;
  /** The kept token on the other side of the nearest CDF boundary (the draw a float32 sum could round to). */
  neighbour: number;
}

/** Greedy argmax, lowest index on ties. */
export function argmaxRef(x: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < x.length; j++) if (x[j] > x[best]) best = j;
  return best;
}

/** The kept set and sampling distribution of one row, following the kernel's definitions. */
export function keptDistributionRef(x: ArrayLike<number>, o: SampleRefOptions): KeptDistribution {
  const V = x.length;
  const t = o.temperature === 0 ? 1 : o.temperature;
  const z = Float64Array.from(x, (v) => v / t);
  let zmax = -Infinity;
  for (const v of z) zmax = Math.max(zmax, v);
  let full = 0;
  for (const v of z) full += Math.exp(v - zmax);
  const logSoftmax = z.map((v) => v - zmax - Math.log(full));
  const kept = new Uint8Array(V);
  const weights = new Float64Array(V);
  const probs = new Float64Array(V);
  let topPMargin = Infinity;
  if (o.temperature === 0) {
    const a = argmaxRef(x);
    kept[a] = 1;
    weights[a] = 1;
    probs[a] = 1;
    return { kept, probs, logSoftmax, weights, topPMargin };
  }
  // Top-k compares raw logits: dividing by T > 0 preserves the order exactly.
  const k = o.topK ?? 0;
  const sorted = Float64Array.from(x).sort((a, b) => b - a);
  const kth = k > 0 && k < V ? sorted[k - 1] : -Infinity;
  for (let j = 0; j < V; j++) kept[j] = x[j] >= kth ? 1 : 0;
  const p = o.topP ?? 1;
  if (p < 1) {
    let topKMass = 0;
    for (let j = 0; j < V; j++) if (kept[j]) topKMass += Math.exp(z[j] - zmax);
    // Distinct kept values, highest first; each group (ties) enters the set as a whole.
    const values = [...new Set(Array.from(x).filter((_, j) => kept[j] === 1))].sort((a, b) => b - a);
    let cum = 0;
    let cut = values[values.length - 1];
    for (const v of values) {
      for (let j = 0; j < V; j++) if (kept[j] && x[j] === v) cum += Math.exp(z[j] - zmax);
      topPMargin = Math.min(topPMargin, Math.abs(cum / topKMass - p));
      if (cum >= p * topKMass) {
        cut = v;
        break;
      }
    }
    for (let j = 0; j < V; j++) if (x[j] < cut) kept[j] = 0;
  }
  let mass = 0;
  for (let j = 0; j < V; j++) {
    if (kept[j]) {
      weights[j] = Math.exp(z[j] - zmax);
      mass += weights[j];
    }
  }
  for (let j = 0; j < V; j++) probs[j] = weights[j] / mass;
  return { kept, probs, logSoftmax, weights, topPMargin };
}

/** One row's draw for a given uniform u: the first kept index whose running mass exceeds u · mass. */
export function sampleRowRef(x: ArrayLike<number>, o: SampleRefOptions, u: number): SampleRowResult {
  const d = keptDistributionRef(x, o);
  // Kept tokens of positive weight in index order, and the running mass after each.
  const js: number[] = [];
  const cs: number[] = [];
  let cum = 0;
  for (let j = 0; j < x.length; j++) {
    if (d.kept[j] && d.weights[j] > 0) {
      cum += d.weights[j];
      js.push(j);
      cs.push(cum);
    }
  }
  const mass = cum;
  const target = u * mass;
  let pick = cs.findIndex((c) => c > target);
  if (pick < 0) pick = js.length - 1;
  // Boundary i separates js[i] from js[i + 1]; the nearest one borders the picked token's interval.
  let cdfMargin = Infinity;
  let neighbour = -1;
  for (let i = 0; i + 1 < cs.length; i++) {
    const dist = Math.abs(cs[i] - target) / mass;
    if (dist < cdfMargin) {
      cdfMargin = dist;
      neighbour = i === pick ? js[i + 1] : i + 1 === pick ? js[i] : -1;
    }
  }
  const token = js[pick];
  return { token, logprob: d.logSoftmax[token], u, cdfMargin, neighbour };
}

/** Reference for `sample_tokens` over [rows, vocab] logits, with the kernel's uniforms. */
export function sampleTokensRef(
  logits: ArrayLike<number>,
  rows: number,
  vocab: number,
  o: SampleRefOptions & { seed: number; step: number },
): SampleRowResult[] {
  const out: SampleRowResult[] = [];
  for (let r = 0; r < rows; r++) {
    const x = Array.prototype.slice.call(logits, r * vocab, (r + 1) * vocab) as number[];
    out.push(sampleRowRef(x, o, o.temperature === 0 ? 0 : samplingUniform(o.seed, r, o.step)));
  }
  return out;
}

// ---- chi-square ------------------------------------------------------------------------------

/** Pearson's statistic Σ (observed − expected)² / expected over the cells with expected > 0. */
export function chiSquareStatistic(counts: ArrayLike<number>, probs: ArrayLike<number>): { stat: number; dof: number } {
  let n = 0;
  for (let j = 0; j < counts.length; j++) n += counts[j];
  let stat = 0;
  let cells = 0;
  for (let j = 0; j < counts.length; j++) {
    const e = n * probs[j];
    if (e > 0) {
      stat += ((counts[j] - e) * (counts[j] - e)) / e;
      cells++;
    } else if (counts[j] > 0) return { stat: Infinity, dof: Math.max(cells - 1, 1) };
  }
  return { stat, dof: cells - 1 };
}

function logGamma(a: number): number {
  // Lanczos approximation (g = 7, 9 terms), accurate to ~1e-15 for a > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (a < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * a)) - logGamma(1 - a);
  const x = a - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Upper regularised incomplete gamma Q(a, x) = 1 − P(a, x). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    // P by its power series.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - front * sum;
  }
  // Q by its continued fraction (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return front * h;
}

/** P(χ²_dof ≥ stat): the p-value of a chi-square statistic. */
export function chiSquarePValue(stat: number, dof: number): number {
  if (!Number.isFinite(stat)) return 0;
  return gammaQ(dof / 2, stat / 2);
}
