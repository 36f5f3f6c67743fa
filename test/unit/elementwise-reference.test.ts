// The elementwise references on hand-computed values. (The 2-D workgroup grid of the flat
// kernels is tested in grid.test.ts.)
import { describe, expect, it } from 'vitest';
import { addRef, axpyRef, fillRef, scaleRef } from '../reference/elementwise';

describe('elementwise references', () => {
  it('compute hand-checked values', () => {
    expect([...addRef([1, 2, 3], [10, 20, 30])]).toEqual([11, 22, 33]);
    expect([...axpyRef(-2, [1, 2, 3], [10, 20, 30])]).toEqual([8, 16, 24]);
    expect([...fillRef(3, 1.5)]).toEqual([1.5, 1.5, 1.5]);
    expect([...scaleRef(0.5, [2, -4, 6])]).toEqual([1, -2, 3]);
    expect(() => addRef([1], [1, 2])).toThrow(/lengths/);
  });
});
