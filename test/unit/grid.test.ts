// Launch geometry shared by every op family (src/gpu/grid.ts): the 2-D workgroup grid, the
// adapter's per-dimension limit with the tests' lower override, and the threads-per-row rule of
// the row-wise kernels. Devices are stubbed: only their limits and preferred row width are read.
import { describe, expect, it } from 'vitest';
import {
  grid2d,
  MAX_WORKGROUPS_PER_DIM,
  NARROW_ROW_THREADS,
  rowThreads,
  workgroupGrid,
  workgroupLimit,
  WIDE_ROW_THREADS,
} from '../../src/gpu/grid';
import type { Gpu } from '../../src/gpu/runtime';
import { rng } from '../support/check';

function stubGpu(narrow: boolean, limits: Record<string, number> = {}): Gpu {
  return { adapter: { limits }, preferences: { matmul: ['register'], rowWidth: narrow ? 'narrow' : 'wide' } } as unknown as Gpu;
}

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
    expect(() => grid2d(5, 0)).toThrow(/invalid workgroup limit/);
  });

  it('gives a near-square grid at a limit of ⌈√groups⌉, 2-D from 3 workgroups on', () => {
    for (let g = 3; g < 5000; g++) {
      const [x, y] = grid2d(g, Math.ceil(Math.sqrt(g)));
      expect(y).toBeGreaterThan(1);
      expect(x * y - g).toBeLessThan(y);
    }
  });

  it('covers linear invocations in workgroups of 64 within the limit', () => {
    for (const n of [1, 63, 64, 65, 1000, 65535 * 64 + 1, 3_000_000_000]) {
      const [gx, gy] = grid2d(Math.ceil(n / 64));
      expect(gx * gy * 64).toBeGreaterThanOrEqual(n);
      expect((gx * gy - 1) * 64).toBeLessThan(n + gx * 64);
      expect(Math.max(gx, gy)).toBeLessThanOrEqual(65535);
    }
  });
});

describe('workgroupLimit and workgroupGrid', () => {
  it("use the adapter's limit, or WebGPU's minimum when it reports none", () => {
    expect(workgroupLimit(stubGpu(true))).toBe(65535);
    expect(workgroupLimit(stubGpu(false, { maxComputeWorkgroupsPerDimension: 100000 }))).toBe(100000);
    expect(workgroupGrid(stubGpu(false, { maxComputeWorkgroupsPerDimension: 100000 }), 90000)).toEqual([90000, 1]);
    expect(workgroupGrid(stubGpu(true), 90000)).toEqual([45000, 2]);
  });

  it('let tests lower the limit, never raise it', () => {
    const gpu = stubGpu(true, { maxComputeWorkgroupsPerDimension: 65535 });
    expect(workgroupLimit(gpu, { maxWorkgroupsPerDim: 19 })).toBe(19);
    expect(workgroupGrid(gpu, 300, { maxWorkgroupsPerDim: 19 })).toEqual([19, 16]);
    expect(workgroupLimit(gpu, { maxWorkgroupsPerDim: 1e6 })).toBe(65535);
    expect(() => workgroupGrid(gpu, 5, { maxWorkgroupsPerDim: 0 })).toThrow(/invalid workgroup limit 0/);
  });
});

describe('rowThreads', () => {
  it('is the next power of two of the row length, capped by the preferred row width', () => {
    const cpu = stubGpu(true);
    const gpu = stubGpu(false);
    expect(NARROW_ROW_THREADS).toBe(4);
    expect(WIDE_ROW_THREADS).toBe(256);
    expect([0, 1, 2, 3, 5, 1000].map((n) => rowThreads(cpu, 'op', n))).toEqual([1, 1, 2, 4, 4, 4]);
    expect([0, 1, 2, 3, 5, 100, 256, 1000].map((n) => rowThreads(gpu, 'op', n))).toEqual([1, 1, 2, 4, 8, 128, 256, 256]);
  });

  it("takes the caller's cap and a family's own caps", () => {
    const cpu = stubGpu(true);
    const gpu = stubGpu(false);
    expect(rowThreads(cpu, 'op', 1000, { maxWorkgroupSize: 64 })).toBe(64);
    expect(rowThreads(gpu, 'op', 1000, { maxWorkgroupSize: 4 })).toBe(4);
    expect(rowThreads(cpu, 'op', 1000, {}, { narrow: 1, wide: 64 })).toBe(1);
    expect(rowThreads(gpu, 'op', 1000, {}, { narrow: 1, wide: 64 })).toBe(64);
    expect(rowThreads(gpu, 'op', 1000, {}, { wide: 128 })).toBe(128);
  });

  it('rejects a cap that is no power of two or above the wide cap', () => {
    const gpu = stubGpu(false);
    expect(() => rowThreads(gpu, 'softmax_forward', 10, { maxWorkgroupSize: 48 })).toThrow(/softmax_forward: maxWorkgroupSize must be a power of two in \[1, 256\], got 48/);
    expect(() => rowThreads(gpu, 'op', 10, { maxWorkgroupSize: 256 }, { wide: 128 })).toThrow(/power of two in \[1, 128\]/);
    expect(() => rowThreads(gpu, 'op', 10, { maxWorkgroupSize: 0 })).toThrow(/got 0/);
  });
});
