/** Wrapper for shaders/rmsnorm.wgsl: Llama RMSNorm forward, input gradient and weight gradient. */
import code from '../../../shaders/rmsnorm.wgsl?raw';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { grid2d, needF32, noAlias } from './elementwise';

export const rmsnormKernels = {
  forward: kernel('rmsnorm', code, 'rmsnorm_forward', ['read', 'read', 'write', 'write', 'uniform']),
  backward: kernel('rmsnorm', code, 'rmsnorm_backward', ['read', 'read', 'read', 'read', 'write', 'uniform']),
  backwardWeight: kernel('rmsnorm', code, 'rmsnorm_backward_weight', ['read', 'read', 'read', 'write', 'uniform']),
} as const;

/** Threads per workgroup of the forward and backward (WG in the shader). */
const ROW_WG = 64;
/** Columns per workgroup of rmsnorm_backward_weight (COLS in the shader). */
const WEIGHT_COLS = 32;

/** Valid threads-per-row counts of the forward and backward (the TPR override). */
export const RMSNORM_THREADS_PER_ROW = [1, 2, 4, 8, 16, 32, 64] as const;

/**
 * Threads per row used when the caller names none. 1 (no barriers) is fastest on CPU adapters
 * such as SwiftShader, where a workgroup barrier is expensive; a start-up probe should set 32 or
 * 64 on GPUs, where a row's reads are then coalesced.
 */
let defaultThreadsPerRow = 1;

export function setDefaultRmsnormThreadsPerRow(tpr: number): void {
  defaultThreadsPerRow = checkTpr(tpr);
}

export function getDefaultRmsnormThreadsPerRow(): number {
  return defaultThreadsPerRow;
}

function checkTpr(tpr: number): number {
  if (!(RMSNORM_THREADS_PER_ROW as readonly number[]).includes(tpr)) {
    throw new Error(`rmsnorm: threadsPerRow ${tpr} must be one of ${RMSNORM_THREADS_PER_ROW.join(', ')}`);
  }
  return tpr;
}

/** Hugging Face Llama's default rms_norm_eps. */
export const RMSNORM_EPS = 1e-6;

export interface RmsnormDims {
  /** R: number of rows (b·T + t), may exceed 65535. */
  rows: number;
  /** D: row length. */
  dim: number;
}

export interface RmsnormRowOptions {
  /** Threads per row (TPR override), default getDefaultRmsnormThreadsPerRow(). */
  threadsPerRow?: number;
  /** Largest grid dimension; tests lower it to reach the 2-D grid with few rows. */
  maxWorkgroupsPerDim?: number;
}

export interface RmsnormForwardOptions extends RmsnormRowOptions {
  eps?: number;
}

export interface RmsnormAccumulateOptions {
  /** Add into the output instead of overwriting it. */
  accumulate?: boolean;
}

export interface RmsnormBackwardOptions extends RmsnormRowOptions, RmsnormAccumulateOptions {}

function rowGrid(rows: number, o: RmsnormRowOptions): { workgroups: [number, number]; tpr: number } {
  const tpr = checkTpr(o.threadsPerRow ?? defaultThreadsPerRow);
  return { workgroups: grid2d(ceilDiv(rows * tpr, ROW_WG), o.maxWorkgroupsPerDim), tpr };
}

function checkDims(op: string, { rows, dim }: RmsnormDims): string {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`${op}: rows ${rows} must be a non-negative integer`);
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`${op}: dim ${dim} must be a positive integer`);
  return ` (rows=${rows} dim=${dim})`;
}

function params(dims: RmsnormDims, eps = 0): ArrayBuffer {
  return packParams([
    ['u32', dims.rows],
    ['u32', dims.dim],
    ['f32', eps],
  ]);
}

/** Records y = w ⊙ x · rstd and rstd = 1/sqrt(mean(x²) + eps) for x [rows, dim]. */
export function rmsnormForward(gpu: Gpu, x: Tensor, w: Tensor, y: Tensor, rstd: Tensor, dims: RmsnormDims, o: RmsnormForwardOptions = {}): void {
  const op = 'rmsnormForward';
  const at = checkDims(op, dims);
  const n = dims.rows * dims.dim;
  needF32(op, 'x', x, n, at);
  needF32(op, 'w', w, dims.dim, at);
  needF32(op, 'y', y, n, at);
  needF32(op, 'rstd', rstd, dims.rows, at);
  noAlias(op, [
    ['x', x, 'y', y],
    ['w', w, 'y', y],
    ['x', x, 'rstd', rstd],
    ['w', w, 'rstd', rstd],
    ['y', y, 'rstd', rstd],
  ]);
  const eps = o.eps ?? RMSNORM_EPS;
  if (!(eps > 0)) throw new Error(`${op}: eps ${eps} must be positive`);
  if (dims.rows === 0) return;
  const { workgroups, tpr } = rowGrid(dims.rows, o);
  gpu.run(rmsnormKernels.forward, {
    bindings: [x, w, y, rstd],
    params: params(dims, eps),
    workgroups,
    constants: { TPR: tpr },
  });
}

/**
 * Records dx = ∂(Σ dy ⊙ y)/∂x from the forward's rstd; with `accumulate`, dx += that instead
 * (so the residual stream's gradient can be dx itself).
 */
export function rmsnormBackward(
  gpu: Gpu,
  x: Tensor,
  w: Tensor,
  rstd: Tensor,
  dy: Tensor,
  dx: Tensor,
  dims: RmsnormDims,
  o: RmsnormBackwardOptions = {},
): void {
  const op = 'rmsnormBackward';
  const at = checkDims(op, dims);
  const n = dims.rows * dims.dim;
  needF32(op, 'x', x, n, at);
  needF32(op, 'w', w, dims.dim, at);
  needF32(op, 'rstd', rstd, dims.rows, at);
  needF32(op, 'dy', dy, n, at);
  needF32(op, 'dx', dx, n, at);
  noAlias(op, [
    ['x', x, 'dx', dx],
    ['w', w, 'dx', dx],
    ['rstd', rstd, 'dx', dx],
    ['dy', dy, 'dx', dx],
  ]);
  if (dims.rows === 0) return;
  const { workgroups, tpr } = rowGrid(dims.rows, o);
  gpu.run(rmsnormKernels.backward, {
    bindings: [x, w, rstd, dy, dx],
    params: params(dims),
    workgroups,
    constants: { TPR: tpr, ACCUMULATE: o.accumulate ?? false },
  });
}

/** Records dw = Σ_rows dy ⊙ x · rstd (deterministic order); with `accumulate`, dw += that. */
export function rmsnormBackwardWeight(
  gpu: Gpu,
  x: Tensor,
  rstd: Tensor,
  dy: Tensor,
  dw: Tensor,
  dims: RmsnormDims,
  o: RmsnormAccumulateOptions = {},
): void {
  const op = 'rmsnormBackwardWeight';
  const at = checkDims(op, dims);
  const n = dims.rows * dims.dim;
  needF32(op, 'x', x, n, at);
  needF32(op, 'rstd', rstd, dims.rows, at);
  needF32(op, 'dy', dy, n, at);
  needF32(op, 'dw', dw, dims.dim, at);
  noAlias(op, [
    ['x', x, 'dw', dw],
    ['rstd', rstd, 'dw', dw],
    ['dy', dy, 'dw', dw],
  ]);
  gpu.run(rmsnormKernels.backwardWeight, {
    bindings: [x, rstd, dy, dw],
    params: params(dims),
    // One grid dimension covers dim ≤ 65535 · 32; the runtime refuses anything larger. With
    // rows = 0 the kernel still runs, so dw is written as zeros (or left as is when accumulating).
    workgroups: [ceilDiv(dims.dim, WEIGHT_COLS)],
    constants: { ACCUMULATE: o.accumulate ?? false },
  });
}
