/**
 * Wrapper for shaders/embedding.wgsl: token-embedding lookup and its gradient, a scatter-add
 * made deterministic (and atomic-free) by grouping the batch's rows by token id on the CPU.
 */
import code from '../../../shaders/embedding.wgsl?raw';
import { kernel } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor } from '../validate';
import { runFlat } from './elementwise';

export const embeddingKernels = {
  forward: kernel('embedding', code, 'embedding_forward', ['read', 'read', 'write', 'uniform']),
  backward: kernel('embedding', code, 'embedding_backward', ['read', 'read', 'read', 'read', 'write', 'uniform']),
} as const;

export interface EmbeddingDims {
  /** V: rows of the table. */
  vocab: number;
  /** D: embedding width. */
  dim: number;
}

/**
 * Rows of a batch grouped by token id (compressed sparse rows): the rows holding token
 * uniqueIds[u] are rows[offsets[u] .. offsets[u + 1]), in ascending order.
 */
export interface EmbeddingCsr {
  /** U distinct ids, ascending. */
  uniqueIds: Uint32Array;
  /** U + 1 offsets into `rows`; offsets[0] = 0, offsets[U] = R. */
  offsets: Uint32Array;
  /** The R row indices, grouped by id, ascending within a group. */
  rows: Uint32Array;
}

/** Throws, naming the first offender, unless every id is an integer in [0, vocab). */
export function checkTokenIds(op: string, ids: ArrayLike<number>, vocab: number): void {
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!(Number.isInteger(id) && id >= 0 && id < vocab)) {
      throw new Error(`${op}: token id ${id} at row ${r} is outside the vocabulary [0, ${vocab})`);
    }
  }
}

/** Groups rows by token id with a counting sort: O(R + V), stable, so rows ascend in each group. */
export function buildEmbeddingCsr(ids: ArrayLike<number>, vocab: number): EmbeddingCsr {
  needInt('buildEmbeddingCsr', 'vocab', vocab, 1);
  checkTokenIds('buildEmbeddingCsr', ids, vocab);
  const counts = new Uint32Array(vocab);
  for (let r = 0; r < ids.length; r++) counts[ids[r]]++;
  let unique = 0;
  for (let v = 0; v < vocab; v++) if (counts[v] > 0) unique++;
  const uniqueIds = new Uint32Array(unique);
  const offsets = new Uint32Array(unique + 1);
  // start[v]: next free slot in `rows` for token v.
  const start = new Uint32Array(vocab);
  let u = 0;
  let at = 0;
  for (let v = 0; v < vocab; v++) {
    if (counts[v] === 0) continue;
    uniqueIds[u] = v;
    offsets[u] = at;
    start[v] = at;
    at += counts[v];
    u++;
  }
  offsets[unique] = at;
  const rows = new Uint32Array(ids.length);
  for (let r = 0; r < ids.length; r++) rows[start[ids[r]]++] = r;
  return { uniqueIds, offsets, rows };
}

function checkDims(op: string, rows: number, { vocab, dim }: EmbeddingDims): string {
  needInt(op, 'rows', rows);
  needInt(op, 'vocab', vocab, 1);
  needInt(op, 'dim', dim, 1);
  return ` (rows=${rows} vocab=${vocab} dim=${dim})`;
}

export interface EmbeddingForwardOptions {
  /** The same ids on the host: when given they are checked against the vocabulary first. */
  hostIds?: ArrayLike<number>;
}

/**
 * Records out[r] = table[ids[r]] for `rows` rows. A device id ≥ vocab yields a zero row (see the
 * shader header); pass `hostIds` to have such ids rejected instead.
 */
export function embeddingForward(
  gpu: Gpu,
  ids: Tensor,
  table: Tensor,
  out: Tensor,
  rows: number,
  dims: EmbeddingDims,
  o: EmbeddingForwardOptions = {},
): void {
  const op = 'embeddingForward';
  const at = checkDims(op, rows, dims);
  needTensor(op, 'ids', ids, rows, 'u32', at);
  needTensor(op, 'table', table, dims.vocab * dims.dim, 'f32', at);
  needTensor(op, 'out', out, rows * dims.dim, 'f32', at);
  if (o.hostIds !== undefined) {
    if (o.hostIds.length !== rows) throw new Error(`${op}: hostIds has ${o.hostIds.length} ids, rows is ${rows}`);
    checkTokenIds(op, o.hostIds, dims.vocab);
  }
  runFlat(gpu, embeddingKernels.forward, [ids, table, out], rows * dims.dim, [
    ['u32', rows],
    ['u32', dims.dim],
    ['u32', dims.vocab],
  ]);
}

/**
 * Records dTable[v] += Σ_{r: ids[r] = v} dOut[r]. It always accumulates, so a tied LM head's
 * gradient can share dTable; clear dTable first (elementwise `fill`) when it should start at 0.
 * `ids` are the batch's host token ids (grouped here with buildEmbeddingCsr) or a prebuilt
 * grouping. The grouping travels in pooled scratch buffers, returned to the pool once recorded:
 * the runtime submits pending work before any later `write`, so a reuse cannot overtake this
 * dispatch.
 */
export function embeddingBackward(gpu: Gpu, ids: ArrayLike<number> | EmbeddingCsr, dOut: Tensor, dTable: Tensor, dims: EmbeddingDims): void {
  const op = 'embeddingBackward';
  const csr = isCsr(ids) ? ids : buildEmbeddingCsr(ids, dims.vocab);
  const rows = csr.rows.length;
  const unique = csr.uniqueIds.length;
  const at = checkDims(op, rows, dims);
  if (csr.offsets.length !== unique + 1 || csr.offsets[0] !== 0 || csr.offsets[unique] !== rows) {
    throw new Error(`${op}: malformed grouping (${unique} ids, ${csr.offsets.length} offsets, ${rows} rows)`);
  }
  if (isCsr(ids)) checkTokenIds(op, csr.uniqueIds, dims.vocab);
  needTensor(op, 'dOut', dOut, rows * dims.dim, 'f32', at);
  needTensor(op, 'dTable', dTable, dims.vocab * dims.dim, 'f32', at);
  if (unique === 0) return;
  const uniq = uploadScratch(gpu, csr.uniqueIds);
  const offsets = uploadScratch(gpu, csr.offsets);
  const rowList = uploadScratch(gpu, csr.rows);
  try {
    runFlat(gpu, embeddingKernels.backward, [uniq, offsets, rowList, dOut, dTable], unique * dims.dim, [
      ['u32', unique],
      ['u32', dims.dim],
      ['u32', dims.vocab],
    ]);
  } finally {
    // Also when the runtime refuses the dispatch (dOut and dTable in one buffer, say).
    for (const t of [uniq, offsets, rowList]) gpu.release(t);
  }
}

function isCsr(ids: ArrayLike<number> | EmbeddingCsr): ids is EmbeddingCsr {
  return (ids as EmbeddingCsr).uniqueIds !== undefined;
}

function uploadScratch(gpu: Gpu, data: Uint32Array): Tensor {
  const t = gpu.scratch([data.length], 'u32');
  gpu.write(t, data);
  return t;
}
