// The elementwise references on hand-computed values, and grid2d, the 2-D workgroup grid that
// the flat kernels of the elementwise, swiglu and embedding families (and rmsnorm's rows) use.
import { describe, expect, it } from 'vitest';
import { grid2d, MAX_WORKGROUPS_PER_DIM } from '../../src/gpu/ops/elementwise';
import { addRef, axpyRef, fillRef, scaleRef } from '../reference/elementwise';
import { rng } from '../support/check';

describe('elementwise references', () => {
  it('compute hand-checked values', () => {
    expect([...addRef([1, 2, 3], [10, 20, 30])]).toEqual([11, 22, 33]);
    expect([...axpyRef(-2, [1, 2, 3], [10, 20, 30])]).toEqual([8, 16, 24]);
    expect([...fillRef(3, 1.5)]).toEqual([1.5, 1.5, 1.5]);
    expect([...scaleRef(0.5, [2, -4, 6])]).toEqual([1, -2, 3]);
    expect(() => addRef([1], [1, 2])).toThrow(/lengths/);
  });
});

describe('grid2d', () => {
  it('stays 1-D up to the per-dimension limit', () => {
    expect(grid2d(0)).toEqual([0, 1]);
    expect(grid2d(1)).toEqual([1, 1]);
    expect(grid2d(65535)).toEqual([65535, 1]);
    expect(MAX_WORKGROUPS_PER_DIM).toBe(65535);
  });

  it('goes 2-D past it, covering every workgroup with fewer than gy surplus', () => {
    expect(grid2d(65536)).toEqual([32768, 2]);
    const rand = rng(3);
    const counts = [65536, 65537, 131070, 131071, 196606, 4_194_304, 65535 * 65535];
    for (let i = 0; i < 200; i++) counts.push(65536 + Math.floor(rand() * 1e9));
    for (const g of counts) {
      const [x, y] = grid2d(g);
      expect(x).toBeLessThanOrEqual(65535);
      expect(y).toBeLessThanOrEqual(65535);
      expect(x * y).toBeGreaterThanOrEqual(g);
      expect(x * y - g).toBeLessThan(y);
    }
  });

  it('honours a lower limit and rejects what cannot fit', () => {
    expect(grid2d(8, 3)).toEqual([3, 3]);
    expect(grid2d(7, 3)).toEqual([3, 3]);
    expect(() => grid2d(10, 3)).toThrow(/do not fit a 3×3 grid/);
    expect(() => grid2d(65535 * 65535 + 1)).toThrow(/do not fit/);
    expect(() => grid2d(-1)).toThrow(/invalid workgroup count/);
  });
});
