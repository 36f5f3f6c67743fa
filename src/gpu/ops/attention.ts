/**
 * Wrapper for shaders/attention.wgsl: causal grouped-query attention (forward with log-sum-exp,
 * backward for dq and for dk/dv), and the KV cache used for decoding (write, decode).
 */
import code from '../../../shaders/attention.wgsl?raw';
import type { GridOptions } from '../grid';
import { kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { DType, Tensor } from '../tensor';
import { needInt, needTensor, needU32Index } from '../validate';
import { linearGrid } from './rope';

/** Largest head size: the kernels keep per-invocation accumulators of this many floats. */
export const ATTENTION_MAX_HEAD_DIM = 128;

export const attentionKernels = {
  forward: kernel('attention', code, 'attention_forward', ['uniform', 'read', 'read', 'read', 'write', 'write']),
  backwardDq: kernel('attention', code, 'attention_backward_dq', ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'write']),
  backwardDkv: kernel('attention', code, 'attention_backward_dkv', [
    'uniform',
    'read',
    'read',
    'read',
    'read',
    'read',
    'read',
    'write',
    'write',
  ]),
  kvCacheWrite: kernel('attention', code, 'kv_cache_write', ['uniform', 'read', 'read', 'read', 'read', 'write', 'write']),
  decode: kernel('attention', code, 'attention_decode', ['uniform', 'read', 'read', 'read', 'write', 'read']),
} as const;

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
export function attentionForward(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, s: AttentionShape, grid: GridOptions = {}): void {
  const name = 'attention_forward';
  const { need, qElems, kvElems, lseElems } = checkAttention(name, s);
  need(q, qElems, 'q');
  need(k, kvElems, 'k');
  need(v, kvElems, 'v');
  need(o, qElems, 'o');
  need(lse, lseElems, 'lse');
  gpu.run(attentionKernels.forward, {
    bindings: [q, k, v, o, lse],
    params: attentionParams(s),
    workgroups: linearGrid(gpu, rowTiles(s, s.nHeads), grid),
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
export function attentionBackwardDq(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, o: Tensor, dO: Tensor, lse: Tensor, dq: Tensor, s: AttentionShape, grid: GridOptions = {}): void {
  const { need, qElems } = checkBackwardInputs('attention_backward_dq', s, q, k, v, o, dO, lse);
  need(dq, qElems, 'dq');
  gpu.run(attentionKernels.backwardDq, {
    bindings: [q, k, v, o, dO, lse, dq],
    params: attentionParams(s),
    workgroups: linearGrid(gpu, rowTiles(s, s.nHeads), grid),
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
  grid: GridOptions = {},
): void {
  const { need, kvElems } = checkBackwardInputs('attention_backward_dkv', s, q, k, v, o, dO, lse);
  need(dk, kvElems, 'dk');
  need(dv, kvElems, 'dv');
  gpu.run(attentionKernels.backwardDkv, {
    bindings: [q, k, v, o, dO, lse, dk, dv],
    params: attentionParams(s),
    workgroups: linearGrid(gpu, rowTiles(s, s.nKvHeads), grid),
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
  grid: GridOptions = {},
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
export function attentionDecode(gpu: Gpu, q: Tensor, kCache: Tensor, vCache: Tensor, len: Tensor, o: Tensor, d: DecodeShape, grid: GridOptions = {}): void {
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
  gpu.run(attentionKernels.decode, {
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
  });
}
