// Tests shaders/rope.wgsl entry points rope_forward and rope_backward against the float64
// reference: head sizes 2..128, one to many heads, rows that fit no workgroup, positions up to
// a few thousand (each row its own, as in decode), and rows whose position is past the table.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { grid2d } from '../../src/gpu/grid';
import { ceilDiv } from '../../src/gpu/kernel';
import { LINEAR_WORKGROUP, ropeBackward, ropeForward, ropeTables, uploadRopeTables } from '../../src/gpu/ops/rope';
import { ropeBackwardRef, ropeRef } from '../reference/rope';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randInts, randn, rng } from '../support/check';

// Relative L2 bound for one rotation in float32 with float32-rounded cos/sin tables (the tables
// are exact to float32 rounding; no WGSL sin/cos is used). Measured ≤ 1e-7 in Chromium and Node.
const TOL = 1e-6;

// [rows, nHeads, headDim]
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 2],
  [1, 1, 6],
  [7, 3, 10],
  [13, 2, 8],
  [31, 5, 6],
  [5, 6, 128],
  [67, 2, 64],
];

const MAX_POS = 4099;

/**
 * A grid limit of ⌈√workgroups⌉ lays the dispatch out near-square, so every shape of more than
 * two workgroups exercises the 2-D indexing and the bounds check of the surplus workgroups.
 */
function squareGrid(rows: number, nHeads: number, hd: number): { maxWorkgroupsPerDim: number } {
  return { maxWorkgroupsPerDim: Math.ceil(Math.sqrt(ceilDiv((rows * nHeads * hd) / 2, LINEAR_WORKGROUP))) };
}

describe('rope', () => {
  it('lays the shapes of three or more workgroups on a 2-D grid', () => {
    const twoD = SHAPES.filter(([rows, nHeads, hd]) => {
      const groups = ceilDiv((rows * nHeads * hd) / 2, LINEAR_WORKGROUP);
      return grid2d(groups, squareGrid(rows, nHeads, hd).maxWorkgroupsPerDim)[1] > 1;
    });
    expect(twoD.length).toBe(3);
  });

  it.each(SHAPES)('rope_forward and rope_backward: rows=%i nHeads=%i hd=%i', async (rows, nHeads, hd) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    for (const theta of [10000, 500000]) {
      const tables = uploadRopeTables(gpu, ropeTables(MAX_POS, hd, theta));
      const x = randn(rows * nHeads * hd, rand);
      const positions = randInts(rows, rand, MAX_POS);
      positions[0] = MAX_POS - 1;
      if (rows > 1) positions[1] = 0;
      const pos = gpu.upload(positions, [rows], 'u32');
      const y = fencedOutput(gpu, [rows, nHeads, hd]);
      const dx = fencedOutput(gpu, [rows, nHeads, hd]);
      const grid = squareGrid(rows, nHeads, hd);
      await noGpuErrors(gpu, () => {
        const xt = gpu.upload(x, [rows, nHeads, hd]);
        ropeForward(gpu, xt, pos, tables, y.tensor, rows, nHeads, grid);
        ropeBackward(gpu, xt, pos, tables, dx.tensor, rows, nHeads, grid);
      });
      const what = `seed ${seed} theta=${theta}`;
      expectClose(await y.read(), ropeRef(x, positions, rows, nHeads, hd, theta), TOL, `rope_forward ${what}`);
      expectClose(await dx.read(), ropeBackwardRef(x, positions, rows, nHeads, hd, theta), TOL, `rope_backward ${what}`);
    }
  });

  it('rope_forward writes NaN for rows whose position is past the table, and only for them', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [rows, nHeads, hd, maxPos] = [5, 3, 6, 16];
    const tables = uploadRopeTables(gpu, ropeTables(maxPos, hd));
    const x = randn(rows * nHeads * hd, rand);
    const positions = Uint32Array.from([3, 16, 15, 1000, 0]);
    const y = fencedOutput(gpu, [rows, nHeads, hd]);
    await noGpuErrors(gpu, () =>
      ropeForward(gpu, gpu.upload(x, [x.length]), gpu.upload(positions, [rows], 'u32'), tables, y.tensor, rows, nHeads),
    );
    const got = await y.read();
    const want = ropeRef(x, positions, rows, nHeads, hd);
    const row = nHeads * hd;
    for (const r of [0, 2, 4]) {
      expectClose(got.subarray(r * row, (r + 1) * row), want.subarray(r * row, (r + 1) * row), TOL, `seed ${seed} row ${r}`);
    }
    for (const r of [1, 3]) expect([...got.subarray(r * row, (r + 1) * row)].every(Number.isNaN), `row ${r} is NaN`).toBe(true);
  });

  it('rejects odd head sizes, short tensors and in-place use', async () => {
    const gpu = await testGpu();
    const tables = uploadRopeTables(gpu, ropeTables(8, 4));
    const x = gpu.empty([2, 1, 4]);
    const pos = gpu.empty([2], 'u32');
    expect(() => ropeForward(gpu, x, pos, tables, x, 2, 1)).toThrow(/rope\/rope_forward: bindings 0 and 4 use one buffer, one read-only and one written/);
    expect(() => ropeForward(gpu, x, pos, tables, gpu.empty([7]), 2, 1)).toThrow(/y has 7 elements, needs 8/);
    expect(() => ropeBackward(gpu, x, gpu.empty([2]), tables, gpu.empty([8]), 2, 1)).toThrow(/positions .* must be u32/);
    expect(() => ropeTables(8, 3)).toThrow(/even/);
  });
});
