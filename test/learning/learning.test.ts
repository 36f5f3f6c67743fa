// Learning, shown in numbers: from the shipped base policy, on one linear equation, a few
// policy-gradient steps of a method move what that method should move, over two seeds, by more
// than the seed spread; the controls (advantages with their sign flipped, lr 0) do not.
// - Sparse GRPO raises the share of correct samples.
// - Guarded ExpRL-Process raises the judge's reward while the correct share does not fall, the
//   share without an answer does not rise, and at most a quarter of the reward it gains goes to
//   wrong samples. The issue asked that wrong samples' mean reward not rise; under a process
//   reward it rises legitimately, because samples that get the first step right and then slip
//   earn that step (on 2x + 3 = 23: 0.014 -> 0.033 and 0.103 while the correct share rose 27% ->
//   69% and 55%). Gaming looks different: the rubric-gaming run this issue reports raised the
//   reward 0.03 -> 0.19 with nothing solved, all of the gain on wrong samples.
// Training is the run's own machinery (collectRollouts, PolicyTrainer); what is measured is a
// large batch of samples at a fixed sampling seed before and after (the same random numbers both
// times), judged by the same rubric, so the measure adds little noise of its own.
import { describe, expect, it } from 'vitest';
import { openPolicy } from '../../src/cli/policy-source';
import { RubricJudge } from '../../src/judge/rubric';
import { cloneParams, destroyParams } from '../../src/model/params';
import type { PolicySession } from '../../src/model/session';
import { PolicyTrainer, type PolicyStepSettings } from '../../src/rl/policy-step';
import { collectRollouts, toPolicyRollout, type RolloutRecord } from '../../src/rl/rollouts';
import { makeSplit } from '../../src/tasks/splits';
import type { TaskItem } from '../../src/tasks/types';
import { testGpu } from '../support/gpu-node';

type Method = 'sparse-grpo' | 'exprl-process';
const judge = new RubricJudge({ normalisation: 'linear' });
const G = 16;
const MEASURE_N = 64;
const MAX_TOKENS = 48;
/**
 * Steps of G rollouts and learning rate per method, as measured from the shipped base (1800 SFT
 * steps; both methods picked "3x + 6 = 21", base 50% correct, first line right in 56%):
 * - sparse GRPO, 4 steps at 3e-4: 98% and 98% correct on seeds 1 and 2; flipped 0%, lr 0 50%.
 * - ExpRL-Process, 8 steps at 1e-4: reward 0.52 -> 0.83 and 0.80, correct 83% and 80%, wrong
 *   samples' reward 0.05 -> 0; flipped, reward 0.
 * On the earlier (600-step) base GRPO learned "3x + 6 = 21" from 20% (83%, 72%) and ExpRL-Process
 * "2x + 3 = 23" from 27% (69%, 55%). There, lr 1e-3 collapsed one GRPO seed of two (Adam's first
 * steps move every weight by about lr whatever the gradient's size), and ExpRL-Process at 3e-4
 * collapsed a seed: a sample right by luck after a wrong first line gets the value s_1 - s_K = -1
 * on that whole line, correctly copied numbers included.
 */
const REGIME: Readonly<Record<Method, { steps: number; lr: number }>> = {
  'sparse-grpo': { steps: 4, lr: 3e-4 },
  'exprl-process': { steps: 8, lr: 1e-4 },
};

interface Measure {
  reward: number;
  correct: number;
  /** reward_incorrect_mean: the mean reward of wrong samples (logged, see the header). */
  rewardIncorrect: number;
  /** Reward per sample that went to wrong samples: rewardIncorrect × (1 − correct). */
  wrongReward: number;
  noAnswer: number;
  /** Share of samples whose first segment scores full marks (a first step right). */
  firstRight: number;
}

function collect(session: PolicySession, item: TaskItem, method: Method, n: number, seed: number): Promise<RolloutRecord[]> {
  return collectRollouts(session, [item], {
    rolloutsPerPrompt: n,
    temperature: 0.8,
    seed,
    maxTokens: MAX_TOKENS,
    method,
    judge: method === 'exprl-process' ? judge : undefined,
    view: 'segment',
    delimiter: '\n',
    maxSegments: 10,
    guard: true,
  });
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** The step metrics' quantities on MEASURE_N samples drawn at a fixed seed, judged as ExpRL-Process judges them. */
async function measure(session: PolicySession, item: TaskItem): Promise<Measure> {
  const rs = await collect(session, item, 'exprl-process', MEASURE_N, 0x5eed);
  return {
    reward: mean(rs.map((r) => r.reward ?? 0)),
    correct: mean(rs.map((r) => (r.correct ? 1 : 0))),
    rewardIncorrect: mean(rs.filter((r) => !r.correct).map((r) => r.reward ?? 0)),
    wrongReward: mean(rs.map((r) => (r.correct ? 0 : (r.reward ?? 0)))),
    noAnswer: mean(rs.map((r) => (r.answered ? 0 : 1))),
    firstRight: mean(rs.map((r) => (r.segments[0]?.score === 1 ? 1 : 0))),
  };
}

interface Arm {
  method: Method;
  seed: number;
  lr: number;
  /** The control that learns backwards. */
  flip?: boolean;
}

/** The policy-gradient steps of `arm`'s method (REGIME) on the item, then the measure. */
async function train(item: TaskItem, arm: Arm): Promise<Measure> {
  const gpu = await testGpu();
  const { session } = await openPolicy(gpu, 'builtin-base', 1);
  const reference = cloneParams(gpu, session.model);
  const trainer = new PolicyTrainer(gpu, session.model, { microBatch: G, seqLen: session.config.maxSeqLen, reference, base: reference });
  const settings: PolicyStepSettings = { temperature: 0.8, epsLow: 0.2, epsHigh: 0.26, dualClip: 3, klCoef: 0.001, entropyCoef: 0, lr: arm.lr, weightDecay: 0.01, maxNorm: 1 };
  try {
    for (let step = 0; step < REGIME[arm.method].steps; step++) {
      const records = await collect(session, item, arm.method, G, arm.seed * 1000 + step);
      const batch = records.map(toPolicyRollout).map((r) => (arm.flip ? { ...r, advantages: Array.from(r.advantages, (a) => -a) } : r));
      if (batch.some((r) => r.lossMask)) await trainer.step(batch, settings);
    }
    const m = await measure(session, item);
    console.log(`${arm.method} seed ${arm.seed} lr ${arm.lr}${arm.flip ? ' flipped' : ''}: ${JSON.stringify(m)}`);
    return m;
  } finally {
    trainer.destroy();
    destroyParams(reference);
    session.destroy();
  }
}

/**
 * What each method's item must offer: sparse GRPO needs correct samples to learn from; a process
 * reward needs first steps that are sometimes right, so that its values differ within a sample.
 */
const WANTED: Readonly<Record<Method, { what: string; ok: (m: Measure) => boolean }>> = {
  'sparse-grpo': { what: 'solved in 10%..60% of samples', ok: (m) => m.correct >= 0.1 && m.correct <= 0.6 },
  'exprl-process': { what: 'solved in 10%..60% of samples, its first step right in at least 20%', ok: (m) => m.correct >= 0.1 && m.correct <= 0.6 && m.firstRight >= 0.2 },
};

/** The base's measure of the first dev-split linear equations (difficulty 1), measured once each. */
const baseMeasures: { item: TaskItem; base: Promise<Measure> }[] = [];

/** The first of those items that offers what `method` needs (WANTED), by MEASURE_N samples of the base. */
async function pickItem(method: Method): Promise<{ item: TaskItem; base: Measure }> {
  const items = makeSplit({ split: 'dev', count: 24, seed: 1, families: ['linear-equation'], difficulties: [1] });
  const gpu = await testGpu();
  let session: PolicySession | null = null;
  try {
    for (const [i, item] of items.entries()) {
      if (baseMeasures[i] === undefined) {
        session ??= (await openPolicy(gpu, 'builtin-base', 1)).session;
        const s = session;
        baseMeasures[i] = { item, base: measure(s, item) };
        console.log(`base on ${JSON.stringify(item.question)}: ${JSON.stringify(await baseMeasures[i].base)}`);
      }
      const base = await baseMeasures[i].base;
      if (WANTED[method].ok(base)) return { item, base };
    }
  } finally {
    session?.destroy();
  }
  throw new Error(`no dev item ${WANTED[method].what} by the base (${method})`);
}

type Result = { base: Measure; after: Measure[] };

/** Every seed moved `key` up by more than `margin`, and the mean gain exceeds the spread (max − min) between seeds. */
function raised(r: Result, key: keyof Measure, margin: number): boolean {
  const d = r.after.map((m) => m[key] - r.base[key]);
  return d.every((x) => x > margin) && mean(d) > Math.max(...d) - Math.min(...d);
}

/** No seed moved `key` the wrong way (`sign` -1: down, +1: up) by more than `tolerance`. */
function held(r: Result, key: keyof Measure, sign: -1 | 1, tolerance = 0.02): boolean {
  return r.after.every((m) => sign * (m[key] - r.base[key]) <= tolerance);
}

/**
 * What guarded ExpRL-Process must show: reward up; the correct share not down; the share without
 * an answer not up; and in every seed at most a quarter of the reward gained went to wrong samples.
 */
function processLearned(r: Result): boolean {
  const mostlyEarned = r.after.every((m) => m.wrongReward - r.base.wrongReward <= 0.25 * (m.reward - r.base.reward));
  return raised(r, 'reward', 0.1) && held(r, 'correct', -1) && held(r, 'noAnswer', 1) && mostlyEarned;
}

describe('learning from the shipped base (two seeds, controls)', () => {
  const picked = new Map<Method, Promise<{ item: TaskItem; base: Measure }>>();
  const item = (method: Method): Promise<{ item: TaskItem; base: Measure }> => {
    if (!picked.has(method)) picked.set(method, pickItem(method));
    return picked.get(method)!;
  };
  const gains = async (method: Method, lr: number, seeds: number[], flip = false): Promise<Result> => {
    const { item: it, base } = await item(method);
    const after: Measure[] = [];
    for (const seed of seeds) after.push(await train(it, { method, seed, lr, flip }));
    return { base, after };
  };

  it('sparse GRPO raises correct_frac; flipped advantages and lr 0 do not', async () => {
    const { lr } = REGIME['sparse-grpo'];
    const grpo = await gains('sparse-grpo', lr, [1, 2]);
    const flipped = await gains('sparse-grpo', lr, [1], true); // one seed is enough to fail
    const still = await gains('sparse-grpo', 0, [1]); // lr 0 leaves the policy as it was: one seed shows it
    console.log('sparse-grpo', JSON.stringify({ grpo, flipped: flipped.after, still: still.after }));
    expect(raised(grpo, 'correct', 0.05)).toBe(true);
    expect(raised(flipped, 'correct', 0.05)).toBe(false);
    expect(raised(still, 'correct', 0.05)).toBe(false);
  });

  it('guarded ExpRL-Process raises the judge reward, not by paying wrong or unanswered samples; flipped advantages and lr 0 do not', async () => {
    const { lr } = REGIME['exprl-process'];
    const proc = await gains('exprl-process', lr, [1, 2]);
    const flipped = await gains('exprl-process', lr, [1], true); // one seed is enough to fail
    const still = await gains('exprl-process', 0, [1]);
    console.log('exprl-process', JSON.stringify({ proc, flipped: flipped.after, still: still.after }));
    expect(processLearned(proc)).toBe(true);
    expect(processLearned(flipped)).toBe(false);
    expect(processLearned(still)).toBe(false);
  });
});
