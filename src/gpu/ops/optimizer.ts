/**
 * Wrapper for shaders/optimizer.wgsl: one AdamW step (PyTorch semantics, decoupled weight decay)
 * on a segment of flat parameter / gradient / moment buffers. The gradient is multiplied by a
 * coefficient read from a GPU buffer (the clip coefficient from reduce's `globalGradNorm`, at
 * index 1), so clipping needs no readback; a non-finite coefficient makes the step a no-op.
 */
import code from '../../../shaders/optimizer.wgsl?raw';
import { workgroupGrid, type GridOptions } from '../grid';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needSegment } from '../validate';

export const optimizerKernels = {
  adamwStep: kernel('optimizer', code, 'adamw_step', ['write', 'read', 'write', 'write', 'read', 'uniform']),
} as const;

/** Threads per workgroup of adamw_step (WG in the shader). */
export const OPTIMIZER_WG = 256;

export interface AdamWOptions extends GridOptions {
  lr: number;
  /** 1-based step number, used for the bias corrections 1 − beta^t. */
  step: number;
  /** PyTorch's defaults: 0.9, 0.999, 1e-8, 0.01. */
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Segment [offset, offset + n) of all four buffers (default: all of params). */
  offset?: number;
  n?: number;
  /** Element of `coef` that multiplies the gradient (default 0; 1 for a `globalGradNorm` result). */
  coefIndex?: number;
}

/** The derived hyper-parameters, formed in float64 and rounded to f32 only when packed. */
export function adamwDerived(o: AdamWOptions): {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  eps: number;
  lrWd: number;
  stepSize: number;
  invBc2Sqrt: number;
} {
  const beta1 = o.beta1 ?? 0.9;
  const beta2 = o.beta2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? 0.01;
  const fail = (what: string): never => {
    throw new Error(`adamw_step: ${what}`);
  };
  if (!Number.isInteger(o.step) || o.step < 1) fail(`step ${o.step} must be an integer ≥ 1`);
  if (!(o.lr >= 0 && Number.isFinite(o.lr))) fail(`lr ${o.lr} must be finite and ≥ 0`);
  if (!(beta1 >= 0 && beta1 < 1)) fail(`beta1 ${beta1} must be in [0, 1)`);
  if (!(beta2 >= 0 && beta2 < 1)) fail(`beta2 ${beta2} must be in [0, 1)`);
  if (!(eps > 0 && Number.isFinite(eps))) fail(`eps ${eps} must be finite and > 0`);
  if (!(wd >= 0 && Number.isFinite(wd))) fail(`weightDecay ${wd} must be finite and ≥ 0`);
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  return {
    beta1,
    oneMinusBeta1: 1 - beta1,
    beta2,
    oneMinusBeta2: 1 - beta2,
    eps,
    lrWd: o.lr * wd,
    stepSize: o.lr / bc1,
    invBc2Sqrt: 1 / Math.sqrt(bc2),
  };
}

/**
 * Records one AdamW step on [offset, offset + n) of params, m and v, with gradient
 * coef[coefIndex] · grads. params, m and v are written: they may be disjoint views of one buffer,
 * but none may share a buffer with grads or coef (the runtime checks both rules).
 */
export function adamwStep(gpu: Gpu, params: Tensor, grads: Tensor, m: Tensor, v: Tensor, coef: Tensor, o: AdamWOptions): void {
  const op = 'adamw_step';
  const offset = o.offset ?? 0;
  const n = o.n ?? params.size - offset;
  const coefIndex = o.coefIndex ?? 0;
  needSegment(op, 'params', params, offset, n);
  needSegment(op, 'grads', grads, offset, n);
  needSegment(op, 'm', m, offset, n);
  needSegment(op, 'v', v, offset, n);
  needSegment(op, 'coef', coef, coefIndex, 1);
  const d = adamwDerived(o);
  if (n === 0) return;
  gpu.run(optimizerKernels.adamwStep, {
    bindings: [params, grads, m, v, coef],
    params: packParams([
      ['u32', offset],
      ['u32', n],
      ['u32', coefIndex],
      ['f32', d.beta1],
      ['f32', d.oneMinusBeta1],
      ['f32', d.beta2],
      ['f32', d.oneMinusBeta2],
      ['f32', d.eps],
      ['f32', d.lrWd],
      ['f32', d.stepSize],
      ['f32', d.invBc2Sqrt],
    ]),
    workgroups: workgroupGrid(gpu, ceilDiv(n, OPTIMIZER_WG), o),
  });
}
