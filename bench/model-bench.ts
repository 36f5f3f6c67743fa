/**
 * Page side of the model benchmark: our engine and the TF.js model (bench/tfjs-model.ts) with the
 * same configuration, the same initial parameters and the same batch, on the same adapter in the
 * same page. First the two are checked to compute the same model (logits on one batch); then
 * training steps and generate calls take turns, engine after engine, round after round, after
 * warm-up calls that keep pipeline compilation out of the samples. Each sample is wall-clock up
 * to a readback, since that is when the work is known to be done, for both engines alike.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tuneKernels, MemoryChoiceStore } from '../src/gpu/autotune';
import { ceLossBackward } from '../src/gpu/ops/losses';
import { randomUniform } from '../src/gpu/rng';
import type { Gpu } from '../src/gpu/runtime';
import type { Tensor } from '../src/gpu/tensor';
import { backwardTrain } from '../src/model/backward';
import { createBuiltinPolicy } from '../src/model/builtin';
import type { ModelConfig } from '../src/model/config';
import { generate } from '../src/model/decode';
import { createActivations, destroyActivations, forwardTrain, setBatch, type Activations, type TrainBatch } from '../src/model/forward';
import { createParams, destroyParams, readGrads, readParams, uploadParams, zeroGrads, type ModelParams } from '../src/model/params';
import { createOptimizer, destroyOptimizer, optimizerStep, type OptimizerHyper, type OptimizerState } from '../src/model/train-step';
import { checkLogitsAgreement, relativeL2, type GpuMemoryBytes, type ModelBenchOutput } from './summary';
import { createTfjsModel, createTfjsTrainer, disposeTfjsModel, tfjsDecode, tfjsGrads, tfjsLogits, tfjsLoss, tfjsTrainStep, type TfjsTrainHyper } from './tfjs-model';

export interface ModelBenchOptions {
  /** Timed rounds per phase (each round times each engine once). */
  reps: number;
  warmup: number;
  trainBatch: number;
  trainSeqLen: number;
  decodeBatch: number;
  promptLen: number;
  newTokens: number;
  temperature: number;
  seed: number;
}

/** One set of hyperparameters for both engines: PyTorch AdamW defaults, lr and clip of a small run. */
const HYPER = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxNorm: 1 };

/** Seeded ids in [0, vocab): the same batch on every run. */
function seededIds(n: number, vocab: number, seed: number, stream: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(vocab - 1, Math.floor(randomUniform(seed, stream, i) * vocab));
  return out;
}

/** Language-model batch: each row predicts the next id; the last position predicts a fresh one. */
function trainBatch(c: ModelConfig, B: number, T: number, seed: number): TrainBatch {
  const stream = seededIds(B * (T + 1), c.vocabSize, seed, 1);
  const tokens = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = stream[b * (T + 1) + t];
      targets[b * T + t] = stream[b * (T + 1) + t + 1];
    }
  }
  return { batch: B, seqLen: T, tokens, targets };
}

function bufferBytes(tensors: Iterable<Tensor>): number {
  const seen = new Set<GPUBuffer>();
  let bytes = 0;
  for (const t of tensors) {
    if (seen.has(t.buffer)) continue;
    seen.add(t.buffer);
    bytes += t.buffer.size;
  }
  return bytes;
}

/** Every Tensor reachable from the activations object (nested records and arrays), once each. */
function activationTensors(a: Activations): Tensor[] {
  const out: Tensor[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if ('buffer' in v && 'shape' in v && 'dtype' in v) {
      out.push(v as Tensor);
      return;
    }
    if (v instanceof Uint32Array || v instanceof Float32Array) return;
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
  };
  walk({ ...a, config: null, hostTokens: null });
  return out;
}

interface OursTrainer {
  gpu: Gpu;
  model: ModelParams;
  acts: Activations;
  opt: OptimizerState;
  mask: Tensor;
}

function oursStep(t: OursTrainer, h: OptimizerHyper): Tensor {
  const { gpu, model, acts } = t;
  zeroGrads(gpu, model);
  forwardTrain(gpu, model, acts);
  // Every token counts: the mean cross-entropy, as the TF.js step computes it.
  ceLossBackward(gpu, t.mask, acts.dlogp, acts.rows, { nTokens: acts.rows });
  backwardTrain(gpu, model, acts);
  return optimizerStep(gpu, model, t.opt, h);
}

function meanNll(logp: Float32Array): number {
  let s = 0;
  for (const x of logp) s -= x;
  return s / logp.length;
}

async function timeTurns(contenders: Array<() => Promise<void>>, warmup: number, reps: number): Promise<number[][]> {
  for (let w = 0; w < warmup; w++) for (const run of contenders) await run();
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const t0 = performance.now();
      await contenders[i]();
      samples[i].push(performance.now() - t0);
    }
  }
  return samples;
}

export async function benchModel(gpu: Gpu, o: ModelBenchOptions, log: (line: string) => void = () => {}): Promise<ModelBenchOutput> {
  // Kernel choices as the app makes them (timed probes), so our engine runs its own best schedules.
  await tuneKernels(gpu, new MemoryChoiceStore());
  const policy = createBuiltinPolicy(o.seed);
  const c = policy.config;
  const B = o.trainBatch;
  const T = o.trainSeqLen;
  const R = B * T;
  const batch = trainBatch(c, B, T, o.seed);

  // ---- our engine
  const model = createParams(gpu, c);
  uploadParams(gpu, model, policy.params);
  const acts = createActivations(gpu, c, B, T);
  setBatch(gpu, acts, batch);
  const opt = createOptimizer(gpu, model);
  const mask = gpu.upload(new Float32Array(R).fill(1), [R], 'f32', 'loss-mask');
  const ours: OursTrainer = { gpu, model, acts, opt, mask };
  const memory: GpuMemoryBytes = {
    params: bufferBytes(model.flat),
    grads: bufferBytes(model.flatGrads),
    optimizer: bufferBytes([...opt.m, ...opt.v, opt.gradNorm]),
    activations: bufferBytes([...activationTensors(acts), mask]),
  };

  // ---- TF.js, from the same initial values
  const tfm = createTfjsModel(c, policy.params);
  const trainer = createTfjsTrainer(tfm, HYPER as TfjsTrainHyper);
  const ids = tf.tensor2d(Int32Array.from(batch.tokens), [B, T], 'int32');
  const targets = tf.tensor1d(Int32Array.from(batch.targets), 'int32');

  try {
    // ---- same model? Logits of one batch under the initial parameters.
    forwardTrain(gpu, model, acts);
    const oursLogits = await gpu.readF32(acts.logits);
    const tfLogitsT = tfjsLogits(tfm, ids);
    const tfLogits = (await tfLogitsT.data()) as Float32Array;
    tfLogitsT.dispose();
    const logitsRelL2 = relativeL2(tfLogits, oursLogits);
    log(`logits relative L2 (TF.js vs ours): ${logitsRelL2.toExponential(3)}`);
    checkLogitsAgreement(logitsRelL2);
    // The training steps must compute the same gradients too (reported, the largest per tensor).
    zeroGrads(gpu, model);
    forwardTrain(gpu, model, acts);
    ceLossBackward(gpu, mask, acts.dlogp, R, { nTokens: R });
    backwardTrain(gpu, model, acts);
    const oursGrads = await readGrads(gpu, model);
    const tfGrads = await tfjsGrads(tfm, ids, targets);
    const gradsRelL2: Record<string, number> = {};
    for (const [name, g] of oursGrads) gradsRelL2[name] = relativeL2(tfGrads.get(name)!, g);
    const worst = Object.entries(gradsRelL2).sort((a, b) => b[1] - a[1])[0];
    log(`gradients relative L2 (TF.js vs ours), largest: ${worst[1].toExponential(3)} (${worst[0]})`);
    // And the same update: one step each from the same start, compared by each tensor's displacement.
    await gpu.read(oursStep(ours, HYPER));
    const stepLoss = tfjsTrainStep(trainer, ids, targets);
    stepLoss.dispose();
    const oursAfter = await readParams(gpu, model);
    let worstStep = { value: 0, param: '' };
    for (const [name, v] of tfm.vars) {
      const start = policy.params.get(name)!;
      const tfAfter = (await v.data()) as Float32Array;
      const d = relativeL2(
        tfAfter.map((x, i) => x - start[i]),
        oursAfter.get(name)!.map((x, i) => x - start[i]),
      );
      if (!(d <= worstStep.value)) worstStep = { value: d, param: name };
    }
    log(`first-step parameter displacement relative L2 (TF.js vs ours), largest: ${worstStep.value.toExponential(3)} (${worstStep.param})`);

    // ---- training steps
    log(`training steps: ${B}x${T}, ${o.warmup} warm-up + ${o.reps} timed rounds`);
    const [oursMs, tfjsMs] = await timeTurns(
      [
        async () => {
          await gpu.read(oursStep(ours, HYPER));
        },
        async () => {
          const loss = tfjsTrainStep(trainer, ids, targets);
          await loss.data();
          loss.dispose();
        },
      ],
      o.warmup,
      o.reps,
    );
    // Both engines took the same number of steps from the same start: their losses should match.
    forwardTrain(gpu, model, acts);
    const oursFinalLoss = meanNll(await gpu.readF32(acts.logp));
    const tfFinal = tfjsLoss(tfm, ids, targets);
    const tfjsFinalLoss = (await tfFinal.data())[0];
    tfFinal.dispose();

    // ---- decode
    const D = o.decodeBatch;
    const promptIds = seededIds(D * o.promptLen, c.vocabSize, o.seed, 2);
    const prompts = Array.from({ length: D }, (_, s) => Array.from(promptIds.subarray(s * o.promptLen, (s + 1) * o.promptLen)));
    const promptT = tf.tensor2d(Int32Array.from(promptIds), [D, o.promptLen], 'int32');
    log(`decode: ${D} sequences, ${o.newTokens} new tokens after ${o.promptLen}, temperature ${o.temperature}`);
    let call = 0;
    const [oursDecodeMs, tfjsDecodeMs] = await timeTurns(
      [
        async () => {
          // No EOS: every sequence makes exactly newTokens tokens, as the TF.js side does.
          const g = await generate(gpu, model, prompts, { temperature: o.temperature, seed: o.seed + call, maxTokens: o.newTokens });
          if (g.tokens.some((t) => t.length !== o.newTokens)) throw new Error('our generate stopped early; decode timings would not compare like with like');
        },
        async () => {
          await tfjsDecode(tfm, promptT, { newTokens: o.newTokens, temperature: o.temperature, seed: o.seed + call++ });
        },
      ],
      o.warmup,
      o.reps,
    );
    promptT.dispose();

    return {
      config: { ...c },
      configSource: 'src/model/builtin.ts BUILTIN_CONFIG',
      tfjsBackend: tf.getBackend(),
      logitsRelL2,
      gradsRelL2,
      stepRelL2: worstStep,
      train: { batch: B, seqLen: T, warmup: o.warmup, oursMs, tfjsMs, oursFinalLoss, tfjsFinalLoss },
      decode: {
        batch: D,
        promptLen: o.promptLen,
        newTokens: o.newTokens,
        temperature: o.temperature,
        tfjsMethod: 'kv-cache',
        oursMs: oursDecodeMs,
        oursNote: null,
        tfjsMs: tfjsDecodeMs,
      },
      memory,
    };
  } finally {
    ids.dispose();
    targets.dispose();
    trainer.optimizer.dispose();
    disposeTfjsModel(tfm);
    mask.buffer.destroy();
    destroyActivations(acts);
    destroyOptimizer(opt);
    destroyParams(model);
  }
}
