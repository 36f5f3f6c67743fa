// Tests shaders/elementwise.wgsl entry points add, axpy, fill and scale against the float64
// reference: odd sizes, a partial range (n below the tensor size), and a size whose one-thread-
// per-element dispatch needs more than 65535 workgroups (the second grid dimension).
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { ceilDiv } from '../../src/gpu/kernel';
import { workgroupGrid } from '../../src/gpu/grid';
import { add, axpy, ELEMENTWISE_WG, fill, scale } from '../../src/gpu/ops/elementwise';
import { addRef, axpyRef, fillRef, scaleRef } from '../reference/elementwise';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng, uniform } from '../support/check';

// One float32 rounding per element against float64: relative L2 ≤ 2^-24 ≈ 6e-8 (measured ≤ 5e-8).
const TOL = 1e-5;

// 1, primes, and sizes that are neither multiples of 4 nor of the 64-thread workgroup.
const SIZES = [1, 5, 37, 130, 1031];
// Smallest prime whose ceil(n / 64) exceeds 65535: the grid needs gy = 2.
const BIG = 4_194_247;

describe('elementwise grid', () => {
  it('needs the second grid dimension at the big size', async () => {
    const [gx, gy] = workgroupGrid(await testGpu(), ceilDiv(BIG, ELEMENTWISE_WG));
    expect(gy).toBeGreaterThan(1);
    expect(gx).toBeLessThanOrEqual(65535);
    expect(gx * gy).toBeGreaterThanOrEqual(ceilDiv(BIG, ELEMENTWISE_WG));
  });
});

describe.each([...SIZES, BIG])('n=%i', (n) => {
  const draw = (rand: () => number) => (n === BIG ? uniform(n, rand) : randn(n, rand));

  it('add', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const a = draw(rand);
    const b = draw(rand);
    const c = fencedOutput(gpu, [n]);
    await noGpuErrors(gpu, () => add(gpu, gpu.upload(a, [n]), gpu.upload(b, [n]), c.tensor));
    expectClose(await c.read(), addRef(a, b), TOL, `add seed ${seed}`);
  });

  it('axpy', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const x = draw(rand);
    const alpha = (rand() < 0.5 ? -1 : 1) * (0.25 + rand());
    // y0 takes the sign of alpha·x, so no element cancels: without a fused multiply-add y + αx
    // rounds twice, and a near-cancelling element (decisive when n = 1) has no relative bound.
    const y0 = draw(rand).map((v, i) => Math.sign(alpha * x[i]) * Math.abs(v));
    const y = fencedOutput(gpu, [n], 'f32', y0);
    await noGpuErrors(gpu, () => axpy(gpu, alpha, gpu.upload(x, [n]), y.tensor));
    expectClose(await y.read(), axpyRef(Math.fround(alpha), x, y0), TOL, `axpy alpha=${alpha} seed ${seed}`);
  });

  it('fill', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const value = randn(1, rng(seed))[0];
    const y = fencedOutput(gpu, [n]);
    await noGpuErrors(gpu, () => fill(gpu, y.tensor, value));
    expectClose(await y.read(), fillRef(n, Math.fround(value)), TOL, `fill ${value} seed ${seed}`);
  });

  it('scale', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const y0 = draw(rand);
    const alpha = 0.25 + rand();
    const y = fencedOutput(gpu, [n], 'f32', y0);
    await noGpuErrors(gpu, () => scale(gpu, y.tensor, alpha));
    expectClose(await y.read(), scaleRef(Math.fround(alpha), y0), TOL, `scale alpha=${alpha} seed ${seed}`);
  });
});

describe('elementwise partial range and validation', () => {
  it('touches only the first n elements when n is below the tensor size', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [size, n] = [133, 67];
    const a = randn(size, rand);
    const b = randn(size, rand);
    const x = randn(size, rand);
    const y0 = randn(size, rand);
    const c0 = randn(size, rand);
    const c = fencedOutput(gpu, [size], 'f32', c0);
    const ya = fencedOutput(gpu, [size], 'f32', y0);
    const yf = fencedOutput(gpu, [size], 'f32', y0);
    const ys = fencedOutput(gpu, [size], 'f32', y0);
    await noGpuErrors(gpu, () => {
      add(gpu, gpu.upload(a, [size]), gpu.upload(b, [size]), c.tensor, n);
      axpy(gpu, 2, gpu.upload(x, [size]), ya.tensor, n);
      fill(gpu, yf.tensor, 3, n);
      scale(gpu, ys.tensor, -1, n);
    });
    const keep = (head: ArrayLike<number>, tail: Float32Array) => [...Array.from(head).slice(0, n), ...tail.slice(n)];
    expectClose(await c.read(), keep(addRef(a, b), c0), TOL, `add seed ${seed}`);
    expectClose(await ya.read(), keep(axpyRef(2, x, y0), y0), TOL, `axpy seed ${seed}`);
    expectClose(await yf.read(), keep(fillRef(n, 3), y0), TOL, `fill seed ${seed}`);
    expectClose(await ys.read(), keep(scaleRef(-1, y0), y0), TOL, `scale seed ${seed}`);
  });

  it('rejects short, mistyped and aliased tensors by name', async () => {
    const gpu = await testGpu();
    const a = gpu.empty([10]);
    const short = gpu.empty([9]);
    const ints = gpu.empty([10], 'u32');
    expect(() => add(gpu, a, short, gpu.empty([10]))).toThrow(/add: b has 9 elements, needs 10/);
    // The runtime refuses a buffer bound both read-only and written, naming kernel and bindings.
    expect(() => add(gpu, a, gpu.empty([10]), a)).toThrow(/elementwise\/add: bindings 0 and 2 use one buffer, one read-only and one written/);
    expect(() => axpy(gpu, 1, short, a)).toThrow(/axpy: x has 9 elements/);
    expect(() => axpy(gpu, 1, a, a)).toThrow(/elementwise\/axpy: bindings 0 and 1 use one buffer, one read-only and one written/);
    expect(() => fill(gpu, ints, 0)).toThrow(/fill: y is Tensor<u32>\[10\], must be f32/);
    expect(() => scale(gpu, short, 2, 10)).toThrow(/scale: y has 9 elements, needs 10/);
    expect(() => scale(gpu, a, Number.NaN)).toThrow(/not finite/);
  });
});
