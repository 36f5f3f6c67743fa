// Policy-gradient updates on the GPU (src/rl/policy-step.ts): on-policy ratios are 1, one update
// (policy gradient, KL only, self-distillation with the teacher pass, PipelineRL's sample-sum
// aggregation) matches the float64 reference model's gradient of the PPO + k3 KL + entropy
// objective followed by the reference AdamW, `kl` is measured against a given reference even at
// klCoef 0 and `klBase` against the base, advantages push log-probs the right way, the KL term
// pulls the policy back to the reference, and micro-batching does not change the update.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/runtime';
import type { ModelConfig } from '../../src/model/config';
import { createActivations, destroyActivations, forwardTrain, setBatch } from '../../src/model/forward';
import { paramList } from '../../src/model/layout';
import { cloneParams, createParams, destroyParams, initParams, readGrads, readParams, uploadParams, type ModelParams } from '../../src/model/params';
import { scoreResponses } from '../../src/model/score';
import { ROW_BUCKET } from '../../src/model/activation-sets';
import { MICRO_BATCH_COST_ROWS, microBatchOrder, microBatchSpans, packPolicyBatch, PolicyTrainer, rowLength, type PolicyRollout, type PolicyStepSettings } from '../../src/rl/policy-step';
import { readOptimizer } from '../../src/model/train-step';
import { modelBackwardRef, modelForwardRef, optimizerStepRef, type Params64 } from '../reference/model';
import { KL_CLAMP, pgLossBackwardRef, pgLossForwardRef } from '../reference/losses';
import type { AdamWRefState } from '../reference/optimizer';
import { concat } from '../support/joint';
import { expectClose, freshSeed, noGpuErrors, rng } from '../support/check';
import { tinyConfig } from '../support/tiny-config';

// Parameter displacement of one update, float32 GPU vs float64 reference (the bound).
const UPDATE_TOL = 1e-3;
// The accumulated gradient itself, float32 vs float64 (a composition of reductions).
const GRAD_TOL = 1e-4;
// AdamW's epsilon in the reference comparison: its first step is lr·g/(|g| + eps), a sign for
// every |g| ≫ eps, so with 1e-8 a near-zero component (a q_proj entry of ~1e-7, seen) turns
// float32 noise into a full ±lr; 1e-4 keeps such components linear and the comparison about g.
const REF_ADAM_EPS = 1e-4;
// Micro-batched vs whole-batch update: the same float32 sums in another order.
const MICRO_TOL = 1e-3;
// Ratios of on-policy tokens: exp(logp − logp_old) of two float32 forwards of the same rows.
const CLIP_EPS = 1e-3;
const T = 8;

const print = (s: string): void => {
  if (globalThis.process?.env?.EXPRL_PRINT_ERRORS) console.log(s);
};

function rollouts(c: ModelConfig, seed: number, n: number, adv: (i: number, rand: () => number) => number): Omit<PolicyRollout, 'logpOld'>[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const P = 1 + Math.floor(rand() * 3);
    const len = 1 + Math.floor(rand() * (T + 1 - P));
    const ids = (k: number): number[] => Array.from({ length: k }, () => Math.floor(rand() * c.vocabSize));
    const a = adv(i, rand);
    return { prompt: ids(P), response: ids(len), advantages: new Float64Array(len).fill(a), lossMask: true };
  });
}

/** log p of each response token under `model` at `temperature`, from forwardTrain. */
async function responseLogp(gpu: Gpu, model: ModelParams, ros: readonly Omit<PolicyRollout, 'logpOld'>[], temperature: number): Promise<Float64Array[]> {
  const withOld = ros.map((r) => ({ ...r, logpOld: new Float64Array(r.response.length) }));
  const p = packPolicyBatch(withOld, ros.length, T);
  const acts = createActivations(gpu, model.config, ros.length, T);
  try {
    setBatch(gpu, acts, { batch: ros.length, seqLen: T, tokens: p.tokens, targets: p.targets });
    forwardTrain(gpu, model, acts, { temperature });
    const lp = await gpu.readF32(acts.logp);
    return ros.map((r, b) => Float64Array.from(r.response, (_, j) => lp[b * T + r.prompt.length + j - 1]));
  } finally {
    destroyActivations(acts);
  }
}

async function onPolicy(gpu: Gpu, model: ModelParams, ros: readonly Omit<PolicyRollout, 'logpOld'>[], temperature: number): Promise<PolicyRollout[]> {
  const lp = await responseLogp(gpu, model, ros, temperature);
  return ros.map((r, i) => ({ ...r, logpOld: lp[i] }));
}

function settings(o: Partial<PolicyStepSettings> = {}): PolicyStepSettings {
  return { temperature: 0.8, epsLow: 0.2, epsHigh: 0.28, dualClip: 3, klCoef: 0, entropyCoef: 0, lr: 1e-2, weightDecay: 0.01, maxNorm: 1, ...o };
}

function perturbed(values: Map<string, Float32Array>, seed: number, scale: number): Map<string, Float32Array> {
  const rand = rng(seed);
  return new Map([...values].map(([k, v]) => [k, v.map((x) => x + scale * (rand() * 2 - 1))]));
}

const to64 = (values: Map<string, Float32Array>): Params64 => new Map([...values].map(([k, v]) => [k, Float64Array.from(v)]));

/** Extra prompt tokens the self-distillation teacher sees before the student's prompt (its "reference"). */
const TEACHER_PREFIX = 3;

/** Token-mean k3 KL (clamped as the kernel does) of `logp` to `to` over the counted tokens. */
function k3Mean(logp: ArrayLike<number>, to: ArrayLike<number>, mask: ArrayLike<number>, counted: number): number {
  let sum = 0;
  for (let r = 0; r < mask.length; r++) {
    if (mask[r] === 0) continue;
    const d = to[r] - logp[r];
    sum += Math.max(-KL_CLAMP, Math.min(KL_CLAMP, Math.expm1(d) - d));
  }
  return sum / counted;
}

interface FrozenModels {
  /** Give the trainer the reference (default: only when klCoef > 0). */
  reference?: boolean;
  /** A base for klBase: a third set of weights, or the reference object itself. */
  base?: 'other' | 'same';
}

/**
 * One PolicyTrainer step against the float64 reference: the model's forward and backward of the
 * PPO + k3 KL + entropy objective, then AdamW with clipping. Advantages are random, zero (the
 * KL term alone moves the policy), or the self-distillation teacher's: the frozen reference
 * scores each response after a longer prompt (scoreResponses on the GPU, checked here against
 * the float64 forward) and A = logp_teacher − logp_old.
 */
async function checkReferenceUpdate(what: string, s: PolicyStepSettings, advantages: 'random' | 'zero' | 'teacher', frozen: FrozenModels = {}): Promise<void> {
  const gpu = await testGpu();
  const seed = freshSeed();
  const c = tinyConfig();
  const init = initParams(c, seed, 0.3);
  const refValues = perturbed(init, seed + 7, 0.05);
  const model = createParams(gpu, c);
  uploadParams(gpu, model, init);
  const refModel = createParams(gpu, c);
  uploadParams(gpu, refModel, refValues);
  const withRef = frozen.reference ?? s.klCoef > 0;
  const baseValues = frozen.base === 'other' ? perturbed(init, seed + 13, 0.05) : frozen.base === 'same' ? refValues : null;
  const baseModel = frozen.base === 'other' ? createParams(gpu, c) : frozen.base === 'same' ? refModel : null;
  if (frozen.base === 'other') uploadParams(gpu, baseModel!, baseValues!);
  const shape = (_: number, r: () => number): number => (advantages === 'random' ? r() * 2 - 1 : 0);
  let ros = await onPolicy(gpu, model, rollouts(c, seed + 1, 5, shape), s.temperature);
  ros[1] = { ...ros[1], lossMask: false };
  const p64 = to64(init);
  if (advantages === 'teacher') {
    const rand = rng(seed + 11);
    // The teacher's prompt fits the model's T + 1 tokens together with the response.
    const teacher = ros.map((r) => ({ prompt: [...Array.from({ length: Math.min(TEACHER_PREFIX, T + 1 - r.prompt.length - r.response.length) }, () => Math.floor(rand() * c.vocabSize)), ...r.prompt], response: r.response }));
    const got = await scoreResponses(gpu, refModel, teacher, { temperature: s.temperature, microBatch: 2 });
    const Tt = Math.max(...teacher.map((x) => x.prompt.length + x.response.length - 1));
    const packed = packPolicyBatch(teacher.map((x) => ({ ...x, logpOld: new Float64Array(x.response.length), advantages: new Float64Array(x.response.length), lossMask: true })), teacher.length, Tt);
    const want = modelForwardRef(c, to64(refValues), { batch: teacher.length, seqLen: Tt, tokens: packed.tokens, targets: packed.targets }, s.temperature).logp;
    const wantPer = teacher.map((x, b) => Float64Array.from(x.response, (_, j) => want[b * Tt + x.prompt.length - 1 + j]));
    const teacherErr = expectClose(concat(got), concat(wantPer), 1e-5, `teacher log-probs (seed ${seed})`);
    print(`teacher pass: relL2 ${teacherErr.toExponential(2)}`);
    ros = ros.map((r, i) => ({ ...r, advantages: Float64Array.from(r.logpOld, (lp, j) => got[i][j] - lp) }));
  }
  const trainer = new PolicyTrainer(gpu, model, { reference: withRef ? refModel : null, base: baseModel, microBatch: 2, seqLen: T });
  try {
    const m = await noGpuErrors(gpu, () => trainer.step(ros, s));
    const got = await readParams(gpu, model);
    const grads = await readGrads(gpu, model);

    const p = packPolicyBatch(ros, ros.length, T);
    const batch = { batch: ros.length, seqLen: T, tokens: p.tokens, targets: p.targets };
    const fwd = modelForwardRef(c, p64, batch, s.temperature);
    const logp = fwd.logp;
    const logpRef = modelForwardRef(c, to64(refValues), batch, s.temperature).logp;
    const R = ros.length * T;
    // Token mean: divide by the counted tokens; PipelineRL's sample sum: by the rollouts with a loss.
    const divisor = s.lossAggregation === 'sample-sum' ? ros.filter((r) => r.lossMask).length : p.counted;
    const lossIn = { logp, logpOld: p.logpOld, logpRef: withRef ? logpRef : null, adv: p.adv, mask: p.mask };
    const w = pgLossBackwardRef(lossIn, R, { ...s, nTokens: divisor });
    const e = Float64Array.from(p.mask, (x) => (-s.entropyCoef * x) / divisor);
    let lossRef = pgLossForwardRef(lossIn, R, { ...s, nTokens: divisor }).loss.reduce((a, x) => a + x, 0);
    for (let r = 0; r < R; r++) lossRef += e[r] * fwd.entropy[r];
    const g = modelBackwardRef(c, p64, batch, w, e, s.temperature);
    const [normRef] = optimizerStepRef(c, p64, g, new Map<string, AdamWRefState>(), { lr: s.lr, beta1: 0.9, beta2: 0.999, eps: REF_ADAM_EPS, weightDecay: s.weightDecay, maxNorm: s.maxNorm }, 1);
    const gradErr = expectClose(
      concat(paramList(c).map((x) => grads.get(x.name)!)),
      concat(paramList(c).map((x) => g.get(x.name)!)),
      GRAD_TOL,
      `${what}: accumulated gradient (seed ${seed})`,
    );
    const p0 = concat(paramList(c).map((x) => init.get(x.name)!));
    const gotAll = concat(paramList(c).map((x) => got.get(x.name)!));
    const wantAll = concat(paramList(c).map((x) => p64.get(x.name)!));
    const err = expectClose(
      gotAll.map((v, i) => v - p0[i]),
      wantAll.map((v, i) => v - p0[i]),
      UPDATE_TOL,
      `${what}: parameter displacement (seed ${seed})`,
    );
    const normErr = Math.abs(m.gradNorm - normRef) / normRef;
    expect(normErr, `${what}, seed ${seed}: grad norm ${m.gradNorm} vs ${normRef}`).toBeLessThan(1e-4);
    expect(normRef, `${what}, seed ${seed}: the update must be real`).toBeGreaterThan(1e-6);
    expect(Math.abs(m.loss - lossRef), `${what}, seed ${seed}: loss ${m.loss} vs ${lossRef}`).toBeLessThan(1e-4 * (1 + Math.abs(lossRef)));
    if (withRef) {
      // Measured whenever the reference is given, whatever klCoef (0 puts no KL in the gradient).
      const klRef = k3Mean(logp, logpRef, p.mask, p.counted);
      expect(klRef, `seed ${seed}: the reference must differ`).toBeGreaterThan(1e-4);
      expect(Math.abs(m.kl - klRef) / klRef, `seed ${seed}: kl ${m.kl} vs ${klRef}`).toBeLessThan(1e-2);
    } else expect(m.kl, `seed ${seed}: no reference, no kl`).toBe(0);
    if (baseValues !== null) {
      const logpBase = modelForwardRef(c, to64(baseValues), batch, s.temperature).logp;
      const klBaseRef = k3Mean(logp, logpBase, p.mask, p.counted);
      expect(klBaseRef, `seed ${seed}: the base must differ`).toBeGreaterThan(1e-4);
      expect(Math.abs(m.klBase! - klBaseRef) / klBaseRef, `seed ${seed}: klBase ${m.klBase} vs ${klBaseRef}`).toBeLessThan(1e-2);
      if (frozen.base === 'same') expect(m.klBase, `seed ${seed}: base = reference`).toBe(m.kl);
      else expect(Math.abs(m.klBase! - m.kl), `seed ${seed}: klBase must be its own figure`).toBeGreaterThan(1e-6);
    } else expect(m.klBase, `seed ${seed}: no base`).toBeNull();
    print(`${what} update: gradient relL2 ${gradErr.toExponential(2)}, displacement relL2 ${err.toExponential(2)}, grad norm ${normErr.toExponential(2)}`);
  } finally {
    trainer.destroy();
    if (frozen.base === 'other') destroyParams(baseModel!);
    destroyParams(refModel);
    destroyParams(model);
  }
}

describe('packPolicyBatch', () => {
  it('places response tokens after the prompt, masks prompt, padding and masked-out rollouts', () => {
    const p = packPolicyBatch(
      [
        { prompt: [1, 2], response: [3, 4], logpOld: [-0.5, -0.25], advantages: [2, 3], lossMask: true },
        { prompt: [5], response: [6], logpOld: [-1], advantages: [7], lossMask: false },
      ],
      2,
      4,
    );
    expect(Array.from(p.tokens)).toEqual([1, 2, 3, 0, 5, 0, 0, 0]);
    expect(Array.from(p.targets)).toEqual([2, 3, 4, 0, 6, 0, 0, 0]);
    expect(Array.from(p.mask)).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(p.logpOld)).toEqual([0, -0.5, -0.25, 0, -1, 0, 0, 0]);
    expect(Array.from(p.adv)).toEqual([0, 2, 3, 0, 7, 0, 0, 0]);
    expect(p.counted).toBe(2);
    expect(() => packPolicyBatch([{ prompt: [1, 2, 3], response: [4, 5, 6], logpOld: [0, 0, 0], advantages: [0, 0, 0], lossMask: true }], 1, 4)).toThrow(/6 tokens; at most 5/);
    expect(() => packPolicyBatch([{ prompt: [], response: [4], logpOld: [0], advantages: [0], lossMask: true }], 1, 4)).toThrow(/prompt is empty/);
    expect(() => packPolicyBatch([{ prompt: [1], response: [4], logpOld: [], advantages: [0], lossMask: true }], 1, 4)).toThrow(/0 old log-probs/);
  });
});

describe('microBatchOrder', () => {
  it('puts the longest rollouts (prompt + response) first, ties in the given order', () => {
    const ro = (P: number, n: number): PolicyRollout => ({ prompt: new Array(P).fill(1), response: new Array(n).fill(2), logpOld: new Array(n).fill(0), advantages: new Array(n).fill(0), lossMask: true });
    expect(microBatchOrder([ro(2, 3), ro(1, 9), ro(4, 1), ro(3, 2), ro(1, 1)])).toEqual([1, 0, 2, 3, 4]);
    expect(microBatchOrder([ro(1, 1)])).toEqual([0]);
  });
});

describe('microBatchSpans', () => {
  const cost = (spans: { start: number; end: number; T: number }[]): number => spans.reduce((a, s) => a + (s.end - s.start) * s.T + MICRO_BATCH_COST_ROWS, 0);
  /** Every split of sorted rollouts into consecutive runs of at most `max`, the cheapest one's cost. */
  const bruteForce = (tokens: number[], max: number, seqLen: number, bucket: number): number => {
    const n = tokens.length;
    let bestCost = Infinity;
    for (let mask = 0; mask < 1 << (n - 1); mask++) {
      const spans = [];
      let start = 0;
      for (let i = 1; i <= n; i++) {
        if (i === n || (mask >> (i - 1)) & 1) {
          spans.push({ start, end: i, T: Math.min(seqLen, Math.ceil(tokens[start] / bucket) * bucket) });
          start = i;
        }
      }
      if (spans.every((s) => s.end - s.start <= max)) bestCost = Math.min(bestCost, cost(spans));
    }
    return bestCost;
  };

  it('gives a long rollout a micro-batch of its own rather than padding many short ones to it', () => {
    // The small preset's shape: one 228-token rollout, 15 of ~145, 16 of ~100, micro-batches of 16.
    const tokens = [228, ...new Array(15).fill(145), ...new Array(16).fill(100)];
    const spans = microBatchSpans(tokens, 16, 256, 8);
    expect(spans).toEqual([
      { start: 0, end: 1, T: 232 },
      { start: 1, end: 16, T: 152 },
      { start: 16, end: 32, T: 104 },
    ]);
    // Fixed runs of 16 would pad to 232 and 104: 16 × 232 + 16 × 104 rows.
    expect(cost(spans)).toBeLessThan(16 * 232 + 16 * 104 + 2 * MICRO_BATCH_COST_ROWS);
  });

  it('keeps like lengths together in full micro-batches', () => {
    expect(microBatchSpans([50, 50, 49, 49, 48], 2, 256, 8)).toEqual([
      { start: 0, end: 2, T: 56 },
      { start: 2, end: 4, T: 56 },
      { start: 4, end: 5, T: 48 },
    ]);
    expect(microBatchSpans([7], 4, 256, 8)).toEqual([{ start: 0, end: 1, T: 8 }]);
    expect(microBatchSpans([], 4, 256, 8)).toEqual([]);
  });

  it('finds the cheapest split (checked against every split of random lengths)', () => {
    const rand = rng(freshSeed());
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 9);
      const seqLen = 16 + Math.floor(rand() * 300);
      const tokens = Array.from({ length: n }, () => 1 + Math.floor(rand() * seqLen)).sort((a, b) => b - a);
      const max = 1 + Math.floor(rand() * 5);
      const bucket = [1, 8, 32][Math.floor(rand() * 3)];
      const spans = microBatchSpans(tokens, max, seqLen, bucket);
      expect(spans[0].start).toBe(0);
      expect(spans[spans.length - 1].end).toBe(n);
      spans.forEach((s, i) => {
        expect(s.end - s.start).toBeGreaterThanOrEqual(1);
        expect(s.end - s.start).toBeLessThanOrEqual(max);
        if (i > 0) expect(s.start).toBe(spans[i - 1].end);
        expect(s.T).toBe(Math.min(seqLen, Math.ceil(tokens[s.start] / bucket) * bucket));
      });
      expect(cost(spans), `tokens ${tokens} max ${max}`).toBe(bruteForce(tokens, max, seqLen, bucket));
    }
  });

  it('refuses rollouts out of order', () => {
    expect(() => microBatchSpans([3, 5], 2, 16)).toThrow(/longest first/);
  });
});

describe('PolicyTrainer', () => {
  it('sees ratio 1 on its own rollouts: no clipping, no KL to an identical reference, loss −mean A', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const c = tinyConfig();
    const model = createParams(gpu, c);
    uploadParams(gpu, model, initParams(c, seed, 0.3));
    const ref = cloneParams(gpu, model);
    const s = settings({ epsLow: CLIP_EPS, epsHigh: CLIP_EPS, dualClip: 0, klCoef: 0.1, entropyCoef: 0.01 });
    const ros = await onPolicy(gpu, model, rollouts(c, seed + 1, 5, (_, r) => r() * 2 - 1), s.temperature);
    ros[3] = { ...ros[3], lossMask: false };
    const trainer = new PolicyTrainer(gpu, model, { reference: ref, microBatch: 2, seqLen: T });
    try {
      const m = await noGpuErrors(gpu, () => trainer.step(ros, s));
      let N = 0;
      let sumA = 0;
      for (const r of ros) {
        if (!r.lossMask) continue;
        N += r.response.length;
        for (let j = 0; j < r.advantages.length; j++) sumA += r.advantages[j];
      }
      print(`on-policy: ${JSON.stringify(m)}`);
      expect(m.clipFracLow, `seed ${seed}`).toBe(0);
      expect(m.clipFracHigh, `seed ${seed}`).toBe(0);
      expect(Math.abs(m.kl), `seed ${seed}: kl`).toBeLessThan(1e-7);
      expect(m.entropy, `seed ${seed}: entropy`).toBeGreaterThan(0.5);
      expect(m.entropy, `seed ${seed}: entropy`).toBeLessThan(Math.log(c.vocabSize) + 1e-4);
      expect(Math.abs(m.loss - (-sumA / N - 0.01 * m.entropy)), `seed ${seed}: loss ${m.loss}`).toBeLessThan(1e-5);
      expect(m.gradNorm, `seed ${seed}`).toBeGreaterThan(0);
      expect(trainer.steps).toBe(1);
    } finally {
      trainer.destroy();
      destroyParams(ref);
      destroyParams(model);
    }
  });

  it('matches the float64 reference update (PPO + k3 KL + entropy gradient, clip, AdamW)', async () => {
    await checkReferenceUpdate('policy gradient', settings({ klCoef: 0.5, entropyCoef: 0.05, maxNorm: 0.5, weightDecay: 0.1, adamEps: REF_ADAM_EPS }), 'random');
  });

  it('matches the float64 reference update of a KL-only step (zero advantages)', async () => {
    await checkReferenceUpdate('KL only', settings({ klCoef: 1, entropyCoef: 0, maxNorm: 0.5, weightDecay: 0.1, adamEps: REF_ADAM_EPS }), 'zero');
  });

  it('matches the float64 reference update of self-distillation (A = logp_teacher − logp_student from the teacher pass)', async () => {
    await checkReferenceUpdate('self-distillation', settings({ klCoef: 0, entropyCoef: 0, maxNorm: 0.5, weightDecay: 0.1, adamEps: REF_ADAM_EPS }), 'teacher');
  });

  it('measures kl against a given reference at klCoef 0, and klBase against a second model', async () => {
    await checkReferenceUpdate('kl at klCoef 0', settings({ klCoef: 0, entropyCoef: 0.05, maxNorm: 0.5, weightDecay: 0.1, adamEps: REF_ADAM_EPS }), 'random', { reference: true, base: 'other' });
  });

  it('measures klBase against the reference itself when the base is the reference', async () => {
    await checkReferenceUpdate('base = reference', settings({ klCoef: 0.5, entropyCoef: 0, maxNorm: 0.5, weightDecay: 0.1, adamEps: REF_ADAM_EPS }), 'random', { base: 'same' });
  });

  it('matches the float64 reference update of PipelineRL\'s Stage II (summed token loss / samples, epsilon 4, no dual clip)', async () => {
    const s = settings({ lossAggregation: 'sample-sum', epsLow: 4, epsHigh: 4, dualClip: 0, klCoef: 0, entropyCoef: 0.05, maxNorm: 0.5, weightDecay: 0.1, adamEps: REF_ADAM_EPS });
    await checkReferenceUpdate('sample-sum', s, 'random', { reference: true });
  });

  it('raises the log-probs of positive-advantage tokens and lowers those of negative ones', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const c = tinyConfig();
    const model = createParams(gpu, c);
    uploadParams(gpu, model, initParams(c, seed, 0.3));
    const s = settings({ lr: 1e-3, weightDecay: 0, maxNorm: 0, temperature: 1 });
    const ros = await onPolicy(gpu, model, rollouts(c, seed + 1, 6, (i) => (i % 2 === 0 ? 1 : -1)), s.temperature);
    const trainer = new PolicyTrainer(gpu, model, { microBatch: 3, seqLen: T });
    try {
      await noGpuErrors(gpu, () => trainer.step(ros, s));
      const after = await responseLogp(gpu, model, ros, s.temperature);
      const mean = (sign: number): number => {
        let d = 0;
        let n = 0;
        ros.forEach((r, i) => {
          if (Math.sign(r.advantages[0]) !== sign) return;
          for (let j = 0; j < r.response.length; j++, n++) d += after[i][j] - r.logpOld[j];
        });
        return d / n;
      };
      const up = mean(1);
      const down = mean(-1);
      print(`advantage direction: mean Δlogp ${up} (A > 0), ${down} (A < 0)`);
      expect(up, `seed ${seed}: A > 0`).toBeGreaterThan(0);
      expect(down, `seed ${seed}: A < 0`).toBeLessThan(0);
    } finally {
      trainer.destroy();
      destroyParams(model);
    }
  });

  it('with zero advantages the KL term pulls the policy toward the reference', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const c = tinyConfig();
    const init = initParams(c, seed, 0.3);
    const model = createParams(gpu, c);
    uploadParams(gpu, model, init);
    const ref = cloneParams(gpu, model);
    uploadParams(gpu, model, perturbed(init, seed + 3, 0.1));
    const s = settings({ klCoef: 1, lr: 2e-4, weightDecay: 0 });
    const ros = await onPolicy(gpu, model, rollouts(c, seed + 1, 4, () => 0), s.temperature);
    const trainer = new PolicyTrainer(gpu, model, { reference: ref, microBatch: 4, seqLen: T });
    try {
      const kls: number[] = [];
      for (let i = 0; i < 4; i++) kls.push((await noGpuErrors(gpu, () => trainer.step(ros, s))).kl);
      print(`KL-only steps: kl ${kls.map((k) => k.toExponential(3)).join(' -> ')}`);
      expect(kls[0], `seed ${seed}: initial kl`).toBeGreaterThan(1e-4);
      for (let i = 1; i < kls.length; i++) expect(kls[i], `seed ${seed}: kl at step ${i + 1} (${kls.join(', ')})`).toBeLessThan(kls[i - 1]);
    } finally {
      trainer.destroy();
      destroyParams(ref);
      destroyParams(model);
    }
  });

  it('rows as long as each update needs give the updates of rows padded to seqLen, as lengths change', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const c = tinyConfig({ maxSeqLen: 100 });
    const init = initParams(c, seed, 0.3);
    const s = settings({ klCoef: 0.1, entropyCoef: 0.01 });
    const rand = rng(seed + 7);
    const ids = (k: number): number[] => Array.from({ length: k }, () => Math.floor(rand() * c.vocabSize));
    /** Three rollouts, the first exactly `longest` input tokens long (prompt + response − 1); off-policy old log-probs. */
    const batch = (longest: number): PolicyRollout[] =>
      Array.from({ length: 3 }, (_, i) => {
        const P = 1 + Math.floor(rand() * 3);
        const n = i === 0 ? longest + 1 - P : 1 + Math.floor(rand() * (longest - P));
        const a = rand() * 2 - 1;
        return { prompt: ids(P), response: ids(n), logpOld: Float64Array.from({ length: n }, () => -2 - rand()), advantages: new Float64Array(n).fill(a), lossMask: true };
      });
    // Rows of 8, 40, 72, 24 tokens at most (views of one allocation, of several shapes).
    const batches = [batch(8), batch(40), batch(70), batch(20)];
    expect(batches.map((b) => rowLength(b, 100, 8))).toEqual([8, 40, 72, 24]);
    expect(rowLength(batches[2], 70, 8)).toBe(70);
    const run = async (bucket: number) => {
      const model = createParams(gpu, c);
      uploadParams(gpu, model, init);
      const ref = createParams(gpu, c);
      uploadParams(gpu, ref, perturbed(init, seed + 5, 0.05));
      const trainer = new PolicyTrainer(gpu, model, { reference: ref, microBatch: 2, seqLen: 100, rowBucket: bucket });
      const ms = [];
      for (const b of batches) ms.push(await noGpuErrors(gpu, () => trainer.step(b, s)));
      const params = await readParams(gpu, model);
      trainer.destroy();
      destroyParams(ref);
      destroyParams(model);
      return { ms, params };
    };
    const fitted = await run(ROW_BUCKET);
    const padded = await run(100);
    fitted.ms.forEach((m, i) => {
      for (const k of ['loss', 'kl', 'entropy', 'gradNorm', 'clipFracLow', 'clipFracHigh'] as const) {
        expect(Math.abs(m[k] - padded.ms[i][k]), `seed ${seed}: update ${i + 1} ${k}`).toBeLessThanOrEqual(1e-4 * Math.abs(padded.ms[i][k]) + 1e-7);
      }
    });
    const delta = (p: Map<string, Float32Array>) => concat(paramList(c).map((x) => p.get(x.name)!.map((v, i) => v - init.get(x.name)![i])));
    expectClose(delta(fitted.params), delta(padded.params), MICRO_TOL, `seed ${seed}: four updates`);
  });

  it('skips a step whose gradient norm is NaN: weights, AdamW moments and step count bitwise unchanged, counted; the next step is a first step', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const c = tinyConfig();
    const init = initParams(c, seed, 0.3);
    const s = settings({ klCoef: 0.1 });
    const bits = (xs: readonly Float32Array[]): Uint32Array[] => xs.map((x) => new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)));
    const run = async (poisonFirst: boolean) => {
      const model = createParams(gpu, c);
      uploadParams(gpu, model, init);
      const ref = cloneParams(gpu, model);
      const good = await onPolicy(gpu, model, rollouts(c, seed + 1, 4, (_, r) => r() * 2 - 1), s.temperature);
      const trainer = new PolicyTrainer(gpu, model, { reference: ref, microBatch: 2, seqLen: T });
      try {
        let skipped = null;
        if (poisonFirst) {
          // A NaN advantage reaches the gradient through real GPU buffers: the norm is NaN.
          const bad = good.map((r, i) => (i === 2 ? { ...r, advantages: Float64Array.from(r.advantages, (a, j) => (j === 0 ? NaN : a)) } : r));
          const before = { params: await readParams(gpu, model), opt: await readOptimizer(gpu, trainer.optimizer) };
          const m = await noGpuErrors(gpu, () => trainer.step(bad, s));
          const after = { params: await readParams(gpu, model), opt: await readOptimizer(gpu, trainer.optimizer) };
          expect(Number.isNaN(m.gradNorm), `seed ${seed}: grad norm ${m.gradNorm}`).toBe(true);
          skipped = m.skipped;
          expect(trainer.steps).toBe(0);
          for (const name of before.params.keys()) expect(bits([after.params.get(name)!])[0], `seed ${seed}: ${name}`).toEqual(bits([before.params.get(name)!])[0]);
          expect(bits(after.opt.m), `seed ${seed}: m`).toEqual(bits(before.opt.m));
          expect(bits(after.opt.v), `seed ${seed}: v`).toEqual(bits(before.opt.v));
        }
        const m = await noGpuErrors(gpu, () => trainer.step(good, s));
        expect(m.skipped).toBe(0);
        expect(trainer.steps).toBe(1);
        return { skipped, params: await readParams(gpu, model) };
      } finally {
        trainer.destroy();
        destroyParams(ref);
        destroyParams(model);
      }
    };
    const plain = await run(false);
    const afterSkip = await run(true);
    expect(afterSkip.skipped).toBe(1);
    // The step after the skip is the first step AdamW takes (bias corrections of step 1): the same
    // weights, bit for bit, as a trainer that never saw the poisoned batch.
    for (const name of plain.params.keys()) expect(bits([afterSkip.params.get(name)!])[0], `seed ${seed}: ${name}`).toEqual(bits([plain.params.get(name)!])[0]);
  });

  it('micro-batching gives the same update as one batch', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const c = tinyConfig();
    const init = initParams(c, seed, 0.3);
    const s = settings({ klCoef: 0.2, entropyCoef: 0.02 });
    const run = async (micro: number, rowBucket?: number) => {
      const model = createParams(gpu, c);
      uploadParams(gpu, model, init);
      const ref = createParams(gpu, c);
      uploadParams(gpu, ref, perturbed(init, seed + 5, 0.05));
      const ros = await onPolicy(gpu, model, rollouts(c, seed + 1, 5, (i, r) => (i === 0 ? -1 : i === 1 ? 1 : r() * 2 - 1)), s.temperature);
      // Off-policy by ±0.3 (ratio 0.74 or 1.35): rollout 0 (A < 0) is cut low, rollout 1 (A > 0) high.
      const shifted = ros.map((r, i) => ({ ...r, logpOld: Float64Array.from(r.logpOld, (x) => x + (i % 2 === 0 ? 0.3 : -0.3)) }));
      const trainer = new PolicyTrainer(gpu, model, { reference: ref, microBatch: micro, seqLen: T, rowBucket });
      const m = await noGpuErrors(gpu, () => trainer.step(shifted, s));
      const params = await readParams(gpu, model);
      trainer.destroy();
      destroyParams(ref);
      destroyParams(model);
      return { m, params };
    };
    const whole = await run(5);
    // Micro-batches of 2 in order of length; with a row bucket of 1 each has rows of its own length.
    for (const split of [await run(2), await run(2, 1)]) {
      print(`micro-batching: ${JSON.stringify(whole.m)} vs ${JSON.stringify(split.m)}`);
      expect(whole.m.clipFracLow, `seed ${seed}: low clipping`).toBeGreaterThan(0);
      expect(whole.m.clipFracHigh, `seed ${seed}: high clipping`).toBeGreaterThan(0);
      expect(split.m.clipFracLow).toBe(whole.m.clipFracLow);
      expect(split.m.clipFracHigh).toBe(whole.m.clipFracHigh);
      for (const k of ['loss', 'kl', 'entropy', 'gradNorm'] as const) {
        expect(Math.abs(split.m[k] - whole.m[k]), `seed ${seed}: ${k}`).toBeLessThanOrEqual(1e-4 * Math.abs(whole.m[k]) + 1e-7);
      }
      const delta = (p: Map<string, Float32Array>) => concat(paramList(c).map((x) => p.get(x.name)!.map((v, i) => v - init.get(x.name)![i])));
      expectClose(delta(split.params), delta(whole.params), MICRO_TOL, `seed ${seed}: update`);
    }
  });
});
