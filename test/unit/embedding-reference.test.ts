// The embedding reference and the CSR grouping used by embedding_backward: hand-computed cases,
// the grouping's invariants on random batches, a CSR-ordered sum equal to the reference, and the
// reference backward against central finite differences of Σ dOut ⊙ out.
import { describe, expect, it } from 'vitest';
import { buildEmbeddingCsr } from '../../src/gpu/ops/embedding';
import { embeddingBackwardRef, embeddingForwardRef } from '../reference/embedding';
import { randInts, relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

describe('embedding reference', () => {
  it('matches hand-computed values', () => {
    const table = [1, 2, 3, 4, 5, 6]; // V = 3, D = 2
    expect([...embeddingForwardRef([2, 0, 2], table, 3, 2)]).toEqual([5, 6, 1, 2, 5, 6]);
    // An id ≥ V gives a zero row, as the kernel does.
    expect([...embeddingForwardRef([1, 3], table, 3, 2)]).toEqual([3, 4, 0, 0]);
    const dOut = [1, 10, 100, 1000, 10000, 100000];
    expect([...embeddingBackwardRef([2, 0, 2], dOut, 3, 2)]).toEqual([100, 1000, 0, 0, 10001, 100010]);
    expect([...embeddingBackwardRef([1], [1, 2], 3, 2, [1, 1, 1, 1, 1, 1])]).toEqual([1, 1, 2, 3, 1, 1]);
    expect(() => embeddingBackwardRef([3], [1, 2], 3, 2)).toThrow(/not below the vocabulary size 3/);
  });

  it('backward holds by central differences (relative error ≤ 1e-6)', () => {
    const rand = rng(9);
    const [R, V, D] = [11, 4, 3];
    const ids = randInts(R, rand, V);
    const table = randn64(V * D, rand);
    const dOut = randn64(R * D, rand);
    const num = numericalGradient((t) => dot(dOut, embeddingForwardRef(ids, t, V, D)), table);
    expect(relL2(embeddingBackwardRef(ids, dOut, V, D), num)).toBeLessThanOrEqual(1e-6);
  });
});

describe('buildEmbeddingCsr', () => {
  it('groups a hand-made batch', () => {
    const csr = buildEmbeddingCsr([2, 0, 2, 5, 0], 6);
    expect([...csr.uniqueIds]).toEqual([0, 2, 5]);
    expect([...csr.offsets]).toEqual([0, 2, 4, 5]);
    expect([...csr.rows]).toEqual([1, 4, 0, 2, 3]);
  });

  it('handles an empty batch and a single row', () => {
    const empty = buildEmbeddingCsr([], 4);
    expect([...empty.uniqueIds]).toEqual([]);
    expect([...empty.offsets]).toEqual([0]);
    expect([...empty.rows]).toEqual([]);
    const one = buildEmbeddingCsr([3], 4);
    expect([...one.uniqueIds, ...one.offsets, ...one.rows]).toEqual([3, 0, 1, 0]);
  });

  it('rejects ids outside [0, V) and a bad vocabulary', () => {
    expect(() => buildEmbeddingCsr([0, 4], 4)).toThrow(/token id 4 at row 1 is outside the vocabulary \[0, 4\)/);
    expect(() => buildEmbeddingCsr([-1], 4)).toThrow(/token id -1 at row 0/);
    expect(() => buildEmbeddingCsr([1.5], 4)).toThrow(/token id 1.5 at row 0/);
    expect(() => buildEmbeddingCsr([0], 0)).toThrow(/vocab 0 must be a positive integer/);
  });

  it.each([
    [1, 1],
    [50, 7],
    [300, 1000],
    [1009, 31],
  ])('keeps its invariants and sums like the reference, R=%i V=%i', (R, V) => {
    const rand = rng(R + V);
    const ids = randInts(R, rand, V);
    const { uniqueIds, offsets, rows } = buildEmbeddingCsr(ids, V);
    const U = uniqueIds.length;
    expect(new Set(ids).size).toBe(U);
    expect(offsets.length).toBe(U + 1);
    expect(offsets[0]).toBe(0);
    expect(offsets[U]).toBe(R);
    expect([...rows].sort((a, b) => a - b)).toEqual(Array.from({ length: R }, (_, r) => r));
    for (let u = 0; u < U; u++) {
      if (u > 0) expect(uniqueIds[u]).toBeGreaterThan(uniqueIds[u - 1]);
      expect(offsets[u + 1]).toBeGreaterThan(offsets[u]);
      for (let k = offsets[u]; k < offsets[u + 1]; k++) {
        expect(ids[rows[k]]).toBe(uniqueIds[u]);
        if (k > offsets[u]) expect(rows[k]).toBeGreaterThan(rows[k - 1]);
      }
    }
    // The kernel's sum (per group, rows in CSR order) equals the reference scatter-add.
    const D = 3;
    const dOut = randn64(R * D, rand);
    const viaCsr = new Float64Array(V * D);
    for (let u = 0; u < U; u++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let k = offsets[u]; k < offsets[u + 1]; k++) s += dOut[rows[k] * D + d];
        viaCsr[uniqueIds[u] * D + d] = s;
      }
    }
    expect(relL2(viaCsr, embeddingBackwardRef(ids, dOut, V, D))).toBeLessThanOrEqual(1e-12);
  });
});
