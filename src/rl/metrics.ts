// One metrics.jsonl line per step (and per eval), with exactly the keys of the method doc.
// Pure aggregation: the GPU update's scalars and the timings come in, nothing is measured here.
// A statistic with nothing to average over is null (JSON has no NaN), never a made-up 0.

import { summariseEval } from './passk';

/** What the step knows about one rollout after judging and advantages. */
export interface RolloutRecord {
  /** Prompt id: rollouts of one prompt form a group; also the unlocked-prompt key. */
  promptId: string;
  /**
   * Scalar reward after cut handling (outcome score, 0/1, or for process mode the mean of the
   * segment scores). Ignored when masked.
   */
  reward: number;
  /** Sparse answer check (always run, for metrics). */
  correct: boolean;
  /** The response declares a final answer at all, right or wrong (src/tasks/answers.ts). */
  answered: boolean;
  /** Per response token; ignored when masked. */
  advantages: ArrayLike<number>;
  /** Response length in tokens. */
  length: number;
  cut: boolean;
  /** No loss: unparseable judge output or a failed call. */
  masked: boolean;
  /** Judge calls made for this rollout (retries included), their latencies in ms, failures. */
  judgeCalls: number;
  judgeLatenciesMs: readonly number[];
  /** Calls that still failed after their retries. */
  judgeFailures: number;
  /** Replies with no usable score. */
  judgeParseFailures: number;
}

/** Scalars the GPU update reports (token-means over the step); null where the method has no such term (SFT). */
export interface UpdateStats {
  loss: number;
  /** KL to the stage's frozen reference policy (measured whatever its coefficient). */
  kl: number | null;
  /** KL to the policy the run started from. */
  klBase: number | null;
  entropy: number | null;
  clipFracLow: number | null;
  clipFracHigh: number | null;
  gradNorm: number;
  /** Optimizer steps skipped because the gradient norm was NaN or infinite (nothing changed). */
  skipped: number;
}

/** Wall time of a step's parts, seconds; the update includes the reference, base and teacher passes. */
export interface StepTimes {
  sample: number;
  judge: number;
  update: number;
}

export interface StepMetrics {
  step: number;
  stage: number;
  method: string;
  reward_mean: number | null;
  reward_std: number | null;
  frac_zero_std: number | null;
  adv_mean: number | null;
  adv_std: number | null;
  adv_min: number | null;
  adv_max: number | null;
  loss: number;
  kl: number | null;
  kl_base: number | null;
  entropy: number | null;
  clip_frac_low: number | null;
  clip_frac_high: number | null;
  grad_norm: number;
  /** Optimizer steps of this step skipped for a NaN or infinite gradient norm (weights and AdamW state unchanged). */
  skipped: number;
  len_mean: number | null;
  len_max: number | null;
  cut_frac: number | null;
  judge_calls: number;
  judge_latency_ms: number | null;
  judge_failures: number;
  judge_parse_failures: number;
  masked: number;
  unlocked: number;
  tokens_per_s: number | null;
  step_s: number;
  correct_frac: number | null;
  reward_correct_mean: number | null;
  reward_incorrect_mean: number | null;
  no_answer_frac: number | null;
  time_sample_s: number | null;
  time_judge_s: number | null;
  time_update_s: number | null;
}

export const STEP_METRIC_KEYS: readonly (keyof StepMetrics)[] = [
  'step', 'stage', 'method', 'reward_mean', 'reward_std', 'frac_zero_std', 'adv_mean', 'adv_std',
  'adv_min', 'adv_max', 'loss', 'kl', 'kl_base', 'entropy', 'clip_frac_low', 'clip_frac_high', 'grad_norm',
  'skipped', 'len_mean', 'len_max', 'cut_frac', 'judge_calls', 'judge_latency_ms', 'judge_failures',
  'judge_parse_failures', 'masked', 'unlocked', 'tokens_per_s', 'step_s',
  'correct_frac', 'reward_correct_mean', 'reward_incorrect_mean', 'no_answer_frac',
  'time_sample_s', 'time_judge_s', 'time_update_s',
];

/** Keys that hold wall times: they differ between two runs of the same seeds, nothing else does. */
export const TIMING_KEYS: readonly (keyof StepMetrics)[] = ['judge_latency_ms', 'tokens_per_s', 'step_s', 'time_sample_s', 'time_judge_s', 'time_update_s'];

/** Mean and unbiased std (std 0 for a single value); null for no values. */
export function meanStd(xs: readonly number[]): { mean: number | null; std: number | null } {
  if (xs.length === 0) return { mean: null, std: null };
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  if (xs.length === 1) return { mean: m, std: 0 };
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return { mean: m, std: Math.sqrt(ss / (xs.length - 1)) };
}

/**
 * Share of prompt groups whose unmasked rewards are all equal (no GRPO gradient), among groups
 * with at least two unmasked rollouts: a group of one gets A = r, a group of none no loss at
 * all, so neither is a "zero std" group. Null when no group qualifies.
 */
export function fracZeroStd(rollouts: readonly RolloutRecord[]): number | null {
  const groups = new Map<string, number[]>();
  for (const r of rollouts) {
    if (r.masked) continue;
    const g = groups.get(r.promptId) ?? [];
    g.push(r.reward);
    groups.set(r.promptId, g);
  }
  let considered = 0;
  let zero = 0;
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    considered++;
    if (g.every((x) => x === g[0])) zero++;
  }
  return considered === 0 ? null : zero / considered;
}

/** Token-level advantage statistics over the unmasked rollouts' response tokens. */
export function advantageStats(rollouts: readonly RolloutRecord[]): { mean: number | null; std: number | null; min: number | null; max: number | null } {
  const all: number[] = [];
  for (const r of rollouts) {
    if (r.masked) continue;
    for (let t = 0; t < r.advantages.length; t++) all.push(r.advantages[t]);
  }
  if (all.length === 0) return { mean: null, std: null, min: null, max: null };
  const { mean, std } = meanStd(all);
  let min = Infinity;
  let max = -Infinity;
  for (const a of all) {
    if (a < min) min = a;
    if (a > max) max = a;
  }
  return { mean, std, min, max };
}

export interface StepInput {
  step: number;
  /** Stage number, 1-based (1 = Stage I). */
  stage: number;
  method: string;
  rollouts: readonly RolloutRecord[];
  update: UpdateStats;
  /** Wall time of the whole step, seconds. */
  stepSeconds: number;
  /** Wall time of its parts (null for steps without them, e.g. SFT has no sampling). */
  times?: StepTimes;
  /** Prompts unlocked before this step (ids); this step's correct rollouts are added. */
  unlockedBefore: ReadonlySet<string>;
  /** Tokens processed, when not the rollouts' response tokens (SFT: the trained reference tokens). */
  tokens?: number;
}

/**
 * The step's metric line. Rewards are averaged over unmasked rollouts (a masked rollout has no
 * valid reward); lengths and cut share over all rollouts; judge_latency_ms is the mean latency
 * per call; tokens_per_s counts generated response tokens (or `tokens`) over the step's wall time.
 */
export function stepMetrics(input: StepInput): StepMetrics {
  const rs = input.rollouts;
  const rewards = meanStd(rs.filter((r) => !r.masked).map((r) => r.reward));
  const adv = advantageStats(rs);
  const lengths = rs.map((r) => r.length);
  const totalTokens = lengths.reduce((a, b) => a + b, 0);
  const latencies = rs.flatMap((r) => [...r.judgeLatenciesMs]);
  const unlocked = new Set(input.unlockedBefore);
  for (const r of rs) if (r.correct) unlocked.add(r.promptId);
  const scored = rs.filter((r) => !r.masked);
  const rewardOf = (correct: boolean): number | null => meanStd(scored.filter((r) => r.correct === correct).map((r) => r.reward)).mean;
  const share = (f: (r: RolloutRecord) => boolean): number | null => (rs.length ? rs.filter(f).length / rs.length : null);
  return {
    step: input.step,
    stage: input.stage,
    method: input.method,
    reward_mean: rewards.mean,
    reward_std: rewards.std,
    frac_zero_std: fracZeroStd(rs),
    adv_mean: adv.mean,
    adv_std: adv.std,
    adv_min: adv.min,
    adv_max: adv.max,
    loss: input.update.loss,
    kl: input.update.kl,
    kl_base: input.update.klBase,
    entropy: input.update.entropy,
    clip_frac_low: input.update.clipFracLow,
    clip_frac_high: input.update.clipFracHigh,
    grad_norm: input.update.gradNorm,
    skipped: input.update.skipped,
    len_mean: lengths.length ? totalTokens / lengths.length : null,
    len_max: lengths.length ? Math.max(...lengths) : null,
    cut_frac: rs.length ? rs.filter((r) => r.cut).length / rs.length : null,
    judge_calls: rs.reduce((a, r) => a + r.judgeCalls, 0),
    judge_latency_ms: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
    judge_failures: rs.reduce((a, r) => a + r.judgeFailures, 0),
    judge_parse_failures: rs.reduce((a, r) => a + r.judgeParseFailures, 0),
    masked: rs.filter((r) => r.masked).length,
    unlocked: unlocked.size,
    tokens_per_s: input.stepSeconds > 0 ? (input.tokens ?? totalTokens) / input.stepSeconds : null,
    step_s: input.stepSeconds,
    correct_frac: share((r) => r.correct),
    reward_correct_mean: rewardOf(true),
    reward_incorrect_mean: rewardOf(false),
    no_answer_frac: share((r) => !r.answered),
    time_sample_s: input.times?.sample ?? null,
    time_judge_s: input.times?.judge ?? null,
    time_update_s: input.times?.update ?? null,
  };
}

/** sound@n of an eval: the share of samples correct with right work; null when there are none or any is ungradable (null). */
export function soundShare(sound: readonly (boolean | null)[]): number | null {
  return sound.length === 0 || sound.some((x) => x === null) ? null : sound.filter((x) => x).length / sound.length;
}

/** An eval line: `eval: true`, n, pass@k for each requested k (null when k > n), mean@n. */
export type EvalMetrics = {
  step: number;
  stage: number;
  method: string;
  eval: true;
  n: number;
  'mean@n': number;
} & Record<`pass@${number}`, number | null>;

export function evalMetrics(input: {
  step: number;
  stage: number;
  method: string;
  prompts: readonly { correct: readonly boolean[]; scores?: readonly number[] }[];
  ks: readonly number[];
}): EvalMetrics {
  const s = summariseEval(input.prompts, input.ks);
  const line: Record<string, unknown> = { step: input.step, stage: input.stage, method: input.method, eval: true, n: s.n };
  for (const k of input.ks) line[`pass@${k}`] = s.passAtK[k];
  line['mean@n'] = s.meanAtN;
  return line as EvalMetrics;
}
