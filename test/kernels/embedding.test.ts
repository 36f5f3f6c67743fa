// Tests shaders/embedding.wgsl entry points embedding_forward and embedding_backward against the
// float64 reference: R = 1 and primes, D not a multiple of 4, vocabularies both much smaller than
// the batch (many repeats per id) and larger (unused rows must stay untouched), accumulation into
// an existing gradient, out-of-range ids, and sizes needing the second grid dimension.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { ceilDiv } from '../../src/gpu/kernel';
import { buildEmbeddingCsr, embeddingBackward, embeddingForward } from '../../src/gpu/ops/embedding';
import { workgroupGrid } from '../../src/gpu/grid';
import { ELEMENTWISE_WG } from '../../src/gpu/ops/elementwise';
import { embeddingBackwardRef, embeddingForwardRef } from '../reference/embedding';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randInts, randn, rng, uniform } from '../support/check';

// The forward copies values: exact (relative L2 0), bound stated as element-wise.
const TOL_COPY = 1e-5;
// The backward sums each id's rows in float32 (up to a few hundred rows per id here): a
// reduction, ≤ 1e-4 by the project's rule; measured ≤ 2.5e-7.
const TOL_REDUCTION = 1e-4;

// [R, V, D]
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 7, 37],
  [7, 5, 5],
  [13, 50, 130],
  [67, 11, 37],
  [331, 3, 5],
  [29, 1031, 13],
];

describe('embedding_forward and embedding_backward', () => {
  it.each(SHAPES)('R=%i V=%i D=%i', async (R, V, D) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const ids = randInts(R, rand, V);
    const table = randn(V * D, rand);
    const dOut = randn(R * D, rand);
    const dTable0 = randn(V * D, rand);
    const out = fencedOutput(gpu, [R, D]);
    const dTable = fencedOutput(gpu, [V, D], 'f32', dTable0);
    await noGpuErrors(gpu, () => {
      embeddingForward(gpu, gpu.upload(ids, [R], 'u32'), gpu.upload(table, [V, D]), out.tensor, R, { vocab: V, dim: D }, { hostIds: ids });
      embeddingBackward(gpu, ids, gpu.upload(dOut, [R, D]), dTable.tensor, { vocab: V, dim: D });
    });
    const at = `R=${R} V=${V} D=${D} seed ${seed}`;
    expectClose(await out.read(), embeddingForwardRef(ids, table, V, D), TOL_COPY, `embedding_forward ${at}`);
    expectClose(await dTable.read(), embeddingBackwardRef(ids, dOut, V, D, dTable0), TOL_REDUCTION, `embedding_backward ${at}`);
  });

  it('embedding_forward at R=65537 D=65 needs the second grid dimension', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [R, V, D] = [65537, 37, 65];
    expect(workgroupGrid(gpu, ceilDiv(R * D, ELEMENTWISE_WG))[1]).toBeGreaterThan(1);
    const ids = randInts(R, rand, V);
    const table = uniform(V * D, rand);
    const out = fencedOutput(gpu, [R, D]);
    await noGpuErrors(gpu, () =>
      embeddingForward(gpu, gpu.upload(ids, [R], 'u32'), gpu.upload(table, [V, D]), out.tensor, R, { vocab: V, dim: D }),
    );
    expectClose(await out.read(), embeddingForwardRef(ids, table, V, D), TOL_COPY, `embedding_forward R=${R} seed ${seed}`);
  });

  it('embedding_backward with 65537 distinct ids, D=65, needs the second grid dimension', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [V, D, extra] = [65537, 65, 1009];
    const R = V + extra;
    // Every id at least once (so U = V), some twice, in shuffled row order.
    const ids = new Uint32Array(R);
    for (let r = 0; r < R; r++) ids[r] = r < V ? r : Math.floor(rand() * V);
    for (let r = R - 1; r > 0; r--) {
      const k = Math.floor(rand() * (r + 1));
      [ids[r], ids[k]] = [ids[k], ids[r]];
    }
    const csr = buildEmbeddingCsr(ids, V);
    expect(csr.uniqueIds.length).toBe(V);
    expect(workgroupGrid(gpu, ceilDiv(V * D, ELEMENTWISE_WG))[1]).toBeGreaterThan(1);
    const dOut = uniform(R * D, rand);
    const dTable0 = uniform(V * D, rand);
    const dTable = fencedOutput(gpu, [V, D], 'f32', dTable0);
    await noGpuErrors(gpu, () => embeddingBackward(gpu, csr, gpu.upload(dOut, [R, D]), dTable.tensor, { vocab: V, dim: D }));
    expectClose(await dTable.read(), embeddingBackwardRef(ids, dOut, V, D, dTable0), TOL_REDUCTION, `embedding_backward V=${V} seed ${seed}`);
  });

  it('embedding_backward is bit-for-bit repeatable and accumulates across calls', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [R, V, D] = [257, 13, 37];
    const ids = randInts(R, rand, V);
    const dOut = randn(R * D, rand);
    const first = fencedOutput(gpu, [V, D], 'f32', new Float32Array(V * D));
    const second = fencedOutput(gpu, [V, D], 'f32', new Float32Array(V * D));
    await noGpuErrors(gpu, () => {
      const d = gpu.upload(dOut, [R, D]);
      embeddingBackward(gpu, ids, d, first.tensor, { vocab: V, dim: D });
      embeddingBackward(gpu, ids, d, second.tensor, { vocab: V, dim: D });
      embeddingBackward(gpu, ids, d, second.tensor, { vocab: V, dim: D });
    });
    const a = await first.read();
    const b = await second.read();
    expect(b.every((v, i) => v === 2 * a[i]), `seed ${seed}: two identical calls differ`).toBe(true);
    expectClose(a, embeddingBackwardRef(ids, dOut, V, D), TOL_REDUCTION, `embedding_backward seed ${seed}`);
  });

  it('embedding_forward writes a zero row for a device id ≥ V, and rejects such host ids', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [V, D] = [5, 7];
    const ids = Uint32Array.from([0, 5, 4, 0xffffffff, 3]);
    const R = ids.length;
    const table = randn(V * D, rand);
    const out = fencedOutput(gpu, [R, D]);
    const idT = gpu.upload(ids, [R], 'u32');
    const tableT = gpu.upload(table, [V, D]);
    await noGpuErrors(gpu, () => embeddingForward(gpu, idT, tableT, out.tensor, R, { vocab: V, dim: D }));
    const got = await out.read();
    expectClose(got, embeddingForwardRef(ids, table, V, D), TOL_COPY, `embedding_forward out-of-range ids seed ${seed}`);
    expect([...got.subarray(D, 2 * D), ...got.subarray(3 * D, 4 * D)].every((v) => v === 0)).toBe(true);
    expect(() => embeddingForward(gpu, idT, tableT, out.tensor, R, { vocab: V, dim: D }, { hostIds: ids })).toThrow(
      /embeddingForward: token id 5 at row 1 is outside the vocabulary \[0, 5\)/,
    );
    expect(() => embeddingBackward(gpu, ids, gpu.empty([R, D]), gpu.empty([V, D]), { vocab: V, dim: D })).toThrow(/token id 5 at row 1/);
  });

  it('rejects short, mistyped and aliased tensors by name', async () => {
    const gpu = await testGpu();
    const [R, V, D] = [4, 6, 3];
    const ids = gpu.upload([0, 1, 2, 3], [R], 'u32');
    const table = gpu.empty([V, D]);
    const dims = { vocab: V, dim: D };
    expect(() => embeddingForward(gpu, gpu.empty([R]), table, gpu.empty([R, D]), R, dims)).toThrow(/ids is Tensor<f32>\[4\], must be u32/);
    expect(() => embeddingForward(gpu, ids, gpu.empty([V * D - 1]), gpu.empty([R, D]), R, dims)).toThrow(
      /embeddingForward: table has 17 elements, needs 18 \(rows=4 vocab=6 dim=3\)/,
    );
    expect(() => embeddingForward(gpu, ids, table, gpu.empty([R * D - 1]), R, dims)).toThrow(/embeddingForward: out has 11 elements/);
    expect(() => embeddingForward(gpu, ids, table, table, R, dims)).toThrow(/embedding\/embedding_forward: bindings 1 and 2 use one buffer, one read-only and one written/);
    expect(() => embeddingBackward(gpu, [0, 1, 2, 3], gpu.empty([R * D - 1]), table, dims)).toThrow(/embeddingBackward: dOut has 11 elements/);
    expect(() => embeddingBackward(gpu, [0, 1, 2, 3], gpu.empty([R, D]), gpu.empty([V * D - 1]), dims)).toThrow(/embeddingBackward: dTable has 17/);
  });
});
