// The GPU training forward and backward of the whole model (src/model/forward.ts, backward.ts)
// against the float64 reference model (test/reference/model.ts, itself checked by finite
// differences): logits, log-probs, entropies and every parameter's gradient, for tied and untied
// heads, grouped-query attention, right-padded batches with B > 1, a temperature, an entropy term,
// and gradients accumulated over two micro-batches.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/runtime';
import { backwardTrain } from '../../src/model/backward';
import type { ModelConfig } from '../../src/model/config';
import { createActivations, destroyActivations, forwardTrain, setBatch, type Activations, type TrainBatch } from '../../src/model/forward';
import { paramList } from '../../src/model/layout';
import { createParams, destroyParams, initParams, readGrads, readParams, uploadParams, zeroGrads, type ModelParams } from '../../src/model/params';
import { modelBackwardRef, modelForwardRef, type Params64 } from '../reference/model';
import { expectClose, freshSeed, noGpuErrors, rng } from '../support/check';
import { tinyConfig } from '../support/tiny-config';

// Whole-model float32 vs float64, through ~40 kernels (exp/log in softmaxes, rsqrt in norms,
// sin/cos tables). Measured on SwiftShader, worst over the cases below: logits/logp/entropy
// 3.2e-7 (Node/Dawn) and 1.9e-7 (Chromium); parameter gradients 1.1e-6 (Node) and 1.5e-6
// (Chromium). The bounds leave room for GPUs with looser exp/log; the issue asks for ≤ 1e-3.
const FWD_TOL = 1e-4;
const GRAD_TOL = 1e-3;

function config(tied: boolean): ModelConfig {
  return tinyConfig({ tiedEmbeddings: tied });
}

interface Case {
  batch: TrainBatch;
  mask: Float32Array;
  /** ∂objective/∂logp and ∂objective/∂entropy per row (zero on padded rows). */
  w: Float32Array;
  e: Float32Array;
}

function makeCase(c: ModelConfig, lengths: number[], T: number, rand: () => number): Case {
  const B = lengths.length;
  const tokens = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = Math.floor(rand() * c.vocabSize);
      targets[b * T + t] = Math.floor(rand() * c.vocabSize);
      mask[b * T + t] = t < lengths[b] ? 1 : 0;
    }
  }
  const w = Float32Array.from(mask, (m) => m * (rand() * 2 - 1));
  const e = Float32Array.from(mask, (m) => m * 0.2 * rand());
  return { batch: { batch: B, seqLen: T, tokens, targets }, mask, w, e };
}

function toF64Map(m: Map<string, Float32Array>): Params64 {
  return new Map([...m].map(([k, v]) => [k, Float64Array.from(v)]));
}

async function setup(gpu: Gpu, c: ModelConfig, seed: number, std: number): Promise<{ model: ModelParams; values: Map<string, Float32Array> }> {
  const model = createParams(gpu, c);
  const values = initParams(c, seed, std);
  uploadParams(gpu, model, values);
  // The reference sees exactly the float32 values the GPU holds.
  const back = await readParams(gpu, model);
  for (const [k, v] of values) expect([...back.get(k)!], `${k} after upload`).toEqual([...v]);
  return { model, values };
}

/** Records forward + backward of one micro-batch (gradients accumulate). */
function recordStep(gpu: Gpu, model: ModelParams, a: Activations, k: Case, tau: number, entropy: boolean): void {
  setBatch(gpu, a, k.batch);
  gpu.write(a.dlogp, k.w);
  gpu.write(a.dentropy, k.e);
  forwardTrain(gpu, model, a, { temperature: tau });
  backwardTrain(gpu, model, a, { temperature: tau, entropy });
}

async function checkModel(tied: boolean, lengths: number[], T: number, tau: number, entropy: boolean, std: number): Promise<void> {
  const gpu = await testGpu();
  const seed = freshSeed();
  const rand = rng(seed);
  const c = config(tied);
  const { model, values } = await setup(gpu, c, seed, std);
  const k = makeCase(c, lengths, T, rand);
  const a = createActivations(gpu, c, lengths.length, T);
  try {
    await noGpuErrors(gpu, () => {
      zeroGrads(gpu, model);
      recordStep(gpu, model, a, k, tau, entropy);
    });
    const p64 = toF64Map(values);
    const ref = modelForwardRef(c, p64, k.batch, tau);
    const at = `seed ${seed}, ${tied ? 'tied' : 'untied'}, B=${lengths.length} T=${T} τ=${tau}`;
    const errs: string[] = [];
    errs.push(`logits ${expectClose(await gpu.readF32(a.logits), ref.logits, FWD_TOL, `logits (${at})`).toExponential(2)}`);
    errs.push(`logp ${expectClose(await gpu.readF32(a.logp), ref.logp, FWD_TOL, `logp (${at})`).toExponential(2)}`);
    errs.push(`entropy ${expectClose(await gpu.readF32(a.entropy), ref.entropy, FWD_TOL, `entropy (${at})`).toExponential(2)}`);
    const want = modelBackwardRef(c, p64, k.batch, k.w, entropy ? k.e : null, tau);
    const got = await readGrads(gpu, model);
    for (const s of paramList(c)) {
      errs.push(`${s.name} ${expectClose(got.get(s.name)!, want.get(s.name)!, GRAD_TOL, `grad ${s.name} (${at})`).toExponential(2)}`);
    }
    if (globalThis.process?.env?.EXPRL_PRINT_ERRORS) console.log(`${at}\n${errs.join('\n')}`);
  } finally {
    destroyActivations(a);
    destroyParams(model);
  }
}

describe('model forward and backward vs the float64 reference', () => {
  it('untied head, padded batch B=3, temperature 0.7, entropy term', () => checkModel(false, [5, 3, 1], 5, 0.7, true, 0.3));
  it('tied head, padded batch B=2, temperature 1, no entropy term', () => checkModel(true, [7, 4], 7, 1, false, 0.3));
  it('tied head at the default init (std 0.02), one sequence', () => checkModel(true, [6], 6, 1, true, 0.02));

  it('accumulates two micro-batches, and padded rows contribute nothing', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const c = config(true);
    const { model, values } = await setup(gpu, c, seed, 0.3);
    const k1 = makeCase(c, [4, 2], 5, rand);
    const k2 = makeCase(c, [5, 3], 5, rand);
    const a = createActivations(gpu, c, 2, 5);
    try {
      await noGpuErrors(gpu, () => {
        zeroGrads(gpu, model);
        recordStep(gpu, model, a, k1, 1, true);
        recordStep(gpu, model, a, k2, 1, true);
      });
      const got = await readGrads(gpu, model);
      const p64 = toF64Map(values);
      const r1 = modelBackwardRef(c, p64, k1.batch, k1.w, k1.e);
      const r2 = modelBackwardRef(c, p64, k2.batch, k2.w, k2.e);
      for (const s of paramList(c)) {
        const want = r1.get(s.name)!.map((v, i) => v + r2.get(s.name)![i]);
        expectClose(got.get(s.name)!, want, GRAD_TOL, `accumulated grad ${s.name} (seed ${seed})`);
      }

      // Other ids on padded rows (inputs and targets): the gradients are bit-for-bit the same.
      const padded: Case = { ...k1, batch: { ...k1.batch, tokens: Uint32Array.from(k1.batch.tokens), targets: Uint32Array.from(k1.batch.targets) } };
      for (let r = 0; r < padded.mask.length; r++) {
        if (padded.mask[r] === 0) {
          padded.batch.tokens[r] = (padded.batch.tokens[r] + 3) % c.vocabSize;
          padded.batch.targets[r] = (padded.batch.targets[r] + 5) % c.vocabSize;
        }
      }
      const once = async (k: Case): Promise<Map<string, Float32Array>> => {
        await noGpuErrors(gpu, () => {
          zeroGrads(gpu, model);
          recordStep(gpu, model, a, k, 1, true);
        });
        return readGrads(gpu, model);
      };
      const g1 = await once(k1);
      const g2 = await once(padded);
      for (const s of paramList(c)) expect([...g2.get(s.name)!], `${s.name} with other padding (seed ${seed})`).toEqual([...g1.get(s.name)!]);
    } finally {
      destroyActivations(a);
      destroyParams(model);
    }
  });
});
