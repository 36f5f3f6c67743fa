/**
 * Wrapper for shaders/logprobs.wgsl: per row of logits, the log-probability of the target token,
 * the entropy and the log-sum-exp of softmax(logits / τ), and the gradient back to the logits.
 */
import code from '../../../shaders/logprobs.wgsl?raw';
import { checkPowerOfTwo, WIDE_ROW_THREADS, rowThreads, workgroupGrid, type GridOptions } from '../grid';
import { kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor, needU32Index } from '../validate';

export const logprobsKernels = {
  forward: kernel('logprobs', code, 'logprobs_forward', ['read', 'read', 'write', 'write', 'write', 'uniform']),
  backward: kernel('logprobs', code, 'logprobs_backward', ['read', 'read', 'read', 'read', 'read', 'write', 'uniform']),
} as const;

export interface LogprobsOptions extends GridOptions {
  /** Sampling temperature τ: the logits are divided by it. Default 1. */
  temperature?: number;
  /** Threads per row (a power of two ≤ 256); by default the shared rule, rowThreads(gpu, …, V). */
  workgroupSize?: number;
}

export interface LogprobsOutputs {
  /** f32 [R]: log softmax(logits/τ)[target]. */
  logp: Tensor;
  /** f32 [R]: entropy of softmax(logits/τ). */
  entropy: Tensor;
  /** f32 [R]: logsumexp(logits/τ), needed by logprobsBackward. */
  lse: Tensor;
}

interface Launch {
  params: ArrayBuffer;
  workgroups: [number, number];
  wg: number;
}

function launch(gpu: Gpu, op: string, R: number, V: number, o: LogprobsOptions): Launch {
  needInt(op, 'R', R);
  needInt(op, 'V', V, 1);
  needU32Index(op, 'R·V', R * V);
  const tau = o.temperature ?? 1;
  if (!(Number.isFinite(tau) && tau > 0)) throw new Error(`${op}: temperature must be finite and > 0, got ${tau}`);
  const wg = o.workgroupSize ?? rowThreads(gpu, op, V);
  checkPowerOfTwo(op, 'workgroupSize', wg, WIDE_ROW_THREADS);
  return {
    params: packParams([
      ['u32', R],
      ['u32', V],
      ['f32', 1 / tau],
    ]),
    workgroups: workgroupGrid(gpu, R, o),
    wg,
  };
}

/** Records logp, entropy and lse of the R rows of logits [R, V] at their targets u32 [R]. */
export function logprobsForward(gpu: Gpu, logits: Tensor, targets: Tensor, out: LogprobsOutputs, R: number, V: number, o: LogprobsOptions = {}): void {
  const op = 'logprobs_forward';
  const l = launch(gpu, op, R, V, o);
  needTensor(op, 'logits', logits, R * V);
  needTensor(op, 'targets', targets, R, 'u32');
  needTensor(op, 'logp', out.logp, R);
  needTensor(op, 'entropy', out.entropy, R);
  needTensor(op, 'lse', out.lse, R);
  if (R === 0) return;
  gpu.run(logprobsKernels.forward, {
    bindings: [logits, targets, out.logp, out.entropy, out.lse],
    params: l.params,
    workgroups: l.workgroups,
    constants: { WG: l.wg },
  });
}

export interface LogprobsGrads {
  /** f32 [R]: gradient of the objective with respect to logp. */
  dlogp: Tensor;
  /** f32 [R], or null when the objective has no entropy term (skips a pass over every row). */
  dentropy: Tensor | null;
}

/**
 * Records dlogits [R, V] = ∂(Σ_r dlogp_r·logp_r + dentropy_r·H_r)/∂logits (1/τ included),
 * overwriting dlogits. `lse` is logprobsForward's output for the same logits and temperature.
 */
export function logprobsBackward(
  gpu: Gpu,
  logits: Tensor,
  targets: Tensor,
  lse: Tensor,
  grads: LogprobsGrads,
  dlogits: Tensor,
  R: number,
  V: number,
  o: LogprobsOptions = {},
): void {
  const op = 'logprobs_backward';
  const l = launch(gpu, op, R, V, o);
  needTensor(op, 'logits', logits, R * V);
  needTensor(op, 'targets', targets, R, 'u32');
  needTensor(op, 'lse', lse, R);
  needTensor(op, 'dlogp', grads.dlogp, R);
  if (grads.dentropy !== null) needTensor(op, 'dentropy', grads.dentropy, R);
  needTensor(op, 'dlogits', dlogits, R * V);
  if (R === 0) return;
  gpu.run(logprobsKernels.backward, {
    // Without an entropy term the shader never reads binding 4; dlogp fills the slot.
    bindings: [logits, targets, lse, grads.dlogp, grads.dentropy ?? grads.dlogp, dlogits],
    params: l.params,
    workgroups: l.workgroups,
    constants: { WG: l.wg, USE_DENTROPY: grads.dentropy !== null },
  });
}
