/**
 * Wrapper for shaders/sampling.wgsl: seeded counter-based uniforms (bit-exact with src/gpu/rng.ts)
 * and per-row token sampling with temperature, top-k and top-p.
 */
import code from '../../../shaders/sampling.wgsl?raw';
import { rowThreads, workgroupGrid, type RowThreadOptions } from '../grid';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor, needU32, needU32Index } from '../validate';

export const samplingKernels = {
  randomUniform: kernel('sampling', code, 'random_uniform', ['write', 'uniform']),
  sampleTokens: kernel('sampling', code, 'sample_tokens', ['read', 'write', 'write', 'uniform']),
} as const;

/** Threads per workgroup of random_uniform (fixed in the shader). */
const UNIFORM_WG = 64;

/** Largest vocabulary: top-k counts are accumulated in f32, exact up to 2^24. */
export const MAX_VOCAB = 2 ** 24;

/** sample_tokens threads per workgroup at most (its 16-lane reduction array must fit 16 KiB). */
const SAMPLE_MAX_WG = 128;

/** Smallest positive temperature accepted: logits / temperature must stay far from f32 overflow. */
export const MIN_TEMPERATURE = 1e-6;

/** Records out[i] = uniform(seed, stream, offset + i) for i < n (see src/gpu/rng.ts). */
export function randomUniform(gpu: Gpu, out: Tensor, n: number, seed: number, stream = 0, offset = 0): void {
  const op = 'random_uniform';
  needU32(op, 'n', n);
  needU32(op, 'seed', seed);
  needU32(op, 'stream', stream);
  needU32(op, 'offset', offset);
  needTensor(op, 'out', out, n);
  if (n === 0) return;
  gpu.run(samplingKernels.randomUniform, {
    bindings: [out],
    params: packParams([
      ['u32', n],
      ['u32', seed],
      ['u32', stream],
      ['u32', offset],
    ]),
    workgroups: workgroupGrid(gpu, ceilDiv(n, UNIFORM_WG)),
  });
}

export interface SampleOptions extends RowThreadOptions {
  /** 0 = greedy argmax (lowest index on ties, logprob at temperature 1); else ≥ MIN_TEMPERATURE. */
  temperature: number;
  /** Keep tokens whose logit is ≥ the k-th largest (ties kept); 0 = off. */
  topK?: number;
  /** Keep the smallest set of highest top-k tokens whose renormalised mass reaches topP; 1 = off. */
  topP?: number;
  seed: number;
  /** Counter of the draw: the random key of row r is (seed, r, step). */
  step: number;
}

/**
 * Records, for each of `rows` rows of logits [rows, vocab]: tokens[r] = a draw from
 * softmax(logits[r] / temperature) restricted by top-k then top-p, and logprobs[r] = the log-prob
 * of that token under the FULL softmax(logits[r] / temperature) (at temperature 1 when greedy).
 */
export function sampleTokens(gpu: Gpu, logits: Tensor, tokens: Tensor, logprobs: Tensor, rows: number, vocab: number, o: SampleOptions): void {
  const op = 'sample_tokens';
  needU32(op, 'rows', rows);
  needU32(op, 'vocab', vocab);
  needU32(op, 'seed', o.seed);
  needU32(op, 'step', o.step);
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  needU32(op, 'topK', topK);
  const t = o.temperature;
  if (!Number.isFinite(t) || t < 0 || (t > 0 && t < MIN_TEMPERATURE)) {
    throw new Error(`${op}: temperature must be 0 (greedy) or in [${MIN_TEMPERATURE}, ∞), got ${t}`);
  }
  if (!(topP >= 0 && topP <= 1)) throw new Error(`${op}: topP must be in [0, 1], got ${topP}`);
  if (rows > 0) needInt(op, 'vocab', vocab, 1, MAX_VOCAB);
  needU32Index(op, 'rows × vocab', rows * vocab);
  needTensor(op, 'logits', logits, rows * vocab, 'f32', ` (rows=${rows} vocab=${vocab})`);
  needTensor(op, 'tokens', tokens, rows, 'u32');
  needTensor(op, 'logprobs', logprobs, rows);
  if (rows === 0) return;
  const greedy = t === 0;
  gpu.run(samplingKernels.sampleTokens, {
    bindings: [logits, tokens, logprobs],
    params: packParams([
      ['u32', rows],
      ['u32', vocab],
      ['f32', greedy ? 1 : 1 / t],
      ['u32', greedy ? 1 : 0],
      ['u32', topK],
      ['f32', topP],
      ['u32', o.seed],
      ['u32', o.step],
    ]),
    workgroups: workgroupGrid(gpu, rows),
    constants: { WG: rowThreads(gpu, op, vocab, o, { wide: SAMPLE_MAX_WG }) },
  });
}
