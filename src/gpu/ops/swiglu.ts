/** Wrapper for shaders/swiglu.wgsl: h = silu(gate) ⊙ up and its gradient, element-wise. */
import code from '../../../shaders/swiglu.wgsl?raw';
import { kernel } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needTensor } from '../validate';
import { runFlat } from './elementwise';

export const swigluKernels = {
  forward: kernel('swiglu', code, 'swiglu_forward', ['read', 'read', 'write', 'uniform']),
  backward: kernel('swiglu', code, 'swiglu_backward', ['read', 'read', 'read', 'write', 'write', 'uniform']),
} as const;

/** Records h = silu(gate) ⊙ up over n = rows · ffn elements (n defaults to h's size). */
export function swigluForward(gpu: Gpu, gate: Tensor, up: Tensor, h: Tensor, n = h.size): void {
  needTensor('swigluForward', 'gate', gate, n);
  needTensor('swigluForward', 'up', up, n);
  needTensor('swigluForward', 'h', h, n);
  runFlat(gpu, swigluKernels.forward, [gate, up, h], n, [['u32', n]]);
}

/** Records dgate and dup (both written, not accumulated) from gate, up and dh over n elements. */
export function swigluBackward(gpu: Gpu, gate: Tensor, up: Tensor, dh: Tensor, dgate: Tensor, dup: Tensor, n = dh.size): void {
  needTensor('swigluBackward', 'gate', gate, n);
  needTensor('swigluBackward', 'up', up, n);
  needTensor('swigluBackward', 'dh', dh, n);
  needTensor('swigluBackward', 'dgate', dgate, n);
  needTensor('swigluBackward', 'dup', dup, n);
  runFlat(gpu, swigluKernels.backward, [gate, up, dh, dgate, dup], n, [['u32', n]]);
}
