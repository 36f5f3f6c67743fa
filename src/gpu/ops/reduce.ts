/**
 * Wrapper for shaders/reduce.wgsl: per-workgroup partial sums (or sums of squares) of buffer
 * segments, finalisation into one value (or into [global norm, clip coefficient]), and in-place
 * scaling by a coefficient read from a GPU buffer. Nothing here reads back to the CPU: a step
 * records `globalGradNorm`, then consumes element 1 of its result on the GPU (`scaleByCoef`, or
 * the optimizer's `adamwStep`).
 */
import code from '../../../shaders/reduce.wgsl?raw';
import { workgroupGrid, type GridOptions } from '../grid';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needSegment } from '../validate';

export const reduceKernels = {
  sumPartial: kernel('reduce', code, 'sum_partial', ['read', 'write', 'uniform']),
  sumsqPartial: kernel('reduce', code, 'sumsq_partial', ['read', 'write', 'uniform']),
  sumFinalize: kernel('reduce', code, 'sum_finalize', ['read', 'write', 'uniform']),
  gradNormFinalize: kernel('reduce', code, 'grad_norm_finalize', ['read', 'write', 'uniform']),
  scaleByCoef: kernel('reduce', code, 'scale_by_coef', ['write', 'read', 'uniform']),
} as const;

/** Threads per workgroup of every reduce kernel (WG in the shader). */
export const REDUCE_WG = 256;
/** Elements summed into one partial (CHUNK = WG · ITEMS in the shader). */
export const REDUCE_CHUNK = 4096;
/** The added term in clip_coef = min(1, max_norm / (norm + CLIP_EPS)), as in PyTorch. */
export const CLIP_EPS = 1e-6;

/** Number of partials `sum_partial` / `sumsq_partial` write for a segment of n elements. */
export function partialCount(n: number): number {
  return ceilDiv(n, REDUCE_CHUNK);
}

export interface PartialOptions extends GridOptions {
  /** First element of the segment (default 0). */
  offset?: number;
  /** Segment length (default: the rest of x). */
  n?: number;
  /** Where the first partial goes in `partials` (default 0). */
  partialsOffset?: number;
}

function recordPartial(gpu: Gpu, which: 'sumPartial' | 'sumsqPartial', x: Tensor, partials: Tensor, o: PartialOptions): number {
  const op = reduceKernels[which].entryPoint;
  const offset = o.offset ?? 0;
  const n = o.n ?? x.size - offset;
  const at = o.partialsOffset ?? 0;
  needSegment(op, 'x', x, offset, n);
  const count = partialCount(n);
  needSegment(op, 'partials', partials, at, count);
  if (n === 0) return 0;
  gpu.run(reduceKernels[which], {
    bindings: [x, partials],
    params: packParams([
      ['u32', offset],
      ['u32', n],
      ['u32', at],
      ['f32', 0],
    ]),
    workgroups: workgroupGrid(gpu, count, o),
  });
  return count;
}

/**
 * Records partials[partialsOffset + w] = Σ of chunk w (REDUCE_CHUNK elements) of x[offset, offset + n).
 * Returns the number of partials written, `partialCount(n)`.
 */
export function sumPartial(gpu: Gpu, x: Tensor, partials: Tensor, o: PartialOptions = {}): number {
  return recordPartial(gpu, 'sumPartial', x, partials, o);
}

/** As `sumPartial` with Σ x² per chunk. */
export function sumsqPartial(gpu: Gpu, x: Tensor, partials: Tensor, o: PartialOptions = {}): number {
  return recordPartial(gpu, 'sumsqPartial', x, partials, o);
}

export interface FinalizeOptions {
  /** First partial (default 0). */
  offset?: number;
  /** Number of partials (default: the rest of `partials`). */
  count?: number;
  /** Where the result goes in `out` (default 0). */
  outIndex?: number;
}

function recordFinalize(gpu: Gpu, which: 'sumFinalize' | 'gradNormFinalize', partials: Tensor, out: Tensor, outLength: number, maxNorm: number, o: FinalizeOptions): void {
  const op = reduceKernels[which].entryPoint;
  const offset = o.offset ?? 0;
  const count = o.count ?? partials.size - offset;
  const outIndex = o.outIndex ?? 0;
  needSegment(op, 'partials', partials, offset, count);
  needSegment(op, 'out', out, outIndex, outLength);
  gpu.run(reduceKernels[which], {
    bindings: [partials, out],
    params: packParams([
      ['u32', offset],
      ['u32', count],
      ['u32', outIndex],
      ['f32', maxNorm],
    ]),
    workgroups: [1, 1, 1],
  });
}

/** Records out[outIndex] = Σ partials[offset, offset + count) (0 for an empty range). */
export function sumFinalize(gpu: Gpu, partials: Tensor, out: Tensor, o: FinalizeOptions = {}): void {
  recordFinalize(gpu, 'sumFinalize', partials, out, 1, 0, o);
}

function checkMaxNorm(op: string, maxNorm: number): void {
  if (!Number.isFinite(maxNorm)) throw new Error(`${op}: maxNorm ${maxNorm} must be finite (≤ 0 turns clipping off)`);
}

/**
 * Records, from partial sums of squares, out[outIndex] = norm = √Σ and out[outIndex + 1] =
 * min(1, maxNorm / (norm + 1e-6)), or 1 when maxNorm ≤ 0. When the sum is not finite the norm
 * is +Inf or NaN and the coefficient is NaN, which makes the consumers skip the step.
 */
export function gradNormFinalize(gpu: Gpu, partials: Tensor, out: Tensor, maxNorm: number, o: FinalizeOptions = {}): void {
  checkMaxNorm('grad_norm_finalize', maxNorm);
  recordFinalize(gpu, 'gradNormFinalize', partials, out, 2, maxNorm, o);
}

export interface ScaleOptions extends GridOptions {
  offset?: number;
  n?: number;
  /** Element of `coef` that holds the coefficient (default 0; 1 for a `globalGradNorm` result). */
  coefIndex?: number;
}

/** Records x[offset, offset + n) *= coef[coefIndex]; nothing changes when the coefficient is not finite. */
export function scaleByCoef(gpu: Gpu, x: Tensor, coef: Tensor, o: ScaleOptions = {}): void {
  const op = 'scale_by_coef';
  const offset = o.offset ?? 0;
  const n = o.n ?? x.size - offset;
  const coefIndex = o.coefIndex ?? 0;
  needSegment(op, 'x', x, offset, n);
  needSegment(op, 'coef', coef, coefIndex, 1);
  if (n === 0) return;
  gpu.run(reduceKernels.scaleByCoef, {
    bindings: [x, coef],
    params: packParams([
      ['u32', offset],
      ['u32', n],
      ['u32', coefIndex],
      ['f32', 0],
    ]),
    workgroups: workgroupGrid(gpu, ceilDiv(n, REDUCE_WG), o),
  });
}

/** A segment of a flat buffer: a whole tensor, or elements [offset, offset + n) of it. */
export type Segment = Tensor | { tensor: Tensor; offset?: number; n?: number };

function segmentOf(s: Segment): { tensor: Tensor; offset: number; n: number } {
  if ('buffer' in s) return { tensor: s, offset: 0, n: s.size };
  const offset = s.offset ?? 0;
  return { tensor: s.tensor, offset, n: s.n ?? s.tensor.size - offset };
}

/**
 * Partials of every segment side by side in one pooled scratch, then one finalize. The scratch
 * goes back to the pool at once: any later user is recorded after us in the same command stream,
 * so WebGPU orders its accesses after ours, and `gpu.write` submits before it writes.
 */
function recordSegments(gpu: Gpu, segments: readonly Segment[], square: boolean, finalize: (partials: Tensor, count: number) => void, o: GridOptions): void {
  const segs = segments.map(segmentOf);
  const total = segs.reduce((acc, s) => acc + partialCount(s.n), 0);
  const partials = gpu.scratch([Math.max(1, total)]);
  let at = 0;
  for (const s of segs) {
    const po = { offset: s.offset, n: s.n, partialsOffset: at, ...o };
    at += square ? sumsqPartial(gpu, s.tensor, partials, po) : sumPartial(gpu, s.tensor, partials, po);
  }
  finalize(partials, at);
  gpu.release(partials);
}

/**
 * Records the global L2 norm of all segments together and its clip coefficient into
 * `out` (f32[2], allocated when not given): [norm, min(1, maxNorm / (norm + 1e-6))], coefficient
 * 1 when maxNorm ≤ 0, NaN when the norm is not finite (NaN or +Inf): the caller then skips the
 * step (the GPU consumers of the coefficient already do) and reads the norm later to report it.
 */
export function globalGradNorm(gpu: Gpu, segments: readonly Segment[], maxNorm: number, out?: Tensor, o: GridOptions = {}): Tensor {
  checkMaxNorm('globalGradNorm', maxNorm);
  const result = out ?? gpu.empty([2], 'f32', 'grad-norm');
  recordSegments(gpu, segments, true, (partials, count) => gradNormFinalize(gpu, partials, result, maxNorm, { count }), o);
  return result;
}

/** Records out[outIndex] = Σ of all segments together. */
export function sumSegments(gpu: Gpu, segments: readonly Segment[], out: Tensor, outIndex = 0, o: GridOptions = {}): void {
  recordSegments(gpu, segments, false, (partials, count) => sumFinalize(gpu, partials, out, { count, outIndex }), o);
}
