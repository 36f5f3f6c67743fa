/** Wrapper for shaders/softmax.wgsl: row-wise softmax over the last axis, forward and backward. */
import code from '../../../shaders/softmax.wgsl?raw';
import { rowThreads, workgroupGrid, type RowThreadOptions } from '../grid';
import { kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor } from '../validate';

export const softmaxKernels = {
  forward: kernel('softmax', code, 'softmax_forward', ['read', 'write', 'uniform']),
  backward: kernel('softmax', code, 'softmax_backward', ['read', 'read', 'write', 'uniform']),
} as const;

function checkRows(op: string, rows: number, cols: number, tensors: ReadonlyArray<[Tensor, string]>): void {
  needInt(op, 'rows', rows);
  needInt(op, 'cols', cols);
  for (const [t, name] of tensors) needTensor(op, name, t, rows * cols, 'f32', ` (rows=${rows} cols=${cols})`);
}

function params(rows: number, cols: number): ArrayBuffer {
  return packParams([
    ['u32', rows],
    ['u32', cols],
  ]);
}

/** Records y = softmax(x) over the last axis of [rows, cols]. */
export function softmaxForward(gpu: Gpu, x: Tensor, y: Tensor, rows: number, cols: number, o: RowThreadOptions = {}): void {
  checkRows('softmax_forward', rows, cols, [
    [x, 'x'],
    [y, 'y'],
  ]);
  if (rows === 0 || cols === 0) return;
  gpu.run(softmaxKernels.forward, {
    bindings: [x, y],
    params: params(rows, cols),
    workgroups: workgroupGrid(gpu, rows),
    constants: { WG: rowThreads(gpu, 'softmax_forward', cols, o) },
  });
}

/** Records dx = y ⊙ (dy − Σ_row dy⊙y) for y = softmax(x) over the last axis of [rows, cols]. */
export function softmaxBackward(gpu: Gpu, y: Tensor, dy: Tensor, dx: Tensor, rows: number, cols: number, o: RowThreadOptions = {}): void {
  checkRows('softmax_backward', rows, cols, [
    [y, 'y'],
    [dy, 'dy'],
    [dx, 'dx'],
  ]);
  if (rows === 0 || cols === 0) return;
  gpu.run(softmaxKernels.backward, {
    bindings: [y, dy, dx],
    params: params(rows, cols),
    workgroups: workgroupGrid(gpu, rows),
    constants: { WG: rowThreads(gpu, 'softmax_backward', cols, o) },
  });
}
