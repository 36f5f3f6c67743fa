// Rewards to advantages for every method of the ExpRL method doc (shared/design/exprl-method.md).
//
// Masked rollouts (judge output unparseable, or a judge call that failed after its retries):
// they are LEFT OUT of the group statistics (mean, std) and get no loss: advantage 0 on every
// token and `lossMask` false, so the loss must also leave their tokens out of the token-mean
// denominator. (The paper's code instead keeps a masked rollout's reward 0 in the group mean
// and std; we do not, so a judge failure never shifts the other rollouts' advantages.)
//
// A response cut at the maximum length gets reward 0 (in process mode, every segment score 0).
// That reward is defined without the judge, so a cut rollout is never masked.
//
// The guard (process mode, an option: on in our presets, off in `paper`): a response with no
// correct final answer and fewer than two segments gets no positive value; its negative values
// stay. The delta rule gives a lone segment +s_1 on every token, so without the guard a policy
// is paid for dropping its delimiters and its answer (a small policy learned exactly that).

export const GRPO_EPS = 1e-6;

export interface GroupStats {
  /** Per rollout; 0 for masked rollouts. */
  advantages: number[];
  /** Statistics of the unmasked rollouts (mean 0, std 1 when there is at most one). */
  mean: number;
  std: number;
  /** Unmasked rollouts, the group the statistics were taken over. */
  count: number;
}

function unmaskedRewards(rewards: readonly number[], masked: readonly boolean[] | undefined, fn: string): number[] {
  if (masked !== undefined && masked.length !== rewards.length) {
    throw new Error(`${fn}: ${rewards.length} rewards but ${masked.length} mask flags`);
  }
  const kept: number[] = [];
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new Error(`${fn}: reward ${i} is ${r}`);
    if (!masked?.[i]) kept.push(r);
  });
  return kept;
}

/** Mean and unbiased std of the unmasked rewards; a group of at most one gets mean 0, std 1. */
export function groupMeanStd(rewards: readonly number[], masked?: readonly boolean[]): { mean: number; std: number; count: number } {
  const kept = unmaskedRewards(rewards, masked, 'groupMeanStd');
  const n = kept.length;
  if (n <= 1) return { mean: 0, std: 1, count: n };
  let mean = 0;
  for (const r of kept) mean += r;
  mean /= n;
  let ss = 0;
  for (const r of kept) ss += (r - mean) * (r - mean);
  return { mean, std: Math.sqrt(ss / (n - 1)), count: n };
}

/**
 * GRPO outcome advantage (sparse GRPO and ExpRL-Outcome): A = (r - mean) / (std + 1e-6) with
 * the unbiased std over the group's unmasked rollouts. A group of one keeps the formula with
 * mean 0 and std 1, so A = r / (1 + 1e-6). Equal rewards give A = 0 (no gradient).
 */
export function grpoAdvantages(rewards: readonly number[], masked?: readonly boolean[], eps = GRPO_EPS): GroupStats {
  const { mean, std, count } = groupMeanStd(rewards, masked);
  const advantages = rewards.map((r, i) => (masked?.[i] ? 0 : (r - mean) / (std + eps)));
  return { advantages, mean, std, count };
}

/**
 * Stage II advantage: A = r - group mean, no std. A group of one uses mean 0 (A = r), the same
 * convention as GRPO; the doc does not say, and r - r = 0 would waste the sample.
 */
export function stage2Advantages(rewards: readonly number[], masked?: readonly boolean[]): GroupStats {
  const { mean, std, count } = groupMeanStd(rewards, masked);
  const advantages = rewards.map((r, i) => (masked?.[i] ? 0 : r - mean));
  return { advantages, mean, std, count };
}

function checkScores(scores: readonly number[], fn: string): void {
  scores.forEach((s, k) => {
    if (!Number.isFinite(s)) throw new Error(`${fn}: segment score ${k} is ${s}`);
  });
}

/**
 * ExpRL-Process "delta" values from normalised segment scores s_1..s_K:
 * value_k = s_k - s_(k-1) for k >= 2, value_1 = s_1 - s_K when K >= 2, value_1 = s_1 when K = 1.
 * For K >= 2 they sum to 0. No group normalisation, no discount. K = 0 gives [].
 */
export function processDeltaValues(scores: readonly number[]): number[] {
  checkScores(scores, 'processDeltaValues');
  const K = scores.length;
  if (K === 0) return [];
  if (K === 1) return [scores[0]];
  return scores.map((s, k) => (k === 0 ? s - scores[K - 1] : s - scores[k - 1]));
}

/** Ablation: end-normalised values s_k - s_K (so the last segment, and a lone one, get 0). */
export function processEndNormalisedValues(scores: readonly number[]): number[] {
  checkScores(scores, 'processEndNormalisedValues');
  const K = scores.length;
  return scores.map((s) => s - scores[K - 1]);
}

/**
 * Ablation: group-mean baseline, value_k = s_k - b. The doc names it without defining b; ours
 * is the mean of ALL segment scores of the group's unmasked rollouts, pooled (each segment
 * weighs the same). Masked rollouts get zeros (as many as their scores).
 */
export function processGroupMeanValues(groupScores: readonly (readonly number[])[], masked?: readonly boolean[]): number[][] {
  if (masked !== undefined && masked.length !== groupScores.length) {
    throw new Error(`processGroupMeanValues: ${groupScores.length} rollouts but ${masked.length} mask flags`);
  }
  let sum = 0;
  let n = 0;
  groupScores.forEach((scores, i) => {
    checkScores(scores, 'processGroupMeanValues');
    if (masked?.[i]) return;
    for (const s of scores) sum += s;
    n += scores.length;
  });
  const b = n > 0 ? sum / n : 0;
  return groupScores.map((scores, i) => scores.map((s) => (masked?.[i] ? 0 : s - b)));
}

/** A response cut at the maximum length gets reward 0. */
export function cutReward(reward: number, cut: boolean): number {
  return cut ? 0 : reward;
}

/** In process mode a cut response has all its segment scores 0. */
export function cutSegmentScores(scores: readonly number[], cut: boolean): number[] {
  return cut ? scores.map(() => 0) : [...scores];
}

/**
 * Self-distillation per-token advantage A = logp_teacher - logp_student (the reverse KL to the
 * teacher written as -A · logp_student with no gradient through A).
 */
export function selfDistillAdvantages(logpTeacher: ArrayLike<number>, logpStudent: ArrayLike<number>): Float64Array {
  if (logpTeacher.length !== logpStudent.length) {
    throw new Error(`selfDistillAdvantages: ${logpTeacher.length} teacher log-probs but ${logpStudent.length} student log-probs`);
  }
  const a = new Float64Array(logpTeacher.length);
  for (let t = 0; t < a.length; t++) a[t] = logpTeacher[t] - logpStudent[t];
  return a;
}

/** Every token of segment k gets values[k]; tokens with segment -1 (no segments) get 0. */
export function segmentValuesToTokens(values: readonly number[], tokenSegment: ArrayLike<number>): Float64Array {
  const a = new Float64Array(tokenSegment.length);
  for (let t = 0; t < a.length; t++) {
    const k = tokenSegment[t];
    if (k < 0) continue;
    if (k >= values.length) throw new Error(`segmentValuesToTokens: token ${t} is in segment ${k}, only ${values.length} values`);
    a[t] = values[k];
  }
  return a;
}

export type ProcessValueMode = 'delta' | 'end-normalised' | 'group-mean';

/** One rollout as the advantage step sees it. */
export interface AdvantageInput {
  /** Response length in tokens. */
  nTokens: number;
  /** Cut at the maximum response length. */
  cut: boolean;
  /** Judge output unusable: no loss (ignored when `cut`, whose reward needs no judge). */
  masked: boolean;
  /** Scalar reward (outcome, sparse, stage2). */
  reward?: number;
  /** The sparse answer check (src/tasks/answers.ts); needed by the guard. */
  correct?: boolean;
  /** Normalised segment scores and each token's segment (process). */
  segmentScores?: readonly number[];
  tokenSegment?: ArrayLike<number>;
  /** Per-token log-probs (self-distill). */
  logpTeacher?: ArrayLike<number>;
  logpStudent?: ArrayLike<number>;
}

export interface AdvantageOutput {
  tokenAdvantages: Float64Array;
  /** false: leave every token of this rollout out of the loss and its token-mean. */
  lossMask: boolean;
}

export type AdvantageMethod = 'sparse-grpo' | 'exprl-outcome' | 'exprl-process' | 'self-distill' | 'stage2';

export interface AdvantageOptions {
  /** Process mode: the guard (see the header). Default off, the authors' rule. */
  guard?: boolean;
}

/** The guard on one response's segment values: positive values become 0 unless it is correct or has two segments. */
export function guardValues(values: readonly number[], correct: boolean): number[] {
  return correct || values.length >= 2 ? [...values] : values.map((v) => Math.min(v, 0));
}

/** Advantages for one prompt's group of rollouts under `method`. SFT has none. */
export function groupAdvantages(
  method: AdvantageMethod,
  group: readonly AdvantageInput[],
  processMode: ProcessValueMode = 'delta',
  opts: AdvantageOptions = {},
): AdvantageOutput[] {
  const masked = group.map((g) => g.masked && !g.cut);
  const need = <T>(v: T | undefined, what: string, i: number): T => {
    if (v === undefined) throw new Error(`groupAdvantages(${method}): rollout ${i} has no ${what}`);
    return v;
  };
  const fill = (a: number, n: number): Float64Array => new Float64Array(n).fill(a);
  switch (method) {
    case 'sparse-grpo':
    case 'exprl-outcome':
    case 'stage2': {
      const rewards = group.map((g, i) => (masked[i] ? 0 : cutReward(need(g.reward, 'reward', i), g.cut)));
      const { advantages } = method === 'stage2' ? stage2Advantages(rewards, masked) : grpoAdvantages(rewards, masked);
      return group.map((g, i) => ({ tokenAdvantages: fill(advantages[i], g.nTokens), lossMask: !masked[i] }));
    }
    case 'exprl-process': {
      const scores = group.map((g, i) => (masked[i] ? [] : cutSegmentScores(need(g.segmentScores, 'segmentScores', i), g.cut)));
      const raw =
        processMode === 'group-mean'
          ? processGroupMeanValues(scores, masked)
          : scores.map((s) => (processMode === 'delta' ? processDeltaValues(s) : processEndNormalisedValues(s)));
      const values = opts.guard ? raw.map((v, i) => (masked[i] ? v : guardValues(v, need(group[i].correct, 'correct (the guard needs it)', i)))) : raw;
      return group.map((g, i) => {
        if (masked[i]) return { tokenAdvantages: fill(0, g.nTokens), lossMask: false };
        const seg = need(g.tokenSegment, 'tokenSegment', i);
        if (seg.length !== g.nTokens) throw new Error(`groupAdvantages: rollout ${i} has ${seg.length} token segments for ${g.nTokens} tokens`);
        return { tokenAdvantages: segmentValuesToTokens(values[i], seg), lossMask: true };
      });
    }
    case 'self-distill':
      return group.map((g, i) => {
        if (masked[i]) return { tokenAdvantages: fill(0, g.nTokens), lossMask: false };
        const a = selfDistillAdvantages(need(g.logpTeacher, 'logpTeacher', i), need(g.logpStudent, 'logpStudent', i));
        if (a.length !== g.nTokens) throw new Error(`groupAdvantages: rollout ${i} has ${a.length} log-probs for ${g.nTokens} tokens`);
        return { tokenAdvantages: a, lossMask: true };
      });
    default: {
      const never: never = method;
      throw new Error(`groupAdvantages: unknown method ${String(never)}`);
    }
  }
}
