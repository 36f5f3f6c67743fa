/**
 * What each training method needs, in one table (method doc, "Rewards and advantages" and
 * "Loss"). Config validation, the run, rollout collection, the judge budget and the judge
 * builder read it here instead of deciding by method name each on their own.
 */
import type { Method, StageConfig, StageSplit } from './config';

/** What the judge is asked per rollout: one outcome score, one score per segment, or nothing. */
export type JudgeMode = 'outcome' | 'process' | 'none';

/**
 * How rewards become per-token advantages (src/rl/advantages.ts):
 * - grpo: A = (r − group mean) / (group std + 1e-6) on every token;
 * - delta: ExpRL-Process values s_k − s_(k−1) on the tokens of segment k;
 * - mean-baseline: A = r − group mean (Stage II);
 * - teacher: A = logp_teacher − logp_student per token (self-distillation);
 * - none: no advantages, cross-entropy on the reference (SFT).
 */
export type AdvantageRule = 'grpo' | 'delta' | 'mean-baseline' | 'teacher' | 'none';

export interface MethodTraits {
  judge: JudgeMode;
  /** The reward is the sparse answer check (1 correct, 0 otherwise). */
  sparseReward: boolean;
  /**
   * The frozen reference policy: "always" (self-distillation's teacher is that policy shown the
   * reference solution), "kl" (when the stage's klCoef > 0 puts a KL term in the loss) or
   * "never" (SFT's loss has no KL term).
   */
  reference: 'always' | 'kl' | 'never';
  advantage: AdvantageRule;
  /** epsHigh "auto": the paper's clip above. */
  epsHigh: number;
  /** The task split a stage of this method draws from by default. */
  split: StageSplit;
  /** Trains on the references as responses (cross-entropy), not on sampled rollouts. */
  trainsOnReferences: boolean;
}

export const METHOD_TRAITS: Readonly<Record<Method, Readonly<MethodTraits>>> = {
  'sparse-grpo': { judge: 'none', sparseReward: true, reference: 'kl', advantage: 'grpo', epsHigh: 0.26, split: 'mid', trainsOnReferences: false },
  'exprl-outcome': { judge: 'outcome', sparseReward: false, reference: 'kl', advantage: 'grpo', epsHigh: 0.28, split: 'mid', trainsOnReferences: false },
  'exprl-process': { judge: 'process', sparseReward: false, reference: 'kl', advantage: 'delta', epsHigh: 0.26, split: 'mid', trainsOnReferences: false },
  sft: { judge: 'none', sparseReward: false, reference: 'never', advantage: 'none', epsHigh: 0.26, split: 'mid', trainsOnReferences: true },
  'self-distill': { judge: 'none', sparseReward: false, reference: 'always', advantage: 'teacher', epsHigh: 0.26, split: 'mid', trainsOnReferences: false },
  stage2: { judge: 'none', sparseReward: true, reference: 'kl', advantage: 'mean-baseline', epsHigh: 0.26, split: 'rl', trainsOnReferences: false },
};

export function methodTraits(m: Method): Readonly<MethodTraits> {
  const t = METHOD_TRAITS[m];
  if (t === undefined) throw new Error(`unknown method ${JSON.stringify(m)}`);
  return t;
}

export function judgeMode(m: Method): JudgeMode {
  return methodTraits(m).judge;
}

/** The method's reward comes from a judge (ExpRL-Outcome, ExpRL-Process). */
export function needsJudge(m: Method): boolean {
  return judgeMode(m) !== 'none';
}

/** The stage needs the frozen reference policy: self-distillation always, any other RL method when klCoef > 0 (SFT has no KL term). */
export function needsReference(stage: Pick<StageConfig, 'method' | 'klCoef'>): boolean {
  const { reference } = methodTraits(stage.method);
  return reference === 'always' || (reference === 'kl' && stage.klCoef > 0);
}

/** The clip ratio above actually used: "auto" resolves by method. */
export function effectiveEpsHigh(stage: Pick<StageConfig, 'method' | 'epsHigh'>): number {
  return stage.epsHigh === 'auto' ? methodTraits(stage.method).epsHigh : stage.epsHigh;
}

/**
 * The method whose rule `collectRollouts` applies to a stage's samples: a judged or sparse method
 * itself; self-distillation collects as sparse GRPO (answers checked, no judge) and then the
 * teacher pass replaces the advantages; SFT samples nothing (null).
 */
export function collectMethod(m: Method): Exclude<Method, 'sft' | 'self-distill'> | null {
  const t = methodTraits(m);
  if (t.trainsOnReferences) return null;
  if (t.advantage === 'teacher') return 'sparse-grpo';
  return m as Exclude<Method, 'sft' | 'self-distill'>;
}

/** The methods rewarded by the sparse answer check, for messages and docs. */
export function sparseRewardMethods(): Method[] {
  return (Object.keys(METHOD_TRAITS) as Method[]).filter((m) => METHOD_TRAITS[m].sparseReward);
}

/** "0.28 for exprl-outcome, 0.26 for the others": the auto epsHigh values, for field docs. */
export function describeAutoEpsHigh(): string {
  const byValue = new Map<number, Method[]>();
  for (const [m, t] of Object.entries(METHOD_TRAITS) as [Method, MethodTraits][]) byValue.set(t.epsHigh, [...(byValue.get(t.epsHigh) ?? []), m]);
  const groups = [...byValue].sort((a, b) => a[1].length - b[1].length);
  return groups.map(([v, ms], i) => (i === groups.length - 1 && groups.length > 1 ? `${v} for the others` : `${v} for ${ms.join(', ')}`)).join(', ');
}
