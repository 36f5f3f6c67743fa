/**
 * Float64 reference for shaders/attention.wgsl: causal grouped-query attention computed the
 * plain way (full softmax per query row), its backward from the softmax Jacobian, and the KV
 * cache write and decode.
 */

import type { AttentionShape } from '../../src/gpu/ops/attention';

/** The reference takes the same shape description as the kernels' wrapper. */
export type AttentionRefShape = AttentionShape;

export interface CacheRefShape {
  seqs: number;
  nKvHeads: number;
  maxT: number;
  headDim: number;
}

function scaleOf(s: { headDim: number; scale?: number }): number {
  return s.scale ?? 1 / Math.sqrt(s.headDim);
}

/** Softmax weights of query (b, h, t) over keys 0..t, with the log-sum-exp of the scores. */
function rowSoftmax(q: ArrayLike<number>, k: ArrayLike<number>, s: AttentionRefShape, b: number, h: number, t: number): { p: Float64Array; lse: number } {
  const { seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd } = s;
  const kvh = Math.floor(h / (H / KVH));
  const qAt = (b * T + t) * H * hd + h * hd;
  const scores = new Float64Array(t + 1);
  let max = -Infinity;
  for (let j = 0; j <= t; j++) {
    const kAt = (b * T + j) * KVH * hd + kvh * hd;
    let dot = 0;
    for (let d = 0; d < hd; d++) dot += q[qAt + d] * k[kAt + d];
    scores[j] = scaleOf(s) * dot;
    max = Math.max(max, scores[j]);
  }
  let sum = 0;
  for (let j = 0; j <= t; j++) sum += Math.exp(scores[j] - max);
  const p = scores.map((x) => Math.exp(x - max) / sum);
  return { p, lse: max + Math.log(sum) };
}

/** o [B·T, H·hd] and lse [B, H, T]. */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, s: AttentionRefShape): { o: Float64Array; lse: Float64Array } {
  const { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd } = s;
  const o = new Float64Array(B * T * H * hd);
  const lse = new Float64Array(B * H * T);
  const kvh = (h: number) => Math.floor(h / (H / KVH));
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const { p, lse: l } = rowSoftmax(q, k, s, b, h, t);
        lse[(b * H + h) * T + t] = l;
        const oAt = (b * T + t) * H * hd + h * hd;
        for (let j = 0; j <= t; j++) {
          const vAt = (b * T + j) * KVH * hd + kvh(h) * hd;
          for (let d = 0; d < hd; d++) o[oAt + d] += p[j] * v[vAt + d];
        }
      }
    }
  }
  return { o, lse };
}

/**
 * Gradients of L = Σ dO·o: with P the softmax weights, dv_j = Σ_t P_tj dO_t,
 * dP_tj = dO_t·v_j, dS_tj = P_tj (dP_tj − Σ_i P_ti dP_ti), dq_t = scale Σ_j dS_tj k_j,
 * dk_j = scale Σ_t dS_tj q_t (sums over t also run over the query heads sharing the kv head).
 */
export function attentionBackwardRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dO: ArrayLike<number>,
  s: AttentionRefShape,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd } = s;
  const scale = scaleOf(s);
  const dq = new Float64Array(B * T * H * hd);
  const dk = new Float64Array(B * T * KVH * hd);
  const dv = new Float64Array(B * T * KVH * hd);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / KVH));
      for (let t = 0; t < T; t++) {
        const { p } = rowSoftmax(q, k, s, b, h, t);
        const qAt = (b * T + t) * H * hd + h * hd;
        const dp = new Float64Array(t + 1);
        let rowTerm = 0;
        for (let j = 0; j <= t; j++) {
          const vAt = (b * T + j) * KVH * hd + kvh * hd;
          for (let d = 0; d < hd; d++) dp[j] += dO[qAt + d] * v[vAt + d];
          rowTerm += p[j] * dp[j];
        }
        for (let j = 0; j <= t; j++) {
          const kvAt = (b * T + j) * KVH * hd + kvh * hd;
          const ds = p[j] * (dp[j] - rowTerm);
          for (let d = 0; d < hd; d++) {
            dq[qAt + d] += scale * ds * k[kvAt + d];
            dk[kvAt + d] += scale * ds * q[qAt + d];
            dv[kvAt + d] += p[j] * dO[qAt + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** Copies of the caches [S, KVH, maxT, hd] after writing rows of k, v at (seq[r], pos[r]). */
export function kvCacheWriteRef(
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  seq: ArrayLike<number>,
  pos: ArrayLike<number>,
  rows: number,
  c: CacheRefShape,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
): { kCache: Float64Array; vCache: Float64Array } {
  const { seqs: S, nKvHeads: KVH, maxT, headDim: hd } = c;
  const kc = Float64Array.from(kCache);
  const vc = Float64Array.from(vCache);
  for (let r = 0; r < rows; r++) {
    if (seq[r] >= S || pos[r] >= maxT) continue;
    for (let g = 0; g < KVH; g++) {
      for (let d = 0; d < hd; d++) {
        const dst = ((seq[r] * KVH + g) * maxT + pos[r]) * hd + d;
        kc[dst] = k[(r * KVH + g) * hd + d];
        vc[dst] = v[(r * KVH + g) * hd + d];
      }
    }
  }
  return { kCache: kc, vCache: vc };
}

/** o [S, H·hd] for one query per sequence over cache positions 0..len[s]−1 (NaN when len is 0 or > maxT). */
export function attentionDecodeRef(
  q: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  len: ArrayLike<number>,
  c: CacheRefShape & { nHeads: number; scale?: number },
): Float64Array {
  const { seqs: S, nHeads: H, nKvHeads: KVH, maxT, headDim: hd } = c;
  const scale = scaleOf(c);
  const o = new Float64Array(S * H * hd);
  for (let s = 0; s < S; s++) {
    for (let h = 0; h < H; h++) {
      const qAt = (s * H + h) * hd;
      const L = len[s];
      if (L === 0 || L > maxT) {
        o.fill(NaN, qAt, qAt + hd);
        continue;
      }
      const base = (s * KVH + Math.floor(h / (H / KVH))) * maxT * hd;
      const scores = new Float64Array(L);
      for (let j = 0; j < L; j++) {
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += q[qAt + d] * kCache[base + j * hd + d];
        scores[j] = scale * dot;
      }
      const max = Math.max(...scores);
      let sum = 0;
      for (let j = 0; j < L; j++) sum += Math.exp(scores[j] - max);
      for (let j = 0; j < L; j++) {
        const w = Math.exp(scores[j] - max) / sum;
        for (let d = 0; d < hd; d++) o[qAt + d] += w * vCache[base + j * hd + d];
      }
    }
  }
  return o;
}
