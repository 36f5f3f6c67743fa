/** Wrapper for shaders/swiglu.wgsl: h = silu(gate) ⊙ up and its gradient, element-wise. */
import code from '../../../shaders/swiglu.wgsl?raw';
import { ceilDiv, kernel, packParams, type KernelSpec } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { ELEMENTWISE_WG, grid2d, needF32, noAlias } from './elementwise';

export const swigluKernels = {
  forward: kernel('swiglu', code, 'swiglu_forward', ['read', 'read', 'write', 'uniform']),
  backward: kernel('swiglu', code, 'swiglu_backward', ['read', 'read', 'read', 'write', 'write', 'uniform']),
} as const;

function dispatch(gpu: Gpu, spec: KernelSpec, bindings: Tensor[], n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${spec.entryPoint}: element count ${n} must be a non-negative integer`);
  if (n === 0) return;
  gpu.run(spec, {
    bindings,
    params: packParams([['u32', n]]),
    workgroups: grid2d(ceilDiv(n, ELEMENTWISE_WG)),
    constants: { WG: ELEMENTWISE_WG },
  });
}

/** Records h = silu(gate) ⊙ up over n = rows · ffn elements (n defaults to h's size). */
export function swigluForward(gpu: Gpu, gate: Tensor, up: Tensor, h: Tensor, n = h.size): void {
  needF32('swigluForward', 'gate', gate, n);
  needF32('swigluForward', 'up', up, n);
  needF32('swigluForward', 'h', h, n);
  noAlias('swigluForward', [
    ['gate', gate, 'h', h],
    ['up', up, 'h', h],
  ]);
  dispatch(gpu, swigluKernels.forward, [gate, up, h], n);
}

/** Records dgate and dup (both written, not accumulated) from gate, up and dh over n elements. */
export function swigluBackward(gpu: Gpu, gate: Tensor, up: Tensor, dh: Tensor, dgate: Tensor, dup: Tensor, n = dh.size): void {
  needF32('swigluBackward', 'gate', gate, n);
  needF32('swigluBackward', 'up', up, n);
  needF32('swigluBackward', 'dh', dh, n);
  needF32('swigluBackward', 'dgate', dgate, n);
  needF32('swigluBackward', 'dup', dup, n);
  const pairs: Array<[string, Tensor, string, Tensor]> = [['dgate', dgate, 'dup', dup]];
  for (const [inName, t] of [['gate', gate], ['up', up], ['dh', dh]] as const) {
    pairs.push([inName, t, 'dgate', dgate], [inName, t, 'dup', dup]);
  }
  noAlias('swigluBackward', pairs);
  dispatch(gpu, swigluKernels.backward, [gate, up, dh, dgate, dup], n);
}
