// The attention reference: hand cases, grouped-query heads equal repeated kv heads (HF
// repeat_kv), the backward by central differences, and the KV cache write and decode agreeing
// with the full forward.
import { describe, expect, it } from 'vitest';
import {
  attentionBackwardRef,
  attentionDecodeRef,
  attentionRef,
  kvCacheWriteRef,
  type AttentionRefShape,
} from '../reference/attention';
import { relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

describe('attentionRef', () => {
  it('returns v and the scaled score when T = 1', () => {
    const s: AttentionRefShape = { batch: 1, seqLen: 1, nHeads: 2, nKvHeads: 1, headDim: 2 };
    const { o, lse } = attentionRef([1, 2, 3, 4], [5, 6], [7, 8], s);
    expect([...o]).toEqual([7, 8, 7, 8]);
    expect(lse[0]).toBeCloseTo((1 * 5 + 2 * 6) / Math.sqrt(2), 14);
    expect(lse[1]).toBeCloseTo((3 * 5 + 4 * 6) / Math.sqrt(2), 14);
  });

  it('averages the visible values when the query is zero (causal)', () => {
    const s: AttentionRefShape = { batch: 1, seqLen: 3, nHeads: 1, nKvHeads: 1, headDim: 1 };
    const { o, lse } = attentionRef([0, 0, 0], [1, 2, 3], [10, 20, 60], s);
    expect([...o]).toEqual([10, 15, 30]);
    expect(lse[1]).toBeCloseTo(Math.log(2), 14);
    expect(lse[2]).toBeCloseTo(Math.log(3), 14);
  });

  it('weights two keys by the softmax of their scaled scores', () => {
    const s: AttentionRefShape = { batch: 1, seqLen: 2, nHeads: 1, nKvHeads: 1, headDim: 1, scale: 0.5 };
    const { o } = attentionRef([0, 2], [1, 3], [4, -2], s);
    const w0 = Math.exp(0.5 * 2 * 1) / (Math.exp(0.5 * 2 * 1) + Math.exp(0.5 * 2 * 3));
    expect(o[1]).toBeCloseTo(w0 * 4 + (1 - w0) * -2, 14);
  });

  it('with grouped kv heads equals full attention over repeated kv heads', () => {
    const rand = rng(11);
    const [B, T, H, KVH, hd] = [2, 4, 6, 2, 3];
    const q = randn64(B * T * H * hd, rand);
    const k = randn64(B * T * KVH * hd, rand);
    const v = randn64(B * T * KVH * hd, rand);
    const rep = (x: Float64Array) => {
      const out = new Float64Array(B * T * H * hd);
      for (let r = 0; r < B * T; r++) {
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < hd; d++) out[(r * H + h) * hd + d] = x[(r * KVH + Math.floor(h / (H / KVH))) * hd + d];
        }
      }
      return out;
    };
    const grouped = attentionRef(q, k, v, { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd });
    const full = attentionRef(q, rep(k), rep(v), { batch: B, seqLen: T, nHeads: H, nKvHeads: H, headDim: hd });
    expect(relL2(grouped.o, full.o)).toBeLessThanOrEqual(1e-15);
    expect(relL2(grouped.lse, full.lse)).toBeLessThanOrEqual(1e-15);
  });
});

describe('attentionBackwardRef', () => {
  const cases: AttentionRefShape[] = [
    { batch: 2, seqLen: 3, nHeads: 4, nKvHeads: 2, headDim: 3 },
    { batch: 1, seqLen: 5, nHeads: 2, nKvHeads: 2, headDim: 2, scale: 0.7 },
    { batch: 1, seqLen: 1, nHeads: 3, nKvHeads: 1, headDim: 2 },
  ];
  it.each(cases)('gives the gradients by central differences (relative error ≤ 1e-6): %o', (s) => {
    const rand = rng(12 + s.seqLen);
    const qn = s.batch * s.seqLen * s.nHeads * s.headDim;
    const kn = s.batch * s.seqLen * s.nKvHeads * s.headDim;
    const q = randn64(qn, rand);
    const k = randn64(kn, rand);
    const v = randn64(kn, rand);
    const dO = randn64(qn, rand);
    const { dq, dk, dv } = attentionBackwardRef(q, k, v, dO, s);
    const loss = (qq: Float64Array, kk: Float64Array, vv: Float64Array) => dot(dO, attentionRef(qq, kk, vv, s).o);
    expect(relL2(dq, numericalGradient((x) => loss(x, k, v), q))).toBeLessThanOrEqual(1e-6);
    expect(relL2(dk, numericalGradient((x) => loss(q, x, v), k))).toBeLessThanOrEqual(1e-6);
    expect(relL2(dv, numericalGradient((x) => loss(q, k, x), v))).toBeLessThanOrEqual(1e-6);
  });
});

describe('KV cache reference', () => {
  it('writes rows at (seq, pos) and skips rows out of range', () => {
    const c = { seqs: 2, nKvHeads: 2, maxT: 3, headDim: 1 };
    const k = [1, 2, 3, 4, 5, 6];
    const v = [-1, -2, -3, -4, -5, -6];
    const { kCache, vCache } = kvCacheWriteRef(k, v, [1, 0, 2], [2, 0, 0], 3, c, new Float64Array(12), new Float64Array(12));
    // [S=2, KVH=2, maxT=3]: row 0 -> seq 1 pos 2, row 1 -> seq 0 pos 0, row 2 (seq 2) skipped.
    expect([...kCache]).toEqual([3, 0, 0, 4, 0, 0, 0, 0, 1, 0, 0, 2]);
    expect([...vCache]).toEqual([-3, 0, 0, -4, 0, 0, 0, 0, -1, 0, 0, -2]);
  });

  it('decode over a prefilled cache equals the forward at each sequence’s last real row', () => {
    const rand = rng(13);
    const [B, T, H, KVH, hd, maxT] = [3, 5, 6, 3, 4, 7];
    const s: AttentionRefShape = { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd };
    const q = randn64(B * T * H * hd, rand);
    const k = randn64(B * T * KVH * hd, rand);
    const v = randn64(B * T * KVH * hd, rand);
    const rows = B * T;
    const seq = Array.from({ length: rows }, (_, r) => Math.floor(r / T));
    const pos = Array.from({ length: rows }, (_, r) => r % T);
    const c = { seqs: B, nKvHeads: KVH, maxT, headDim: hd };
    const cache = kvCacheWriteRef(k, v, seq, pos, rows, c, new Float64Array(B * KVH * maxT * hd), new Float64Array(B * KVH * maxT * hd));
    const len = [5, 1, 3];
    const qLast = new Float64Array(B * H * hd);
    const want = new Float64Array(B * H * hd);
    const { o } = attentionRef(q, k, v, s);
    for (let b = 0; b < B; b++) {
      const row = b * T + len[b] - 1;
      qLast.set(q.subarray(row * H * hd, (row + 1) * H * hd), b * H * hd);
      want.set(o.subarray(row * H * hd, (row + 1) * H * hd), b * H * hd);
    }
    const got = attentionDecodeRef(qLast, cache.kCache, cache.vCache, len, { ...c, nHeads: H });
    expect(relL2(got, want)).toBeLessThanOrEqual(1e-14);
  });

  it('decode gives NaN for an empty or overlong sequence', () => {
    const c = { seqs: 2, nKvHeads: 1, maxT: 2, headDim: 1, nHeads: 1 };
    const o = attentionDecodeRef([1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 3], c);
    expect(Number.isNaN(o[0]) && Number.isNaN(o[1])).toBe(true);
  });
});
