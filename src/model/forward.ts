/**
 * The training forward pass on the GPU over a right-padded batch [B, T]: embedding, N decoder
 * blocks, final norm, LM head, then the targets' log-probabilities and entropies at a
 * temperature. Every activation the backward reads is kept in `Activations`, allocated once per
 * batch shape and reused across steps. Work is only recorded into the Gpu's encoder; nothing is
 * read back here. Padded rows need no masking in the forward: attention is causal, so rows after
 * a sequence's end never influence the rows before it; the losses give them zero weight.
 */
import { attentionForward, type AttentionShape } from '../gpu/ops/attention';
import { embeddingForward } from '../gpu/ops/embedding';
import { logprobsForward } from '../gpu/ops/logprobs';
import { matmul } from '../gpu/ops/matmul';
import { rmsnormForward } from '../gpu/ops/rmsnorm';
import { ropeForward, ropeTables, uploadRopeTables, type RopeTableTensors } from '../gpu/ops/rope';
import { swigluForward } from '../gpu/ops/swiglu';
import type { Gpu } from '../gpu/runtime';
import { Tensor } from '../gpu/tensor';
import type { ModelConfig } from './config';
import { paramView, type ModelParams } from './params';

/** A right-padded batch: row b·T + t holds sequence b's token t and the id it should predict next. */
export interface TrainBatch {
  batch: number;
  seqLen: number;
  /** [B·T] input ids. */
  tokens: Uint32Array;
  /** [B·T] target ids (any id in the vocabulary on rows the loss ignores). */
  targets: Uint32Array;
}

export interface LayerActivations {
  /** Block input (the residual stream) [R, D]. */
  x: Tensor;
  xn1: Tensor;
  rstd1: Tensor;
  /** Rotated queries [R, H·hd] and keys [R, KVH·hd], values [R, KVH·hd]. */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** Attention output [R, H·hd] and its log-sum-exp [B, H, T]. */
  attn: Tensor;
  lse: Tensor;
  /** Residual after attention [R, D]. */
  h: Tensor;
  xn2: Tensor;
  rstd2: Tensor;
  gate: Tensor;
  up: Tensor;
  /** silu(gate) ⊙ up [R, F]. */
  act: Tensor;
}

/** Scratch the backward pass writes; sized for the batch, shared by all layers. */
export interface BackwardWorkspace {
  dlogits: Tensor;
  /** Gradient of a norm's output [R, D]. */
  dxn: Tensor;
  /** Gradient of the residual stream [R, D]. */
  dres: Tensor;
  dact: Tensor;
  dgate: Tensor;
  dup: Tensor;
  dattn: Tensor;
  dq: Tensor;
  dqPre: Tensor;
  dk: Tensor;
  dkPre: Tensor;
  dv: Tensor;
}

export interface Activations {
  config: ModelConfig;
  batch: number;
  seqLen: number;
  rows: number;
  /** The current batch's ids on the host (the embedding backward groups rows by id there). */
  hostTokens: Uint32Array;
  tokens: Tensor;
  targets: Tensor;
  positions: Tensor;
  rope: RopeTableTensors;
  layers: LayerActivations[];
  /** Output of the last block [R, D], its final norm and rstd. */
  xFinal: Tensor;
  xnF: Tensor;
  rstdF: Tensor;
  logits: Tensor;
  /** [R] log p(target) at the temperature, the distribution's entropy, and its log-sum-exp. */
  logp: Tensor;
  entropy: Tensor;
  logitsLse: Tensor;
  /** [R] the objective's gradients with respect to logp and entropy, filled by a loss (or a test). */
  dlogp: Tensor;
  dentropy: Tensor;
  /** Work buffers the forward overwrites on every layer. */
  qPre: Tensor;
  kPre: Tensor;
  work: BackwardWorkspace;
}

export interface ForwardOptions {
  /** Sampling temperature τ of the log-probabilities (default 1). */
  temperature?: number;
}

export function attentionShape(c: ModelConfig, batch: number, seqLen: number): AttentionShape {
  return { batch, seqLen, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim };
}

/** The LM head's weight: the embedding matrix when tied. */
export function headWeightName(c: ModelConfig): string {
  return c.tiedEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

/** Allocates every activation and backward work buffer for batches of shape [B, T]. */
export function createActivations(gpu: Gpu, c: ModelConfig, batch: number, seqLen: number): Activations {
  if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(seqLen) && seqLen >= 1)) {
    throw new Error(`createActivations: batch ${batch} and seqLen ${seqLen} must be positive integers`);
  }
  if (seqLen > c.maxSeqLen) throw new Error(`createActivations: seqLen ${seqLen} exceeds the model's maxSeqLen ${c.maxSeqLen}`);
  const R = batch * seqLen;
  const D = c.dModel;
  const Q = c.nHeads * c.headDim;
  const KV = c.nKvHeads * c.headDim;
  const F = c.dFF;
  const f = (shape: number[], label: string): Tensor => gpu.empty(shape, 'f32', label);
  const residual = Array.from({ length: c.nLayers + 1 }, (_, l) => f([R, D], `resid-${l}`));
  const layers: LayerActivations[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      x: residual[l],
      xn1: f([R, D], 'xn1'),
      rstd1: f([R], 'rstd1'),
      q: f([R, Q], 'q'),
      k: f([R, KV], 'k'),
      v: f([R, KV], 'v'),
      attn: f([R, Q], 'attn'),
      lse: f([batch, c.nHeads, seqLen], 'attn-lse'),
      h: f([R, D], 'h'),
      xn2: f([R, D], 'xn2'),
      rstd2: f([R], 'rstd2'),
      gate: f([R, F], 'gate'),
      up: f([R, F], 'up'),
      act: f([R, F], 'act'),
    });
  }
  return {
    config: c,
    batch,
    seqLen,
    rows: R,
    hostTokens: new Uint32Array(R),
    tokens: gpu.empty([R], 'u32', 'tokens'),
    targets: gpu.empty([R], 'u32', 'targets'),
    positions: gpu.upload(positionsFor(R, seqLen), [R], 'u32', 'positions'),
    rope: uploadRopeTables(gpu, ropeTables(seqLen, c.headDim, c.ropeTheta)),
    layers,
    xFinal: residual[c.nLayers],
    xnF: f([R, D], 'xnF'),
    rstdF: f([R], 'rstdF'),
    logits: f([R, c.vocabSize], 'logits'),
    logp: f([R], 'logp'),
    entropy: f([R], 'entropy'),
    logitsLse: f([R], 'logits-lse'),
    dlogp: f([R], 'dlogp'),
    dentropy: f([R], 'dentropy'),
    qPre: f([R, Q], 'q-pre'),
    kPre: f([R, KV], 'k-pre'),
    work: {
      dlogits: f([R, c.vocabSize], 'dlogits'),
      dxn: f([R, D], 'dxn'),
      dres: f([R, D], 'dres'),
      dact: f([R, F], 'dact'),
      dgate: f([R, F], 'dgate'),
      dup: f([R, F], 'dup'),
      dattn: f([R, Q], 'dattn'),
      dq: f([R, Q], 'dq'),
      dqPre: f([R, Q], 'dq-pre'),
      dk: f([R, KV], 'dk'),
      dkPre: f([R, KV], 'dk-pre'),
      dv: f([R, KV], 'dv'),
    },
  };
}

/**
 * Views of the first batch·seqLen rows of `a`'s buffers, shaped for batches [batch, seqLen]: a
 * micro-batch of another shape runs in activations allocated once for the largest. The views
 * share `a`'s positions buffer, which holds r % a.seqLen: the caller rewrites it (positionsFor)
 * whenever seqLen differs from the one it holds. Needs batch·seqLen ≤ a.rows and seqLen ≤
 * a.seqLen (the rope tables' length).
 */
export function viewActivations(a: Activations, batch: number, seqLen: number): Activations {
  if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(seqLen) && seqLen >= 1)) {
    throw new Error(`viewActivations: batch ${batch} and seqLen ${seqLen} must be positive integers`);
  }
  const R = batch * seqLen;
  if (R > a.rows || seqLen > a.seqLen) {
    throw new Error(`viewActivations: [${batch}, ${seqLen}] does not fit activations of ${a.rows} rows of at most ${a.seqLen} tokens`);
  }
  // [rows, ...] -> the first R rows, same columns.
  const rows = (t: Tensor): Tensor => new Tensor(t.buffer, [R, ...t.shape.slice(1)], t.dtype, t.offsetBytes);
  const layers = a.layers.map((l): LayerActivations => {
    const { lse, ...rest } = l;
    const v = Object.fromEntries(Object.entries(rest).map(([k, t]) => [k, rows(t)])) as unknown as LayerBuffers;
    return { ...v, lse: new Tensor(lse.buffer, [batch, a.config.nHeads, seqLen], 'f32', lse.offsetBytes) };
  });
  const work = Object.fromEntries(Object.entries(a.work).map(([k, t]) => [k, rows(t)])) as unknown as BackwardWorkspace;
  return {
    config: a.config,
    batch,
    seqLen,
    rows: R,
    hostTokens: new Uint32Array(R),
    tokens: rows(a.tokens),
    targets: rows(a.targets),
    positions: rows(a.positions),
    rope: a.rope,
    layers,
    xFinal: rows(a.xFinal),
    xnF: rows(a.xnF),
    rstdF: rows(a.rstdF),
    logits: rows(a.logits),
    logp: rows(a.logp),
    entropy: rows(a.entropy),
    logitsLse: rows(a.logitsLse),
    dlogp: rows(a.dlogp),
    dentropy: rows(a.dentropy),
    qPre: rows(a.qPre),
    kPre: rows(a.kPre),
    work,
  };
}

/** Row positions r % seqLen for `rows` rows (the training forward's positions tensor). */
export function positionsFor(rows: number, seqLen: number): Uint32Array {
  const positions = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) positions[r] = r % seqLen;
  return positions;
}

/** Every buffer of the activations, once each. */
function allTensors(a: Activations): Tensor[] {
  const set = new Set<Tensor>([a.tokens, a.targets, a.positions, a.rope.cos, a.rope.sin, a.xFinal, a.xnF, a.rstdF, a.logits, a.logp, a.entropy, a.logitsLse]);
  for (const t of [a.dlogp, a.dentropy, a.qPre, a.kPre, ...Object.values(a.work)]) set.add(t);
  for (const l of a.layers) for (const t of Object.values(l)) set.add(t);
  return [...set];
}

export function destroyActivations(a: Activations): void {
  for (const t of allTensors(a)) t.buffer.destroy();
}

/** Writes the batch's ids (checked against the vocabulary) into the activations' id tensors. */
export function setBatch(gpu: Gpu, a: Activations, b: TrainBatch): void {
  if (b.batch !== a.batch || b.seqLen !== a.seqLen) {
    throw new Error(`setBatch: batch [${b.batch}, ${b.seqLen}] does not match activations for [${a.batch}, ${a.seqLen}]`);
  }
  const V = a.config.vocabSize;
  for (const [what, ids] of [['tokens', b.tokens], ['targets', b.targets]] as const) {
    if (ids.length !== a.rows) throw new Error(`setBatch: ${what} has ${ids.length} ids, the batch has ${a.rows} rows`);
    for (let r = 0; r < ids.length; r++) {
      if (ids[r] >= V) throw new Error(`setBatch: ${what}[${r}] = ${ids[r]} is outside the vocabulary [0, ${V})`);
    }
  }
  a.hostTokens.set(b.tokens);
  gpu.write(a.tokens, b.tokens);
  gpu.write(a.targets, b.targets);
}

/** What one decoder block reads and writes besides its parameters (every LayerActivations field but lse). */
export type LayerBuffers = Omit<LayerActivations, 'lse'>;

/** Per-row inputs of a decoder block: row positions (u32 [rows]) and the rope tables, and pre-rope q/k scratch. */
export interface LayerInputs {
  rows: number;
  positions: Tensor;
  rope: RopeTableTensors;
  qPre: Tensor;
  kPre: Tensor;
}

/**
 * Records decoder block l on `io.rows` rows: L.x → next (the residual stream after the block),
 * keeping every intermediate in L. `attend` records the attention itself from the rotated L.q,
 * L.k and L.v into L.attn: causal over a batch in training, over a KV cache when decoding.
 */
export function forwardLayer(gpu: Gpu, m: ModelParams, l: number, L: LayerBuffers, next: Tensor, io: LayerInputs, attend: () => void): void {
  const c = m.config;
  const R = io.rows;
  const D = c.dModel;
  const Q = c.nHeads * c.headDim;
  const KV = c.nKvHeads * c.headDim;
  const F = c.dFF;
  const P = (name: string): Tensor => paramView(m, name);
  const norm = { rows: R, dim: D };
  const eps = { eps: c.normEps };
  const n = `model.layers.${l}`;
  rmsnormForward(gpu, L.x, P(`${n}.input_layernorm.weight`), L.xn1, L.rstd1, norm, eps);
  // Linear layers are y = x·Wᵀ with W [out, in] as stored.
  matmul(gpu, L.xn1, P(`${n}.self_attn.q_proj.weight`), io.qPre, R, Q, D, { transB: true });
  matmul(gpu, L.xn1, P(`${n}.self_attn.k_proj.weight`), io.kPre, R, KV, D, { transB: true });
  matmul(gpu, L.xn1, P(`${n}.self_attn.v_proj.weight`), L.v, R, KV, D, { transB: true });
  ropeForward(gpu, io.qPre, io.positions, io.rope, L.q, R, c.nHeads);
  ropeForward(gpu, io.kPre, io.positions, io.rope, L.k, R, c.nKvHeads);
  attend();
  // Residual: h = x, then h += attn·Woᵀ (a kernel may not read and write one buffer).
  gpu.copy(L.x, L.h);
  matmul(gpu, L.attn, P(`${n}.self_attn.o_proj.weight`), L.h, R, D, Q, { transB: true, accumulate: true });
  rmsnormForward(gpu, L.h, P(`${n}.post_attention_layernorm.weight`), L.xn2, L.rstd2, norm, eps);
  matmul(gpu, L.xn2, P(`${n}.mlp.gate_proj.weight`), L.gate, R, F, D, { transB: true });
  matmul(gpu, L.xn2, P(`${n}.mlp.up_proj.weight`), L.up, R, F, D, { transB: true });
  swigluForward(gpu, L.gate, L.up, L.act);
  gpu.copy(L.h, next);
  matmul(gpu, L.act, P(`${n}.mlp.down_proj.weight`), next, R, D, F, { transB: true, accumulate: true });
}

/** Records the final norm of x [rows, D] into xn (rstd [rows]) and the LM head's logits [rows, V]. */
export function forwardHead(gpu: Gpu, m: ModelParams, x: Tensor, xn: Tensor, rstd: Tensor, logits: Tensor, rows: number): void {
  const c = m.config;
  rmsnormForward(gpu, x, paramView(m, 'model.norm.weight'), xn, rstd, { rows, dim: c.dModel }, { eps: c.normEps });
  matmul(gpu, xn, paramView(m, headWeightName(c)), logits, rows, c.vocabSize, c.dModel, { transB: true });
}

/** Records the forward of the batch last given to setBatch: logits, logp, entropy and every saved activation. */
export function forwardTrain(gpu: Gpu, m: ModelParams, a: Activations, o: ForwardOptions = {}): void {
  const c = m.config;
  if (a.config !== c) throw new Error('forwardTrain: activations were made for another config');
  const R = a.rows;
  const shape = attentionShape(c, a.batch, a.seqLen);
  const io: LayerInputs = { rows: R, positions: a.positions, rope: a.rope, qPre: a.qPre, kPre: a.kPre };
  embeddingForward(gpu, a.tokens, paramView(m, 'model.embed_tokens.weight'), a.layers.length > 0 ? a.layers[0].x : a.xFinal, R, { vocab: c.vocabSize, dim: c.dModel });
  for (let l = 0; l < c.nLayers; l++) {
    const L = a.layers[l];
    const next = l + 1 < c.nLayers ? a.layers[l + 1].x : a.xFinal;
    forwardLayer(gpu, m, l, L, next, io, () => attentionForward(gpu, L.q, L.k, L.v, L.attn, L.lse, shape));
  }
  forwardHead(gpu, m, a.xFinal, a.xnF, a.rstdF, a.logits, R);
  logprobsForward(gpu, a.logits, a.targets, { logp: a.logp, entropy: a.entropy, lse: a.logitsLse }, R, c.vocabSize, { temperature: o.temperature });
}
