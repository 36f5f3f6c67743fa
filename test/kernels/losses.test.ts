// Tests shaders/losses.wgsl entry points pg_loss_forward, pg_loss_backward, ce_loss_forward and
// ce_loss_backward against the float64 reference: every ratio regime (inside the clip range,
// above 1+eps_high, below 1−eps_low, beyond the dual clip), positive / negative / zero
// advantages, the KL clamp, masked tokens holding overflowing garbage, fractional mask weights,
// N = 0, and a forced 2-D grid. (The GPU chain through logprobs is in logprobs.test.ts.)
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { ceLossBackward, ceLossForward, pgLossBackward, pgLossForward, type PgLossOptions } from '../../src/gpu/ops/losses';
import type { Gpu } from '../../src/gpu/runtime';
import { ceLossBackwardRef, ceLossForwardRef, pgCase, pgLossBackwardRef, pgLossForwardRef, type PgCase } from '../reference/losses';
import { expectJointlyClose, uploadFlat } from '../support/joint';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, rng } from '../support/check';

// Tolerances (relative L2). Measured maxima over 8 runs each in Chromium and in Node
// (SwiftShader) are given with each bound.
// ratio = exp(logp − logp_old) and the k3 KL (a series near 0, else exp) per token:
// loss ≤ 1.7e-7, kl ≤ 1.7e-7 measured.
const TOL_PG = 2e-6;
// dlogp = mask·(−A·r + kl_coef·(1 − exp(d)))/N: ≤ 2.2e-7 measured.
const TOL_PG_GRAD = 2e-6;
// Clip flags are decisions taken clear of every kink (pgCase keeps a 1e-3 margin): exact.
const TOL_CLIP = 0;
// Cross-entropy is a multiply by the float32 1/N per token: ≤ 7.8e-8 measured.
const TOL_CE = 1e-6;

/**
 * Shapes: lists of independent problems, each its own dispatch, compared jointly. One token is a
 * single number that pg and kl_coef·kl may cancel to nearly 0, where a relative error means
 * nothing; six single-token dispatches checked together keep R = 1 honest. 70000 tokens is
 * 1094 workgroups of 64: the 2-D grid is exercised through a lowered grid limit instead.
 */
const SHAPES: number[][] = [[1, 1, 1, 1, 1, 1], [7], [300], [70000]];

const PG_CONFIGS: Array<[string, Omit<PgLossOptions, 'nTokens'>, boolean]> = [
  ['DAPO clip-higher, dual clip, KL', { epsLow: 0.2, epsHigh: 0.28, dualClip: 3, klCoef: 0.1 }, false],
  ['symmetric clip, no dual clip, no KL', { epsLow: 0.2, epsHigh: 0.2, dualClip: 0, klCoef: 0 }, false],
  ['no reference policy', { epsLow: 0.1, epsHigh: 0.3, dualClip: 2, klCoef: 0.5 }, true],
  // PipelineRL (the paper's Stage II): ratio kept in [-3, 5], so no clip below.
  ['epsilon 4, no dual clip, KL', { epsLow: 4, epsHigh: 4, dualClip: 0, klCoef: 0.1 }, false],
];

interface PgRun {
  loss: ArrayLike<number>;
  kl: ArrayLike<number>;
  clip: ArrayLike<number>;
  dlogp: ArrayLike<number>;
}

async function runPg(gpu: Gpu, c: PgCase, R: number, o: PgLossOptions, noRef: boolean, maxWorkgroupsPerDim?: number): Promise<{ got: PgRun; want: PgRun }> {
  const out = { loss: fencedOutput(gpu, [R]), kl: fencedOutput(gpu, [R]), clip: fencedOutput(gpu, [R]), dlogp: fencedOutput(gpu, [R]) };
  const opts = { ...o, maxWorkgroupsPerDim };
  await noGpuErrors(gpu, () => {
    const x = {
      logp: uploadFlat(gpu, c.logp),
      logpOld: uploadFlat(gpu, c.logpOld),
      logpRef: noRef ? null : uploadFlat(gpu, c.logpRef),
      adv: uploadFlat(gpu, c.adv),
      mask: uploadFlat(gpu, c.mask),
    };
    pgLossForward(gpu, x, { loss: out.loss.tensor, kl: out.kl.tensor, clip: out.clip.tensor }, R, opts);
    pgLossBackward(gpu, x, out.dlogp.tensor, R, opts);
  });
  const refX = { ...c, logpRef: noRef ? null : c.logpRef };
  const f = pgLossForwardRef(refX, R, o);
  return {
    got: { loss: await out.loss.read(), kl: await out.kl.read(), clip: await out.clip.read(), dlogp: await out.dlogp.read() },
    want: { loss: f.loss, kl: f.kl, clip: f.clip, dlogp: pgLossBackwardRef(refX, R, o) },
  };
}

function expectPg(runs: Array<{ got: PgRun; want: PgRun }>, what: string): void {
  for (const k of ['loss', 'kl', 'clip', 'dlogp'] as const) {
    const tol = k === 'clip' ? TOL_CLIP : k === 'dlogp' ? TOL_PG_GRAD : TOL_PG;
    expectJointlyClose(runs.map((r) => r.got[k]), runs.map((r) => r.want[k]), tol, `${what} ${k}`);
  }
}

/** Token weights in (0, 1] on the counted tokens, as a weighted token mean would use. */
function weigh(c: PgCase, rand: () => number): void {
  for (let i = 0; i < c.mask.length; i++) if (c.mask[i] !== 0) c.mask[i] = Math.fround(0.1 + 0.9 * rand());
}

describe('pg_loss_forward and pg_loss_backward', () => {
  it.each(PG_CONFIGS)('%s', async (_name, cfg, noRef) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    for (const rows of SHAPES) {
      const runs = [];
      for (const R of rows) {
        const c = pgCase(R, rand, cfg);
        runs.push(await runPg(gpu, c, R, { ...cfg, nTokens: c.nTokens }, noRef));
      }
      expectPg(runs, `seed ${seed} R=${rows.join('+')}`);
    }
  });

  it('every regime is present in the 300-token case', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const cfg = PG_CONFIGS[0][1];
    const c = pgCase(300, rng(seed), cfg);
    const { got } = await runPg(gpu, c, 300, { ...cfg, nTokens: c.nTokens }, false);
    const live = (i: number): boolean => c.mask[i] !== 0;
    const count = (p: (i: number) => boolean): number => Array.from({ length: 300 }, (_, i) => i).filter(p).length;
    const what = `seed ${seed}`;
    expect(count((i) => live(i) && got.clip[i] === 1 && c.adv[i] > 0), `${what}: upper clip`).toBeGreaterThan(0);
    expect(count((i) => live(i) && got.clip[i] === 1 && c.adv[i] < 0), `${what}: dual clip`).toBeGreaterThan(0);
    expect(count((i) => live(i) && got.clip[i] === -1), `${what}: lower clip`).toBeGreaterThan(0);
    expect(count((i) => live(i) && got.clip[i] === 0 && got.dlogp[i] !== 0), `${what}: unclipped`).toBeGreaterThan(0);
    expect(count((i) => live(i) && c.adv[i] === 0), `${what}: A = 0`).toBeGreaterThan(0);
    expect(count((i) => live(i) && got.kl[i] === 10), `${what}: KL clamp`).toBeGreaterThan(0);
    expect(count((i) => !live(i) && c.logp[i] === 60), `${what}: masked garbage`).toBeGreaterThan(0);
  });

  it('fractional mask weights', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const cfg = PG_CONFIGS[0][1];
    const c = pgCase(300, rand, cfg);
    weigh(c, rand);
    expectPg([await runPg(gpu, c, 300, { ...cfg, nTokens: c.nTokens }, false)], `seed ${seed}`);
  });

  it('forced grid limit of 3: 300 tokens (5 workgroups) on a 3×2 grid, one surplus', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const cfg = PG_CONFIGS[0][1];
    const c = pgCase(300, rng(seed), cfg);
    expectPg([await runPg(gpu, c, 300, { ...cfg, nTokens: c.nTokens }, false, 3)], `seed ${seed}`);
  });
});

interface CeCase {
  logp: Float32Array;
  mask: Float32Array;
  nTokens: number;
}

/** Log-probs with masks of 0, 1 and fractional weights; masked positions hold −∞. */
function ceCase(R: number, rand: () => number): CeCase {
  const c: CeCase = { logp: new Float32Array(R), mask: new Float32Array(R), nTokens: 0 };
  for (let i = 0; i < R; i++) {
    const u = rand();
    c.mask[i] = u < 0.2 ? 0 : u < 0.7 ? 1 : Math.fround(0.1 + 0.9 * rand());
    c.logp[i] = c.mask[i] === 0 ? -Infinity : Math.fround(-8 * rand());
    if (c.mask[i] !== 0) c.nTokens++;
  }
  return c;
}

async function runCe(gpu: Gpu, c: CeCase, R: number, maxWorkgroupsPerDim?: number) {
  const loss = fencedOutput(gpu, [R]);
  const dlogp = fencedOutput(gpu, [R]);
  const o = { nTokens: c.nTokens, maxWorkgroupsPerDim };
  await noGpuErrors(gpu, () => {
    const mask = uploadFlat(gpu, c.mask);
    ceLossForward(gpu, uploadFlat(gpu, c.logp), mask, loss.tensor, R, o);
    ceLossBackward(gpu, mask, dlogp.tensor, R, o);
  });
  return {
    loss: await loss.read(),
    dlogp: await dlogp.read(),
    wantLoss: ceLossForwardRef(c.logp, c.mask, R, c.nTokens),
    wantDlogp: ceLossBackwardRef(c.mask, R, c.nTokens),
  };
}

describe('ce_loss_forward and ce_loss_backward', () => {
  it.each(SHAPES.map((rows) => [rows.join('+'), rows] as const))('R=%s', async (_label, rows) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const runs = [];
    for (const R of rows) runs.push(await runCe(gpu, ceCase(R, rand), R));
    const what = `seed ${seed} R=${rows.join('+')}`;
    expectJointlyClose(runs.map((r) => r.loss), runs.map((r) => r.wantLoss), TOL_CE, `${what} loss`);
    expectJointlyClose(runs.map((r) => r.dlogp), runs.map((r) => r.wantDlogp), TOL_CE, `${what} dlogp`);
  });

  it('forced grid limit of 3: 300 tokens (5 workgroups) on a 3×2 grid, one surplus', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const r = await runCe(gpu, ceCase(300, rng(seed)), 300, 3);
    expectClose(r.loss, r.wantLoss, TOL_CE, `seed ${seed} loss`);
    expectClose(r.dlogp, r.wantDlogp, TOL_CE, `seed ${seed} dlogp`);
  });

  it('no counted token (N = 0): every output is exactly 0', async () => {
    const gpu = await testGpu();
    const c: CeCase = { logp: new Float32Array([-1, -Infinity, -3, -0.5, -2, -7, -1e-3]), mask: new Float32Array(7), nTokens: 0 };
    const r = await runCe(gpu, c, 7);
    expect([...r.loss, ...r.dlogp].every((v) => Object.is(v, 0))).toBe(true);
  });
});
