/**
 * One policy-gradient update on the GPU from finished rollouts: the part every RL method shares
 * once its advantages are known. Rollouts go into micro-batches in order of length (longest
 * first, ties in the given order: see microBatchOrder), so that rollouts of like length share a
 * micro-batch, split where padding costs least (microBatchSpans); each micro-batch's rows are
 * prompt + response, right-padded to its own longest rollout (rounded up, see
 * model/activation-sets.ts). Only response tokens of rollouts whose loss mask is on count. The
 * loss is their token-mean over the whole batch, or with lossAggregation "sample-sum" their sum
 * divided by the batch's samples (PipelineRL); either divisor counts every
 * micro-batch, so accumulating micro-batches gives the update of one batch, whatever the order
 * (up to the order of float sums).
 *
 * Per micro-batch: the forwards of the frozen models with their logp kept aside (the reference,
 * whenever there is one, so that `kl` is measured even when klCoef is 0; the base, when given and
 * not the reference), the policy's forward, the PPO-clip + k3 KL loss and its gradient, the
 * entropy bonus's gradient, and the backward added into the gradients; then one optimizer step.
 * The only readback is one small buffer of per-token figures (loss, KL, clip flags, entropy, KL
 * to the base) and the gradient norm, after the step is recorded.
 */
import { pgLossBackward, pgLossForward, type PgLossOptions } from '../gpu/ops/losses';
import type { Gpu } from '../gpu/runtime';
import { Tensor } from '../gpu/tensor';
import { backwardTrain } from '../model/backward';
import { ActivationArena, ROW_BUCKET, rowsFor } from '../model/activation-sets';
import { forwardTrain, setBatch } from '../model/forward';
import { zeroGrads, type ModelParams } from '../model/params';
import { createOptimizer, destroyOptimizer, stepUnlessNonFinite, type OptimizerState } from '../model/train-step';
import type { LossAggregation } from './config';
import type { UpdateStats } from './metrics';

/** A policy update always has every term (UpdateStats leaves them null for SFT). */
export interface PolicyUpdate extends UpdateStats {
  /** k3 KL to the reference, token-mean over the counted tokens; 0 when the trainer has no reference. */
  kl: number;
  entropy: number;
  clipFracLow: number;
  clipFracHigh: number;
  /** The same k3 KL to the base (the policy the run started from); null when the trainer has none. */
  klBase: number | null;
}

/** One sampled response to learn from. */
export interface PolicyRollout {
  /** Prompt token ids (at least one: the first response token needs a position to be predicted from). */
  prompt: readonly number[];
  /** Response token ids. */
  response: readonly number[];
  /** log p of each response token when it was sampled (same temperature), one per response token. */
  logpOld: ArrayLike<number>;
  /** Per-token advantages, one per response token. */
  advantages: ArrayLike<number>;
  /** false: the rollout adds nothing to the loss nor to its token count. */
  lossMask: boolean;
}

export interface PolicyStepSettings {
  /** Temperature of the log-probabilities (the sampling temperature). */
  temperature: number;
  epsLow: number;
  epsHigh: number;
  /** 0 = off, else > 1. */
  dualClip: number;
  /** k3 KL to the reference; > 0 needs a reference model. */
  klCoef: number;
  /** Entropy bonus: the loss subtracts entropyCoef × the entropy, aggregated as the loss is. */
  entropyCoef: number;
  /** "token-mean" (default): divide the summed token losses by the counted tokens; "sample-sum": by the samples (rollouts with lossMask). */
  lossAggregation?: LossAggregation;
  lr: number;
  weightDecay: number;
  /** Global gradient-norm clip (≤ 0: none). */
  maxNorm: number;
  /** AdamW's betas and epsilon (defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  adamEps?: number;
}

export interface PackedPolicyBatch {
  tokens: Uint32Array;
  targets: Uint32Array;
  logpOld: Float32Array;
  adv: Float32Array;
  mask: Float32Array;
  /** Tokens counted in this micro-batch. */
  counted: number;
}

/**
 * Packs up to `batch` rollouts as [batch, seqLen] rows. Row position t predicts token t + 1 of
 * prompt + response, so response token j sits at t = prompt.length + j − 1.
 */
export function packPolicyBatch(rollouts: readonly PolicyRollout[], batch: number, seqLen: number): PackedPolicyBatch {
  if (rollouts.length > batch) throw new Error(`packPolicyBatch: ${rollouts.length} rollouts for a micro-batch of ${batch}`);
  const R = batch * seqLen;
  const out: PackedPolicyBatch = {
    tokens: new Uint32Array(R),
    targets: new Uint32Array(R),
    logpOld: new Float32Array(R),
    adv: new Float32Array(R),
    mask: new Float32Array(R),
    counted: 0,
  };
  rollouts.forEach((ro, b) => {
    const P = ro.prompt.length;
    const n = ro.response.length;
    if (P < 1) throw new Error(`rollout ${b}: the prompt is empty`);
    if (P + n > seqLen + 1) throw new Error(`rollout ${b} has ${P + n} tokens; at most ${seqLen + 1} fit a sequence length of ${seqLen}`);
    if (ro.logpOld.length !== n) throw new Error(`rollout ${b}: ${ro.logpOld.length} old log-probs for ${n} response tokens`);
    if (ro.advantages.length !== n) throw new Error(`rollout ${b}: ${ro.advantages.length} advantages for ${n} response tokens`);
    const at = (i: number): number => (i < P ? ro.prompt[i] : ro.response[i - P]);
    for (let t = 0; t + 1 < P + n; t++) {
      const r = b * seqLen + t;
      out.tokens[r] = at(t);
      out.targets[r] = at(t + 1);
      const j = t + 1 - P;
      if (j >= 0) {
        out.logpOld[r] = ro.logpOld[j];
        out.adv[r] = ro.advantages[j];
        if (ro.lossMask) {
          out.mask[r] = 1;
          out.counted++;
        }
      }
    }
  });
  return out;
}

/** Per-token figures kept per micro-batch for the step's readback: loss, KL, clip flag, entropy, KL to the base. */
const STASH_FIELDS = 5;

export interface PolicyTrainerOptions {
  /** Rollouts per micro-batch. */
  microBatch: number;
  /** Input tokens per row at most (a rollout holds at most seqLen + 1 tokens). */
  seqLen: number;
  /**
   * The stage's frozen reference policy (cloneParams): `kl` is measured against it on every
   * update and the loss's KL term (klCoef > 0) pulls toward it. Without one, kl reads 0 and
   * klCoef must be 0.
   */
  reference?: ModelParams | null;
  /** The policy the run started from: `klBase` is measured against it, never differentiated. May be the reference itself (one forward serves both). */
  base?: ModelParams | null;
  /** A micro-batch's rows are its longest rollout rounded up to a multiple of this (seqLen: always full rows). */
  rowBucket?: number;
}

/** Input tokens per row for these rollouts: the longest one's, rounded up to `bucket`, at most seqLen. */
export function rowLength(rollouts: readonly PolicyRollout[], seqLen: number, bucket = ROW_BUCKET): number {
  return rowsFor(Math.max(...rollouts.map((r) => r.prompt.length + r.response.length - 1)), seqLen, bucket);
}

/**
 * The order in which rollouts fill micro-batches: longest (prompt + response) first, ties in the
 * given order (deterministic). Every micro-batch's rows are padded to its own longest rollout, so
 * grouping like lengths cuts the padded rows; each rollout's own figures do not depend on it.
 */
export function microBatchOrder(rollouts: readonly PolicyRollout[]): number[] {
  const len = rollouts.map((r) => r.prompt.length + r.response.length);
  return rollouts.map((_, i) => i).sort((a, b) => len[b] - len[a] || a - b);
}

/**
 * The fixed cost of a micro-batch, in rows: some 450 dispatches (up to three forwards and a
 * backward) whose set-up does not shrink with the rows. Measured on SwiftShader (2 cores, shared
 * with another job, so roughly): an update of one micro-batch of 16 rows took 160-340 ms, one of
 * 1024 rows 2.0-3.4 s, so a micro-batch costs about as much as 60 to 100 more rows.
 */
export const MICRO_BATCH_COST_ROWS = 64;

/** A run of consecutive rollouts (in micro-batch order) sharing a micro-batch, and its row length. */
export interface MicroBatchSpan {
  start: number;
  end: number;
  /** Input tokens per row: the first (longest) rollout's, rounded up (rowsFor). */
  T: number;
}

/**
 * Where micro-batches start and end over rollouts in micro-batch order (longest first; `tokens`
 * are their input tokens, prompt + response − 1): at most `maxRollouts` each, chosen to make the
 * fewest padded rows (a micro-batch costs its rollouts × its row length) plus
 * MICRO_BATCH_COST_ROWS per micro-batch. One long rollout then gets a micro-batch of its own
 * instead of stretching fifteen shorter ones to its length. Exact (dynamic programming over the
 * sorted order, where some best split always lies); on a tie the first micro-batch is the longer.
 */
export function microBatchSpans(tokens: readonly number[], maxRollouts: number, seqLen: number, bucket = ROW_BUCKET): MicroBatchSpan[] {
  const n = tokens.length;
  for (let i = 1; i < n; i++) if (tokens[i] > tokens[i - 1]) throw new Error('microBatchSpans: rollouts must come longest first');
  if (!(Number.isInteger(maxRollouts) && maxRollouts >= 1)) throw new Error(`microBatchSpans: maxRollouts ${maxRollouts} must be a positive integer`);
  // best[i]: the cost of rollouts i.. and where its first micro-batch ends.
  const best = new Array<number>(n + 1).fill(Infinity);
  const next = new Array<number>(n + 1).fill(n);
  best[n] = 0;
  for (let i = n - 1; i >= 0; i--) {
    const T = rowsFor(tokens[i], seqLen, bucket);
    for (let j = Math.min(n, i + maxRollouts); j > i; j--) {
      const cost = (j - i) * T + MICRO_BATCH_COST_ROWS + best[j];
      if (cost < best[i]) {
        best[i] = cost;
        next[i] = j;
      }
    }
  }
  const spans: MicroBatchSpan[] = [];
  for (let i = 0; i < n; i = next[i]) spans.push({ start: i, end: next[i], T: rowsFor(tokens[i], seqLen, bucket) });
  return spans;
}

/**
 * Holds the activations, the optimizer's moments and the small per-step buffers of policy
 * updates on one model; settings may change between steps (a learning-rate schedule, say).
 */
export class PolicyTrainer {
  private readonly arena: ActivationArena;
  private readonly opt: OptimizerState;
  private readonly logpOld: Tensor;
  private readonly logpRef: Tensor;
  /** logp under the base; null when there is no base or it is the reference (logpRef serves). */
  private readonly logpBase: Tensor | null;
  private readonly adv: Tensor;
  private readonly mask: Tensor;
  private readonly loss: Tensor;
  private readonly kl: Tensor;
  private readonly clip: Tensor;
  private stash: Tensor | null = null;
  private readonly reference: ModelParams | null;
  private readonly base: ModelParams | null;
  readonly microBatch: number;
  readonly seqLen: number;
  private readonly rowBucket: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly model: ModelParams,
    o: PolicyTrainerOptions,
  ) {
    const { microBatch, seqLen } = o;
    this.reference = o.reference ?? null;
    this.base = o.base ?? null;
    this.microBatch = microBatch;
    this.seqLen = seqLen;
    this.rowBucket = o.rowBucket ?? ROW_BUCKET;
    // One set of activations serves every model, and it is tied to one config object (cloneParams shares it).
    for (const [what, m] of [['reference', this.reference], ['base', this.base]] as const) {
      if (m !== null && m.config !== model.config) throw new Error(`PolicyTrainer: the ${what} model has another config`);
      if (m === model) throw new Error(`PolicyTrainer: the ${what} model must be a frozen copy (cloneParams), not the policy itself`);
    }
    if (seqLen > model.config.maxSeqLen) throw new Error(`PolicyTrainer: seqLen ${seqLen} exceeds the model's maxSeqLen ${model.config.maxSeqLen}`);
    // An update's micro-batches have rows of several lengths and counts: views of one allocation.
    this.arena = new ActivationArena(gpu, model.config, microBatch, seqLen);
    this.opt = createOptimizer(gpu, model);
    // Per-row buffers hold the longest rows; shorter updates use their first rows.
    const f = (label: string): Tensor => gpu.empty([microBatch * seqLen], 'f32', `policy-${label}`);
    this.logpOld = f('logp-old');
    this.logpRef = f('logp-ref');
    this.logpBase = this.base !== null && this.base !== this.reference ? f('logp-base') : null;
    this.adv = f('adv');
    this.mask = f('mask');
    this.loss = f('loss');
    this.kl = f('kl');
    this.clip = f('clip');
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.opt.step;
  }

  /** AdamW's moments and step count (a run checkpoints and restores them). */
  get optimizer(): OptimizerState {
    return this.opt;
  }

  /** Accumulates the gradient of every micro-batch, then takes one optimizer step. */
  async step(rollouts: readonly PolicyRollout[], s: PolicyStepSettings): Promise<PolicyUpdate> {
    if (rollouts.length === 0) throw new Error('PolicyTrainer.step: no rollouts');
    if (s.klCoef > 0 && this.reference === null) throw new Error('PolicyTrainer.step: klCoef > 0 needs a reference model');
    if (!Number.isFinite(s.entropyCoef)) throw new Error(`PolicyTrainer.step: entropyCoef must be finite, got ${s.entropyCoef}`);
    const { gpu, model } = this;
    const sorted = microBatchOrder(rollouts).map((i) => rollouts[i]);
    // Each micro-batch's rows are as long as its own longest rollout needs.
    const spans = microBatchSpans(sorted.map((r) => r.prompt.length + r.response.length - 1), this.microBatch, this.seqLen, this.rowBucket);
    const groups = spans.map((sp) => sorted.slice(sp.start, sp.end));
    const lengths = spans.map((sp) => sp.T);
    const packed = groups.map((g, i) => packPolicyBatch(g, g.length, lengths[i]));
    const N = packed.reduce((a, p) => a + p.counted, 0);
    // The loss's divisor: counted tokens (token mean), or samples with a loss (PipelineRL's sum / samples).
    const divisor = (s.lossAggregation ?? 'token-mean') === 'sample-sum' ? rollouts.filter((r) => r.lossMask).length : N;
    // Micro-batch i's per-token figures start at stashAt[i] in the stash: STASH_FIELDS runs of its rows.
    const rowCounts = groups.map((g, i) => g.length * lengths[i]);
    const stashAt: number[] = [];
    let need = 0;
    for (const R of rowCounts) {
      stashAt.push(need);
      need += STASH_FIELDS * R;
    }
    if (this.stash === null || this.stash.size < need) {
      this.stash?.buffer.destroy();
      this.stash = gpu.empty([need], 'f32', 'policy-stash');
    }
    const { reference, base } = this;
    const entropy = s.entropyCoef !== 0;
    // nTokens is the kernels' divisor, whichever the aggregation.
    const lossOpts: PgLossOptions = { nTokens: divisor, epsLow: s.epsLow, epsHigh: s.epsHigh, dualClip: s.dualClip, klCoef: s.klCoef };
    const fwd = { temperature: s.temperature };
    zeroGrads(gpu, model);
    packed.forEach((p, i) => {
      const T = lengths[i];
      const acts = this.arena.get(groups[i].length, T);
      const R = acts.rows;
      if (R !== rowCounts[i]) throw new Error(`PolicyTrainer.step: activations of ${R} rows for a micro-batch of ${rowCounts[i]}`);
      const rows = (t: Tensor): Tensor => new Tensor(t.buffer, [R], 'f32', 0);
      const [logpOld, logpRef, adv, mask, lossT, klT, clipT] = [this.logpOld, this.logpRef, this.adv, this.mask, this.loss, this.kl, this.clip].map(rows);
      const logpBase = base === null ? null : base === reference ? logpRef : rows(this.logpBase!);
      const stashView = (field: number): Tensor => new Tensor(this.stash!.buffer, [R], 'f32', (stashAt[i] + field * R) * 4);
      // Writes submit what was recorded before them, so the previous micro-batch reads its own data.
      setBatch(gpu, acts, { batch: groups[i].length, seqLen: T, tokens: p.tokens, targets: p.targets });
      gpu.write(logpOld, p.logpOld);
      gpu.write(adv, p.adv);
      gpu.write(mask, p.mask);
      if (entropy) gpu.write(acts.dentropy, p.mask.map((m) => (divisor > 0 ? (-s.entropyCoef * m) / divisor : 0)));
      // The frozen models run first in the same activations: the policy's forward then overwrites
      // everything its backward reads.
      if (reference !== null) {
        forwardTrain(gpu, reference, acts, fwd);
        gpu.copy(acts.logp, logpRef);
      }
      if (base !== null && base !== reference) {
        forwardTrain(gpu, base, acts, fwd);
        gpu.copy(acts.logp, logpBase!);
      }
      forwardTrain(gpu, model, acts, fwd);
      if (logpBase !== null) {
        // The loss kernel's k3 KL against the base; only its kl output is kept (the next call
        // overwrites the rest), so the base never reaches the gradient.
        pgLossForward(gpu, { logp: acts.logp, logpOld, logpRef: logpBase, adv, mask }, { loss: lossT, kl: klT, clip: clipT }, R, lossOpts);
        gpu.copy(klT, stashView(4));
      }
      const x = { logp: acts.logp, logpOld, logpRef: reference !== null ? logpRef : null, adv, mask };
      pgLossForward(gpu, x, { loss: lossT, kl: klT, clip: clipT }, R, lossOpts);
      pgLossBackward(gpu, x, acts.dlogp, R, lossOpts);
      gpu.copy(lossT, stashView(0));
      gpu.copy(klT, stashView(1));
      gpu.copy(clipT, stashView(2));
      gpu.copy(acts.entropy, stashView(3));
      backwardTrain(gpu, model, acts, { temperature: s.temperature, entropy });
    });
    const stash = await gpu.readF32(this.stash);
    let loss = 0;
    let kl = 0;
    let klBase = 0;
    let ent = 0;
    let low = 0;
    let high = 0;
    packed.forEach((p, i) => {
      const at = stashAt[i];
      const R = rowCounts[i];
      for (let r = 0; r < R; r++) {
        if (p.mask[r] === 0) continue;
        loss += stash[at + r];
        kl += stash[at + R + r];
        const c = stash[at + 2 * R + r];
        if (c > 0) high++;
        else if (c < 0) low++;
        ent += stash[at + 3 * R + r];
        klBase += stash[at + 4 * R + r];
      }
    });
    // Figures to watch are token means whatever the aggregation.
    const mean = (x: number): number => (N > 0 ? x / N : 0);
    // The loss reported is the objective differentiated: PPO-clip + KL, minus the entropy bonus.
    const objective = loss - (divisor > 0 ? (s.entropyCoef * ent) / divisor : 0);
    const hyper = { lr: s.lr, weightDecay: s.weightDecay, maxNorm: s.maxNorm, beta1: s.beta1, beta2: s.beta2, eps: s.adamEps };
    const { gradNorm, skipped } = await stepUnlessNonFinite(gpu, model, this.opt, hyper, objective);
    return {
      loss: objective,
      kl: mean(kl),
      entropy: mean(ent),
      clipFracLow: mean(low),
      clipFracHigh: mean(high),
      gradNorm,
      skipped: skipped ? 1 : 0,
      klBase: base === null ? null : mean(klBase),
    };
  }

  destroy(): void {
    this.arena.destroy();
    destroyOptimizer(this.opt);
    for (const t of [this.logpOld, this.logpRef, this.logpBase, this.adv, this.mask, this.loss, this.kl, this.clip]) t?.buffer.destroy();
    this.stash?.buffer.destroy();
  }
}
