/**
 * Judge calls a run will make, for the estimate shown before a run and the optional cap. An
 * outcome judge makes one call per rollout; a process judge one per segment, so between one
 * and judge.maxSegments per rollout (a cut response is never judged). Methods without a judge
 * (src/rl/methods.ts) make none.
 */
import type { JudgeConfig, RunConfig, StageConfig } from './config';
import { judgeMode } from './methods';

/**
 * With no segment cap (judge.maxSegments null) a response has at most one segment per token: a
 * segment holds a delimiter and a character that is not blank, so only a token spanning a whole
 * step and the next delimiter could hold two. The bound ignores such tokens.
 */
export function judgeCallsPerRollout(stage: Pick<StageConfig, 'method' | 'maxResponseTokens'>, judge: Pick<JudgeConfig, 'maxSegments'>): { min: number; max: number } {
  switch (judgeMode(stage.method)) {
    case 'outcome':
      return { min: 0, max: 1 };
    case 'process':
      return { min: 0, max: judge.maxSegments ?? stage.maxResponseTokens };
    case 'none':
      return { min: 0, max: 0 };
  }
}

/** The most calls one step of `stage` can make. */
export function maxJudgeCallsPerStep(stage: StageConfig, judge: Pick<JudgeConfig, 'maxSegments'>): number {
  return stage.promptsPerStep * stage.rolloutsPerPrompt * judgeCallsPerRollout(stage, judge).max;
}

export interface StageJudgeEstimate {
  stage: number;
  method: string;
  rolloutsPerStep: number;
  /** Calls per step if every rollout is judged: outcome exactly this, process at least this many. */
  perStepAtLeast: number;
  perStepAtMost: number;
  totalAtMost: number;
}

/** Per stage, the judge calls a step makes if no response is cut, and the whole run's ceiling. */
export function judgeCallEstimate(config: RunConfig): { stages: StageJudgeEstimate[]; totalAtMost: number } {
  const stages = config.stages.map((s, i) => {
    const rollouts = s.promptsPerStep * s.rolloutsPerPrompt;
    const per = judgeCallsPerRollout(s, config.judge);
    return {
      stage: i + 1,
      method: s.method,
      rolloutsPerStep: rollouts,
      perStepAtLeast: per.max > 0 ? rollouts : 0,
      perStepAtMost: rollouts * per.max,
      totalAtMost: rollouts * per.max * s.steps,
    };
  });
  return { stages, totalAtMost: stages.reduce((a, s) => a + s.totalAtMost, 0) };
}

/** One line for a person: "stage 1 exprl-process: 64 to 640 judge calls per step, at most 128,000 in all". */
export function describeJudgeEstimate(config: RunConfig): string {
  const e = judgeCallEstimate(config);
  const parts = e.stages.map((s) =>
    s.perStepAtMost === 0
      ? `stage ${s.stage} ${s.method}: no judge calls`
      : s.perStepAtLeast === s.perStepAtMost
        ? `stage ${s.stage} ${s.method}: ${s.perStepAtMost} judge calls per step`
        : `stage ${s.stage} ${s.method}: ${s.perStepAtLeast} to ${s.perStepAtMost} judge calls per step (one per segment${config.judge.maxSegments === null ? ', no segment cap: at most one per response token' : ''})`,
  );
  const cap = config.judge.callCap === null ? 'no cap' : `cap ${config.judge.callCap}`;
  return `${parts.join('; ')}; at most ${e.totalAtMost} in all (${cap})`;
}
