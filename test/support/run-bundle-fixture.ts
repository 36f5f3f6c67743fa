/**
 * A small run, made up, as a bundle's parts (src/worker/run-bundle.ts) for the bundle tests: the
 * tiny preset's config, step and eval lines, rollouts on two made-up prompts, and a state with
 * small weights and optimizer moments (so it can be continued). `text` is put in front of every
 * rollout text, segment and question (the e2e test puts markup there).
 */
import { preset, type RunConfig } from '../../src/rl/config';
import { RUN_STATE_FORMAT, RUN_STATE_VERSION, type RunStateJson } from '../../src/rl/run-state';
import { checkpointName, stateFileText, weightsFile } from '../../src/rl/run-state-files';
import type { TaskItem } from '../../src/tasks/types';
import type { RolloutLine } from '../../src/worker/replay-file';
import type { BundleInput } from '../../src/worker/run-bundle';

export const FIXTURE_STEPS = 3;

export function fixtureConfig(): RunConfig {
  return preset('tiny');
}

export function fixtureRun(options: { text?: string; withState?: boolean; title?: string } = {}): BundleInput {
  const pre = options.text ?? '';
  const config = fixtureConfig();
  const prompts: TaskItem[] = [1, 2].map((i) => ({
    id: `made-up-${i}`,
    family: 'arith-chain',
    question: `${pre}What is ${i} + ${i}?`,
    reference: `${i} + ${i} = ${2 * i}`,
    steps: [`${i} + ${i} = ${2 * i}`],
    checkpoints: [String(2 * i)],
    answer: String(2 * i),
    difficulty: 1,
  }));
  const metrics: Record<string, unknown>[] = [{ step: 0, stage: 0, method: 'exprl-process', eval: true, n: 2, 'pass@1': 0.25, 'mean@n': 0.25, prompts: 2, behaviours: {} }];
  const rollouts: RolloutLine[] = [];
  for (let step = 1; step <= FIXTURE_STEPS; step++) {
    metrics.push({ step, stage: 1, method: 'exprl-process', reward_mean: 0.1 * step, correct_frac: 0.05 * step, unlocked: step / 10, entropy: 1.5 - 0.1 * step, kl: 0.001 * step, len_mean: 10 + step, loss: 0.5, judge_calls: 4, step_s: 0.2 });
    for (const p of prompts) {
      for (let k = 0; k < 2; k++) {
        rollouts.push({
          stage: 1,
          step,
          method: 'exprl-process',
          prompt_id: p.id,
          text: `${pre}answer ${step}.${k}\nAnswer: ${p.answer}`,
          segments: [{ text: `${pre}answer ${step}.${k}`, score: 0.5, advantage: 0.1 * k }],
          reward: 0.5,
          correct: k === 0,
          cut: false,
          masked: false,
        });
      }
    }
  }
  metrics.push({ step: FIXTURE_STEPS, stage: 1, method: 'exprl-process', eval: true, n: 2, 'pass@1': 0.5, 'mean@n': 0.5, prompts: 2, behaviours: {} });
  const state: Record<string, Uint8Array> = {};
  if (options.withState !== false) {
    const folder = `state/${checkpointName(FIXTURE_STEPS)}`;
    const st: RunStateJson = {
      format: RUN_STATE_FORMAT,
      version: RUN_STATE_VERSION,
      cursor: { stage: 1, step: FIXTURE_STEPS, globalStep: FIXTURE_STEPS, baseEval: true, finished: false },
      judgeCalls: 4 * FIXTURE_STEPS,
      unlocked: ['made-up-1'],
      evals: [],
      lines: { metrics: metrics.length, rollouts: rollouts.length },
      optimizerStep: FIXTURE_STEPS,
      base: { kind: 'policy' },
      reference: { kind: 'base' },
    };
    const w = (seed: number): Float32Array[] => [Float32Array.from({ length: 8 }, (_, i) => Math.sin(seed + i)), Float32Array.from({ length: 3 }, (_, i) => seed * i)];
    state['state.json'] = new TextEncoder().encode(stateFileText(folder, st));
    state[`${folder}/policy.safetensors`] = weightsFile({ flat: w(1) });
    state[`${folder}/optimizer.safetensors`] = weightsFile({ m: w(2), v: w(3) });
  }
  return { title: options.title ?? 'made-up run', source: 'cli', config, metrics, rollouts, prompts, state, created: '2026-01-01T00:00:00.000Z' };
}
