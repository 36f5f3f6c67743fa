/**
 * Float64 reference of the Llama decoder (Hugging Face `LlamaForCausalLM` layout) for training:
 * the forward over a right-padded batch [B, T], the targets' log-probabilities and entropies at a
 * temperature, and the backward of L = Σ_r w_r·logp_r + e_r·H_r to every parameter. Built from
 * the per-op references, so the model test checks the composition, not the ops again.
 */
import type { ModelConfig } from '../../src/model/config';
import { paramList } from '../../src/model/layout';
import { attentionBackwardRef, attentionRef } from './attention';
import { embeddingBackwardRef, embeddingForwardRef } from './embedding';
import { logprobsBackwardRef, logprobsForwardRef } from './logprobs';
import { matmulRef } from './matmul';
import { adamwStepRef, type AdamWRefHyper, type AdamWRefState } from './optimizer';
import { gradNormRef } from './reduce';
import { rmsnormBackwardRef, rmsnormBackwardWeightRef, rmsnormForwardRef } from './rmsnorm';
import { ropeBackwardRef, ropeRef } from './rope';
import { swigluBackwardRef, swigluForwardRef } from './swiglu';

export type Params64 = Map<string, Float64Array>;

export interface BatchRef {
  batch: number;
  seqLen: number;
  /** [B·T] input ids, right-padded. */
  tokens: ArrayLike<number>;
  /** [B·T] the id each position predicts (anything in the vocabulary on padded rows). */
  targets: ArrayLike<number>;
}

interface LayerActs {
  x: Float64Array;
  xn1: Float64Array;
  rstd1: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  attn: Float64Array;
  h: Float64Array;
  xn2: Float64Array;
  rstd2: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  act: Float64Array;
}

export interface ModelForwardRef {
  logits: Float64Array;
  logp: Float64Array;
  entropy: Float64Array;
  layers: LayerActs[];
  xFinal: Float64Array;
  xnF: Float64Array;
  rstdF: Float64Array;
}

function get(p: Params64, name: string): Float64Array {
  const t = p.get(name);
  if (t === undefined) throw new Error(`model reference: parameter ${name} missing`);
  return t;
}

/** The matrix the LM head multiplies by: the embedding when tied. */
export function headName(c: ModelConfig): string {
  return c.tiedEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

/** y [R, out] = x [R, in] · Wᵀ for W [out, in]. */
function linear(x: Float64Array, w: Float64Array, R: number, nOut: number, nIn: number): Float64Array {
  return matmulRef(x, w, R, nOut, nIn, { transB: true });
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}

function positions(B: number, T: number): Float64Array {
  const pos = new Float64Array(B * T);
  for (let i = 0; i < pos.length; i++) pos[i] = i % T;
  return pos;
}

export function modelForwardRef(c: ModelConfig, p: Params64, batch: BatchRef, temperature = 1): ModelForwardRef {
  const { batch: B, seqLen: T } = batch;
  const R = B * T;
  const D = c.dModel;
  const Q = c.nHeads * c.headDim;
  const KV = c.nKvHeads * c.headDim;
  const F = c.dFF;
  const pos = positions(B, T);
  const shape = { batch: B, seqLen: T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim };
  let x = embeddingForwardRef(batch.tokens, get(p, 'model.embed_tokens.weight'), c.vocabSize, D);
  const layers: LayerActs[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const n = `model.layers.${l}`;
    const { y: xn1, rstd: rstd1 } = rmsnormForwardRef(x, get(p, `${n}.input_layernorm.weight`), R, D, c.normEps);
    const q = ropeRef(linear(xn1, get(p, `${n}.self_attn.q_proj.weight`), R, Q, D), pos, R, c.nHeads, c.headDim, c.ropeTheta);
    const k = ropeRef(linear(xn1, get(p, `${n}.self_attn.k_proj.weight`), R, KV, D), pos, R, c.nKvHeads, c.headDim, c.ropeTheta);
    const v = linear(xn1, get(p, `${n}.self_attn.v_proj.weight`), R, KV, D);
    const attn = attentionRef(q, k, v, shape).o;
    const h = add(x, linear(attn, get(p, `${n}.self_attn.o_proj.weight`), R, D, Q));
    const { y: xn2, rstd: rstd2 } = rmsnormForwardRef(h, get(p, `${n}.post_attention_layernorm.weight`), R, D, c.normEps);
    const gate = linear(xn2, get(p, `${n}.mlp.gate_proj.weight`), R, F, D);
    const up = linear(xn2, get(p, `${n}.mlp.up_proj.weight`), R, F, D);
    const act = swigluForwardRef(gate, up);
    layers.push({ x, xn1, rstd1, q, k, v, attn, h, xn2, rstd2, gate, up, act });
    x = add(h, linear(act, get(p, `${n}.mlp.down_proj.weight`), R, D, F));
  }
  const { y: xnF, rstd: rstdF } = rmsnormForwardRef(x, get(p, 'model.norm.weight'), R, D, c.normEps);
  const logits = linear(xnF, get(p, headName(c)), R, c.vocabSize, D);
  const lp = logprobsForwardRef(logits, batch.targets, R, c.vocabSize, temperature);
  return { logits, logp: lp.logp, entropy: lp.entropy, layers, xFinal: x, xnF, rstdF };
}

/** L = Σ_r w_r·logp_r (+ Σ_r e_r·H_r when e is given). */
export function modelLossRef(
  c: ModelConfig,
  p: Params64,
  batch: BatchRef,
  w: ArrayLike<number>,
  e: ArrayLike<number> | null = null,
  temperature = 1,
): number {
  const f = modelForwardRef(c, p, batch, temperature);
  let L = 0;
  for (let r = 0; r < f.logp.length; r++) L += w[r] * f.logp[r] + (e === null ? 0 : e[r] * f.entropy[r]);
  return L;
}

/** dx [R, in] = dy [R, out] · W, and dW [out, in] = dyᵀ · x. */
function linearBackward(dy: Float64Array, x: Float64Array, w: Float64Array, R: number, nOut: number, nIn: number): { dx: Float64Array; dw: Float64Array } {
  return { dx: matmulRef(dy, w, R, nIn, nOut), dw: matmulRef(dy, x, nOut, nIn, R, { transA: true }) };
}

/** dL/dparam for every parameter of L = Σ w·logp + Σ e·H (e null: no entropy term). */
export function modelBackwardRef(
  c: ModelConfig,
  p: Params64,
  batch: BatchRef,
  w: ArrayLike<number>,
  e: ArrayLike<number> | null = null,
  temperature = 1,
): Params64 {
  const { batch: B, seqLen: T } = batch;
  const R = B * T;
  const D = c.dModel;
  const Q = c.nHeads * c.headDim;
  const KV = c.nKvHeads * c.headDim;
  const F = c.dFF;
  const V = c.vocabSize;
  const pos = positions(B, T);
  const shape = { batch: B, seqLen: T, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim };
  const f = modelForwardRef(c, p, batch, temperature);
  const g: Params64 = new Map(paramList(c).map((s) => [s.name, new Float64Array(s.shape.reduce((a, b) => a * b, 1))]));
  const addInto = (name: string, d: Float64Array): void => {
    const t = get(g, name);
    for (let i = 0; i < t.length; i++) t[i] += d[i];
  };

  const dlogits = logprobsBackwardRef(f.logits, batch.targets, R, V, temperature, w, e);
  const head = linearBackward(dlogits, f.xnF, get(p, headName(c)), R, V, D);
  addInto(headName(c), head.dw);
  addInto('model.norm.weight', rmsnormBackwardWeightRef(f.xFinal, f.rstdF, head.dx, R, D));
  let dx = rmsnormBackwardRef(f.xFinal, get(p, 'model.norm.weight'), f.rstdF, head.dx, R, D);

  for (let l = c.nLayers - 1; l >= 0; l--) {
    const n = `model.layers.${l}`;
    const a = f.layers[l];
    const down = linearBackward(dx, a.act, get(p, `${n}.mlp.down_proj.weight`), R, D, F);
    addInto(`${n}.mlp.down_proj.weight`, down.dw);
    const { dgate, dup } = swigluBackwardRef(a.gate, a.up, down.dx);
    const gate = linearBackward(dgate, a.xn2, get(p, `${n}.mlp.gate_proj.weight`), R, F, D);
    const up = linearBackward(dup, a.xn2, get(p, `${n}.mlp.up_proj.weight`), R, F, D);
    addInto(`${n}.mlp.gate_proj.weight`, gate.dw);
    addInto(`${n}.mlp.up_proj.weight`, up.dw);
    const dxn2 = add(gate.dx, up.dx);
    addInto(`${n}.post_attention_layernorm.weight`, rmsnormBackwardWeightRef(a.h, a.rstd2, dxn2, R, D));
    // The residual carries dx straight through; the norm's path adds to it.
    const dh = rmsnormBackwardRef(a.h, get(p, `${n}.post_attention_layernorm.weight`), a.rstd2, dxn2, R, D, dx);

    const o = linearBackward(dh, a.attn, get(p, `${n}.self_attn.o_proj.weight`), R, D, Q);
    addInto(`${n}.self_attn.o_proj.weight`, o.dw);
    const att = attentionBackwardRef(a.q, a.k, a.v, o.dx, shape);
    const dqPre = ropeBackwardRef(att.dq, pos, R, c.nHeads, c.headDim, c.ropeTheta);
    const dkPre = ropeBackwardRef(att.dk, pos, R, c.nKvHeads, c.headDim, c.ropeTheta);
    const qb = linearBackward(dqPre, a.xn1, get(p, `${n}.self_attn.q_proj.weight`), R, Q, D);
    const kb = linearBackward(dkPre, a.xn1, get(p, `${n}.self_attn.k_proj.weight`), R, KV, D);
    const vb = linearBackward(att.dv, a.xn1, get(p, `${n}.self_attn.v_proj.weight`), R, KV, D);
    addInto(`${n}.self_attn.q_proj.weight`, qb.dw);
    addInto(`${n}.self_attn.k_proj.weight`, kb.dw);
    addInto(`${n}.self_attn.v_proj.weight`, vb.dw);
    const dxn1 = add(add(qb.dx, kb.dx), vb.dx);
    addInto(`${n}.input_layernorm.weight`, rmsnormBackwardWeightRef(a.x, a.rstd1, dxn1, R, D));
    dx = rmsnormBackwardRef(a.x, get(p, `${n}.input_layernorm.weight`), a.rstd1, dxn1, R, D, dh);
  }
  addInto('model.embed_tokens.weight', embeddingBackwardRef(batch.tokens, dx, V, D));
  return g;
}

/** Per-token weights of supervised fine-tuning: L = −(1/N) Σ mask·logp, N the masked-in count. */
export function sftWeights(mask: ArrayLike<number>): Float64Array {
  let N = 0;
  for (let i = 0; i < mask.length; i++) N += mask[i];
  return Float64Array.from(mask, (m) => (N > 0 ? -m / N : 0));
}


export interface OptimizerRefHyper extends AdamWRefHyper {
  /** Global gradient-norm clip; ≤ 0 turns it off. */
  maxNorm: number;
}

/**
 * One optimizer step t (1-based) in place: the global norm of all gradients, the clip
 * coefficient min(1, maxNorm / (norm + 1e-6)), then AdamW per tensor with weight decay on
 * embeddings and linear weights, none on norms. Returns [norm, coefficient].
 */
export function optimizerStepRef(c: ModelConfig, p: Params64, g: Params64, moments: Map<string, AdamWRefState>, h: OptimizerRefHyper, t: number): [number, number] {
  const specs = paramList(c);
  const [norm, coef] = gradNormRef(
    specs.map((s) => get(g, s.name)),
    h.maxNorm,
  );
  for (const s of specs) {
    const x = get(p, s.name);
    let st = moments.get(s.name);
    if (st === undefined) {
      st = { p: x, m: new Float64Array(x.length), v: new Float64Array(x.length) };
      moments.set(s.name, st);
    }
    st.p = x;
    adamwStepRef(st, get(g, s.name), { ...h, weightDecay: s.kind === 'norm' ? 0 : h.weightDecay }, t, coef);
  }
  return [norm, coef];
}
