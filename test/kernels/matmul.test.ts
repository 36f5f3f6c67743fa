// Tests shaders/matmul.wgsl entry points matmul_register, matmul_tiled and matmul_vec4 (with its
// ragged forms matmul_vec4_ragged_n and matmul_vec4_scalar_a) against the float64 reference: every
// transposition a schedule supports, accumulation, batches, and shapes that fit no tile (the vec4
// schedule only takes shapes whose loaded rows split into vec4s).
import { testGpu } from '#test-gpu';
import { describe, it } from 'vitest';
import { matmul, matmulFits, MATMUL_VARIANTS, vec4Entry, type MatmulVec4Entry } from '../../src/gpu/ops/matmul';
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
  // Ragged shapes the vec4 schedule takes through its other entry points: A·Bᵀ with K % 4 == 0
  // and any N (an output layer's logits), op(A)·B with N % 4 == 0 and any M, K (its gradients).
  [1, 1, 4],
  [1, 4, 1],
  [37, 19, 24],
  [19, 24, 37],
  [131, 99, 12],
  [99, 12, 131],
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

describe('the vec4 schedule on ragged shapes', () => {
  // Each case: the entry point vec4Entry must choose, and the shape and transposition it runs.
  const CASES: Array<[MatmulVec4Entry, number, number, number, boolean, boolean]> = [
    ['matmul_vec4', 20, 12, 8, true, false],
    ['matmul_vec4_ragged_n', 35, 99, 24, false, true],
    ['matmul_vec4_ragged_n', 1, 1, 4, false, true],
    ['matmul_vec4_scalar_a', 35, 24, 99, false, false],
    ['matmul_vec4_scalar_a', 99, 24, 35, true, false],
    ['matmul_vec4_scalar_a', 1, 4, 1, true, false],
  ];
  it.each(CASES)('%s: M=%i N=%i K=%i transA=%s transB=%s, accumulating with alpha over a batch', async (entry, M, N, K, transA, transB) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const batch = 3;
    expect(vec4Entry({ M, N, K, transA, transB, strides: [M * K, K * N, M * N] })).toBe(entry);
    const a = randn(batch * M * K, rand);
    const b = randn(batch * K * N, rand);
    const c0 = randn(batch * M * N, rand);
    for (const accumulate of [false, true]) {
      const out = fencedOutput(gpu, [batch, M, N], 'f32', accumulate ? c0 : undefined);
      await noGpuErrors(gpu, () =>
        matmul(gpu, gpu.upload(a, [a.length]), gpu.upload(b, [b.length]), out.tensor, M, N, K, { batch, accumulate, alpha: -0.5, transA, transB, variant: 'vec4' }),
      );
      const want = matmulRef(a, b, M, N, K, { batch, alpha: -0.5, c: accumulate ? c0 : undefined, transA, transB });
      expectClose(await out.read(), want, TOL, `seed ${seed} accumulate=${accumulate}`);
    }
  });

  it('leaves shapes no vec4 entry point can load to the other schedules', () => {
    const shape = { M: 5, N: 7, K: 9, transA: false, transB: false, strides: [45, 63, 35] };
    expect(vec4Entry(shape)).toBeNull();
    expect(vec4Entry({ ...shape, transB: true })).toBeNull();
    expect(vec4Entry({ ...shape, transA: true, transB: true, K: 8, N: 8, strides: [40, 64, 40] })).toBeNull();
    expect(vec4Entry({ ...shape, N: 8, strides: [45, 72, 42] })).toBeNull();
  });
});
