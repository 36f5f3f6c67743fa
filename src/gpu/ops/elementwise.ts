/**
 * Wrapper for shaders/elementwise.wgsl: c = a + b, y += alpha·x, y = value, y *= alpha on flat
 * float32 arrays. Also home of `runFlat`, the dispatch of every flat one-thread-per-item kernel
 * of the elementwise, swiglu and embedding families.
 */
import code from '../../../shaders/elementwise.wgsl?raw';
import { workgroupGrid } from '../grid';
import { ceilDiv, kernel, packParams, type KernelSpec, type ParamField } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor } from '../validate';

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

/**
 * Records a flat kernel over n items, one thread each, ELEMENTWISE_WG threads per workgroup on a
 * 2-D grid, with the uniform packed from `params`; nothing (not even packing) for n = 0.
 */
export function runFlat(gpu: Gpu, spec: KernelSpec, bindings: Tensor[], n: number, params: readonly ParamField[]): void {
  needInt(spec.entryPoint, 'element count', n);
  if (n === 0) return;
  gpu.run(spec, {
    bindings,
    params: packParams(params),
    workgroups: workgroupGrid(gpu, ceilDiv(n, ELEMENTWISE_WG)),
    constants: { WG: ELEMENTWISE_WG },
  });
}

function runElementwise(gpu: Gpu, entry: keyof typeof elementwiseKernels, bindings: Tensor[], n: number, alpha: number): void {
  runFlat(gpu, elementwiseKernels[entry], bindings, n, [
    ['u32', n],
    ['f32', alpha],
  ]);
}

/** Records c = a + b over the first n elements (n defaults to c's size). */
export function add(gpu: Gpu, a: Tensor, b: Tensor, c: Tensor, n = c.size): void {
  needTensor('add', 'a', a, n);
  needTensor('add', 'b', b, n);
  needTensor('add', 'c', c, n);
  runElementwise(gpu, 'add', [a, b, c], n, 0);
}

/** Records y += alpha · x over the first n elements (n defaults to y's size). */
export function axpy(gpu: Gpu, alpha: number, x: Tensor, y: Tensor, n = y.size): void {
  needTensor('axpy', 'x', x, n);
  needTensor('axpy', 'y', y, n);
  runElementwise(gpu, 'axpy', [x, y], n, alpha);
}

/** Records y = value over the first n elements (n defaults to y's size). */
export function fill(gpu: Gpu, y: Tensor, value: number, n = y.size): void {
  needTensor('fill', 'y', y, n);
  runElementwise(gpu, 'fill', [y], n, value);
}

/** Records y *= alpha over the first n elements (n defaults to y's size). */
export function scale(gpu: Gpu, y: Tensor, alpha: number, n = y.size): void {
  needTensor('scale', 'y', y, n);
  runElementwise(gpu, 'scale', [y], n, alpha);
}
