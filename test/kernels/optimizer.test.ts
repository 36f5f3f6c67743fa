// Tests shaders/optimizer.wgsl entry point adamw_step against the float64 AdamW reference:
// several steps in a row with params, m and v all compared, with and without weight decay,
// with clip coefficient 1 and ≠ 1, fresh and late (t ≈ 1000) state, a segment at an offset in
// buffers whose other elements must stay as they were, the 2-D workgroup grid, skipping on a
// non-finite coefficient, and the clip coefficient coming from reduce's globalGradNorm.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { adamwStep } from '../../src/gpu/ops/optimizer';
import { globalGradNorm } from '../../src/gpu/ops/reduce';
import type { Gpu } from '../../src/gpu/runtime';
import { adamwStateRef, adamwStepRef, type AdamWRefHyper, type AdamWRefState } from '../reference/optimizer';
import { gradNormRef } from '../reference/reduce';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng, uniform, type FencedOutput } from '../support/check';

// Elementwise float32 update repeated over a few steps; hyper-parameters are rounded to f32 once
// (measured ≤ 1.7e-7 relative L2 for params, m and v, Chromium and Node).
const TOL = 1e-5;

const SIZES = [1, 7, 257, 4099, 100003];
const STEPS = 4;
/** [weight decay, clip coefficient] */
const VARIANTS: Array<[number, number]> = [
  [0, 1],
  [0.1, 1],
  [0, 0.37],
  [0.05, 2.5],
];

const BASE: Omit<AdamWRefHyper, 'weightDecay'> = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

interface GpuState {
  p: FencedOutput;
  m: FencedOutput;
  v: FencedOutput;
}

function upload(gpu: Gpu, s: AdamWRefState): GpuState {
  return {
    p: fencedOutput(gpu, [s.p.length], 'f32', Float32Array.from(s.p)),
    m: fencedOutput(gpu, [s.m.length], 'f32', Float32Array.from(s.m)),
    v: fencedOutput(gpu, [s.v.length], 'f32', Float32Array.from(s.v)),
  };
}

async function compare(g: GpuState, want: AdamWRefState, what: string): Promise<void> {
  expectClose(await g.p.read(), want.p, TOL, `params, ${what}`);
  expectClose(await g.m.read(), want.m, TOL, `m, ${what}`);
  expectClose(await g.v.read(), want.v, TOL, `v, ${what}`);
}

/**
 * Initial state of `total` elements: params ~ 0.1·N(0,1); moments zero on the segment for a first
 * step (warm: moments as after many steps). Outside the segment the moments are random too: they
 * must come back unchanged, and they keep a lone segment element whose moment nearly cancels
 * from turning the relative L2 error into a per-element relative error.
 */
function initialState(total: number, rand: () => number, warm: boolean, offset = 0, n = total - offset): AdamWRefState {
  const p = Float64Array.from(randn(total, rand, 0.1));
  const m = Float64Array.from(randn(total, rand, 0.1));
  const v = Float64Array.from(randn(total, rand, 0.2), (x) => Math.fround(x * x));
  if (!warm) {
    m.fill(0, offset, offset + n);
    v.fill(0, offset, offset + n);
  }
  return adamwStateRef(p, m, v);
}

describe('adamw_step', () => {
  it.each(SIZES)('n=%i: several steps in a row against the float64 reference', async (n) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const offset = 3;
    const total = offset + n + 4;
    for (const [weightDecay, coefValue] of VARIANTS) {
      for (const warm of [false, true]) {
        const what = `seed ${seed} n=${n} wd=${weightDecay} coef=${coefValue} warm=${warm}`;
        const h: AdamWRefHyper = { ...BASE, weightDecay };
        const want = initialState(total, rand, warm, offset, n);
        const got = upload(gpu, want);
        // Index 0 is NaN: reading the wrong element would skip every step.
        const coef = gpu.upload(new Float32Array([NaN, coefValue]), [2]);
        const t0 = warm ? 1000 : 1;
        for (let t = t0; t < t0 + STEPS; t++) {
          // Grad scale changes per step so that m̂ / √v̂ is not just the sign of g (uniform: cheap to draw).
          const scale = 0.5 + 2 * rand();
          const g = uniform(total, rand, -scale, scale);
          await noGpuErrors(gpu, () =>
            adamwStep(gpu, got.p.tensor, gpu.upload(g, [total]), got.m.tensor, got.v.tensor, coef, { ...h, step: t, offset, n, coefIndex: 1 }),
          );
          adamwStepRef(want, g, h, t, Math.fround(coefValue), offset, n);
        }
        await compare(got, want, what);
      }
    }
  });

  it('covers a 2-D workgroup grid', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const n = 3001;
    const h: AdamWRefHyper = { ...BASE, weightDecay: 0.1 };
    const want = initialState(n, rand, false);
    const got = upload(gpu, want);
    const coef = gpu.upload(new Float32Array([1]), [1]);
    // 12 workgroups on a grid of at most 5 per dimension: 4 × 3.
    for (let t = 1; t <= 2; t++) {
      const g = randn(n, rand);
      await noGpuErrors(gpu, () =>
        adamwStep(gpu, got.p.tensor, gpu.upload(g, [n]), got.m.tensor, got.v.tensor, coef, { ...h, step: t, maxWorkgroupsPerDim: 5 }),
      );
      adamwStepRef(want, g, h, t);
    }
    await compare(got, want, `seed ${seed}`);
  });

  it('skips the step when the coefficient is not finite', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const n = 513;
    const start = initialState(n, rand, true);
    const g = gpu.upload(randn(n, rand), [n]);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const got = upload(gpu, start);
      await noGpuErrors(gpu, () =>
        adamwStep(gpu, got.p.tensor, g, got.m.tensor, got.v.tensor, gpu.upload(new Float32Array([bad]), [1]), { lr: 0.1, step: 3 }),
      );
      expect([...(await got.p.read())], `params, coef ${bad}, seed ${seed}`).toEqual([...Float32Array.from(start.p)]);
      expect([...(await got.m.read())], `m, coef ${bad}`).toEqual([...Float32Array.from(start.m)]);
      expect([...(await got.v.read())], `v, coef ${bad}`).toEqual([...Float32Array.from(start.v)]);
    }
  });

  it('takes the clip coefficient from globalGradNorm, over two parameter segments, and skips a NaN step', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // Parameter groups: all of a 20011-element buffer, and element 2 of a 6-element one.
    const totals = [20011, 6];
    const segs = [
      { offset: 0, n: 20011 },
      { offset: 2, n: 1 },
    ];
    const h: AdamWRefHyper = { ...BASE, weightDecay: 0.01 };
    const want = totals.map((total, i) => initialState(total, rand, false, segs[i].offset, segs[i].n));
    const got = want.map((s) => upload(gpu, s));
    const maxNorm = 1;
    let t = 1;
    for (let step = 0; step < 4; step++) {
      const grads = totals.map((total) => randn(total, rand, 0.05));
      // Step 2 has a NaN gradient: the norm is NaN, the coefficient NaN, and nothing may move.
      if (step === 2) grads[0][17] = NaN;
      const [norm, coef] = gradNormRef(
        grads.map((g, i) => g.subarray(segs[i].offset, segs[i].offset + segs[i].n)),
        maxNorm,
      );
      if (step !== 2) expect(coef, `clipping is active, seed ${seed}`).toBeLessThan(1);
      const normOut = fencedOutput(gpu, [2]);
      await noGpuErrors(gpu, () => {
        const g = grads.map((x) => gpu.upload(x, [x.length]));
        globalGradNorm(gpu, g.map((tensor, i) => ({ tensor, ...segs[i] })), maxNorm, normOut.tensor);
        got.forEach((s, i) => adamwStep(gpu, s.p.tensor, g[i], s.m.tensor, s.v.tensor, normOut.tensor, { ...h, step: t, coefIndex: 1, ...segs[i] }));
      });
      const normGot = await normOut.read();
      if (Number.isFinite(norm)) {
        expectClose([normGot[0]], [norm], TOL, `norm, seed ${seed} step ${step}`);
        want.forEach((s, i) => adamwStepRef(s, grads[i], h, t, coef, segs[i].offset, segs[i].n));
        // The caller advances t only for a step it did not skip.
        t++;
      } else {
        expect(normGot[0], `NaN norm, seed ${seed}`).toBeNaN();
        expect(normGot[1], `NaN coefficient, seed ${seed}`).toBeNaN();
      }
    }
    for (let i = 0; i < totals.length; i++) await compare(got[i], want[i], `seed ${seed} buffer ${i}`);
  });

  it('rejects bad arguments with a clear message', async () => {
    const gpu = await testGpu();
    const [p, g, m, v, c] = [gpu.empty([10]), gpu.empty([10]), gpu.empty([10]), gpu.empty([9]), gpu.empty([1])];
    expect(() => adamwStep(gpu, p, g, m, v, c, { lr: 1e-3, step: 1 })).toThrow(/v has 9 elements, needs 10/);
    expect(() => adamwStep(gpu, p, g, m, m, c, { lr: 1e-3, step: 1, n: 9 })).toThrow(/optimizer\/adamw_step: bindings 2 and 3 are written and overlap/);
    expect(() => adamwStep(gpu, p, g, m, v, c, { lr: 1e-3, step: 0, n: 9 })).toThrow(/step 0/);
    expect(() => adamwStep(gpu, p, g, m, v, c, { lr: 1e-3, step: 1, n: 9, coefIndex: 1 })).toThrow(/coef has 1 elements, needs 2/);
    expect(() => adamwStep(gpu, p, g, m, v, c, { lr: 1e-3, step: 1, n: 9, beta2: 1 })).toThrow(/beta2/);
  });
});
