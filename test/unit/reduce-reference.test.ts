// The reduce reference: hand-computed sums, partials, norms and clip coefficients, IEEE
// behaviour for NaN and ±Inf, and the sum-of-squares gradient 2x by central differences.
import { describe, expect, it } from 'vitest';
import { chunkSumsRef, gradNormRef, normAndCoefRef, scaleByCoefRef, sumRef, sumsqGradRef, sumsqRef } from '../reference/reduce';
import { relL2, rng } from '../support/check';
import { numericalGradient, randn64 } from '../support/finite-diff';

describe('reduce reference', () => {
  it('sums segments and chunks', () => {
    const x = [1, 2, 3, 4, 5, 6, 7];
    expect(sumRef(x)).toBe(28);
    expect(sumRef(x, 2, 3)).toBe(12);
    expect(sumsqRef(x, 5)).toBe(85);
    expect([...chunkSumsRef(x, 1, 6, 4, false)]).toEqual([14, 13]);
    expect([...chunkSumsRef(x, 0, 3, 2, true)]).toEqual([5, 9]);
    expect([...chunkSumsRef(x, 0, 0, 2, true)]).toEqual([]);
  });

  it('computes the global norm and clip coefficient by hand (3-4-5)', () => {
    expect(gradNormRef([[3], [0, 4]], 1)).toEqual([5, 1 / (5 + 1e-6)]);
    expect(gradNormRef([[3], [4]], 10)).toEqual([5, 1]);
    expect(gradNormRef([[3], [4]], 0)).toEqual([5, 1]);
    expect(gradNormRef([[3], [4]], -1)).toEqual([5, 1]);
    expect(gradNormRef([[0]], 1)).toEqual([0, 1]);
  });

  it('keeps a non-finite norm visible and makes the coefficient NaN', () => {
    expect(normAndCoefRef(Infinity, 1)).toEqual([Infinity, NaN]);
    expect(normAndCoefRef(NaN, 0)).toEqual([NaN, NaN]);
    expect(gradNormRef([[1, -Infinity]], 1)).toEqual([Infinity, NaN]);
    expect(sumRef([Infinity, -Infinity])).toBeNaN();
    expect(sumRef([1, -Infinity])).toBe(-Infinity);
  });

  it('scales a segment, and leaves x alone for a non-finite coefficient', () => {
    expect([...scaleByCoefRef([1, 2, 3, 4], 1, 2, 0.5)]).toEqual([1, 1, 1.5, 4]);
    expect([...scaleByCoefRef([1, 2], 0, 2, NaN)]).toEqual([1, 2]);
  });

  it('the sum-of-squares gradient 2x holds by central differences (relative error ≤ 1e-6)', () => {
    const x = randn64(17, rng(3));
    expect(relL2(sumsqGradRef(x), numericalGradient((y) => sumsqRef(y), x))).toBeLessThanOrEqual(1e-6);
  });
});
