/** Wrapper for shaders/softmax.wgsl: row-wise softmax over the last axis, forward and backward. */
import code from '../../../shaders/softmax.wgsl?raw';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';

export const softmaxKernels = {
  forward: kernel('softmax', code, 'softmax_forward', ['read', 'write', 'uniform']),
  backward: kernel('softmax', code, 'softmax_backward', ['read', 'read', 'write', 'uniform']),
} as const;

/** Most workgroups a dispatch may have along one dimension (the WebGPU default limit). */
const MAX_GROUPS_PER_DIM = 65535;

/** A grid of at least `groups` workgroups, 2-D once one dimension is not enough; kernels linearise it. */
export function rowGrid(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS_PER_DIM) return [groups, 1, 1];
  return [MAX_GROUPS_PER_DIM, ceilDiv(groups, MAX_GROUPS_PER_DIM), 1];
}

/**
 * Threads per row on CPU adapters. SwiftShader runs 4 invocations per SIMD group, and a workgroup
 * wider than one group pays for every barrier with a switch between fibres: sample_tokens over
 * 4096 rows of 10 logits took ~0.07 s at 4 threads per row and ~0.8 s at 16 (softmax ~0.05 s vs
 * ~0.4 s). Real GPUs want a full row of threads instead.
 */
export const SOFTWARE_ROW_WG = 4;
export const HARDWARE_ROW_WG = 256;

export interface RowOptions {
  /** Most threads per row (a power of two); defaults to SOFTWARE_ROW_WG or HARDWARE_ROW_WG by adapter. */
  maxWorkgroupSize?: number;
}

/** The thread cap for row-wise kernels on this adapter, unless the caller names one. */
export function rowWorkgroupCap(gpu: Gpu, o: RowOptions = {}, hardwareCap = HARDWARE_ROW_WG): number {
  const cap = o.maxWorkgroupSize ?? (gpu.adapter.isSoftware ? SOFTWARE_ROW_WG : hardwareCap);
  if (!Number.isInteger(cap) || cap < 1 || (cap & (cap - 1)) !== 0 || cap > hardwareCap) {
    throw new Error(`maxWorkgroupSize must be a power of two in [1, ${hardwareCap}], got ${cap}`);
  }
  return cap;
}

/** Threads per row: the next power of two of the row length, kept within [1, max]. */
export function rowWorkgroupSize(cols: number, max: number): number {
  let wg = 1;
  while (wg < cols && wg < max) wg *= 2;
  return wg;
}

function checkRows(op: string, rows: number, cols: number, tensors: ReadonlyArray<[Tensor, string]>): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new Error(`${op}: rows and cols must be non-negative integers (rows=${rows} cols=${cols})`);
  }
  for (const [t, name] of tensors) {
    if (t.dtype !== 'f32') throw new Error(`${op}: ${name} must be f32, got ${t}`);
    if (t.size < rows * cols) throw new Error(`${op}: ${name} has ${t.size} elements, needs ${rows * cols} (rows=${rows} cols=${cols})`);
  }
}

function params(rows: number, cols: number): ArrayBuffer {
  return packParams([
    ['u32', rows],
    ['u32', cols],
  ]);
}

/** Records y = softmax(x) over the last axis of [rows, cols]. */
export function softmaxForward(gpu: Gpu, x: Tensor, y: Tensor, rows: number, cols: number, o: RowOptions = {}): void {
  checkRows('softmax_forward', rows, cols, [
    [x, 'x'],
    [y, 'y'],
  ]);
  if (rows === 0 || cols === 0) return;
  gpu.run(softmaxKernels.forward, {
    bindings: [x, y],
    params: params(rows, cols),
    workgroups: rowGrid(rows),
    constants: { WG: rowWorkgroupSize(cols, rowWorkgroupCap(gpu, o)) },
  });
}

/** Records dx = y ⊙ (dy − Σ_row dy⊙y) for y = softmax(x) over the last axis of [rows, cols]. */
export function softmaxBackward(gpu: Gpu, y: Tensor, dy: Tensor, dx: Tensor, rows: number, cols: number, o: RowOptions = {}): void {
  checkRows('softmax_backward', rows, cols, [
    [y, 'y'],
    [dy, 'dy'],
    [dx, 'dx'],
  ]);
  if (rows === 0 || cols === 0) return;
  gpu.run(softmaxKernels.backward, {
    bindings: [y, dy, dx],
    params: params(rows, cols),
    workgroups: rowGrid(rows),
    constants: { WG: rowWorkgroupSize(cols, rowWorkgroupCap(gpu, o)) },
  });
}
