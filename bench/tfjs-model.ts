/**
 * The benchmark's opponent: the same Llama-layout decoder as src/model (Hugging Face
 * `LlamaForCausalLM` math, as test/reference/model.ts spells it out) written with TF.js ops, run
 * on TF.js's WebGPU backend. Parameters are TF.js variables under the Hugging Face names, loaded
 * from the same values our engine starts from, so the two can be checked against each other.
 *
 * Training step: forward, mean cross-entropy, `tf.variableGrads`, global-norm clip (the same
 * min(1, maxNorm / (norm + 1e-6)) coefficient as ours), decoupled weight decay p ← p·(1 − lr·wd)
 * on embedding and linear weights, then `tf.train.adam`'s update: together PyTorch's AdamW.
 * Decode: a prompt prefill, then one token per step with a KV cache held as TF.js tensors that
 * grow by one position per step (tf.concat), so a step computes one position, not the sequence.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradient functions; the full `@tensorflow/tfjs` bundle would.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { ModelConfig } from '../src/model/config';
import { paramList } from '../src/model/layout';

export interface TfjsModel {
  config: ModelConfig;
  /** Variables by Hugging Face name. */
  vars: Map<string, tf.Variable>;
  /** Embedding and linear weights: they take weight decay. */
  decayed: tf.Variable[];
  /** [maxSeqLen, headDim/2] rotary tables (f32, formed in float64 on the host). */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  /** Additive causal masks per (group·T, T) shape, made on first use. */
  masks: Map<string, tf.Tensor2D>;
}

let modelCounter = 0;

export function createTfjsModel(c: ModelConfig, values: ReadonlyMap<string, Float32Array>): TfjsModel {
  // Variable names are global in TF.js; a prefix lets several models live in one page.
  const prefix = `exprl-tfjs-${modelCounter++}`;
  const vars = new Map<string, tf.Variable>();
  const decayed: tf.Variable[] = [];
  for (const p of paramList(c)) {
    const v = values.get(p.name);
    if (v === undefined) throw new Error(`createTfjsModel: no values for ${p.name}`);
    const variable = tf.variable(tf.tensor(v, p.shape, 'float32'), true, `${prefix}/${p.name}`);
    vars.set(p.name, variable);
    if (p.kind !== 'norm') decayed.push(variable);
  }
  const half = c.headDim / 2;
  const cos = new Float32Array(c.maxSeqLen * half);
  const sin = new Float32Array(c.maxSeqLen * half);
  for (let pos = 0; pos < c.maxSeqLen; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(c.ropeTheta, (-2 * i) / c.headDim);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return {
    config: c,
    vars,
    decayed,
    cos: tf.tensor2d(cos, [c.maxSeqLen, half]),
    sin: tf.tensor2d(sin, [c.maxSeqLen, half]),
    masks: new Map(),
  };
}

export function disposeTfjsModel(m: TfjsModel): void {
  for (const v of m.vars.values()) v.dispose();
  for (const t of [m.cos, m.sin, ...m.masks.values()]) t.dispose();
}

function w(m: TfjsModel, name: string): tf.Variable {
  const v = m.vars.get(name);
  if (v === undefined) throw new Error(`TF.js model has no parameter ${name}`);
  return v;
}

function headName(c: ModelConfig): string {
  return c.tiedEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

function rmsnorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
  return tf.mul(tf.mul(x, rstd), weight);
}

/** y = x·Wᵀ for W [out, in] as stored. */
function linear(x: tf.Tensor, weight: tf.Tensor): tf.Tensor2D {
  return tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D, false, true);
}

/**
 * Rotary embedding, Hugging Face "rotate_half": x [B, T, nHeads, hd] at positions
 * start..start+T−1, pairs (i, i + hd/2).
 */
function rope(m: TfjsModel, x: tf.Tensor4D, start: number): tf.Tensor4D {
  const [, T, , hd] = x.shape;
  const half = hd / 2;
  const c = tf.reshape(tf.slice(m.cos, [start, 0], [T, half]), [1, T, 1, half]);
  const s = tf.reshape(tf.slice(m.sin, [start, 0], [T, half]), [1, T, 1, half]);
  const [a, b] = tf.split(x, 2, 3);
  return tf.concat([tf.sub(tf.mul(a, c), tf.mul(b, s)), tf.add(tf.mul(b, c), tf.mul(a, s))], 3) as tf.Tensor4D;
}

/** 0 where query row (g, t) may see key j ≤ t, −1e9 elsewhere; rows are the G query heads of a group stacked. */
function causalMask(m: TfjsModel, groups: number, T: number): tf.Tensor2D {
  const key = `${groups}x${T}`;
  let mask = m.masks.get(key);
  if (mask === undefined) {
    const data = new Float32Array(groups * T * T);
    for (let g = 0; g < groups; g++) for (let t = 0; t < T; t++) for (let j = t + 1; j < T; j++) data[(g * T + t) * T + j] = -1e9;
    mask = tf.keep(tf.tensor2d(data, [groups * T, T]));
    m.masks.set(key, mask);
  }
  return mask;
}

/**
 * Grouped-query attention of q [B, H, Tq, hd] over k, v [B, KVH, Tk, hd]: query head h reads
 * key/value head ⌊h / G⌋ (G = H / KVH), so the G heads of a group are stacked as G·Tq rows
 * against their one key/value head, and no key/value copy is made. Returns [B, H, Tq, hd].
 */
function gqa(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D | null): tf.Tensor4D {
  const [B, H, Tq, hd] = q.shape;
  const KVH = k.shape[1];
  const G = H / KVH;
  const qg = tf.reshape(q, [B, KVH, G * Tq, hd]);
  let scores = tf.mul(tf.matMul(qg, k, false, true), 1 / Math.sqrt(hd));
  if (mask !== null) scores = tf.add(scores, mask);
  const o = tf.matMul(tf.softmax(scores), v);
  return tf.reshape(o, [B, H, Tq, hd]);
}

// A type alias, not an interface: tf.tidy's TensorContainer needs the implicit index signature.
type LayerKv = {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
};

/**
 * One decoder block over x [B·T, D] for sequences of T new positions starting at `start`.
 * With `past` the keys and values attend after the cached ones (decode: T = 1, no mask needed,
 * every cached position precedes the new one); without it, causal attention over the T.
 */
function block(m: TfjsModel, l: number, x: tf.Tensor2D, B: number, T: number, start: number, past: LayerKv | null): { y: tf.Tensor2D; kv: LayerKv } {
  const c = m.config;
  const n = `model.layers.${l}`;
  const hd = c.headDim;
  const xn = rmsnorm(x, w(m, `${n}.input_layernorm.weight`), c.normEps);
  const heads = (t: tf.Tensor, nh: number): tf.Tensor4D => tf.reshape(t, [B, T, nh, hd]);
  const toBhtd = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 2, 1, 3]);
  const q = toBhtd(rope(m, heads(linear(xn, w(m, `${n}.self_attn.q_proj.weight`)), c.nHeads), start));
  let k = toBhtd(rope(m, heads(linear(xn, w(m, `${n}.self_attn.k_proj.weight`)), c.nKvHeads), start));
  let v = toBhtd(heads(linear(xn, w(m, `${n}.self_attn.v_proj.weight`)), c.nKvHeads));
  if (past !== null) {
    k = tf.concat([past.k, k], 2);
    v = tf.concat([past.v, v], 2);
  }
  const mask = past === null && T > 1 ? causalMask(m, c.nHeads / c.nKvHeads, T) : null;
  const attn = tf.reshape(tf.transpose(gqa(q, k, v, mask), [0, 2, 1, 3]), [B * T, c.nHeads * hd]);
  const h = tf.add(x, linear(attn, w(m, `${n}.self_attn.o_proj.weight`)));
  const xn2 = rmsnorm(h, w(m, `${n}.post_attention_layernorm.weight`), c.normEps);
  const gate = linear(xn2, w(m, `${n}.mlp.gate_proj.weight`));
  const up = linear(xn2, w(m, `${n}.mlp.up_proj.weight`));
  const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
  return { y: tf.add(h, linear(act, w(m, `${n}.mlp.down_proj.weight`))) as tf.Tensor2D, kv: { k, v } };
}

/** Logits [B·T, V] of ids [B, T] (int32) at positions start.., and each layer's keys and values. */
function forward(m: TfjsModel, ids: tf.Tensor2D, start: number, past: LayerKv[] | null): { logits: tf.Tensor2D; kv: LayerKv[] } {
  const c = m.config;
  const [B, T] = ids.shape;
  let x = tf.gather(w(m, 'model.embed_tokens.weight'), tf.reshape(ids, [B * T])) as tf.Tensor2D;
  const kv: LayerKv[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const out = block(m, l, x, B, T, start, past === null ? null : past[l]);
    x = out.y;
    kv.push(out.kv);
  }
  const xn = rmsnorm(x, w(m, 'model.norm.weight'), c.normEps);
  return { logits: linear(xn, w(m, headName(c))), kv };
}

/** Logits [B·T, V] of a full batch of ids [B, T] (int32), positions 0..T−1. */
export function tfjsLogits(m: TfjsModel, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => forward(m, ids, 0, null).logits);
}

/** Mean cross-entropy of ids [B, T] predicting targets [B·T] (int32), every token counted. */
function meanCrossEntropy(m: TfjsModel, ids: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(forward(m, ids, 0, null).logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(targets, m.config.vocabSize)), -1))) as tf.Scalar;
}

/** The loss (a scalar the caller disposes) with the current parameters. */
export function tfjsLoss(m: TfjsModel, ids: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => meanCrossEntropy(m, ids, targets));
}

/** Gradients of the mean cross-entropy by Hugging Face name, read back (for the agreement check). */
export async function tfjsGrads(m: TfjsModel, ids: tf.Tensor2D, targets: tf.Tensor1D): Promise<Map<string, Float32Array>> {
  const byVar = new Map([...m.vars].map(([name, v]) => [v.name, name]));
  const grads = tf.tidy(() => tf.variableGrads(() => meanCrossEntropy(m, ids, targets), [...m.vars.values()]).grads);
  const out = new Map<string, Float32Array>();
  for (const [varName, g] of Object.entries(grads)) out.set(byVar.get(varName)!, (await g.data()) as Float32Array);
  tf.dispose(Object.values(grads));
  return out;
}

export interface TfjsTrainHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; ≤ 0 turns it off. */
  maxNorm: number;
}

export interface TfjsTrainer {
  model: TfjsModel;
  optimizer: tf.AdamOptimizer;
  hyper: TfjsTrainHyper;
}

export function createTfjsTrainer(model: TfjsModel, hyper: TfjsTrainHyper): TfjsTrainer {
  return { model, optimizer: tf.train.adam(hyper.lr, hyper.beta1, hyper.beta2, hyper.eps), hyper };
}

/**
 * One training step on ids [B, T] → targets [B·T] (int32, every token counted): mean
 * cross-entropy, gradients, clip, decay, Adam. Returns the loss (a scalar the caller disposes).
 */
export function tfjsTrainStep(t: TfjsTrainer, ids: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const { model: m, hyper: h } = t;
  const varList = [...m.vars.values()];
  const { loss, grads } = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => meanCrossEntropy(m, ids, targets), varList);
    let scaled: tf.NamedTensorMap = grads;
    if (h.maxNorm > 0) {
      // A chain of adds, not tf.addN: on the WebGPU backend addN of this many (38) tensors gave a
      // wrong sum here (the clip then scaled every gradient to almost nothing).
      const norm = tf.sqrt(Object.values(grads).map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
      const coef = tf.minimum(1, tf.div(h.maxNorm, tf.add(norm, 1e-6)));
      scaled = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, coef)]));
    }
    return { loss: value, grads: scaled };
  });
  // PyTorch's AdamW decays before the moment update: p ← p·(1 − lr·wd), then the Adam step.
  if (h.weightDecay > 0) {
    const keep = 1 - h.lr * h.weightDecay;
    for (const v of m.decayed) v.assign(tf.tidy(() => tf.mul(v, keep)));
  }
  t.optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  tf.dispose(Object.values(grads));
  return loss;
}

export interface TfjsDecodeOptions {
  newTokens: number;
  /** 0 or less: greedy (argmax); otherwise sample from softmax(logits / temperature). */
  temperature: number;
  seed: number;
}

export interface TfjsGeneration {
  /** [B, newTokens] ids and their log-probabilities at the temperature, row-major. */
  tokens: Int32Array;
  logprobs: Float32Array;
}

/**
 * Generates `newTokens` ids after each prompt of ids [B, P] (int32): one prefill over the prompt,
 * then one position per step against the growing KV cache. Like our `generate`, every step reads
 * the sampled ids and their log-probabilities back (what a caller needs to stop at EOS); the ids
 * are fed to the next step from the GPU copy.
 */
export async function tfjsDecode(m: TfjsModel, prompt: tf.Tensor2D, o: TfjsDecodeOptions): Promise<TfjsGeneration> {
  const [B, P] = prompt.shape;
  if (P + o.newTokens > m.config.maxSeqLen) throw new Error(`tfjsDecode: ${P} + ${o.newTokens} positions exceed maxSeqLen ${m.config.maxSeqLen}`);
  const pick = (logits: tf.Tensor2D, step: number): { next: tf.Tensor2D; logp: tf.Tensor1D } => {
    const scaled = o.temperature > 0 ? (tf.div(logits, o.temperature) as tf.Tensor2D) : logits;
    const next =
      o.temperature > 0 ? (tf.cast(tf.multinomial(scaled, 1, o.seed + step), 'int32') as tf.Tensor2D) : (tf.cast(tf.reshape(tf.argMax(logits, -1), [B, 1]), 'int32') as tf.Tensor2D);
    const logp = tf.sum(tf.mul(tf.logSoftmax(scaled), tf.oneHot(tf.reshape(next, [B]), m.config.vocabSize)), -1) as tf.Tensor1D;
    return { next, logp };
  };

  const tokens = new Int32Array(B * o.newTokens);
  const logprobs = new Float32Array(B * o.newTokens);
  let kv: LayerKv[] = [];
  let next: tf.Tensor2D | null = null;
  for (let s = 0; s < o.newTokens; s++) {
    const prevKv = kv;
    const prevNext = next;
    const out = tf.tidy(() => {
      if (prevNext === null) {
        const f = forward(m, prompt, 0, null);
        // The last prompt position's logits choose the first new token.
        const last = tf.reshape(tf.slice(tf.reshape(f.logits, [B, P, -1]), [0, P - 1, 0], [B, 1, -1]), [B, -1]) as tf.Tensor2D;
        return { ...pick(last, s), kv: f.kv };
      }
      const f = forward(m, prevNext, P + s - 1, prevKv);
      return { ...pick(f.logits, s), kv: f.kv };
    });
    tf.dispose(prevKv.flatMap((x) => [x.k, x.v]));
    prevNext?.dispose();
    kv = out.kv;
    next = out.next;
    const [ids, lp] = await Promise.all([out.next.data(), out.logp.data()]);
    out.logp.dispose();
    for (let b = 0; b < B; b++) {
      tokens[b * o.newTokens + s] = ids[b];
      logprobs[b * o.newTokens + s] = lp[b];
    }
  }
  tf.dispose(kv.flatMap((x) => [x.k, x.v]));
  next?.dispose();
  return { tokens, logprobs };
}
