/**
 * Helpers for tests that run many small dispatches on flat host arrays and check them together:
 * one tiny output (a single row, a single token) can cancel to nearly 0, where a relative error
 * means nothing, so the outputs of independent dispatches are concatenated and compared as one.
 */
import type { Gpu } from '../../src/gpu/runtime';
import type { Tensor } from '../../src/gpu/tensor';
import { expectClose } from './check';

/** The parts end to end, in float64. */
export function concat(parts: ReadonlyArray<ArrayLike<number>>): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** expectClose of all outputs against all references, concatenated; returns the error. */
export function expectJointlyClose(got: ReadonlyArray<ArrayLike<number>>, want: ReadonlyArray<ArrayLike<number>>, tol: number, what: string): number {
  return expectClose(concat(got), concat(want), tol, what);
}

/** A flat tensor holding x (u32 for a Uint32Array, else f32). */
export function uploadFlat(gpu: Gpu, x: Float32Array | Uint32Array): Tensor {
  return gpu.upload(x, [x.length], x instanceof Uint32Array ? 'u32' : 'f32');
}
