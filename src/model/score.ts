/**
 * Log-probs of given responses after given prompts under any model on the Gpu, batched: the
 * teacher pass of self-distillation (the frozen policy shown the reference scores the student's
 * own samples) and any other "how likely is this continuation" question. One set of
 * activations serves every micro-batch; each micro-batch's log-probs are read back once.
 */
import type { Gpu } from '../gpu/runtime';
import { createActivations, destroyActivations, forwardTrain, setBatch } from './forward';
import type { ModelParams } from './params';

export interface ScoredSequence {
  prompt: readonly number[];
  response: readonly number[];
}

/**
 * log p(response[j] | prompt, response[..j]) at `temperature` for every sequence, in order.
 * A sequence must hold at least one prompt token and at most maxSeqLen + 1 tokens in all.
 */
export async function scoreResponses(
  gpu: Gpu,
  model: ModelParams,
  seqs: readonly ScoredSequence[],
  o: { temperature: number; microBatch: number },
): Promise<Float32Array[]> {
  const c = model.config;
  if (seqs.length === 0) return [];
  let T = 1;
  seqs.forEach((s, i) => {
    if (s.prompt.length < 1) throw new Error(`scoreResponses: sequence ${i} has an empty prompt`);
    const n = s.prompt.length + s.response.length - 1;
    if (n > c.maxSeqLen) throw new Error(`scoreResponses: sequence ${i} holds ${n + 1} tokens; the model scores at most ${c.maxSeqLen + 1}`);
    T = Math.max(T, n);
  });
  const B = Math.max(1, Math.min(o.microBatch, seqs.length));
  const acts = createActivations(gpu, c, B, T);
  try {
    const out: Float32Array[] = [];
    for (let start = 0; start < seqs.length; start += B) {
      const group = seqs.slice(start, start + B);
      const tokens = new Uint32Array(B * T);
      const targets = new Uint32Array(B * T);
      group.forEach((s, b) => {
        const all = [...s.prompt, ...s.response];
        for (let t = 0; t + 1 < all.length; t++) {
          tokens[b * T + t] = all[t];
          targets[b * T + t] = all[t + 1];
        }
      });
      setBatch(gpu, acts, { batch: B, seqLen: T, tokens, targets });
      forwardTrain(gpu, model, acts, { temperature: o.temperature });
      const logp = await gpu.readF32(acts.logp);
      group.forEach((s, b) => {
        // Response token j is predicted at position prompt.length - 1 + j.
        const from = b * T + s.prompt.length - 1;
        out.push(logp.slice(from, from + s.response.length));
      });
    }
    return out;
  } finally {
    destroyActivations(acts);
  }
}
