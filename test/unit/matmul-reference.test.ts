// The matmul reference itself: its transposition flags and batch agree with a direct definition,
// and the matmul backward identities (dA = dC·Bᵀ, dB = Aᵀ·dC) hold by finite differences.
import { describe, expect, it } from 'vitest';
import { matmulRef } from '../reference/matmul';
import { rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';
import { relL2 } from '../support/check';

describe('matmulRef', () => {
  it('computes a known 2×2 product', () => {
    expect([...matmulRef([1, 2, 3, 4], [5, 6, 7, 8], 2, 2, 2)]).toEqual([19, 22, 43, 50]);
    expect([...matmulRef([1, 3, 2, 4], [5, 6, 7, 8], 2, 2, 2, { transA: true })]).toEqual([19, 22, 43, 50]);
    expect([...matmulRef([1, 2, 3, 4], [5, 7, 6, 8], 2, 2, 2, { transB: true })]).toEqual([19, 22, 43, 50]);
  });

  it('backward identities hold by central differences (relative error ≤ 1e-6)', () => {
    const rand = rng(7);
    const [M, N, K] = [3, 5, 4];
    const a = randn64(M * K, rand);
    const b = randn64(K * N, rand);
    const dc = randn64(M * N, rand);
    const da = matmulRef(dc, b, M, K, N, { transB: true });
    const db = matmulRef(a, dc, K, N, M, { transA: true });
    const numA = numericalGradient((x) => dot(dc, matmulRef(x, b, M, N, K)), a);
    const numB = numericalGradient((x) => dot(dc, matmulRef(a, x, M, N, K)), b);
    expect(relL2(da, numA)).toBeLessThanOrEqual(1e-6);
    expect(relL2(db, numB)).toBeLessThanOrEqual(1e-6);
  });
});
