/**
 * Autoregressive decoding of many sequences at once with a per-layer KV cache. The prompts are
 * prefilled through the training forward's block (causal attention over the padded batch, keys
 * and values copied into the caches); then every step runs one row per sequence through the same
 * block with attention over its cache, the LM head, and the sampling kernel. The only readback
 * of a step is the sampled token and its log-prob per sequence.
 *
 * Cache bookkeeping: `lengths[s]` counts the positions of sequence s already in its cache. The
 * prefill writes all but the last prompt token, so the first step feeds the last prompt token
 * and yields the distribution of the first response token; each later step feeds the token
 * sampled before. Every row sits at its own position, so prompts of different lengths share steps.
 */
import { attentionDecode, attentionForward, kvCacheWrite, type DecodeShape, type KvCacheShape } from '../gpu/ops/attention';
import { embeddingForward } from '../gpu/ops/embedding';
import { ropeTables, uploadRopeTables, type RopeTableTensors } from '../gpu/ops/rope';
import { sampleTokens } from '../gpu/ops/sampling';
import type { Gpu } from '../gpu/runtime';
import type { Tensor } from '../gpu/tensor';
import type { ModelConfig } from './config';
import { attentionShape, forwardHead, forwardLayer, type LayerBuffers } from './forward';
import { paramView, type ModelParams } from './params';

/** The largest of `xs` (-Infinity for none). Math.max(...xs) overflows the call stack past ~10⁵ sequences. */
function largest(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.max(a, b), -Infinity);
}

export interface GenerateOptions {
  /** 0 = greedy (log-probs then at temperature 1, as sample_tokens defines them). */
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  /** Response tokens per prompt at most; a sequence also stops at the model's maxSeqLen. */
  maxTokens: number;
  /** Only this id stops a sequence as EOS (the config's eosTokenId is not implied). */
  eosTokenId?: number;
  stopStrings?: string[];
  /** Needed with stopStrings: the text of a response's ids. */
  decodeText?: (ids: number[]) => string;
}

export interface Generation {
  /** The response per prompt, the stopping token (EOS or the one completing a stop string) included. */
  tokens: number[][];
  /** log p of each response token under the full softmax at the temperature. */
  logprobs: number[][];
  finish: Array<'eos' | 'stop' | 'length'>;
}

export interface DecodeState {
  config: ModelConfig;
  seqs: number;
  /** Cache capacity in positions per sequence. */
  maxT: number;
  /** Per layer, [S, KVH, maxT, hd]. */
  kCache: Tensor[];
  vCache: Tensor[];
  /** Positions already in each sequence's cache (host side). */
  lengths: number[];
  rope: RopeTableTensors;
  /** Per step, u32 [S]: fed token, its position, the cache row it is written to (S = none), attended length. */
  tokens: Tensor;
  positions: Tensor;
  writeSeq: Tensor;
  attendLen: Tensor;
  /** One row per sequence; the residual stream alternates between x0 and x1 across layers. */
  x0: Tensor;
  x1: Tensor;
  layer: Omit<LayerBuffers, 'x'>;
  qPre: Tensor;
  kPre: Tensor;
  xnF: Tensor;
  rstdF: Tensor;
  /** [S, V] logits of the last step. */
  logits: Tensor;
  /** [S] the last sample's tokens (u32) and log-probs. */
  sampled: Tensor;
  sampledLogp: Tensor;
}

function cacheShape(st: DecodeState): KvCacheShape {
  return { seqs: st.seqs, nKvHeads: st.config.nKvHeads, maxT: st.maxT, headDim: st.config.headDim };
}

function decodeShape(st: DecodeState): DecodeShape {
  return { ...cacheShape(st), nHeads: st.config.nHeads };
}

/** Row buffers of one decoder block for `rows` rows (x excluded). */
function layerBuffers(make: (shape: number[], label: string) => Tensor, c: ModelConfig, rows: number): Omit<LayerBuffers, 'x'> {
  const D = c.dModel;
  const Q = c.nHeads * c.headDim;
  const KV = c.nKvHeads * c.headDim;
  const F = c.dFF;
  return {
    xn1: make([rows, D], 'dec-xn1'),
    rstd1: make([rows], 'dec-rstd1'),
    q: make([rows, Q], 'dec-q'),
    k: make([rows, KV], 'dec-k'),
    v: make([rows, KV], 'dec-v'),
    attn: make([rows, Q], 'dec-attn'),
    h: make([rows, D], 'dec-h'),
    xn2: make([rows, D], 'dec-xn2'),
    rstd2: make([rows], 'dec-rstd2'),
    gate: make([rows, F], 'dec-gate'),
    up: make([rows, F], 'dec-up'),
    act: make([rows, F], 'dec-act'),
  };
}

/** Allocates caches (zeroed) for `seqs` sequences of up to `maxT` positions, and one step's buffers. */
export function createDecodeState(gpu: Gpu, c: ModelConfig, seqs: number, maxT: number): DecodeState {
  if (!(Number.isInteger(seqs) && seqs >= 1 && Number.isInteger(maxT) && maxT >= 1)) {
    throw new Error(`createDecodeState: seqs ${seqs} and maxT ${maxT} must be positive integers`);
  }
  const f = (shape: number[], label: string): Tensor => gpu.empty(shape, 'f32', label);
  const cache = (what: string): Tensor[] => Array.from({ length: c.nLayers }, (_, l) => f([seqs, c.nKvHeads, maxT, c.headDim], `${what}-cache-${l}`));
  const u = (label: string): Tensor => gpu.empty([seqs], 'u32', label);
  return {
    config: c,
    seqs,
    maxT,
    kCache: cache('k'),
    vCache: cache('v'),
    lengths: new Array<number>(seqs).fill(0),
    rope: uploadRopeTables(gpu, ropeTables(maxT, c.headDim, c.ropeTheta)),
    tokens: u('dec-tokens'),
    positions: u('dec-positions'),
    writeSeq: u('dec-write-seq'),
    attendLen: u('dec-attend-len'),
    x0: f([seqs, c.dModel], 'dec-x0'),
    x1: f([seqs, c.dModel], 'dec-x1'),
    layer: layerBuffers(f, c, seqs),
    qPre: f([seqs, c.nHeads * c.headDim], 'dec-q-pre'),
    kPre: f([seqs, c.nKvHeads * c.headDim], 'dec-k-pre'),
    xnF: f([seqs, c.dModel], 'dec-xnF'),
    rstdF: f([seqs], 'dec-rstdF'),
    logits: f([seqs, c.vocabSize], 'dec-logits'),
    sampled: u('dec-sampled'),
    sampledLogp: f([seqs], 'dec-sampled-logp'),
  };
}

export function destroyDecodeState(st: DecodeState): void {
  const all = new Set<Tensor>([...st.kCache, ...st.vCache, st.rope.cos, st.rope.sin, st.tokens, st.positions, st.writeSeq, st.attendLen]);
  for (const t of [st.x0, st.x1, st.qPre, st.kPre, st.xnF, st.rstdF, st.logits, st.sampled, st.sampledLogp, ...Object.values(st.layer)]) all.add(t);
  for (const t of all) t.buffer.destroy();
}

function checkIds(what: string, ids: ArrayLike<number>, vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocab)) throw new Error(`${what}[${i}] = ${id} is not a token id of the vocabulary [0, ${vocab})`);
  }
}

/**
 * Records the prefill: all but the last token of prompt s go into sequence s's cache at positions
 * 0.., and lengths[s] becomes that count. The last tokens are fed by the first decodeStep.
 * Each distinct prompt runs through the model once, and its keys and values are written into the
 * cache of every sequence that has it (a rollout's G samples share one prompt): row for row the
 * same values as prefilling every copy, for a G-th of the work.
 */
export function prefill(gpu: Gpu, m: ModelParams, st: DecodeState, prompts: readonly (readonly number[])[]): void {
  const c = m.config;
  if (st.config !== c) throw new Error('prefill: the decode state was made for another config');
  const S = st.seqs;
  if (prompts.length !== S) throw new Error(`prefill: ${prompts.length} prompts for a decode state of ${S} sequences`);
  prompts.forEach((p, s) => {
    if (p.length < 1) throw new Error(`prefill: prompt ${s} is empty (decoding needs at least one token to condition on)`);
    if (p.length > st.maxT) throw new Error(`prefill: prompt ${s} has ${p.length} tokens, the cache holds ${st.maxT}`);
    checkIds(`prefill: prompt ${s}`, p, c.vocabSize);
  });
  st.lengths = prompts.map((p) => p.length - 1);
  // owners[d]: the sequences whose prompt is distinct prompt d, in order.
  const distinct = new Map<string, number[]>();
  prompts.forEach((p, s) => {
    const key = p.join(',');
    const owners = distinct.get(key);
    if (owners === undefined) distinct.set(key, [s]);
    else owners.push(s);
  });
  const owners = [...distinct.values()];
  const D = owners.length;
  const n = owners.map((o) => prompts[o[0]].length - 1);
  const T = largest(n);
  if (T === 0) return;
  const R = D * T;
  const tokens = new Uint32Array(R);
  const positions = new Uint32Array(R);
  // Copy j of distinct prompt d goes to sequence owners[d][j]; rows with no such copy (and
  // padding, which is computed but, by causality, never reaches a real row) to none (S).
  const copies = largest(owners.map((o) => o.length));
  const seqOf = Array.from({ length: copies }, () => new Uint32Array(R).fill(S));
  for (let d = 0; d < D; d++) {
    const prompt = prompts[owners[d][0]];
    for (let t = 0; t < T; t++) {
      const r = d * T + t;
      tokens[r] = t < n[d] ? prompt[t] : 0;
      positions[r] = t;
      if (t < n[d]) owners[d].forEach((s, j) => (seqOf[j][r] = s));
    }
  }
  const scratch: Tensor[] = [];
  const tmp = (shape: number[], dtype: 'f32' | 'u32' = 'f32'): Tensor => {
    const t = gpu.scratch(shape, dtype);
    scratch.push(t);
    return t;
  };
  const ids = tmp([R], 'u32');
  const pos = tmp([R], 'u32');
  const seqT = seqOf.map(() => tmp([R], 'u32'));
  gpu.write(ids, tokens);
  gpu.write(pos, positions);
  seqOf.forEach((table, j) => gpu.write(seqT[j], table));
  const res = [tmp([R, c.dModel]), tmp([R, c.dModel])];
  const layer = layerBuffers((shape) => tmp(shape), c, R);
  const lse = tmp([D, c.nHeads, T]);
  const io = { rows: R, positions: pos, rope: st.rope, qPre: tmp([R, c.nHeads * c.headDim]), kPre: tmp([R, c.nKvHeads * c.headDim]) };
  const shape = attentionShape(c, D, T);
  embeddingForward(gpu, ids, paramView(m, 'model.embed_tokens.weight'), res[0], R, { vocab: c.vocabSize, dim: c.dModel });
  for (let l = 0; l < c.nLayers; l++) {
    const L: LayerBuffers = { ...layer, x: res[l % 2] };
    forwardLayer(gpu, m, l, L, res[(l + 1) % 2], io, () => {
      attentionForward(gpu, L.q, L.k, L.v, L.attn, lse, shape);
      for (const table of seqT) kvCacheWrite(gpu, L.k, L.v, table, pos, st.kCache[l], st.vCache[l], R, cacheShape(st));
    });
  }
  // The last block's output is never used: the prompt's last row is recomputed by the first step.
  gpu.submit();
  for (const t of scratch) gpu.release(t);
}

/**
 * Records one step: sequence s is fed tokens[s] at position lengths[s] (its keys and values are
 * cached there, lengths[s] grows by one) and st.logits row s becomes the next token's logits.
 * Sequences with active[s] false are computed but change nothing (their logits are meaningless).
 * Returns st.logits (recorded, not read).
 */
export function decodeStep(gpu: Gpu, m: ModelParams, st: DecodeState, tokens: ArrayLike<number>, active?: readonly boolean[]): Tensor {
  const c = m.config;
  if (st.config !== c) throw new Error('decodeStep: the decode state was made for another config');
  const S = st.seqs;
  if (tokens.length !== S) throw new Error(`decodeStep: ${tokens.length} tokens for ${S} sequences`);
  const ids = new Uint32Array(S);
  const pos = new Uint32Array(S);
  const seq = new Uint32Array(S);
  const len = new Uint32Array(S);
  for (let s = 0; s < S; s++) {
    if (active?.[s] ?? true) {
      if (st.lengths[s] >= st.maxT) throw new Error(`decodeStep: sequence ${s} has filled its cache of ${st.maxT} positions`);
      checkIds(`decodeStep: sequence ${s}'s token`, [tokens[s]], c.vocabSize);
      ids[s] = tokens[s];
      pos[s] = st.lengths[s];
      seq[s] = s;
      len[s] = ++st.lengths[s];
    } else {
      // Skipped by the cache write (row S does not exist); attends to its first position only,
      // the least work (its output is never read).
      seq[s] = S;
      len[s] = 1;
    }
  }
  gpu.write(st.tokens, ids);
  gpu.write(st.positions, pos);
  gpu.write(st.writeSeq, seq);
  gpu.write(st.attendLen, len);
  const io = { rows: S, positions: st.positions, rope: st.rope, qPre: st.qPre, kPre: st.kPre };
  const res = [st.x0, st.x1];
  embeddingForward(gpu, st.tokens, paramView(m, 'model.embed_tokens.weight'), res[0], S, { vocab: c.vocabSize, dim: c.dModel });
  for (let l = 0; l < c.nLayers; l++) {
    const L: LayerBuffers = { ...st.layer, x: res[l % 2] };
    forwardLayer(gpu, m, l, L, res[(l + 1) % 2], io, () => {
      kvCacheWrite(gpu, L.k, L.v, st.writeSeq, st.positions, st.kCache[l], st.vCache[l], S, cacheShape(st));
      attentionDecode(gpu, L.q, st.kCache[l], st.vCache[l], st.attendLen, L.attn, decodeShape(st));
    });
  }
  forwardHead(gpu, m, res[c.nLayers % 2], st.xnF, st.rstdF, st.logits, S);
  return st.logits;
}

/** Records sampling from st.logits into st.sampled / st.sampledLogp, with random key (seed, sequence, step). */
export function sampleStep(gpu: Gpu, st: DecodeState, o: Pick<GenerateOptions, 'temperature' | 'topK' | 'topP' | 'seed'>, step: number): void {
  sampleTokens(gpu, st.logits, st.sampled, st.sampledLogp, st.seqs, st.config.vocabSize, {
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    seed: o.seed,
    step,
  });
}

/** Samples a response to each prompt (see GenerateOptions and Generation). */
export async function generate(gpu: Gpu, model: ModelParams, prompts: number[][], o: GenerateOptions): Promise<Generation> {
  const c = model.config;
  const S = prompts.length;
  if (!(Number.isInteger(o.maxTokens) && o.maxTokens >= 0)) throw new Error(`generate: maxTokens ${o.maxTokens} must be a non-negative integer`);
  const stops = o.stopStrings ?? [];
  if (stops.length > 0 && o.decodeText === undefined) throw new Error('generate: stopStrings need decodeText');
  if (stops.some((s) => s.length === 0)) throw new Error('generate: a stop string is empty');
  prompts.forEach((p, s) => {
    if (p.length < 1) throw new Error(`generate: prompt ${s} is empty`);
    if (p.length > c.maxSeqLen) throw new Error(`generate: prompt ${s} has ${p.length} tokens, more than the model's maxSeqLen ${c.maxSeqLen}`);
  });
  const out: Generation = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finish: prompts.map(() => 'length') };
  // Responses end at maxTokens or when prompt + response reach maxSeqLen.
  const budget = prompts.map((p) => Math.min(o.maxTokens, c.maxSeqLen - p.length));
  const live = budget.map((b) => b > 0);
  if (!live.some((x) => x)) return out;
  // The last sampled token is never fed, so the cache needs prompt + budget − 1 positions.
  const maxT = largest(prompts.map((p, s) => p.length + Math.max(budget[s], 1) - 1));
  const st = createDecodeState(gpu, c, S, maxT);
  try {
    prefill(gpu, model, st, prompts);
    const feed = prompts.map((p) => p[p.length - 1]);
    for (let step = 0; live.some((x) => x); step++) {
      decodeStep(gpu, model, st, feed, live);
      sampleStep(gpu, st, o, step);
      const [tok, lp] = await Promise.all([gpu.read(st.sampled), gpu.readF32(st.sampledLogp)]);
      for (let s = 0; s < S; s++) {
        if (!live[s]) continue;
        const t = tok[s];
        out.tokens[s].push(t);
        out.logprobs[s].push(lp[s]);
        feed[s] = t;
        if (o.eosTokenId !== undefined && t === o.eosTokenId) out.finish[s] = 'eos';
        else if (stops.length > 0 && o.decodeText !== undefined && hasStop(o.decodeText(out.tokens[s]), stops)) out.finish[s] = 'stop';
        else if (out.tokens[s].length < budget[s]) continue;
        live[s] = false;
      }
    }
  } finally {
    destroyDecodeState(st);
  }
  return out;
}

function hasStop(text: string, stops: readonly string[]): boolean {
  return stops.some((s) => text.includes(s));
}
