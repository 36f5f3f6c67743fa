/**
 * The optimizer step over the model's flat buffers: the global gradient norm of all gradient
 * buffers with its clip coefficient (computed and applied on the GPU, no readback), then AdamW
 * (PyTorch semantics) with weight decay on embeddings and linear weights only — norms take none.
 * A non-finite gradient norm makes the coefficient NaN, and AdamW then leaves everything as is;
 * a non-finite loss skips AdamW before it is recorded (stepUnlessNonFinite).
 */
import { adamwStep } from '../gpu/ops/optimizer';
import { globalGradNorm } from '../gpu/ops/reduce';
import type { Gpu } from '../gpu/runtime';
import type { Tensor } from '../gpu/tensor';
import { writeFlatBuffers, type ModelParams } from './params';

export interface OptimizerHyper {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay of embedding and linear weights (default 0.01, PyTorch's). */
  weightDecay?: number;
  /** Clip the global gradient norm to this; ≤ 0 (or Infinity) turns clipping off. */
  maxNorm: number;
}

export interface OptimizerState {
  /** First and second moments, laid out as the parameters' flat buffers. */
  m: Tensor[];
  v: Tensor[];
  /** Steps taken so far (AdamW's bias corrections use step + 1 for the next one). */
  step: number;
  /** f32 [2]: the last step's [gradient norm, clip coefficient]. */
  gradNorm: Tensor;
}

/** Zeroed moments (new buffers are zero-filled) for the model's layout. */
export function createOptimizer(gpu: Gpu, model: ModelParams): OptimizerState {
  const alloc = (what: string): Tensor[] => model.layout.bufferSizes.map((n, i) => gpu.empty([n], 'f32', `${what}-${i}`));
  return { m: alloc('adam-m'), v: alloc('adam-v'), step: 0, gradNorm: gpu.empty([2], 'f32', 'grad-norm') };
}

export function destroyOptimizer(o: OptimizerState): void {
  for (const t of [...o.m, ...o.v, o.gradNorm]) t.buffer.destroy();
}

interface Run {
  buffer: number;
  offset: number;
  end: number;
  decay: boolean;
}

/**
 * Stretches of consecutive parameters in one buffer that share a decay rule, so a step takes a
 * few dispatches, not one per tensor. The alignment gaps inside a stretch hold zeros in every
 * buffer and stay zero under AdamW (zero gradient, zero moments, zero update).
 */
function decayRuns(model: ModelParams): Run[] {
  const runs: Run[] = [];
  for (const p of model.layout.params) {
    const decay = p.kind !== 'norm';
    const last = runs[runs.length - 1];
    if (last !== undefined && last.buffer === p.buffer && last.decay === decay) last.end = p.offset + p.size;
    else runs.push({ buffer: p.buffer, offset: p.offset, end: p.offset + p.size, decay });
  }
  return runs;
}

/** The norm to clip to; 0 = no clipping (globalGradNorm's convention). */
function clipNorm(h: OptimizerHyper): number {
  return Number.isFinite(h.maxNorm) && h.maxNorm > 0 ? h.maxNorm : 0;
}

/**
 * Records one optimizer step from the accumulated gradients: clip by the global norm, then
 * AdamW. The gradients are left as they are (zero them before the next step's backward).
 * Returns the [norm, coefficient] tensor, to be read whenever the caller wants the figure.
 */
export function optimizerStep(gpu: Gpu, model: ModelParams, opt: OptimizerState, h: OptimizerHyper): Tensor {
  globalGradNorm(gpu, model.flatGrads, clipNorm(h), opt.gradNorm);
  const step = opt.step + 1;
  for (const r of decayRuns(model)) {
    adamwStep(gpu, model.flat[r.buffer], model.flatGrads[r.buffer], opt.m[r.buffer], opt.v[r.buffer], opt.gradNorm, {
      lr: h.lr,
      step,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      weightDecay: r.decay ? (h.weightDecay ?? 0.01) : 0,
      offset: r.offset,
      n: r.end - r.offset,
      coefIndex: 1,
    });
  }
  opt.step = step;
  return opt.gradNorm;
}

/**
 * Settles the step count once the step's gradient norm has been read: a non-finite norm made
 * AdamW skip the step on the GPU (parameters and moments untouched), so the count the step took
 * is given back and the next step's bias corrections are those of a run without it. Returns
 * whether the step was skipped.
 */
export function settleOptimizerStep(opt: OptimizerState, gradNorm: number): boolean {
  if (Number.isFinite(gradNorm)) return false;
  opt.step--;
  return true;
}

/**
 * The optimizer step of an update whose loss has been read: a NaN or infinite loss skips AdamW
 * before anything is recorded (weights, moments and step count untouched), even when the gradient
 * stayed finite, as a KL term of an infinite log-ratio under klCoef 0 leaves it; the gradient norm
 * is still measured for the step line. Otherwise optimizerStep, whose non-finite gradient norm
 * skips on the GPU (settleOptimizerStep). Reading the loss first costs one wait for the GPU.
 */
export async function stepUnlessNonFinite(gpu: Gpu, model: ModelParams, opt: OptimizerState, h: OptimizerHyper, loss: number): Promise<{ gradNorm: number; skipped: boolean }> {
  if (!Number.isFinite(loss)) {
    globalGradNorm(gpu, model.flatGrads, clipNorm(h), opt.gradNorm);
    const gn = await gpu.readF32(opt.gradNorm);
    return { gradNorm: gn[0], skipped: true };
  }
  const gn = await gpu.readF32(optimizerStep(gpu, model, opt, h));
  return { gradNorm: gn[0], skipped: settleOptimizerStep(opt, gn[0]) };
}

/** AdamW's moments read back (the step count is `opt.step`), for a checkpoint of the run. */
export async function readOptimizer(gpu: Gpu, opt: OptimizerState): Promise<{ m: Float32Array[]; v: Float32Array[] }> {
  const [m, v] = await Promise.all([Promise.all(opt.m.map((t) => gpu.readF32(t))), Promise.all(opt.v.map((t) => gpu.readF32(t)))]);
  return { m, v };
}

/** Puts saved moments and step count back, so the next step is the one the saved run would have taken. */
export function restoreOptimizer(gpu: Gpu, opt: OptimizerState, saved: { m: readonly Float32Array[]; v: readonly Float32Array[] }, step: number): void {
  writeFlatBuffers(gpu, opt.m, saved.m, 'restoreOptimizer: m');
  writeFlatBuffers(gpu, opt.v, saved.v, 'restoreOptimizer: v');
  opt.step = step;
}
