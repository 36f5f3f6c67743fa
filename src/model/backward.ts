/**
 * The training backward pass on the GPU: from the per-token gradients of the objective with
 * respect to logp (and optionally the entropy) to the gradient of every parameter, ADDED into the
 * model's gradient buffers, so micro-batches accumulate (zero them with zeroGrads at the start of
 * a step). A tied head's gradient lands in the embedding's gradient together with the lookup's.
 * Reads the activations forwardTrain saved for the same batch; records only, reads nothing back.
 */
import { attentionBackward } from '../gpu/ops/attention';
import { embeddingBackward } from '../gpu/ops/embedding';
import { logprobsBackward } from '../gpu/ops/logprobs';
import { matmul } from '../gpu/ops/matmul';
import { rmsnormBackward, rmsnormBackwardWeight } from '../gpu/ops/rmsnorm';
import { ropeBackward } from '../gpu/ops/rope';
import { swigluBackward } from '../gpu/ops/swiglu';
import type { Gpu } from '../gpu/runtime';
import type { Tensor } from '../gpu/tensor';
import { attentionShape, headWeightName, type Activations } from './forward';
import { gradView, paramView, type ModelParams } from './params';

export interface BackwardOptions {
  /** The temperature the forward used (default 1). */
  temperature?: number;
  /** Include the entropy term, reading a.dentropy (default: no entropy term). */
  entropy?: boolean;
}

/**
 * Records dparam += ∂(Σ_r dlogp_r·logp_r + dentropy_r·H_r)/∂param for every parameter, with
 * dlogp (and dentropy) taken from a.dlogp (a.dentropy). Rows with zero dlogp and dentropy — the
 * padding — contribute nothing.
 */
export function backwardTrain(gpu: Gpu, m: ModelParams, a: Activations, o: BackwardOptions = {}): void {
  const c = m.config;
  if (a.config !== c) throw new Error('backwardTrain: activations were made for another config');
  const R = a.rows;
  const D = c.dModel;
  const V = c.vocabSize;
  const Q = c.nHeads * c.headDim;
  const KV = c.nKvHeads * c.headDim;
  const F = c.dFF;
  const w = a.work;
  const P = (name: string): Tensor => paramView(m, name);
  const G = (name: string): Tensor => gradView(m, name);
  const norm = { rows: R, dim: D };
  const acc = { accumulate: true };

  /**
   * For y [R, out] = x [R, in]·Wᵀ: dW += dyᵀ·x, and dx = dy·W (or dx += when `accumulateDx`).
   */
  const linearBackward = (dy: Tensor, x: Tensor, name: string, nOut: number, nIn: number, dx: Tensor, accumulateDx: boolean): void => {
    matmul(gpu, dy, x, G(name), nOut, nIn, R, { transA: true, accumulate: true });
    matmul(gpu, dy, P(name), dx, R, nIn, nOut, { accumulate: accumulateDx });
  };

  logprobsBackward(gpu, a.logits, a.targets, a.logitsLse, { dlogp: a.dlogp, dentropy: o.entropy === true ? a.dentropy : null }, w.dlogits, R, V, {
    temperature: o.temperature,
  });
  linearBackward(w.dlogits, a.xnF, headWeightName(c), V, D, w.dxn, false);
  rmsnormBackwardWeight(gpu, a.xFinal, a.rstdF, w.dxn, G('model.norm.weight'), norm, acc);
  rmsnormBackward(gpu, a.xFinal, P('model.norm.weight'), a.rstdF, w.dxn, w.dres, norm);

  const shape = attentionShape(c, a.batch, a.seqLen);
  for (let l = c.nLayers - 1; l >= 0; l--) {
    const n = `model.layers.${l}`;
    const L = a.layers[l];
    // dres holds ∂/∂(block output); the residual passes it to h unchanged, the MLP adds its part.
    linearBackward(w.dres, L.act, `${n}.mlp.down_proj.weight`, D, F, w.dact, false);
    swigluBackward(gpu, L.gate, L.up, w.dact, w.dgate, w.dup);
    linearBackward(w.dgate, L.xn2, `${n}.mlp.gate_proj.weight`, F, D, w.dxn, false);
    linearBackward(w.dup, L.xn2, `${n}.mlp.up_proj.weight`, F, D, w.dxn, true);
    rmsnormBackwardWeight(gpu, L.h, L.rstd2, w.dxn, G(`${n}.post_attention_layernorm.weight`), norm, acc);
    rmsnormBackward(gpu, L.h, P(`${n}.post_attention_layernorm.weight`), L.rstd2, w.dxn, w.dres, norm, acc);

    // dres now holds ∂/∂h; the same again through attention to ∂/∂x.
    linearBackward(w.dres, L.attn, `${n}.self_attn.o_proj.weight`, D, Q, w.dattn, false);
    attentionBackward(gpu, L.q, L.k, L.v, L.attn, w.dattn, L.lse, { dq: w.dq, dk: w.dk, dv: w.dv }, shape);
    ropeBackward(gpu, w.dq, a.positions, a.rope, w.dqPre, R, c.nHeads);
    ropeBackward(gpu, w.dk, a.positions, a.rope, w.dkPre, R, c.nKvHeads);
    linearBackward(w.dqPre, L.xn1, `${n}.self_attn.q_proj.weight`, Q, D, w.dxn, false);
    linearBackward(w.dkPre, L.xn1, `${n}.self_attn.k_proj.weight`, KV, D, w.dxn, true);
    linearBackward(w.dv, L.xn1, `${n}.self_attn.v_proj.weight`, KV, D, w.dxn, true);
    rmsnormBackwardWeight(gpu, L.x, L.rstd1, w.dxn, G(`${n}.input_layernorm.weight`), norm, acc);
    rmsnormBackward(gpu, L.x, P(`${n}.input_layernorm.weight`), L.rstd1, w.dxn, w.dres, norm, acc);
  }
  embeddingBackward(gpu, a.hostTokens, w.dres, G('model.embed_tokens.weight'), { vocab: V, dim: D });
}
