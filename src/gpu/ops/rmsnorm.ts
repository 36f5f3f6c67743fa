/** Wrapper for shaders/rmsnorm.wgsl: Llama RMSNorm forward, input gradient and weight gradient. */
import code from '../../../shaders/rmsnorm.wgsl?raw';
import { rowThreads, workgroupGrid, type GridOptions, type RowThreadCaps } from '../grid';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor } from '../validate';

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
 * Caps of the default threads per row (the shared rule, rowThreads in src/gpu/grid.ts: the next
 * power of two of the row length). Narrow: 1, below the other row-wise families' 4: with
 * one thread per row these kernels need no barrier at all, and barriers are what SwiftShader pays
 * for. Forward plus backward in Node/Dawn on SwiftShader, 1 vs 4 threads per row: ~0.34 s vs
 * ~0.78 s for 65536 rows of 64, ~0.02 s vs ~0.13 s for 16384 rows of 5, ~0.3 s vs ~0.38 s for
 * 4096 rows of 1031. Wide: up to the workgroup's 64 threads, so a row's reads are coalesced on GPUs.
 */
const RMSNORM_ROW_THREADS: RowThreadCaps = { narrow: 1, wide: 64 };

/** A start-up probe's measured choice for this adapter; it replaces the rule while set. */
let probedThreadsPerRow: number | null = null;

/** Sets (or, with null, clears) the threads per row used when the caller names none. */
export function setDefaultRmsnormThreadsPerRow(tpr: number | null): void {
  probedThreadsPerRow = tpr === null ? null : checkTpr(tpr);
}

export function getDefaultRmsnormThreadsPerRow(): number | null {
  return probedThreadsPerRow;
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

export interface RmsnormRowOptions extends GridOptions {
  /** Threads per row (TPR override); default: a probe's choice if set, else the adapter's rule. */
  threadsPerRow?: number;
}

export interface RmsnormForwardOptions extends RmsnormRowOptions {
  eps?: number;
}

export interface RmsnormAccumulateOptions {
  /** Add into the output instead of overwriting it. */
  accumulate?: boolean;
}

export interface RmsnormBackwardOptions extends RmsnormRowOptions, RmsnormAccumulateOptions {}

function rowLaunch(gpu: Gpu, op: string, dims: RmsnormDims, o: RmsnormRowOptions): { workgroups: [number, number]; tpr: number } {
  const tpr = checkTpr(o.threadsPerRow ?? probedThreadsPerRow ?? rowThreads(gpu, op, dims.dim, {}, RMSNORM_ROW_THREADS));
  return { workgroups: workgroupGrid(gpu, ceilDiv(dims.rows * tpr, ROW_WG), o), tpr };
}

function checkDims(op: string, { rows, dim }: RmsnormDims): string {
  needInt(op, 'rows', rows);
  needInt(op, 'dim', dim, 1);
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
  needTensor(op, 'x', x, n, 'f32', at);
  needTensor(op, 'w', w, dims.dim, 'f32', at);
  needTensor(op, 'y', y, n, 'f32', at);
  needTensor(op, 'rstd', rstd, dims.rows, 'f32', at);
  const eps = o.eps ?? RMSNORM_EPS;
  if (!(eps > 0)) throw new Error(`${op}: eps ${eps} must be positive`);
  if (dims.rows === 0) return;
  const { workgroups, tpr } = rowLaunch(gpu, op, dims, o);
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
  needTensor(op, 'x', x, n, 'f32', at);
  needTensor(op, 'w', w, dims.dim, 'f32', at);
  needTensor(op, 'rstd', rstd, dims.rows, 'f32', at);
  needTensor(op, 'dy', dy, n, 'f32', at);
  needTensor(op, 'dx', dx, n, 'f32', at);
  if (dims.rows === 0) return;
  const { workgroups, tpr } = rowLaunch(gpu, op, dims, o);
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
  needTensor(op, 'x', x, n, 'f32', at);
  needTensor(op, 'rstd', rstd, dims.rows, 'f32', at);
  needTensor(op, 'dy', dy, n, 'f32', at);
  needTensor(op, 'dw', dw, dims.dim, 'f32', at);
  gpu.run(rmsnormKernels.backwardWeight, {
    bindings: [x, rstd, dy, dw],
    params: params(dims),
    // One grid dimension covers dim ≤ 65535 · 32; the runtime refuses anything larger. With
    // rows = 0 the kernel still runs, so dw is written as zeros (or left as is when accumulating).
    workgroups: [ceilDiv(dims.dim, WEIGHT_COLS)],
    constants: { ACCUMULATE: o.accumulate ?? false },
  });
}
