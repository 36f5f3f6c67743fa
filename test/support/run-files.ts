/**
 * A small run for `exprl train` tests that stop and resume it, and how such tests compare run
 * folders: metrics.jsonl and rollouts.jsonl line by line with the timing keys dropped (Node only).
 */
import { expect } from 'vitest';
import { TIMING_KEYS } from '../../src/rl/metrics';

/**
 * A fresh built-in policy, 2 Stage 0 steps, 3 Stage I steps (exprl-process, rubric judge), 1
 * Stage II step, an evaluation before, every 2 steps and at the end, and a checkpoint after every
 * step: ~30 s alone on SwiftShader. Its checkpoints, in the order a run from scratch saves them:
 *   1, 2: Stage 0 steps 1, 2          3: after the base eval (Stage I, step 0)
 *   4, 5: Stage I steps 1, 2          6: after the eval at step 2
 *   7: Stage I step 3 (stage end)     8: Stage II step 1    9: after the eval at step 4
 *   10: finished
 */
export const SMALL_RUN_CONFIG = {
  policy: 'builtin',
  pretrain: { steps: 2, examplesPerStep: 2 },
  stages: [
    // An entropy bonus makes every update move the weights, so a lost optimizer state shows.
    { method: 'exprl-process', split: 'mid', steps: 3, promptsPerStep: 1, rolloutsPerPrompt: 2, maxResponseTokens: 16, entropyCoef: 1e-3 },
    {
      method: 'stage2', split: 'rl', steps: 1, promptsPerStep: 1, rolloutsPerPrompt: 2, miniBatches: 1, epochs: 1, lr: 3e-4, weightDecay: 0.01,
      gradClip: 0.3, temperature: 0.8, topK: 0, topP: 1, maxResponseTokens: 16, epsLow: 0.2, epsHigh: 'auto', dualClip: 3, klCoef: 0,
      entropyCoef: 1e-4, lossAggregation: 'token-mean', cutCorrectReward: false,
    },
  ],
  tasks: { evalPrompts: 1 },
  eval: { n: 2, k: [1, 2], maxResponseTokens: 16, everySteps: 2 },
  checkpointEvery: 1,
};

/** The JSONL file's lines, timing keys dropped, as canonical JSON. */
export async function untimedLines(file: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(file, 'utf8');
  expect(text.endsWith('\n'), `${file} ends with a newline`).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      for (const k of TIMING_KEYS) delete o[k];
      return JSON.stringify(o);
    });
}

/** Expects run folder `out` to hold what the uninterrupted run in `ref` wrote: the same lines (timings aside) and final weights, byte for byte. */
export async function expectSameRun(out: string, ref: string): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  for (const f of ['metrics.jsonl', 'rollouts.jsonl']) expect(await untimedLines(`${out}/${f}`), f).toEqual(await untimedLines(`${ref}/${f}`));
  const a = await readFile(`${out}/checkpoint/model.safetensors`);
  const b = await readFile(`${ref}/checkpoint/model.safetensors`);
  expect(a.equals(b), "checkpoint/model.safetensors equals the reference run's, byte for byte").toBe(true);
}
