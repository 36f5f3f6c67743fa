// Tests shaders/matmul.wgsl entry points matmul_register, matmul_tiled and matmul_vec4 against the
// float64 reference: every transposition a schedule supports, accumulation, batches, and shapes
// that fit no tile (matmul_vec4 only takes shapes whose rows split into vec4s).
import { testGpu } from '#test-gpu';
import { describe, it } from 'vitest';
import { matmul, matmulFits, MATMUL_VARIANTS } from '../../src/gpu/ops/matmul';
import { expect } from 'vitest';
import { matmulRef } from '../reference/matmul';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng } from '../support/check';

// Relative L2 bound for float32 matmul with K up to a few hundred (measured ~1e-7).
const TOL = 1e-5;

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [3, 5, 7],
  [13, 17, 11],
  [33, 31, 65],
  [64, 64, 16],
  [67, 129, 37],
  // Shapes the vec4 schedule takes: K and N multiples of 4, M too for transA; odd multiples of 4
  // leave half-used column groups and partial 8-row blocks.
  [1, 4, 4],
  [4, 4, 4],
  [13, 12, 8],
  [12, 20, 36],
  [36, 68, 44],
  [68, 132, 20],
  [132, 8, 12],
];

describe.each(MATMUL_VARIANTS)('matmul_%s', (variant) => {
  it.each(SHAPES)('M=%i N=%i K=%i, all transpositions', async (M, N, K) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    let ran = 0;
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        if (!matmulFits(variant, { M, N, K, transA, transB, strides: [M * K, K * N, M * N] })) continue;
        ran++;
        const a = randn(M * K, rand);
        const b = randn(K * N, rand);
        const out = fencedOutput(gpu, [M, N]);
        await noGpuErrors(gpu, () =>
          matmul(gpu, gpu.upload(a, [a.length]), gpu.upload(b, [b.length]), out.tensor, M, N, K, { transA, transB, variant }),
        );
        expectClose(await out.read(), matmulRef(a, b, M, N, K, { transA, transB }), TOL, `seed ${seed} transA=${transA} transB=${transB}`);
      }
    }
    expect(ran > 0 || variant === 'vec4').toBe(true);
  });

  it('accumulates with alpha over a batch', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [batch, M, N, K] = [3, 6, 12, 8];
    const a = randn(batch * M * K, rand);
    const b = randn(batch * K * N, rand);
    const c0 = randn(batch * M * N, rand);
    const out = fencedOutput(gpu, [batch, M, N], 'f32', c0);
    await noGpuErrors(gpu, () =>
      matmul(gpu, gpu.upload(a, [a.length]), gpu.upload(b, [b.length]), out.tensor, M, N, K, {
        batch,
        accumulate: true,
        alpha: -0.5,
        variant,
        transB: true,
      }),
    );
    expectClose(await out.read(), matmulRef(a, b, M, N, K, { batch, alpha: -0.5, c: c0, transB: true }), TOL, `seed ${seed}`);
  });
});

it('matmul_vec4 refuses shapes it cannot load as vec4', async () => {
  const gpu = await testGpu();
  const t = gpu.empty([64]);
  expect(() => matmul(gpu, t, t, gpu.empty([64]), 3, 5, 4, { variant: 'vec4' })).toThrow(/vec4 schedule cannot run M=3 N=5/);
});
