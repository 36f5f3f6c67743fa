/**
 * Supervised fine-tuning steps (the SFT baseline, and the Stage 0 pre-training of the built-in
 * policy): token-mean cross-entropy of the response tokens, accumulated over micro-batches so a
 * batch larger than the activations fit in still trains, then one optimizer step. The only
 * readback is the step's few scalars (loss, gradient norm), after the step is recorded.
 */
import { ceLossBackward, ceLossForward } from '../gpu/ops/losses';
import { sumSegments } from '../gpu/ops/reduce';
import type { Gpu } from '../gpu/runtime';
import { Tensor } from '../gpu/tensor';
import { backwardTrain } from './backward';
import { ActivationArena, ROW_BUCKET, rowsFor } from './activation-sets';
import { forwardTrain, setBatch } from './forward';
import { zeroGrads, type ModelParams } from './params';
import { createOptimizer, destroyOptimizer, stepUnlessNonFinite, type OptimizerHyper, type OptimizerState } from './train-step';

export interface SftExample {
  /** The whole sequence: prompt then response. */
  tokens: readonly number[];
  /** Tokens before this index are prompt: predicting them costs nothing. */
  responseStart: number;
}

export interface SftStepResult {
  /** Token-mean cross-entropy over the batch's response tokens (before the update). */
  loss: number;
  gradNorm: number;
  /** The loss or the gradient norm was NaN or infinite: the optimizer step changed nothing (stepUnlessNonFinite). */
  skipped: boolean;
  /** Response tokens the loss averaged over. */
  tokens: number;
}

/** One micro-batch packed right-padded as [B, T]: inputs, next-token targets and the loss mask. */
export function packMicroBatch(examples: readonly SftExample[], batch: number, seqLen: number): { tokens: Uint32Array; targets: Uint32Array; mask: Float32Array; counted: number } {
  if (examples.length > batch) throw new Error(`packMicroBatch: ${examples.length} examples for a micro-batch of ${batch}`);
  const tokens = new Uint32Array(batch * seqLen);
  const targets = new Uint32Array(batch * seqLen);
  const mask = new Float32Array(batch * seqLen);
  let counted = 0;
  examples.forEach((ex, b) => {
    if (ex.tokens.length > seqLen + 1) throw new Error(`example ${b} has ${ex.tokens.length} tokens; at most ${seqLen + 1} fit a sequence length of ${seqLen}`);
    if (!Number.isInteger(ex.responseStart) || ex.responseStart < 1) throw new Error(`example ${b}: responseStart must be at least 1 (the first token has no prediction)`);
    for (let t = 0; t + 1 < ex.tokens.length; t++) {
      tokens[b * seqLen + t] = ex.tokens[t];
      targets[b * seqLen + t] = ex.tokens[t + 1];
      if (t + 1 >= ex.responseStart) {
        mask[b * seqLen + t] = 1;
        counted++;
      }
    }
  });
  return { tokens, targets, mask, counted };
}

export class SftTrainer {
  private readonly arena: ActivationArena;
  private readonly opt: OptimizerState;
  private readonly mask: Tensor;
  private readonly rowLoss: Tensor;
  private sums: Tensor | null = null;

  constructor(
    private readonly gpu: Gpu,
    private readonly model: ModelParams,
    /** Optimizer settings; may change between steps (e.g. a learning-rate schedule). */
    public hyper: OptimizerHyper,
    /** Sequences per micro-batch and tokens per sequence at most (inputs; a sequence holds seqLen + 1 tokens). */
    readonly microBatch: number,
    readonly seqLen: number,
    /** Rows are the step's longest sequence rounded up to a multiple of this (seqLen: always full rows). */
    private readonly rowBucket = ROW_BUCKET,
  ) {
    if (seqLen > model.config.maxSeqLen) throw new Error(`SftTrainer: seqLen ${seqLen} exceeds the model's maxSeqLen ${model.config.maxSeqLen}`);
    this.arena = new ActivationArena(gpu, model.config, microBatch, seqLen);
    this.opt = createOptimizer(gpu, model);
    // Per-row buffers hold the longest rows; shorter steps use their first rows.
    this.mask = gpu.empty([microBatch * seqLen], 'f32', 'sft-mask');
    this.rowLoss = gpu.empty([microBatch * seqLen], 'f32', 'sft-row-loss');
  }

  get steps(): number {
    return this.opt.step;
  }

  /** AdamW's moments and step count (a run checkpoints and restores them). */
  get optimizer(): OptimizerState {
    return this.opt;
  }

  /** Accumulates the gradient of every micro-batch, then takes one optimizer step. */
  async step(examples: readonly SftExample[]): Promise<SftStepResult> {
    if (examples.length === 0) throw new Error('SftTrainer.step: no examples');
    const groups: SftExample[][] = [];
    for (let i = 0; i < examples.length; i += this.microBatch) groups.push(examples.slice(i, i + this.microBatch));
    const T = rowsFor(Math.max(...examples.map((e) => e.tokens.length - 1)), this.seqLen, this.rowBucket);
    const acts = this.arena.get(this.microBatch, T);
    const packed = groups.map((g) => packMicroBatch(g, this.microBatch, T));
    const total = packed.reduce((s, p) => s + p.counted, 0);
    if (total === 0) throw new Error('SftTrainer.step: no response tokens to learn from');
    if (this.sums === null || this.sums.size < groups.length) {
      this.sums?.buffer.destroy();
      this.sums = this.gpu.empty([Math.max(groups.length, 1)], 'f32', 'sft-loss-sums');
    }
    const R = acts.rows;
    const mask = new Tensor(this.mask.buffer, [R], 'f32', 0);
    const rowLoss = new Tensor(this.rowLoss.buffer, [R], 'f32', 0);
    zeroGrads(this.gpu, this.model);
    packed.forEach((p, i) => {
      // setBatch and the mask upload submit what is recorded; each micro-batch then records its work.
      setBatch(this.gpu, acts, { batch: this.microBatch, seqLen: T, tokens: p.tokens, targets: p.targets });
      this.gpu.write(mask, p.mask);
      forwardTrain(this.gpu, this.model, acts);
      ceLossForward(this.gpu, acts.logp, mask, rowLoss, R, { nTokens: total });
      sumSegments(this.gpu, [rowLoss], this.sums!, i);
      ceLossBackward(this.gpu, mask, acts.dlogp, R, { nTokens: total });
      backwardTrain(this.gpu, this.model, acts);
    });
    const sums = await this.gpu.readF32(this.sums!);
    let loss = 0;
    for (let i = 0; i < groups.length; i++) loss += sums[i];
    const { gradNorm, skipped } = await stepUnlessNonFinite(this.gpu, this.model, this.opt, this.hyper, loss);
    return { loss, gradNorm, skipped, tokens: total };
  }

  destroy(): void {
    this.arena.destroy();
    destroyOptimizer(this.opt);
    this.mask.buffer.destroy();
    this.rowLoss.buffer.destroy();
    this.sums?.buffer.destroy();
  }
}
