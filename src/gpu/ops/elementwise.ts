/**
 * Wrapper for shaders/elementwise.wgsl: c = a + b, y += alpha·x, y = value, y *= alpha on flat
 * float32 arrays. Also home of `grid2d`, the 2-D workgroup grid every flat one-thread-per-item
 * kernel of the embedding, swiglu and elementwise families uses.
 */
import code from '../../../shaders/elementwise.wgsl?raw';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';

/** WebGPU's guaranteed minimum of maxComputeWorkgroupsPerDimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Lays `groups` workgroups out as a 2-D grid (x, y) with x ≤ maxPerDim and x·y ≥ groups. x is
 * balanced (ceil(groups / y)) so that at most y − 1 workgroups are surplus; kernels compute the
 * linear workgroup index as wid.y · num_workgroups.x + wid.x and skip items past the end.
 */
export function grid2d(groups: number, maxPerDim = MAX_WORKGROUPS_PER_DIM): [number, number] {
  if (!Number.isInteger(groups) || groups < 0) throw new Error(`grid2d: invalid workgroup count ${groups}`);
  if (groups <= maxPerDim) return [groups, 1];
  const y = ceilDiv(groups, maxPerDim);
  if (y > maxPerDim) throw new Error(`grid2d: ${groups} workgroups do not fit a ${maxPerDim}×${maxPerDim} grid`);
  return [ceilDiv(groups, y), y];
}

/**
 * Threads per workgroup of the flat one-thread-per-item kernels (elementwise, swiglu, embedding),
 * passed as their WG override so shader and grid always agree. 64 suits wave32 and wave64 GPUs
 * and SwiftShader alike.
 */
export const ELEMENTWISE_WG = 64;

export const elementwiseKernels = {
  add: kernel('elementwise', code, 'add', ['read', 'read', 'write', 'uniform']),
  axpy: kernel('elementwise', code, 'axpy', ['read', 'write', 'uniform']),
  fill: kernel('elementwise', code, 'fill', ['write', 'uniform']),
  scale: kernel('elementwise', code, 'scale', ['write', 'uniform']),
} as const;

/** Throws unless `t` is a float32 tensor with at least n elements. */
export function needF32(op: string, name: string, t: Tensor, n: number, detail = ''): void {
  if (t.dtype !== 'f32') throw new Error(`${op}: ${name} is ${t}, must be f32`);
  if (t.size < n) throw new Error(`${op}: ${name} has ${t.size} elements, needs ${n}${detail}`);
}

/** Throws when two bindings share a buffer (WebGPU forbids a writable binding aliasing another). */
export function noAlias(op: string, pairs: ReadonlyArray<readonly [string, Tensor, string, Tensor]>): void {
  for (const [an, a, bn, b] of pairs) {
    if (a.buffer === b.buffer) throw new Error(`${op}: ${an} and ${bn} share a GPU buffer; the output must be a separate buffer`);
  }
}

function runFlat(gpu: Gpu, entry: keyof typeof elementwiseKernels, bindings: Tensor[], n: number, alpha: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${entry}: element count ${n} must be a non-negative integer`);
  if (n === 0) return;
  gpu.run(elementwiseKernels[entry], {
    bindings,
    params: packParams([
      ['u32', n],
      ['f32', alpha],
    ]),
    workgroups: grid2d(ceilDiv(n, ELEMENTWISE_WG)),
    constants: { WG: ELEMENTWISE_WG },
  });
}

/** Records c = a + b over the first n elements (n defaults to c's size). */
export function add(gpu: Gpu, a: Tensor, b: Tensor, c: Tensor, n = c.size): void {
  needF32('add', 'a', a, n);
  needF32('add', 'b', b, n);
  needF32('add', 'c', c, n);
  noAlias('add', [
    ['a', a, 'c', c],
    ['b', b, 'c', c],
  ]);
  runFlat(gpu, 'add', [a, b, c], n, 0);
}

/** Records y += alpha · x over the first n elements (n defaults to y's size). */
export function axpy(gpu: Gpu, alpha: number, x: Tensor, y: Tensor, n = y.size): void {
  needF32('axpy', 'x', x, n);
  needF32('axpy', 'y', y, n);
  noAlias('axpy', [['x', x, 'y', y]]);
  runFlat(gpu, 'axpy', [x, y], n, alpha);
}

/** Records y = value over the first n elements (n defaults to y's size). */
export function fill(gpu: Gpu, y: Tensor, value: number, n = y.size): void {
  needF32('fill', 'y', y, n);
  runFlat(gpu, 'fill', [y], n, value);
}

/** Records y *= alpha over the first n elements (n defaults to y's size). */
export function scale(gpu: Gpu, y: Tensor, alpha: number, n = y.size): void {
  needF32('scale', 'y', y, n);
  runFlat(gpu, 'scale', [y], n, alpha);
}
