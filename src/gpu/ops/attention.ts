/**
 * Wrapper for shaders/attention.wgsl: causal grouped-query attention (forward with log-sum-exp,
 * backward for dq and for dk/dv), and the KV cache used for decoding (write, decode). The
 * forward, backward and decode kernels come in two variants with one contract: generic (any
 * head size up to 128) and unrolled (head sizes that are a multiple of 4, up to 32), picked by
 * the head size.
 */
import code from '../../../shaders/attention.wgsl?raw';
import type { GridOptions } from '../grid';
import { kernel, packParams, type KernelSpec } from '../kernel';
import type { Gpu } from '../runtime';
import type { DType, Tensor } from '../tensor';
import { needInt, needTensor, needU32Index } from '../validate';
import { linearGrid } from './rope';

/** Largest head size: the kernels keep per-invocation accumulators of this many floats. */
export const ATTENTION_MAX_HEAD_DIM = 128;

/** Largest head size of the unrolled kernels (CHUNKS = 8 chunks of 4 in the shader). */
export const ATTENTION_UNROLLED_MAX_HEAD_DIM = 32;

export const ATTENTION_VARIANTS = ['generic', 'unrolled'] as const;
export type AttentionVariant = (typeof ATTENTION_VARIANTS)[number];

const FORWARD = ['uniform', 'read', 'read', 'read', 'write', 'write'] as const;
const BACKWARD_DQ = ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'write'] as const;
const BACKWARD_DKV = ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'write', 'write'] as const;
const DECODE = ['uniform', 'read', 'read', 'read', 'write', 'read'] as const;

export const attentionKernels = {
  forward: kernel('attention', code, 'attention_forward', FORWARD),
  backwardDq: kernel('attention', code, 'attention_backward_dq', BACKWARD_DQ),
  backwardDkv: kernel('attention', code, 'attention_backward_dkv', BACKWARD_DKV),
  kvCacheWrite: kernel('attention', code, 'kv_cache_write', ['uniform', 'read', 'read', 'read', 'read', 'write', 'write']),
  decode: kernel('attention', code, 'attention_decode', DECODE),
  forwardUnrolled: kernel('attention', code, 'attention_forward_unrolled', FORWARD),
  backwardDqUnrolled: kernel('attention', code, 'attention_backward_dq_unrolled', BACKWARD_DQ),
  backwardDkvUnrolled: kernel('attention', code, 'attention_backward_dkv_unrolled', BACKWARD_DKV),
  decodeUnrolled: kernel('attention', code, 'attention_decode_unrolled', DECODE),
} as const;

/** Whether a variant can run a head size: the unrolled kernels need a multiple of 4, at most 32. */
export function attentionFits(variant: AttentionVariant, headDim: number): boolean {
  return variant === 'generic' || (headDim % 4 === 0 && headDim <= ATTENTION_UNROLLED_MAX_HEAD_DIM);
}

/**
 * The unrolled kernels wherever they fit, else the generic ones. On SwiftShader the unrolled ones
 * measured 4 to 6 times faster (the generic ones index private arrays with a loop counter).
 */
export function selectAttentionVariant(headDim: number): AttentionVariant {
  return attentionFits('unrolled', headDim) ? 'unrolled' : 'generic';
}

export interface AttentionOptions extends GridOptions {
  /** A variant to use instead of the one the head size selects (tests run both). */
  variant?: AttentionVariant;
}

/** The kernel of a variant and the pipeline constants it needs (HD4 for the unrolled ones). */
function pick(name: string, generic: KernelSpec, unrolled: KernelSpec, headDim: number, o: AttentionOptions): { spec: KernelSpec; constants?: Record<string, number> } {
  const variant = o.variant ?? selectAttentionVariant(headDim);
  if (!attentionFits(variant, headDim)) {
    throw new Error(`${name}: the ${variant} kernels cannot run headDim ${headDim} (a multiple of 4 up to ${ATTENTION_UNROLLED_MAX_HEAD_DIM})`);
  }
  return variant === 'generic' ? { spec: generic } : { spec: unrolled, constants: { HD4: headDim / 4 } };
}

/** B right-padded sequences of length T; q/o are [B·T, H·hd], k/v are [B·T, KVH·hd]. */
export interface AttentionShape {
  batch: number;
  seqLen: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Score scale; 1/√headDim when absent. */
  scale?: number;
}

/** S sequences of cache, each [KVH, maxT, hd]: the cache tensors are [S, KVH, maxT, hd]. */
export interface KvCacheShape {
  seqs: number;
  nKvHeads: number;
  maxT: number;
  headDim: number;
}

export interface DecodeShape extends KvCacheShape {
  nHeads: number;
  scale?: number;
}

function checkHeads(name: string, nHeads: number, nKvHeads: number, headDim: number): void {
  needInt(name, 'nHeads', nHeads, 1);
  needInt(name, 'nKvHeads', nKvHeads, 1);
  needInt(name, 'headDim', headDim, 1);
  if (nHeads % nKvHeads !== 0) throw new Error(`${name}: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  if (headDim > ATTENTION_MAX_HEAD_DIM) {
    throw new Error(`${name}: headDim ${headDim} exceeds the kernels' maximum of ${ATTENTION_MAX_HEAD_DIM} (fixed-size private accumulators)`);
  }
}

function checker(name: string, sizes: string) {
  return (t: Tensor, n: number, what: string, dtype: DType = 'f32'): void => {
    needTensor(name, what, t, n, dtype, ` (${sizes})`);
    needU32Index(name, what, n);
  };
}

function attentionParams(s: AttentionShape): ArrayBuffer {
  return packParams([
    ['u32', s.batch],
    ['u32', s.seqLen],
    ['u32', s.nHeads],
    ['u32', s.nKvHeads],
    ['u32', s.headDim],
    ['u32', 0],
    ['u32', 0],
    ['f32', s.scale ?? 1 / Math.sqrt(s.headDim)],
  ]);
}

/** Rows handled by one invocation of the forward and backward kernels (vec4 lanes). */
const ROW_TILE = 4;

/** Invocations of a kernel that gives each invocation ROW_TILE consecutive rows of one head. */
function rowTiles(s: AttentionShape, heads: number): number {
  return s.batch * heads * Math.ceil(s.seqLen / ROW_TILE);
}

function checkAttention(name: string, s: AttentionShape) {
  needInt(name, 'batch', s.batch, 1);
  needInt(name, 'seqLen', s.seqLen, 1);
  checkHeads(name, s.nHeads, s.nKvHeads, s.headDim);
  const rows = s.batch * s.seqLen;
  const need = checker(name, `B=${s.batch} T=${s.seqLen} H=${s.nHeads} KVH=${s.nKvHeads} hd=${s.headDim}`);
  return { need, qElems: rows * s.nHeads * s.headDim, kvElems: rows * s.nKvHeads * s.headDim, lseElems: rows * s.nHeads };
}

/** Records o = softmax(scale·q·kᵀ, causal)·v and lse (f32 [B, H, T]) for the backward. */
export function attentionForward(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, s: AttentionShape, grid: AttentionOptions = {}): void {
  const name = 'attention_forward';
  const { need, qElems, kvElems, lseElems } = checkAttention(name, s);
  need(q, qElems, 'q');
  need(k, kvElems, 'k');
  need(v, kvElems, 'v');
  need(o, qElems, 'o');
  need(lse, lseElems, 'lse');
  const { spec, constants } = pick(name, attentionKernels.forward, attentionKernels.forwardUnrolled, s.headDim, grid);
  gpu.run(spec, {
    bindings: [q, k, v, o, lse],
    params: attentionParams(s),
    workgroups: linearGrid(gpu, rowTiles(s, s.nHeads), grid),
    constants,
  });
}

/** Checks what both backward kernels read: the forward's inputs q, k, v, its outputs o and lse, and dO. */
function checkBackwardInputs(name: string, s: AttentionShape, q: Tensor, k: Tensor, v: Tensor, o: Tensor, dO: Tensor, lse: Tensor) {
  const c = checkAttention(name, s);
  c.need(q, c.qElems, 'q');
  c.need(k, c.kvElems, 'k');
  c.need(v, c.kvElems, 'v');
  c.need(o, c.qElems, 'o');
  c.need(dO, c.qElems, 'dO');
  c.need(lse, c.lseElems, 'lse');
  return c;
}

/** Records dq from the forward's inputs, its outputs o and lse, and dO. */
export function attentionBackwardDq(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, o: Tensor, dO: Tensor, lse: Tensor, dq: Tensor, s: AttentionShape, grid: AttentionOptions = {}): void {
  const name = 'attention_backward_dq';
  const { need, qElems } = checkBackwardInputs(name, s, q, k, v, o, dO, lse);
  need(dq, qElems, 'dq');
  const { spec, constants } = pick(name, attentionKernels.backwardDq, attentionKernels.backwardDqUnrolled, s.headDim, grid);
  gpu.run(spec, {
    bindings: [q, k, v, o, dO, lse, dq],
    params: attentionParams(s),
    workgroups: linearGrid(gpu, rowTiles(s, s.nHeads), grid),
    constants,
  });
}

/** Records dk and dv (each summed over the query heads of its group and all later queries). */
export function attentionBackwardDkv(
  gpu: Gpu,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  dO: Tensor,
  lse: Tensor,
  dk: Tensor,
  dv: Tensor,
  s: AttentionShape,
  grid: AttentionOptions = {},
): void {
  const name = 'attention_backward_dkv';
  const { need, kvElems } = checkBackwardInputs(name, s, q, k, v, o, dO, lse);
  need(dk, kvElems, 'dk');
  need(dv, kvElems, 'dv');
  const { spec, constants } = pick(name, attentionKernels.backwardDkv, attentionKernels.backwardDkvUnrolled, s.headDim, grid);
  gpu.run(spec, {
    bindings: [q, k, v, o, dO, lse, dk, dv],
    params: attentionParams(s),
    workgroups: linearGrid(gpu, rowTiles(s, s.nKvHeads), grid),
    constants,
  });
}

/** Records both backward kernels: dq, dk, dv. */
export function attentionBackward(
  gpu: Gpu,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  dO: Tensor,
  lse: Tensor,
  grads: { dq: Tensor; dk: Tensor; dv: Tensor },
  s: AttentionShape,
  grid: AttentionOptions = {},
): void {
  attentionBackwardDq(gpu, q, k, v, o, dO, lse, grads.dq, s, grid);
  attentionBackwardDkv(gpu, q, k, v, o, dO, lse, grads.dk, grads.dv, s, grid);
}

function checkCache(name: string, c: KvCacheShape): void {
  needInt(name, 'seqs', c.seqs, 1);
  needInt(name, 'nKvHeads', c.nKvHeads, 1);
  needInt(name, 'maxT', c.maxT, 1);
  needInt(name, 'headDim', c.headDim, 1);
}

/**
 * Records, for each of `rows` rows r of k and v ([rows, KVH·hd]), a copy into the caches at
 * sequence seq[r], position pos[r] (u32 tensors). Prefill passes all B·T rows, decode one row per
 * sequence. Rows with seq ≥ seqs or pos ≥ maxT are skipped (the kernel cannot report them).
 */
export function kvCacheWrite(gpu: Gpu, k: Tensor, v: Tensor, seq: Tensor, pos: Tensor, kCache: Tensor, vCache: Tensor, rows: number, c: KvCacheShape, grid: GridOptions = {}): void {
  const name = 'kv_cache_write';
  checkCache(name, c);
  needInt(name, 'rows', rows);
  const need = checker(name, `rows=${rows} S=${c.seqs} KVH=${c.nKvHeads} maxT=${c.maxT} hd=${c.headDim}`);
  const rowElems = rows * c.nKvHeads * c.headDim;
  const cacheElems = c.seqs * c.nKvHeads * c.maxT * c.headDim;
  need(k, rowElems, 'k');
  need(v, rowElems, 'v');
  need(seq, rows, 'seq', 'u32');
  need(pos, rows, 'pos', 'u32');
  need(kCache, cacheElems, 'kCache');
  need(vCache, cacheElems, 'vCache');
  gpu.run(attentionKernels.kvCacheWrite, {
    bindings: [k, v, seq, pos, kCache, vCache],
    params: packParams([
      ['u32', c.seqs],
      ['u32', 0],
      ['u32', 0],
      ['u32', c.nKvHeads],
      ['u32', c.headDim],
      ['u32', c.maxT],
      ['u32', rows],
      ['f32', 0],
    ]),
    workgroups: linearGrid(gpu, rowElems, grid),
  });
}

/**
 * Records o [S, H·hd] for one query per sequence (q [S, H·hd]) attending to cache positions
 * 0..len[s]−1 (len u32 [S]). A sequence with len 0 or len > maxT gets NaN outputs.
 */
export function attentionDecode(gpu: Gpu, q: Tensor, kCache: Tensor, vCache: Tensor, len: Tensor, o: Tensor, d: DecodeShape, grid: AttentionOptions = {}): void {
  const name = 'attention_decode';
  checkCache(name, d);
  checkHeads(name, d.nHeads, d.nKvHeads, d.headDim);
  const need = checker(name, `S=${d.seqs} H=${d.nHeads} KVH=${d.nKvHeads} maxT=${d.maxT} hd=${d.headDim}`);
  const qElems = d.seqs * d.nHeads * d.headDim;
  const cacheElems = d.seqs * d.nKvHeads * d.maxT * d.headDim;
  need(q, qElems, 'q');
  need(kCache, cacheElems, 'kCache');
  need(vCache, cacheElems, 'vCache');
  need(len, d.seqs, 'len', 'u32');
  need(o, qElems, 'o');
  const { spec, constants } = pick(name, attentionKernels.decode, attentionKernels.decodeUnrolled, d.headDim, grid);
  gpu.run(spec, {
    bindings: [q, kCache, vCache, o, len],
    params: packParams([
      ['u32', d.seqs],
      ['u32', 0],
      ['u32', d.nHeads],
      ['u32', d.nKvHeads],
      ['u32', d.headDim],
      ['u32', d.maxT],
      ['u32', 0],
      ['f32', d.scale ?? 1 / Math.sqrt(d.headDim)],
    ]),
    workgroups: linearGrid(gpu, d.seqs * d.nHeads, grid),
    constants,
  });
}
