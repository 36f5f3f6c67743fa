// Tests shaders/reduce.wgsl entry points sum_partial, sumsq_partial, sum_finalize,
// grad_norm_finalize and scale_by_coef against the float64 reference: segments at an offset in
// buffers whose other elements are NaN (a read outside the segment poisons the result), partials
// written at an offset beside values that must survive, the 2-D workgroup grid, several segments
// in one global norm, and NaN / ±Inf / overflow staying visible.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import {
  globalGradNorm,
  gradNormFinalize,
  partialCount,
  REDUCE_CHUNK,
  scaleByCoef,
  sumFinalize,
  sumPartial,
  sumSegments,
  sumsqPartial,
} from '../../src/gpu/ops/reduce';
import type { Gpu } from '../../src/gpu/runtime';
import type { Tensor } from '../../src/gpu/tensor';
import { chunkSumsRef, gradNormRef, normAndCoefRef, scaleByCoefRef, sumRef, sumsqRef } from '../reference/reduce';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng, uniform } from '../support/check';

// Partials: f32 sums of ≤ 4096 terms, 16 in sequence per thread then a 256-way tree
// (measured ≤ 1.1e-7 relative L2 in Chromium and Node; the sum data have a positive mean).
const TOL_PARTIAL = 1e-5;
// Finalised sums and the global norm: ≤ 1e-5 asked for the norm (measured ≤ 9e-8, also for
// the 1.3·10^6-element global norm).
const TOL_TOTAL = 1e-5;
// The clip coefficient: one f32 division of the norm (measured ≤ 1.5e-7).
const TOL_COEF = 1e-5;
// scale_by_coef: one f32 multiply per element (measured ≤ 6e-8).
const TOL_SCALE = 1e-6;

const SIZES = [1, 2, 7, 97, 256, 257, 4095, 4096, 4097, 49157];

/** x = data placed at `offset` inside a buffer whose other elements are NaN. */
function segmentInNaN(gpu: Gpu, data: Float32Array, offset: number, tail = 5): Tensor {
  const host = new Float32Array(offset + data.length + tail).fill(NaN);
  host.set(data, offset);
  return gpu.upload(host, [host.length]);
}

const PARTIAL_AT = 3;
const PARTIAL_TAIL = 2;
const KEEP = 42.5;

function partialsWithNeighbours(gpu: Gpu, count: number) {
  return fencedOutput(gpu, [PARTIAL_AT + count + PARTIAL_TAIL], 'f32', new Float32Array(PARTIAL_AT + count + PARTIAL_TAIL).fill(KEEP));
}

function withNeighbours(values: Float64Array): Float64Array {
  const out = new Float64Array(PARTIAL_AT + values.length + PARTIAL_TAIL).fill(KEEP);
  out.set(values, PARTIAL_AT);
  return out;
}

describe.each([
  ['sum_partial', false],
  ['sumsq_partial', true],
] as const)('%s', (name, square) => {
  it.each(SIZES)(`n=%i at an offset, partials beside kept values, then ${square ? 'grad_norm_finalize' : 'sum_finalize'}`, async (n) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // Mixed signs with a positive mean: a near-zero total of a few terms would make the relative
    // error a measure of cancellation, not of the kernel.
    const data = square ? randn(n, rand) : uniform(n, rand, -0.25, 2);
    const offset = 1 + Math.floor(rand() * 9);
    const x = segmentInNaN(gpu, data, offset);
    const count = partialCount(n);
    const partials = partialsWithNeighbours(gpu, count);
    const out = fencedOutput(gpu, [4], 'f32', new Float32Array([1, 2, 3, 4]));
    const maxNorm = 0.5 * Math.sqrt(n);
    await noGpuErrors(gpu, () => {
      const record = square ? sumsqPartial : sumPartial;
      expect(record(gpu, x, partials.tensor, { offset, n, partialsOffset: PARTIAL_AT })).toBe(count);
      if (square) gradNormFinalize(gpu, partials.tensor, out.tensor, maxNorm, { offset: PARTIAL_AT, count, outIndex: 1 });
      else sumFinalize(gpu, partials.tensor, out.tensor, { offset: PARTIAL_AT, count, outIndex: 2 });
    });
    const wantPartials = chunkSumsRef(data, 0, n, REDUCE_CHUNK, square);
    expectClose(await partials.read(), withNeighbours(wantPartials), TOL_PARTIAL, `${name} partials, seed ${seed} n=${n}`);
    const got = await out.read();
    if (square) {
      const [norm, coef] = normAndCoefRef(sumsqRef(data), maxNorm);
      expectClose([got[1]], [norm], TOL_TOTAL, `grad_norm_finalize norm, seed ${seed} n=${n}`);
      expectClose([got[2]], [coef], TOL_COEF, `grad_norm_finalize coef, seed ${seed} n=${n}`);
      expect([got[0], got[3]]).toEqual([1, 4]);
    } else {
      expectClose([got[2]], [sumRef(data)], TOL_TOTAL, `sum_finalize, seed ${seed} n=${n}`);
      expect([got[0], got[1], got[3]]).toEqual([1, 2, 4]);
    }
  });

  it('covers a 2-D workgroup grid with surplus workgroups', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // 11 partials on a grid of at most 4 per dimension: 4 × 3 workgroups, one surplus.
    const n = 10 * REDUCE_CHUNK + 17;
    const data = randn(n, rand);
    const x = segmentInNaN(gpu, data, 4);
    const count = partialCount(n);
    const partials = partialsWithNeighbours(gpu, count);
    await noGpuErrors(gpu, () =>
      (square ? sumsqPartial : sumPartial)(gpu, x, partials.tensor, { offset: 4, n, partialsOffset: PARTIAL_AT, maxWorkgroupsPerDim: 4 }),
    );
    expectClose(await partials.read(), withNeighbours(chunkSumsRef(data, 0, n, REDUCE_CHUNK, square)), TOL_PARTIAL, `${name} seed ${seed}`);
  });
});

describe('sum_finalize and grad_norm_finalize of an empty range', () => {
  it('write 0, and norm 0 with coefficient 1', async () => {
    const gpu = await testGpu();
    const partials = gpu.upload(new Float32Array([NaN]), [1]);
    const out = fencedOutput(gpu, [3]);
    await noGpuErrors(gpu, () => {
      sumFinalize(gpu, partials, out.tensor, { offset: 1, count: 0 });
      gradNormFinalize(gpu, partials, out.tensor, 1, { offset: 1, count: 0, outIndex: 1 });
    });
    expect([...(await out.read())]).toEqual([0, 0, 1]);
  });
});

describe('globalGradNorm (sumsq_partial ×k, grad_norm_finalize) and sumSegments (sum_partial ×k, sum_finalize)', () => {
  it('norm and clip coefficient of several segments in two buffers, up to 999983 elements', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // Buffer A holds segments of 999983 (prime) and 1 element; buffer B one of 300007 (prime) at an offset.
    // Uniform rather than normal values: as good for a norm, and much cheaper to draw.
    const a = uniform(999983 + 1 + 3, rand, -0.02, 0.02);
    const b = uniform(300007 + 11, rand, -0.05, 0.05);
    const segA1 = a.subarray(0, 999983);
    const segA2 = a.subarray(999983 + 2, 999983 + 3);
    const segB = b.subarray(7, 7 + 300007);
    const ta = gpu.upload(a, [a.length]);
    const tb = gpu.upload(b, [b.length]);
    const segments = [
      { tensor: ta, n: 999983 },
      { tensor: ta, offset: 999983 + 2, n: 1 },
      { tensor: tb, offset: 7, n: 300007 },
    ];
    const sumsq = sumsqRef(segA1) + sumsqRef(segA2) + sumsqRef(segB);
    const norm = Math.sqrt(sumsq);
    for (const maxNorm of [0, 2 * norm, 0.25 * norm]) {
      const out = fencedOutput(gpu, [2]);
      const result = await noGpuErrors(gpu, () => globalGradNorm(gpu, segments, maxNorm, out.tensor));
      expect(result).toBe(out.tensor);
      const got = await out.read();
      const want = normAndCoefRef(sumsq, maxNorm);
      expectClose([got[0]], [want[0]], TOL_TOTAL, `norm, seed ${seed} maxNorm=${maxNorm}`);
      expectClose([got[1]], [want[1]], TOL_COEF, `coef, seed ${seed} maxNorm=${maxNorm}`);
    }
    const sum = fencedOutput(gpu, [2], 'f32', new Float32Array([5, 6]));
    await noGpuErrors(gpu, () => sumSegments(gpu, [segments[1], segments[2]], sum.tensor, 1));
    const gotSum = await sum.read();
    expect(gotSum[0]).toBe(5);
    // Zero-mean data: compare against the sum of |x| scale, where f32 rounding lives.
    let scale = Math.abs(segA2[0]);
    for (const v of segB) scale += Math.abs(v);
    expect(Math.abs(gotSum[1] - (sumRef(segB) + segA2[0])) / scale, `sumSegments, seed ${seed}`).toBeLessThanOrEqual(TOL_TOTAL);
  });

  it('allocates its result when no output is given', async () => {
    const gpu = await testGpu();
    const g = gpu.upload(new Float32Array([3, 4]), [2]);
    const result = await noGpuErrors(gpu, () => globalGradNorm(gpu, [g], 1));
    const got = await gpu.readF32(result);
    expectClose(got, [5, 1 / (5 + 1e-6)], TOL_COEF, 'norm of (3, 4)');
  });
});

describe('non-finite values stay visible (sum_partial, sumsq_partial, sum_finalize, grad_norm_finalize)', () => {
  const NAN_BITS = 0x7fc00000;
  const cases: Array<[string, (data: Float32Array) => void, number | 'finite', number]> = [
    // name, how to spoil the data, expected sum, expected norm
    ['a NaN', (d) => (d[5000] = NaN), NaN, NaN],
    ['+Inf', (d) => (d[3] = Infinity), Infinity, Infinity],
    ['−Inf', (d) => (d[9000] = -Infinity), -Infinity, Infinity],
    ['+Inf and −Inf in different partials', (d) => ((d[1] = Infinity), (d[8200] = -Infinity)), NaN, Infinity],
    ['finite values whose squares overflow f32', (d) => (d[4097] = 1e30), 'finite', Infinity],
  ];
  it.each(cases)('%s', async (what, spoil, wantSum, wantNorm) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const data = randn(3 * REDUCE_CHUNK - 5, rng(seed));
    spoil(data);
    const x = gpu.upload(data, [data.length]);
    const count = partialCount(data.length);
    const sumParts = fencedOutput(gpu, [count]);
    const sqParts = fencedOutput(gpu, [count]);
    const out = fencedOutput(gpu, [3]);
    await noGpuErrors(gpu, () => {
      sumPartial(gpu, x, sumParts.tensor);
      sumsqPartial(gpu, x, sqParts.tensor);
      sumFinalize(gpu, sumParts.tensor, out.tensor, { count });
      gradNormFinalize(gpu, sqParts.tensor, out.tensor, 1, { count, outIndex: 1 });
    });
    const got = await out.read();
    if (wantSum === 'finite') expect(Number.isFinite(got[0]), `${what}: sum, seed ${seed}`).toBe(true);
    else if (Number.isNaN(wantSum)) expect(got[0], `${what}: sum, seed ${seed}`).toBeNaN();
    else expect(got[0], `${what}: sum, seed ${seed}`).toBe(wantSum);
    if (Number.isNaN(wantNorm)) expect(got[1], `${what}: norm`).toBeNaN();
    else expect(got[1], `${what}: norm`).toBe(wantNorm);
    // The coefficient is exactly the canonical quiet NaN the shader builds.
    expect(new Uint32Array(got.buffer)[2], `${what}: coefficient`).toBe(NAN_BITS);
    // Only the partial whose chunk holds the spoiled value is non-finite.
    const sq = await sqParts.read();
    const spoiled = [...data].map((v, i) => (Number.isFinite(v * v) && Math.abs(v) < 1e19 ? -1 : Math.floor(i / REDUCE_CHUNK)));
    for (let w = 0; w < count; w++) expect(Number.isFinite(sq[w]), `${what}: sumsq partial ${w}`).toBe(!spoiled.includes(w));
  });
});

describe('scale_by_coef', () => {
  it.each([1, 7, 257, 4099])('n=%i at an offset, coefficient at an index', async (n) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const x0 = randn(n + 9, rand);
    const offset = 4;
    const c = 0.1 + rand();
    const coef = gpu.upload(new Float32Array([NaN, NaN, c]), [3]);
    const x = fencedOutput(gpu, [x0.length], 'f32', x0);
    await noGpuErrors(gpu, () => scaleByCoef(gpu, x.tensor, coef, { offset, n, coefIndex: 2 }));
    expectClose(await x.read(), scaleByCoefRef(x0, offset, n, Math.fround(c)), TOL_SCALE, `seed ${seed} n=${n}`);
  });

  it('covers a 2-D workgroup grid, and applies a clip coefficient from globalGradNorm', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const g0 = randn(3001, rand);
    const g = fencedOutput(gpu, [g0.length], 'f32', g0);
    const norm = fencedOutput(gpu, [2]);
    // 12 workgroups on a grid of at most 5 per dimension: 4 × 3.
    await noGpuErrors(gpu, () => {
      globalGradNorm(gpu, [g.tensor], 1, norm.tensor);
      scaleByCoef(gpu, g.tensor, norm.tensor, { coefIndex: 1, maxWorkgroupsPerDim: 5 });
    });
    const [, coef] = gradNormRef([g0], 1);
    expectClose(await g.read(), scaleByCoefRef(g0, 0, g0.length, coef), TOL_SCALE + TOL_COEF, `seed ${seed}`);
  });

  it('leaves x untouched when the coefficient is not finite', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const x0 = randn(300, rng(seed));
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = fencedOutput(gpu, [x0.length], 'f32', x0);
      await noGpuErrors(gpu, () => scaleByCoef(gpu, x.tensor, gpu.upload(new Float32Array([bad]), [1])));
      expect([...(await x.read())], `coef ${bad}, seed ${seed}`).toEqual([...x0]);
    }
  });

  it('rejects bad sizes with a clear message', async () => {
    const gpu = await testGpu();
    const x = gpu.empty([10]);
    expect(() => scaleByCoef(gpu, x, x)).toThrow(/reduce\/scale_by_coef: bindings 0 and 1 use one buffer, one read-only and one written/);
    expect(() => scaleByCoef(gpu, x, gpu.empty([2]), { coefIndex: 2 })).toThrow(/coef has 2 elements, needs 3/);
    expect(() => sumPartial(gpu, x, gpu.empty([1]), { offset: 5, n: 6 })).toThrow(/x has 10 elements, needs 11/);
    expect(() => sumsqPartial(gpu, gpu.empty([5000]), gpu.empty([1]))).toThrow(/partials has 1 elements, needs 2/);
    expect(() => globalGradNorm(gpu, [x], NaN)).toThrow(/maxNorm/);
  });
});
