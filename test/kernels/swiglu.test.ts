// Tests shaders/swiglu.wgsl entry points swiglu_forward and swiglu_backward against the float64
// reference: shapes [R, F] with R = 1 and primes, F not a multiple of 4, extreme gate values, and
// one size whose one-thread-per-element dispatch needs more than 65535 workgroups.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { ceilDiv } from '../../src/gpu/kernel';
import { workgroupGrid } from '../../src/gpu/grid';
import { ELEMENTWISE_WG } from '../../src/gpu/ops/elementwise';
import { swigluBackward, swigluForward } from '../../src/gpu/ops/swiglu';
import { swigluBackwardRef, swigluForwardRef } from '../reference/swiglu';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng, uniform } from '../support/check';

// Element-wise with one exp per element. SwiftShader's exp is within a few ulp for |g| ≤ 10:
// measured relative L2 ≤ 1.2e-7 (forward) and ≤ 2e-7 (backward) in Chromium and Node/Dawn.
// The bound leaves room for GPUs whose exp meets only Vulkan's 3 + 2|x| ulp.
const TOL = 1e-5;

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [1, 37],
  [7, 5],
  [13, 130],
  [67, 37],
];
// R prime, F = 131: R·F = 4 195 537 elements, ceil(R·F / 64) = 65 556 > 65535 workgroups.
const BIG: [number, number] = [32027, 131];

function inputs(n: number, rand: () => number, big: boolean) {
  // Gates up to ±10 cover both tails of the sigmoid; the big case keeps the cheaper uniform draw.
  const gate = big ? uniform(n, rand, -10, 10) : randn(n, rand, 3);
  // silu'(g) = σ(g)·(1 + g·(1 − σ(g))) vanishes at g ≈ −1.2785, where dgate is a cancellation
  // with no relative error bound; one such element would decide a tiny tensor's relative L2.
  for (let i = 0; i < n; i++) if (Math.abs(gate[i] + 1.2785) < 0.05) gate[i] -= 0.1;
  return { gate, up: big ? uniform(n, rand) : randn(n, rand), dh: big ? uniform(n, rand) : randn(n, rand) };
}

async function checkBoth(R: number, F: number): Promise<void> {
  const gpu = await testGpu();
  const seed = freshSeed();
  const n = R * F;
  const { gate, up, dh } = inputs(n, rng(seed), n > 1e6);
  const h = fencedOutput(gpu, [R, F]);
  const dgate = fencedOutput(gpu, [R, F]);
  const dup = fencedOutput(gpu, [R, F]);
  await noGpuErrors(gpu, () => {
    const g = gpu.upload(gate, [R, F]);
    const u = gpu.upload(up, [R, F]);
    swigluForward(gpu, g, u, h.tensor);
    swigluBackward(gpu, g, u, gpu.upload(dh, [R, F]), dgate.tensor, dup.tensor);
  });
  const want = swigluBackwardRef(gate, up, dh);
  expectClose(await h.read(), swigluForwardRef(gate, up), TOL, `swiglu_forward R=${R} F=${F} seed ${seed}`);
  expectClose(await dgate.read(), want.dgate, TOL, `swiglu_backward dgate R=${R} F=${F} seed ${seed}`);
  expectClose(await dup.read(), want.dup, TOL, `swiglu_backward dup R=${R} F=${F} seed ${seed}`);
}

describe('swiglu_forward and swiglu_backward', () => {
  it.each(SHAPES)('R=%i F=%i', checkBoth);

  it('R=32027 F=131 needs the second grid dimension', async () => {
    expect(workgroupGrid(await testGpu(), ceilDiv(BIG[0] * BIG[1], ELEMENTWISE_WG))[1]).toBeGreaterThan(1);
    await checkBoth(...BIG);
  });

  it('stays finite and exact in the tails (|gate| up to 1e4)', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const gate = Float32Array.from([-1e4, -200, -90, -88, -30, -1e-30, 0, 1e-30, 30, 88, 90, 200, 1e4]);
    const n = gate.length;
    const up = randn(n, rand);
    const dh = randn(n, rand);
    const h = fencedOutput(gpu, [n]);
    const dgate = fencedOutput(gpu, [n]);
    const dup = fencedOutput(gpu, [n]);
    await noGpuErrors(gpu, () => {
      const g = gpu.upload(gate, [n]);
      const u = gpu.upload(up, [n]);
      swigluForward(gpu, g, u, h.tensor);
      swigluBackward(gpu, g, u, gpu.upload(dh, [n]), dgate.tensor, dup.tensor);
    });
    const want = swigluBackwardRef(gate, up, dh);
    expectClose(await h.read(), swigluForwardRef(gate, up), TOL, `swiglu_forward tails seed ${seed}`);
    expectClose(await dgate.read(), want.dgate, TOL, `swiglu_backward dgate tails seed ${seed}`);
    expectClose(await dup.read(), want.dup, TOL, `swiglu_backward dup tails seed ${seed}`);
  });

  it('rejects short and aliased tensors by name', async () => {
    const gpu = await testGpu();
    const t = gpu.empty([12]);
    const short = gpu.empty([11]);
    expect(() => swigluForward(gpu, t, short, gpu.empty([12]))).toThrow(/swigluForward: up has 11 elements, needs 12/);
    expect(() => swigluForward(gpu, t, gpu.empty([12]), t)).toThrow(/swiglu\/swiglu_forward: bindings 0 and 2 use one buffer, one read-only and one written/);
    expect(() => swigluBackward(gpu, t, t, t, gpu.empty([12]), short)).toThrow(/swigluBackward: dup has 11 elements/);
    const o = gpu.empty([12]);
    expect(() => swigluBackward(gpu, t, t, t, o, o)).toThrow(/swiglu\/swiglu_backward: bindings 3 and 4 are written and overlap/);
  });
});
