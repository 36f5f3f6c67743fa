// The plans of `exprl experiment` (src/rl/experiment/plans.ts): arms × seeds, the run config of
// each, equal compute, one fixed test set, and the ETA clock.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/rl/config';
import {
  ARMS,
  armConfig,
  firstDifference,
  heldEqual,
  LEARNING_RATES,
  planIdentity,
  plannedRuns,
  REGIME,
  resolvePlan,
  runSteps,
  stageLabel,
  type ExperimentPlan,
} from '../../src/rl/experiment/plans';
import { ExperimentClock, shortDuration } from '../../src/rl/experiment/progress';
import { stagePool, stageSalt } from '../../src/rl/stage-data';

const evalIds = (plan: ExperimentPlan, seed: number): string[] => {
  const c = armConfig(plan, 'sparse-grpo', seed);
  return stagePool(c.tasks, c.tasks.evalSplit, c.tasks.evalPrompts, c.tasks.evalSeed ?? c.seeds.data, 0).map((x) => x.id);
};

describe('experiment plans', () => {
  it('resolves a plan: its seeds, --seeds, an arm subset in the canonical order', () => {
    const q = resolvePlan('quick');
    expect(q.seeds).toEqual([1, 2]);
    expect(q.arms).toEqual([...ARMS]);
    expect(resolvePlan('replication').seeds).toEqual([1, 2, 3]);
    expect(resolvePlan('replication', { seeds: 5 }).seeds).toEqual([1, 2, 3, 4, 5]);
    expect(resolvePlan('quick', { arms: ['sft', 'base'] }).arms).toEqual(['base', 'sft']);
    expect(() => resolvePlan('quick', { arms: ['ppo'] })).toThrow(/unknown arm "ppo"/);
    expect(() => resolvePlan('quick', { seeds: 0 })).toThrow(/positive integer/);
    expect(() => resolvePlan('huge' as never)).toThrow(/unknown plan "huge"/);
  });

  it('orders runs seed by seed, the base arm first in each seed', () => {
    const runs = plannedRuns(resolvePlan('quick'));
    expect(runs.map((r) => r.id)).toEqual([1, 2].flatMap((s) => ARMS.map((a) => `${a}-s${s}`)));
    expect(runs.filter((r) => r.arm === 'base').map((r) => runs.indexOf(r))).toEqual([0, ARMS.length]);
  });

  it('gives every arm the base policy, the rubric judge, its Stage I and the same Stage II', () => {
    const plan = resolvePlan('replication');
    const runs = plannedRuns(plan);
    for (const r of runs) {
      expect(validateConfig(r.config)).toBe(r.config);
      expect(r.config.policy).toBe('builtin-base');
      expect(r.config.judge.kind).toBe('rubric');
      expect(r.config.seeds).toEqual({ init: r.seed, data: r.seed, sampling: r.seed });
      expect(r.config.stages.map((s) => s.method)).toEqual(r.arm === 'base' ? ['stage2'] : [r.arm === 'exprl-process-unguarded' ? 'exprl-process' : r.arm, 'stage2']);
    }
    const stageII = runs.map((r) => r.config.stages[r.config.stages.length - 1]);
    for (const s of stageII) expect(s).toEqual(stageII[0]);
    expect(stageII[0]).toMatchObject({ split: 'rl', steps: 40, promptsPerStep: 2, rolloutsPerPrompt: 16, lr: LEARNING_RATES.stage2, klCoef: 0 });
    expect(armConfig(plan, 'exprl-process', 1).judge.guard).toBe(true);
    expect(armConfig(plan, 'exprl-process-unguarded', 1).judge.guard).toBe(false);
    expect(firstDifference(armConfig(plan, 'exprl-process', 1), armConfig(plan, 'exprl-process-unguarded', 1))).toBe('judge.guard');
  });

  it('holds Stage I compute equal: RL arms share steps, prompts and rollouts; SFT takes that many references per step', () => {
    const plan = resolvePlan('replication');
    const rl = (['self-distill', 'sparse-grpo', 'exprl-outcome', 'exprl-process', 'exprl-process-unguarded'] as const).map((a) => armConfig(plan, a, 1).stages[0]);
    for (const s of rl) expect([s.steps, s.promptsPerStep, s.rolloutsPerPrompt, s.maxResponseTokens, s.klCoef, s.split]).toEqual([40, 2, 16, 64, 0.001, 'mid']);
    const sft = armConfig(plan, 'sft', 1).stages[0];
    expect([sft.steps, sft.promptsPerStep, sft.klCoef]).toEqual([40, 32, 0]);
    for (const a of ['sft', 'self-distill', 'sparse-grpo', 'exprl-outcome', 'exprl-process'] as const) expect(armConfig(plan, a, 1).stages[0].lr).toBe(LEARNING_RATES[a]);
    // SFT trains on the references of the very prompts the RL arms see.
    const pool = (a: 'sft' | 'sparse-grpo') => {
      const c = armConfig(plan, a, 2);
      const s = c.stages[0];
      return stagePool(c.tasks, s.split, s.poolSize ?? s.steps * s.promptsPerStep, c.seeds.data, 1).map((x) => x.id);
    };
    expect(pool('sft')).toEqual(pool('sparse-grpo'));
    const h = heldEqual(plan);
    expect(h.stageI).toMatchObject({ steps: 40, promptsPerStep: 2, rolloutsPerPrompt: 16, samplesPerStep: 32, sftExamplesPerStep: 32, distinctPrompts: 80 });
    expect(h.learningRates).toEqual({ ...LEARNING_RATES });
    expect(h.eval).toMatchObject({ split: 'test', prompts: 32, n: 16, k: [1, 4, 16] });
  });

  it('evaluates on the test split after each stage; only the base arm evaluates before', () => {
    const plan = resolvePlan('quick');
    for (const r of plannedRuns(plan)) {
      expect(r.config.tasks.evalSplit).toBe('test');
      expect(r.config.tasks.evalSeed).toBe(REGIME.evalSeed);
      expect(r.config.eval).toMatchObject({ before: r.arm === 'base', stageEnds: true, everySteps: 0 });
    }
  });

  it('keeps one test set across seeds while the training prompts vary by seed', () => {
    for (const name of ['quick', 'replication'] as const) {
      const plan = resolvePlan(name);
      expect(evalIds(plan, 2)).toEqual(evalIds(plan, 1));
      expect(new Set(evalIds(plan, 1)).size).toBe(plan.regime.eval.prompts);
    }
    const plan = resolvePlan('replication');
    const c1 = armConfig(plan, 'sparse-grpo', 1);
    const c2 = armConfig(plan, 'sparse-grpo', 2);
    const pool = (c: typeof c1) => stagePool(c.tasks, 'mid', c.stages[0].steps * c.stages[0].promptsPerStep, c.seeds.data, 1).map((x) => x.id);
    expect(pool(c1)).not.toEqual(pool(c2));
  });

  it("gives every arm's Stage II the same prompts and sampling salt, the base arm's (Stage II alone) included", () => {
    const plan = resolvePlan('replication');
    const stageII = (arm: (typeof ARMS)[number]) => {
      const c = armConfig(plan, arm, 2);
      const no = c.stages.length;
      const s = c.stages[no - 1];
      const salt = stageSalt(c.stages.map((x) => x.method), no);
      return { salt, pool: stagePool(c.tasks, s.split, s.poolSize ?? s.steps * s.promptsPerStep, c.seeds.data, salt).map((x) => x.id) };
    };
    const base = stageII('base');
    expect(armConfig(plan, 'base', 2).stages).toHaveLength(1);
    for (const arm of ARMS) expect(stageII(arm), arm).toEqual(base);
  });

  it('can draw every prompt pool the replication asks for (the question space of its regime is large enough)', () => {
    const plan = resolvePlan('replication');
    for (const arm of ARMS) {
      const c = armConfig(plan, arm, 3);
      c.stages.forEach((s, i) => {
        const pool = stagePool(c.tasks, s.split, s.poolSize ?? s.steps * s.promptsPerStep, c.seeds.data, stageSalt(c.stages.map((x) => x.method), i + 1));
        expect(pool.length, `${arm} stage ${i + 1}`).toBeGreaterThan(0);
      });
    }
  });

  it('sizes the plans: replication at least 40 + 40 steps, 3 seeds, 32 × 16 test samples; quick tiny', () => {
    const r = resolvePlan('replication').regime;
    expect(r.stageISteps).toBeGreaterThanOrEqual(40);
    expect(r.stageIISteps).toBeGreaterThanOrEqual(40);
    expect(r.eval.prompts).toBeGreaterThanOrEqual(32);
    expect(r.eval.n).toBeGreaterThanOrEqual(16);
    expect(r.eval.k).toEqual([1, 4, 16]);
    const q = resolvePlan('quick');
    expect(q.regime).toMatchObject({ stageISteps: 2, stageIISteps: 1, promptsPerStep: 2, rolloutsPerPrompt: 4, maxResponseTokens: 24, eval: { prompts: 2, n: 4, k: [1, 4] } });
    expect(plannedRuns(q)).toHaveLength(14);
    expect(runSteps(armConfig(q, 'base', 1))).toBe(1);
    expect(runSteps(armConfig(q, 'sft', 1))).toBe(3);
  });

  it('labels a run\'s stages: 0 is the base, stage2 is Stage II, the rest Stage I', () => {
    const plan = resolvePlan('quick');
    const base = armConfig(plan, 'base', 1);
    const sft = armConfig(plan, 'sft', 1);
    expect([0, 1].map((s) => stageLabel(base, s))).toEqual(['base', 'II']);
    expect([0, 1, 2].map((s) => stageLabel(sft, s))).toEqual(['base', 'I', 'II']);
    expect(() => stageLabel(sft, 3)).toThrow(/no stage 3/);
  });

  it('identifies a plan by its name and regime, not its seeds or arms', () => {
    expect(planIdentity(resolvePlan('quick', { seeds: 3, arms: ['base'] }))).toEqual(planIdentity(resolvePlan('quick')));
    expect(firstDifference(planIdentity(resolvePlan('quick')), planIdentity(resolvePlan('replication')))).toBe('plan');
  });

  it('finds the first difference between JSON values, keys in any order', () => {
    expect(firstDifference({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBeNull();
    expect(firstDifference({ a: { x: 1 } }, { a: { x: 2 } })).toBe('a.x');
    expect(firstDifference({ s: [1, 2] }, { s: [1] })).toBe('s[1]');
    expect(firstDifference({ a: 1 }, { a: 1, b: null })).toBe('b');
    expect(firstDifference(1, 2)).toBe('(top)');
  });
});

describe('experiment ETA', () => {
  it('multiplies the steps left by the mean step time of this session', () => {
    const c = new ExperimentClock(100, 40, 1000);
    expect(c.eta(1010)).toBeNull();
    c.step('a/1/1');
    c.step('a/1/2');
    // A step made again after a device loss (the run resumes from its last checkpoint) counts once.
    c.step('a/1/2');
    expect(c.done).toBe(42);
    expect(c.secondsPerStep(1010)).toBe(5);
    expect(c.eta(1010)).toBe(5 * 58);
  });

  it('writes short durations', () => {
    expect([shortDuration(12.4), shortDuration(245), shortDuration(3720), shortDuration(null)]).toEqual(['12s', '4m05s', '1h02m', '?']);
  });
});
