/**
 * Wrapper for shaders/logprobs.wgsl: per row of logits, the log-probability of the target token,
 * the entropy and the log-sum-exp of softmax(logits / τ), and the gradient back to the logits.
 */
import code from '../../../shaders/logprobs.wgsl?raw';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';

export const logprobsKernels = {
  forward: kernel('logprobs', code, 'logprobs_forward', ['read', 'read', 'write', 'write', 'write', 'uniform']),
  backward: kernel('logprobs', code, 'logprobs_backward', ['read', 'read', 'read', 'read', 'read', 'write', 'uniform']),
} as const;

/** Per-dimension workgroup limit of the adapter (WebGPU's default when it reports none). */
export function maxWorkgroupsPerDim(gpu: Gpu): number {
  return gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
}

/**
 * Lays `count` workgroups out as (gx, gy) with gx·gy ≥ count and both ≤ maxPerDim; the shader
 * recovers the linear index as wid.y·gx + wid.x and drops the surplus (fewer than gy of them).
 */
export function grid2d(count: number, maxPerDim: number): [number, number] {
  if (count <= maxPerDim) return [count, 1];
  const gy = ceilDiv(count, maxPerDim);
  if (gy > maxPerDim) throw new Error(`${count} workgroups do not fit a ${maxPerDim}×${maxPerDim} grid`);
  return [ceilDiv(count, gy), gy];
}

export interface LogprobsOptions {
  /** Sampling temperature τ: the logits are divided by it. Default 1. */
  temperature?: number;
  /** Threads per row (a power of two ≤ 256); by default defaultRowThreads(gpu, V). */
  workgroupSize?: number;
  /** Lower per-dimension grid limit than the adapter's, so tests can force the 2-D grid. */
  maxWorkgroupsPerDim?: number;
}

export interface LogprobsOutputs {
  /** f32 [R]: log softmax(logits/τ)[target]. */
  logp: Tensor;
  /** f32 [R]: entropy of softmax(logits/τ). */
  entropy: Tensor;
  /** f32 [R]: logsumexp(logits/τ), needed by logprobsBackward. */
  lse: Tensor;
}

/**
 * Most threads per row on CPU adapters. SwiftShader runs a workgroup that has barriers as fibers,
 * one per group of 4 invocations, and the switching dominates: forward plus backward over 70000
 * rows of 3 logits took ~63 s at 64 threads per row and ~1.1 s at 4. Real GPUs want many
 * threads on a long row instead.
 */
const SOFTWARE_MAX_ROW_THREADS = 4;
const HARDWARE_MAX_ROW_THREADS = 256;

/** Threads per row when the caller names none: the next power of two ≥ V, within the adapter's cap. */
export function defaultRowThreads(gpu: Gpu, V: number): number {
  const cap = gpu.adapter.isSoftware ? SOFTWARE_MAX_ROW_THREADS : HARDWARE_MAX_ROW_THREADS;
  let wg = 1;
  while (wg < V && wg < cap) wg *= 2;
  return wg;
}

interface Launch {
  params: ArrayBuffer;
  workgroups: [number, number];
  wg: number;
}

function launch(gpu: Gpu, op: string, R: number, V: number, o: LogprobsOptions): Launch {
  if (!Number.isInteger(R) || R < 0) throw new Error(`${op}: R must be a non-negative integer, got ${R}`);
  if (!Number.isInteger(V) || V < 1) throw new Error(`${op}: V must be a positive integer, got ${V}`);
  if (R * V > 0xffffffff) throw new Error(`${op}: R·V = ${R * V} exceeds the u32 index range`);
  const tau = o.temperature ?? 1;
  if (!(Number.isFinite(tau) && tau > 0)) throw new Error(`${op}: temperature must be finite and > 0, got ${tau}`);
  const wg = o.workgroupSize ?? defaultRowThreads(gpu, V);
  if (!Number.isInteger(wg) || wg < 1 || wg > 256 || (wg & (wg - 1)) !== 0) {
    throw new Error(`${op}: workgroupSize must be a power of two ≤ 256, got ${wg}`);
  }
  const limit = Math.min(o.maxWorkgroupsPerDim ?? Infinity, maxWorkgroupsPerDim(gpu));
  return {
    params: packParams([
      ['u32', R],
      ['u32', V],
      ['f32', 1 / tau],
    ]),
    workgroups: grid2d(R, limit),
    wg,
  };
}

function need(op: string, t: Tensor, elems: number, name: string, dtype: 'f32' | 'u32' = 'f32'): void {
  if (t.dtype !== dtype) throw new Error(`${op}: ${name} must be ${dtype}, got ${t}`);
  if (t.size < elems) throw new Error(`${op}: ${name} has ${t.size} elements, needs ${elems}`);
}

/** Records logp, entropy and lse of the R rows of logits [R, V] at their targets u32 [R]. */
export function logprobsForward(gpu: Gpu, logits: Tensor, targets: Tensor, out: LogprobsOutputs, R: number, V: number, o: LogprobsOptions = {}): void {
  const op = 'logprobs_forward';
  const l = launch(gpu, op, R, V, o);
  need(op, logits, R * V, 'logits');
  need(op, targets, R, 'targets', 'u32');
  need(op, out.logp, R, 'logp');
  need(op, out.entropy, R, 'entropy');
  need(op, out.lse, R, 'lse');
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
  need(op, logits, R * V, 'logits');
  need(op, targets, R, 'targets', 'u32');
  need(op, lse, R, 'lse');
  need(op, grads.dlogp, R, 'dlogp');
  if (grads.dentropy !== null) need(op, grads.dentropy, R, 'dentropy');
  need(op, dlogits, R * V, 'dlogits');
  if (R === 0) return;
  gpu.run(logprobsKernels.backward, {
    // Without an entropy term the shader never reads binding 4; dlogp fills the slot.
    bindings: [logits, targets, lse, grads.dlogp, grads.dentropy ?? grads.dlogp, dlogits],
    params: l.params,
    workgroups: l.workgroups,
    constants: { WG: l.wg, USE_DENTROPY: grads.dentropy !== null },
  });
}
