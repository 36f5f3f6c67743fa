// Tests shaders/rmsnorm.wgsl entry points rmsnorm_forward, rmsnorm_backward and
// rmsnorm_backward_weight against the float64 reference: R = 1 and primes, D not a multiple of 4
// nor of the 64-thread workgroup (also D < 64 and D > 4·64), several threads-per-row settings,
// both ACCUMULATE settings, an all-zero row, 2-D grids forced by a low grid limit, and one run
// with so many rows that the default one-thread-per-row dispatch needs the second dimension.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { grid2d, workgroupGrid } from '../../src/gpu/grid';
import { ceilDiv } from '../../src/gpu/kernel';
import { rmsnormBackward, rmsnormBackwardWeight, rmsnormForward, type RmsnormRowOptions } from '../../src/gpu/ops/rmsnorm';
import { rmsnormBackwardRef, rmsnormBackwardWeightRef, rmsnormForwardRef } from '../reference/rmsnorm';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng, uniform } from '../support/check';

// Row and column reductions in float32 (tree or fixed-order sums, inverseSqrt): ≤ 1e-4 by the
// project's rule for reductions; measured ≤ 8e-7 here (Chromium and Node/Dawn).
const TOL_REDUCTION = 1e-4;

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [1, 37],
  [7, 5],
  [13, 130],
  [67, 37],
  [3, 257],
  [2, 1031],
];
// Prime, and ceil(R / 64) > 65535: with one thread per row (64 rows per workgroup) gy = 2.
const BIG: [number, number] = [4_194_247, 1];
const TPRS = [1, 4, 64];

interface Case {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  dx0: Float32Array;
  dw0: Float32Array;
  eps: number;
}

function draw(R: number, D: number, rand: () => number): Case {
  const big = R * D > 1e5;
  const r = (n: number, scale = 1) => (big ? uniform(n, rand, -scale, scale) : randn(n, rand, scale));
  const x = r(R * D, 2);
  // Row 0 all zeros (when there are several rows): rstd = 1/sqrt(eps), dx = w ⊙ dy / sqrt(eps).
  if (R > 1) x.fill(0, 0, D);
  // For D = 1, dx = w·dy·rstd·eps/(x² + eps): with a small eps that is a cancellation to a tiny
  // value, ill-conditioned in any float32 evaluation, so D = 1 uses a large eps.
  const eps = D === 1 ? 0.5 : R % 2 === 0 ? 1e-5 : 1e-6;
  return { x, w: r(D), dy: r(R * D), dx0: r(R * D), dw0: r(D), eps };
}

async function checkAll(R: number, D: number, accumulate: boolean, rowOpts: RmsnormRowOptions = {}, weight = true): Promise<void> {
  const gpu = await testGpu();
  const seed = freshSeed();
  const c = draw(R, D, rng(seed));
  const at = `R=${R} D=${D} accumulate=${accumulate} ${JSON.stringify(rowOpts)} seed ${seed}`;
  const want = rmsnormForwardRef(c.x, c.w, R, D, c.eps);
  // The backward gets the reference rstd rounded to float32, so it is tested on its own.
  const rstdIn = Float32Array.from(want.rstd);
  const y = fencedOutput(gpu, [R, D]);
  const rstd = fencedOutput(gpu, [R]);
  const dx = fencedOutput(gpu, [R, D], 'f32', accumulate ? c.dx0 : undefined);
  const dw = fencedOutput(gpu, [D], 'f32', accumulate ? c.dw0 : undefined);
  await noGpuErrors(gpu, () => {
    const x = gpu.upload(c.x, [R, D]);
    const w = gpu.upload(c.w, [D]);
    const dy = gpu.upload(c.dy, [R, D]);
    const r = gpu.upload(rstdIn, [R]);
    rmsnormForward(gpu, x, w, y.tensor, rstd.tensor, { rows: R, dim: D }, { eps: c.eps, ...rowOpts });
    rmsnormBackward(gpu, x, w, r, dy, dx.tensor, { rows: R, dim: D }, { accumulate, ...rowOpts });
    if (weight) rmsnormBackwardWeight(gpu, x, r, dy, dw.tensor, { rows: R, dim: D }, { accumulate });
  });
  expectClose(await y.read(), want.y, TOL_REDUCTION, `rmsnorm_forward y ${at}`);
  expectClose(await rstd.read(), want.rstd, TOL_REDUCTION, `rmsnorm_forward rstd ${at}`);
  const dxWant = rmsnormBackwardRef(c.x, c.w, rstdIn, c.dy, R, D, accumulate ? c.dx0 : undefined);
  expectClose(await dx.read(), dxWant, TOL_REDUCTION, `rmsnorm_backward ${at}`);
  if (!weight) return;
  const dwWant = rmsnormBackwardWeightRef(c.x, rstdIn, c.dy, R, D, accumulate ? c.dw0 : undefined);
  expectClose(await dw.read(), dwWant, TOL_REDUCTION, `rmsnorm_backward_weight ${at}`);
}

describe('rmsnorm_forward, rmsnorm_backward, rmsnorm_backward_weight', () => {
  describe.each(TPRS)('threadsPerRow=%i', (threadsPerRow) => {
    it.each(SHAPES)('R=%i D=%i', (R, D) => checkAll(R, D, false, { threadsPerRow }));
    it.each(SHAPES)('R=%i D=%i, accumulating', (R, D) => checkAll(R, D, true, { threadsPerRow }));
    // A grid limit of ceil(sqrt(workgroups)) makes the dispatch 2-D, some with surplus workgroups.
    it.each([
      [131, 5],
      [197, 37],
    ])('R=%i D=%i on a forced 2-D grid', async (R, D) => {
      const groups = ceilDiv(R * threadsPerRow, 64);
      const maxWorkgroupsPerDim = Math.ceil(Math.sqrt(groups));
      expect(grid2d(groups, maxWorkgroupsPerDim)[1]).toBeGreaterThan(1);
      await checkAll(R, D, true, { threadsPerRow, maxWorkgroupsPerDim });
    });
  });

  // rmsnorm_backward_weight is left out here: its grid spans columns, not rows (one workgroup
  // for D = 1, which would spend seconds looping over 4M rows on a CPU adapter).
  it(`R=${BIG[0]} D=${BIG[1]}, one thread per row, needs the second grid dimension`, async () => {
    expect(workgroupGrid(await testGpu(), ceilDiv(BIG[0], 64))[1]).toBeGreaterThan(1);
    await checkAll(...BIG, true, { threadsPerRow: 1 }, false);
  });

  // CPU adapters default to one thread per row, GPUs to the next power of two of D (here 64).
  it('R=7 D=37 with the default threads per row', () => checkAll(7, 37, true));

  it('R=65537 D=5: long column sums in rmsnorm_backward_weight', () => checkAll(65537, 5, true, { threadsPerRow: 1 }));

  it('backward_weight over zero rows writes zeros, or keeps dw when accumulating', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const dw0 = randn(5, rng(seed));
    const plain = fencedOutput(gpu, [5]);
    const acc = fencedOutput(gpu, [5], 'f32', dw0);
    await noGpuErrors(gpu, () => {
      const none = gpu.empty([1]);
      rmsnormBackwardWeight(gpu, none, none, none, plain.tensor, { rows: 0, dim: 5 });
      rmsnormBackwardWeight(gpu, none, none, none, acc.tensor, { rows: 0, dim: 5 }, { accumulate: true });
    });
    expectClose(await plain.read(), new Float64Array(5), TOL_REDUCTION, `rmsnorm_backward_weight rows=0 seed ${seed}`);
    expectClose(await acc.read(), dw0, TOL_REDUCTION, `rmsnorm_backward_weight rows=0 accumulate seed ${seed}`);
  });

  it('rejects short and aliased tensors by name', async () => {
    const gpu = await testGpu();
    const [R, D] = [3, 5];
    const x = gpu.empty([R, D]);
    const w = gpu.empty([D]);
    const rstd = gpu.empty([R]);
    const dims = { rows: R, dim: D };
    expect(() => rmsnormForward(gpu, x, gpu.empty([D - 1]), gpu.empty([R, D]), rstd, dims)).toThrow(
      /rmsnormForward: w has 4 elements, needs 5 \(rows=3 dim=5\)/,
    );
    expect(() => rmsnormForward(gpu, x, w, gpu.empty([R, D]), gpu.empty([R - 1]), dims)).toThrow(/rmsnormForward: rstd has 2 elements/);
    expect(() => rmsnormForward(gpu, x, w, x, rstd, dims)).toThrow(/rmsnorm\/rmsnorm_forward: bindings 0 and 2 use one buffer, one read-only and one written/);
    expect(() => rmsnormForward(gpu, x, w, gpu.empty([R, D]), rstd, dims, { eps: 0 })).toThrow(/eps 0 must be positive/);
    expect(() => rmsnormBackward(gpu, x, w, rstd, gpu.empty([R * D - 1]), gpu.empty([R, D]), dims)).toThrow(/rmsnormBackward: dy has 14 elements/);
    expect(() => rmsnormBackwardWeight(gpu, x, rstd, x, gpu.empty([D - 1]), dims)).toThrow(/rmsnormBackwardWeight: dw has 4 elements/);
    expect(() => rmsnormForward(gpu, x, w, gpu.empty([R, D]), rstd, { rows: R, dim: 0 })).toThrow(/dim 0 must be a positive integer/);
  });
});
