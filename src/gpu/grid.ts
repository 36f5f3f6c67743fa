/**
 * Launch geometry shared by every op family: how the workgroups of a dispatch are laid out on the
 * grid, and how many threads a row-wise kernel gives each row.
 *
 * Grids. A dispatch may have at most maxComputeWorkgroupsPerDimension workgroups along each
 * dimension (65535 on most adapters, and at least that on every one), so large work goes on a
 * 2-D grid (x, y). Every kernel recovers its linear workgroup index as
 * wid.y · num_workgroups.x + wid.x and skips workgroups or items past the end, so any grid with
 * x·y ≥ groups is correct; `grid2d` picks the one with the fewest surplus workgroups.
 */
import { ceilDiv } from './kernel';
import type { Gpu } from './runtime';

/** WebGPU's guaranteed minimum of maxComputeWorkgroupsPerDimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

export interface GridOptions {
  /**
   * Most workgroups per grid dimension; only lowers the adapter's limit. Tests lower it to reach
   * the 2-D grid and its surplus workgroups with small sizes.
   */
  maxWorkgroupsPerDim?: number;
}

/**
 * Lays `groups` workgroups out as (x, y) with x, y ≤ maxPerDim and x·y ≥ groups: one row while
 * groups ≤ maxPerDim, else y = ⌈groups / maxPerDim⌉ rows of x = ⌈groups / y⌉, so that fewer than
 * y workgroups are surplus. A lower maxPerDim makes the grid 2-D sooner: ⌈√groups⌉ gives a
 * near-square grid.
 */
export function grid2d(groups: number, maxPerDim = MAX_WORKGROUPS_PER_DIM): [number, number] {
  if (!Number.isInteger(groups) || groups < 0) throw new Error(`grid2d: invalid workgroup count ${groups}`);
  if (!Number.isInteger(maxPerDim) || maxPerDim < 1) throw new Error(`grid2d: invalid workgroup limit ${maxPerDim}`);
  if (groups <= maxPerDim) return [groups, 1];
  const y = ceilDiv(groups, maxPerDim);
  if (y > maxPerDim) throw new Error(`grid2d: ${groups} workgroups do not fit a ${maxPerDim}×${maxPerDim} grid`);
  return [ceilDiv(groups, y), y];
}

/**
 * Workgroups per dimension on this adapter (the runtime refuses more), or o.maxWorkgroupsPerDim
 * when that is lower.
 */
export function workgroupLimit(gpu: Gpu, o: GridOptions = {}): number {
  const adapter = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? MAX_WORKGROUPS_PER_DIM;
  return Math.min(o.maxWorkgroupsPerDim ?? adapter, adapter);
}

/** The grid of a dispatch of `groups` workgroups on this adapter: `grid2d` within `workgroupLimit`. */
export function workgroupGrid(gpu: Gpu, groups: number, o: GridOptions = {}): [number, number] {
  return grid2d(groups, workgroupLimit(gpu, o));
}

/**
 * Row-wise kernels (softmax, sampling, logprobs, rmsnorm) give each row a power-of-two number of
 * threads that combine partial results through workgroup memory: the next power of two of the
 * row length, so a short row has no idle threads, up to a cap. Which cap is faster depends on the
 * adapter, so the start-up probe measures both widths (`gpu.preferences.rowWidth`):
 *
 * 'narrow' (a few threads per row) wins on CPU adapters. SwiftShader runs a workgroup as fibres,
 * one per group of 4 invocations, and switches between them at every barrier, which dominates
 * once a row has more threads than one group: sample_tokens over 4096 rows of 10 logits took
 * ~0.07 s at 4 threads per row and ~0.8 s at 16 (softmax ~0.05 s vs ~0.4 s); logprobs forward
 * plus backward over 70000 rows of 3 logits took ~1.1 s at 4 and ~63 s at 64.
 * 'wide' (up to 256) is what GPUs want for long rows.
 */
export const NARROW_ROW_THREADS = 4;
/** The wide cap, and the most a caller may ask for (the kernels' workgroup arrays allow 256). */
export const WIDE_ROW_THREADS = 256;

/** A family's own caps, where its kernels differ from the defaults above. */
export interface RowThreadCaps {
  /** Cap when the device prefers narrow rows (default NARROW_ROW_THREADS). */
  narrow?: number;
  /** Cap when it prefers wide rows, and the largest value a caller may ask for (default WIDE_ROW_THREADS). */
  wide?: number;
}

export interface RowThreadOptions {
  /** Most threads per row (a power of two within the family's wide cap); default: the device's preference. */
  maxWorkgroupSize?: number;
}

/** Throws unless v is a power of two in [1, max]. */
export function checkPowerOfTwo(op: string, what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max || (v & (v - 1)) !== 0) {
    throw new Error(`${op}: ${what} must be a power of two in [1, ${max}], got ${v}`);
  }
}

/**
 * Threads per row for rows of `rowLength` elements: the next power of two ≥ rowLength, at most
 * o.maxWorkgroupSize or else the cap of the device's preferred row width.
 */
export function rowThreads(gpu: Gpu, op: string, rowLength: number, o: RowThreadOptions = {}, caps: RowThreadCaps = {}): number {
  const wide = caps.wide ?? WIDE_ROW_THREADS;
  const cap = o.maxWorkgroupSize ?? (gpu.preferences.rowWidth === 'narrow' ? (caps.narrow ?? NARROW_ROW_THREADS) : wide);
  checkPowerOfTwo(op, 'maxWorkgroupSize', cap, wide);
  let threads = 1;
  while (threads < rowLength && threads < cap) threads *= 2;
  return threads;
}
