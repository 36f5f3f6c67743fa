// Tests shaders/logprobs.wgsl entry points logprobs_forward and logprobs_backward against the
// float64 reference: vocabularies from 1 to 5003, temperatures 1 and 0.7, a row count past the
// 65535-workgroup limit, a forced 2-D grid, several workgroup sizes, and the whole SFT and RL
// gradient chains logprobs_forward → ce_loss_backward / pg_loss_backward → logprobs_backward.
import { testGpu } from '#test-gpu';
import { describe, it } from 'vitest';
import { logprobsBackward, logprobsForward, type LogprobsOptions } from '../../src/gpu/ops/logprobs';
import { ceLossBackward, pgLossBackward, pgLossForward } from '../../src/gpu/ops/losses';
import type { Gpu } from '../../src/gpu/runtime';
import { logprobsBackwardRef, logprobsForwardRef } from '../reference/logprobs';
import { ceLossBackwardRef, pgCase, pgLossBackwardRef, pgLossForwardRef } from '../reference/losses';
import { expectJointlyClose, uploadFlat } from '../support/joint';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randInts, randn, rng } from '../support/check';

// Tolerances (relative L2). Each p_j = exp(z_j − lse) carries the float32 rounding of
// z = logits/τ and of lse, an absolute error ≈ 6e-8·|z| in its exponent, and the entropy
// gradient p_j·(log p_j + H) cancels for tokens near the row's mean log-prob. Measured maxima
// over 8 runs each in Chromium and in Node (SwiftShader) are given with each bound.
// lse: a sum of exps and one log1p: ≤ 7.3e-8 measured.
const TOL_LSE = 1e-6;
// logp = (z_t − max) − log1p(u): ≤ 1.8e-7 measured.
const TOL_LOGP = 2e-6;
// entropy = log1p(u) − t/s: ≤ 1.1e-6 measured (rows of logits offset by 40).
const TOL_ENTROPY = 5e-6;
// dlogits: ≤ 2.7e-6 measured (V = 5003, entropy term); a float32 simulation of the kernel over
// 1e5 draws of six single rows of V = 2 gave at most 5e-6.
const TOL_DLOGITS = 2e-5;
// The chains add the float32 logp and loss-gradient errors: dlogits ≤ 1.3e-6, dlogp ≤ 1.0e-6,
// loss ≤ 6.8e-7 measured.
const TOL_CHAIN = 1e-5;

const VOCABS = [1, 2, 7, 257, 5003];
const TEMPERATURES = [1, 0.7];

/**
 * Shapes per vocabulary: lists of independent problems, each its own dispatch, compared jointly.
 * A single row is one tiny output (for V = 2 a single number) that can cancel to nearly 0, where
 * a relative error means nothing; six single-row dispatches checked together keep R = 1 honest.
 * 300 rows of 5003 would only slow SwiftShader down.
 */
function shapesFor(V: number): number[][] {
  const single = [1, 1, 1, 1, 1, 1];
  return V > 1000 ? [single, [7]] : [single, [7], [300]];
}

/**
 * Threads per row other than the default (on SwiftShader the default is at most 4): 1 and 2 (no or
 * one reduction step), and the real-GPU sizes, 256 with rows both shorter and longer than it.
 */
const WORKGROUP_CASES: Array<[number, number]> = [
  [1, 257],
  [2, 257],
  [32, 257],
  [256, 257],
  [64, 5003],
  [256, 5003],
];

interface Case {
  R: number;
  logits: Float32Array;
  targets: Uint32Array;
}

function randomCase(R: number, V: number, rand: () => number, offset = 0): Case {
  const logits = randn(R * V, rand, 3);
  if (offset !== 0) for (let i = 0; i < logits.length; i++) logits[i] += offset;
  return { R, logits, targets: randInts(R, rand, V) };
}

async function checkForward(gpu: Gpu, cases: Case[], V: number, o: LogprobsOptions, what: string): Promise<void> {
  const got: Record<'logp' | 'entropy' | 'lse', ArrayLike<number>[]> = { logp: [], entropy: [], lse: [] };
  const want: typeof got = { logp: [], entropy: [], lse: [] };
  for (const c of cases) {
    const out = { logp: fencedOutput(gpu, [c.R]), entropy: fencedOutput(gpu, [c.R]), lse: fencedOutput(gpu, [c.R]) };
    await noGpuErrors(gpu, () =>
      logprobsForward(gpu, uploadFlat(gpu, c.logits), uploadFlat(gpu, c.targets), { logp: out.logp.tensor, entropy: out.entropy.tensor, lse: out.lse.tensor }, c.R, V, o),
    );
    const ref = logprobsForwardRef(c.logits, c.targets, c.R, V, o.temperature);
    for (const k of ['logp', 'entropy', 'lse'] as const) {
      got[k].push(await out[k].read());
      want[k].push(ref[k]);
    }
  }
  const shape = `R=${cases.map((c) => c.R).join('+')} V=${V}`;
  expectJointlyClose(got.logp, want.logp, TOL_LOGP, `${what} ${shape} logp`);
  expectJointlyClose(got.entropy, want.entropy, TOL_ENTROPY, `${what} ${shape} entropy`);
  expectJointlyClose(got.lse, want.lse, TOL_LSE, `${what} ${shape} lse`);
}

/**
 * The lse input comes from logprobs_forward on the GPU, as in training: a float32 rounding of
 * the float64 lse that differs from the kernel's own z would leave p ≠ 1 for V = 1, where the
 * exact gradient is 0 and any residue fails a relative check.
 */
async function checkBackward(gpu: Gpu, cases: Case[], V: number, o: LogprobsOptions, rand: () => number, withEntropy: boolean, what: string): Promise<void> {
  const tau = o.temperature ?? 1;
  const got: ArrayLike<number>[] = [];
  const want: ArrayLike<number>[] = [];
  for (const c of cases) {
    const R = c.R;
    const dlogp = randn(R, rand);
    const dentropy = withEntropy ? randn(R, rand) : null;
    const dlogits = fencedOutput(gpu, [R, V]);
    await noGpuErrors(gpu, () => {
      const logits = uploadFlat(gpu, c.logits);
      const targets = uploadFlat(gpu, c.targets);
      const lse = gpu.empty([R]);
      logprobsForward(gpu, logits, targets, { logp: gpu.empty([R]), entropy: gpu.empty([R]), lse }, R, V, o);
      const grads = { dlogp: uploadFlat(gpu, dlogp), dentropy: dentropy === null ? null : uploadFlat(gpu, dentropy) };
      logprobsBackward(gpu, logits, targets, lse, grads, dlogits.tensor, R, V, o);
    });
    got.push(await dlogits.read());
    want.push(logprobsBackwardRef(c.logits, c.targets, R, V, tau, dlogp, dentropy));
  }
  const shape = `R=${cases.map((c) => c.R).join('+')} V=${V}`;
  expectJointlyClose(got, want, TOL_DLOGITS, `${what} ${shape} dlogits (entropy term: ${withEntropy})`);
}

describe('logprobs_forward', () => {
  it.each(VOCABS.flatMap((V) => TEMPERATURES.map((tau) => [V, tau])))('V=%i τ=%f', async (V, tau) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    for (const rows of shapesFor(V)) {
      await checkForward(gpu, rows.map((R) => randomCase(R, V, rand)), V, { temperature: tau }, `seed ${seed}`);
    }
  });

  it('large logits (offset 40) stay stable', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    await checkForward(gpu, [randomCase(7, 257, rng(seed), 40)], 257, { temperature: 0.7 }, `seed ${seed}`);
  });

  it.each(WORKGROUP_CASES)('workgroup size %i, V=%i', async (wg, V) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    await checkForward(gpu, [randomCase(7, V, rng(seed))], V, { temperature: 0.7, workgroupSize: wg }, `seed ${seed}`);
  });
});

describe('logprobs_backward', () => {
  it.each(VOCABS.flatMap((V) => TEMPERATURES.map((tau) => [V, tau])))('V=%i τ=%f', async (V, tau) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    for (const rows of shapesFor(V)) {
      for (const withEntropy of [true, false]) {
        const cases = rows.map((R) => randomCase(R, V, rand));
        await checkBackward(gpu, cases, V, { temperature: tau }, rand, withEntropy, `seed ${seed}`);
      }
    }
  });

  it.each(WORKGROUP_CASES)('workgroup size %i, V=%i', async (wg, V) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    await checkBackward(gpu, [randomCase(7, V, rand)], V, { temperature: 0.7, workgroupSize: wg }, rand, true, `seed ${seed}`);
  });
});

describe('logprobs on a 2-D grid', () => {
  it('70000 rows (more than 65535 workgroups), forward and backward', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // V = 3 on 4 threads per row leaves one thread of each workgroup with an empty stride.
    const [R, V] = [70000, 3];
    const c = [randomCase(R, V, rand)];
    await checkForward(gpu, c, V, { temperature: 0.7 }, `seed ${seed}`);
    await checkBackward(gpu, c, V, { temperature: 0.7 }, rand, true, `seed ${seed}`);
  });

  it('forced grid limit of 19: 300 rows on a 19×16 grid with 4 surplus workgroups', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [R, V] = [300, 7];
    const c = [randomCase(R, V, rand)];
    const o = { temperature: 1, maxWorkgroupsPerDim: 19 };
    await checkForward(gpu, c, V, o, `seed ${seed}`);
    await checkBackward(gpu, c, V, o, rand, true, `seed ${seed}`);
  });
});

describe('gradient chains through logprobs_forward and logprobs_backward', () => {
  it('SFT: logprobs_forward → ce_loss_backward → logprobs_backward at τ = 1', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [R, V] = [37, 257];
    const c = randomCase(R, V, rand);
    const mask = Float32Array.from({ length: R }, () => (rand() < 0.3 ? 0 : 1));
    const nTokens = mask.reduce((s, m) => s + m, 0);
    const logits = uploadFlat(gpu, c.logits);
    const targets = uploadFlat(gpu, c.targets);
    const fwd = { logp: fencedOutput(gpu, [R]), entropy: fencedOutput(gpu, [R]), lse: fencedOutput(gpu, [R]) };
    const dlogp = fencedOutput(gpu, [R]);
    const dlogits = fencedOutput(gpu, [R, V]);
    await noGpuErrors(gpu, () => {
      logprobsForward(gpu, logits, targets, { logp: fwd.logp.tensor, entropy: fwd.entropy.tensor, lse: fwd.lse.tensor }, R, V);
      ceLossBackward(gpu, uploadFlat(gpu, mask), dlogp.tensor, R, { nTokens });
      logprobsBackward(gpu, logits, targets, fwd.lse.tensor, { dlogp: dlogp.tensor, dentropy: null }, dlogits.tensor, R, V);
    });
    const want = logprobsBackwardRef(c.logits, c.targets, R, V, 1, ceLossBackwardRef(mask, R, nTokens), null);
    expectClose(await dlogits.read(), want, TOL_CHAIN, `seed ${seed} SFT dlogits`);
  });

  it('RL: logprobs_forward → pg_loss_forward / pg_loss_backward (+ entropy bonus) → logprobs_backward at τ = 0.7', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [R, V, tau] = [61, 257, 0.7];
    const c = randomCase(R, V, rand);
    const ref = logprobsForwardRef(c.logits, c.targets, R, V, tau);
    // Ratios and KLs are placed around the float64 log-probs, clear of every kink, so the
    // float32 log-probs computed on the GPU fall in the same branches.
    const opts = { epsLow: 0.2, epsHigh: 0.28, dualClip: 3, klCoef: 0.05 };
    const pc = pgCase(R, rand, { ...opts, logp: ref.logp, margin: 1e-3 });
    const nTokens = pc.nTokens;
    const entCoef = 0.01;
    const dentropy = Float32Array.from(pc.mask, (m) => (-entCoef * m) / Math.max(nTokens, 1));
    const logits = uploadFlat(gpu, c.logits);
    const targets = uploadFlat(gpu, c.targets);
    const fwd = { logp: fencedOutput(gpu, [R]), entropy: fencedOutput(gpu, [R]), lse: fencedOutput(gpu, [R]) };
    const loss = fencedOutput(gpu, [R]);
    const kl = fencedOutput(gpu, [R]);
    const clip = fencedOutput(gpu, [R]);
    const dlogp = fencedOutput(gpu, [R]);
    const dlogits = fencedOutput(gpu, [R, V]);
    await noGpuErrors(gpu, () => {
      logprobsForward(gpu, logits, targets, { logp: fwd.logp.tensor, entropy: fwd.entropy.tensor, lse: fwd.lse.tensor }, R, V, { temperature: tau });
      const inputs = { logp: fwd.logp.tensor, logpOld: uploadFlat(gpu, pc.logpOld), logpRef: uploadFlat(gpu, pc.logpRef), adv: uploadFlat(gpu, pc.adv), mask: uploadFlat(gpu, pc.mask) };
      pgLossForward(gpu, inputs, { loss: loss.tensor, kl: kl.tensor, clip: clip.tensor }, R, { ...opts, nTokens });
      pgLossBackward(gpu, inputs, dlogp.tensor, R, { ...opts, nTokens });
      logprobsBackward(gpu, logits, targets, fwd.lse.tensor, { dlogp: dlogp.tensor, dentropy: uploadFlat(gpu, dentropy) }, dlogits.tensor, R, V, { temperature: tau });
    });
    const x = { ...pc, logp: ref.logp };
    const refOpts = { ...opts, nTokens };
    const wantLoss = pgLossForwardRef(x, R, refOpts);
    const wantDlogp = pgLossBackwardRef(x, R, refOpts);
    const want = logprobsBackwardRef(c.logits, c.targets, R, V, tau, wantDlogp, dentropy);
    expectClose(await loss.read(), wantLoss.loss, TOL_CHAIN, `seed ${seed} RL loss`);
    expectClose(await clip.read(), wantLoss.clip, 0, `seed ${seed} RL clip flags`);
    expectClose(await dlogp.read(), wantDlogp, TOL_CHAIN, `seed ${seed} RL dlogp`);
    expectClose(await dlogits.read(), want, TOL_CHAIN, `seed ${seed} RL dlogits`);
  });
});
