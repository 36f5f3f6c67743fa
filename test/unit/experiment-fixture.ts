// Synthetic run folders of the quick plan for the experiment's pure tests: step lines and eval
// lines whose numbers are known functions of arm and seed.
import { ARMS, plannedRuns, resolvePlan, type ArmId, type ExperimentPlan } from '../../src/rl/experiment/plans';
import type { RunData } from '../../src/rl/experiment/results';

/** pass@1 of an arm after a stage for a seed: the arm's rank / 10 plus a small seed term. */
export function pass1(arm: ArmId, stage: 'base' | 'I' | 'II', seed: number): number {
  if (stage === 'base') return 0.05 + seed * 0.01;
  return ARMS.indexOf(arm) / 10 + (stage === 'II' ? 0.05 : 0) + seed * 0.01;
}

function evalLine(step: number, stage: number, method: string, p1: number): Record<string, unknown> {
  return { step, stage, method, eval: true, n: 4, 'pass@1': p1, 'pass@4': Math.min(1, p1 * 2), 'mean@n': p1, 'sound@n': p1 / 2, prompts: 2, behaviours: {} };
}

function stepLine(step: number, stage: number, method: string, reward: number | null): Record<string, unknown> {
  return {
    step,
    stage,
    method,
    reward_mean: reward,
    correct_frac: reward === null ? null : 0.25,
    unlocked: step,
    entropy: 1,
    kl: 0.01 * step,
    kl_base: 0.02 * step,
    len_mean: 20,
    reward_correct_mean: reward === null ? null : 1,
    reward_incorrect_mean: reward === null ? null : 0.2,
    no_answer_frac: 0.5,
    loss: 0.1,
  };
}

/** The quick plan's runs with synthetic lines (Stage I: 2 steps, Stage II: 1 step). */
export function syntheticRuns(plan: ExperimentPlan = resolvePlan('quick')): RunData[] {
  return plannedRuns(plan).map((r) => {
    const metrics: Record<string, unknown>[] = [];
    if (r.arm === 'base') {
      metrics.push(evalLine(0, 0, 'stage2', pass1('base', 'base', r.seed)));
      metrics.push(stepLine(1, 1, 'stage2', 0.1));
      metrics.push(evalLine(1, 1, 'stage2', pass1('base', 'II', r.seed)));
    } else {
      const m = r.config.stages[0].method;
      const reward = m === 'sft' ? null : 0.5;
      metrics.push(stepLine(1, 1, m, reward), stepLine(2, 1, m, reward));
      metrics.push(evalLine(2, 1, m, pass1(r.arm, 'I', r.seed)));
      metrics.push(stepLine(3, 2, 'stage2', 0.2));
      metrics.push(evalLine(3, 2, 'stage2', pass1(r.arm, 'II', r.seed)));
    }
    return { id: r.id, arm: r.arm, seed: r.seed, config: r.config, status: 'finished', metrics, wallSeconds: 10 };
  });
}

export const META = { commit: 'abc123', version: '0.1.0', adapters: ['SwiftShader (software) via swiftshader'], wallSeconds: 140, generatedAt: '2026-12-07T00:00:00.000Z' };
