// Tests shaders/matmul.wgsl entry points matmul_register and matmul_tiled against the float64
// reference: every transposition, accumulation, batches, and shapes that fit no tile.
import { testGpu } from '#test-gpu';
import { describe, it } from 'vitest';
import { matmul, MATMUL_VARIANTS } from '../../src/gpu/ops/matmul';
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
];

describe.each(MATMUL_VARIANTS)('matmul_%s', (variant) => {
  it.each(SHAPES)('M=%i N=%i K=%i, all transpositions', async (M, N, K) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = randn(M * K, rand);
        const b = randn(K * N, rand);
        const out = fencedOutput(gpu, [M, N]);
        await noGpuErrors(gpu, () =>
          matmul(gpu, gpu.upload(a, [a.length]), gpu.upload(b, [b.length]), out.tensor, M, N, K, { transA, transB, variant }),
        );
        expectClose(await out.read(), matmulRef(a, b, M, N, K, { transA, transB }), TOL, `seed ${seed} transA=${transA} transB=${transB}`);
      }
    }
  });

  it('accumulates with alpha over a batch', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [batch, M, N, K] = [3, 6, 10, 5];
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
