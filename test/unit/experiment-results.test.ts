// What an experiment found (src/rl/experiment/results.ts), from synthetic run lines: evals and
// curves by stage, mean ± sd over seeds, paired differences and their standard errors, the
// reward that went to wrong rollouts, and the plot data.
import { describe, expect, it } from 'vitest';
import { ARMS, armConfig, resolvePlan } from '../../src/rl/experiment/plans';
import {
  buildResults,
  curvesByStage,
  evalsByStage,
  meanCurves,
  ordering,
  pairedDifference,
  passPoints,
  rewardSplitFromSteps,
  rewardSplits,
  spread,
  stageChanges,
  tCritical95,
  wrongRewardShare,
} from '../../src/rl/experiment/results';
import { META, pass1, syntheticRuns } from './experiment-fixture';

describe('experiment statistics', () => {
  it('gives the mean and the sample standard deviation, leaving nulls out', () => {
    const s = spread([1, 2, null, 3, 4, undefined]);
    expect(s.mean).toBe(2.5);
    expect(s.sd).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(s.n).toBe(4);
    expect(spread([0.3])).toEqual({ mean: 0.3, sd: null, n: 1 });
    expect(spread([null])).toEqual({ mean: null, sd: null, n: 0 });
  });

  it('pairs differences by seed: mean, standard error, and whether they exceed 1 and 2 SE', () => {
    const a = new Map([[1, 0.5], [2, 0.6], [3, 0.7]]);
    const b = new Map([[1, 0.1], [2, 0.3], [3, 0.2]]);
    const d = pairedDifference('I', 'pass@1', 'sparse-grpo', 'sft', a, b);
    expect(d.seeds).toEqual([1, 2, 3]);
    expect(d.mean).toBeCloseTo(0.4, 12);
    expect(d.se).toBeCloseTo(0.1 / Math.sqrt(3), 12);
    expect([d.exceeds1se, d.exceeds2se]).toEqual([true, true]);
    // t = 0.4 / 0.0577 = 6.9 > 4.303 (2 degrees of freedom).
    expect(d.t).toBeCloseTo(0.4 / (0.1 / Math.sqrt(3)), 9);
    expect(d.p05).toBe(true);
    expect(ordering(d)).toBe('sparse-grpo > sft');
    // Noisy: differences +0.2, -0.1, -0.05 → mean 0.0167, SE 0.093: no ordering.
    const n = pairedDifference('II', 'pass@1', 'base', 'sft', new Map([[1, 0.3], [2, 0.1], [3, 0.2]]), new Map([[1, 0.1], [2, 0.2], [3, 0.25]]));
    expect([n.exceeds1se, n.exceeds2se]).toEqual([false, false]);
    // Between 1 and 2 SE: differences 0.2, 0.3, 0 → mean 0.167, SE 0.088 (1.9 SE).
    const m = pairedDifference('II', 'pass@1', 'base', 'sft', new Map([[1, 0.2], [2, 0.3], [3, 0.0]]), new Map([[1, 0], [2, 0], [3, 0]]));
    expect(m.mean! / m.se!).toBeGreaterThan(1);
    expect(m.mean! / m.se!).toBeLessThan(2);
    expect([m.exceeds1se, m.exceeds2se, m.p05]).toEqual([true, false, false]);
    // Beyond 2 SE but short of t 4.303: differences 0.3, 0.1, 0.2 shifted to 0.35, 0.05, 0.2 → t 2.3.
    const w = pairedDifference('II', 'pass@1', 'base', 'sft', new Map([[1, 0.35], [2, 0.05], [3, 0.2]]), new Map([[1, 0], [2, 0], [3, 0]]));
    expect(w.t).toBeCloseTo(2.309, 3);
    expect([w.exceeds2se, w.p05]).toEqual([true, false]);
    // A seed missing on one side is left out; one seed has no standard error.
    const one = pairedDifference('I', 'pass@1', 'base', 'sft', new Map([[1, 0.5], [2, 0.4]]), new Map([[1, 0.2], [2, null]]));
    expect(one.seeds).toEqual([1]);
    expect([one.mean, one.se, one.exceeds1se, one.t, one.p05]).toEqual([0.5 - 0.2, null, false, null, false]);
    // Equal differences: SE 0, no t.
    const same = pairedDifference('I', 'pass@1', 'base', 'sft', new Map([[1, 0.5], [2, 0.75]]), new Map([[1, 0.25], [2, 0.5]]));
    expect([same.t, same.p05]).toEqual([null, false]);
  });

  it("gives Student's two-sided 5% critical values, the table to 30 degrees of freedom and close beyond", () => {
    expect([tCritical95(1), tCritical95(2), tCritical95(9), tCritical95(30)]).toEqual([12.706, 4.303, 2.262, 2.042]);
    // Tabled: 2.021 at 40, 2.000 at 60, 1.980 at 120.
    expect(tCritical95(40)).toBeCloseTo(2.021, 2);
    expect(tCritical95(60)).toBeCloseTo(2.0, 2);
    expect(tCritical95(120)).toBeCloseTo(1.98, 2);
    expect(tCritical95(31)).toBeLessThan(tCritical95(30));
    for (const bad of [0, -1, 2.5, NaN]) expect(() => tCritical95(bad)).toThrow(/degrees of freedom/);
  });

  it('splits reward between right and wrong rollouts exactly, leaving masked ones out', () => {
    const c = armConfig(resolvePlan('quick'), 'exprl-process', 1);
    const split = rewardSplits(c, [
      { stage: 1, reward: 0.5, correct: false, masked: false },
      { stage: 1, reward: 1, correct: true, masked: false },
      { stage: 1, reward: 0.5, correct: false, masked: false },
      { stage: 1, reward: 0.9, correct: false, masked: true },
      { stage: 2, reward: 1, correct: true, masked: false },
      { stage: 2, reward: 0, correct: false, masked: false },
    ]);
    expect(split.I).toEqual({ total: 2, wrong: 1, rollouts: 3, from: 'rollouts' });
    expect(wrongRewardShare(split.I)).toBe(0.5);
    expect(wrongRewardShare(split.II)).toBe(0);
    expect(wrongRewardShare({ total: 0, wrong: 0, rollouts: 4, from: 'rollouts' })).toBeNull();
    // From step lines: Σ reward_incorrect_mean·(1 − correct_frac) / Σ reward_mean.
    const steps = rewardSplitFromSteps([
      { reward_mean: 0.6, reward_incorrect_mean: 0.2, correct_frac: 0.5 },
      { reward_mean: 0.4, reward_incorrect_mean: 0.4, correct_frac: 0 },
      { reward_mean: null },
    ]);
    expect(steps).toMatchObject({ total: 1, from: 'metrics' });
    expect(wrongRewardShare(steps)).toBeCloseTo(0.5, 12);
  });

  it('reads evals and curves by stage: the base arm evaluates the base, then Stage II', () => {
    const runs = syntheticRuns();
    const base = runs.find((r) => r.id === 'base-s1')!;
    const evals = evalsByStage(base.config, base.metrics);
    expect(Object.keys(evals).sort()).toEqual(['II', 'base']);
    expect(evals.base!['pass@1']).toBe(pass1('base', 'base', 1));
    const sg = runs.find((r) => r.id === 'sparse-grpo-s2')!;
    expect(evalsByStage(sg.config, sg.metrics).I!['pass@1']).toBe(pass1('sparse-grpo', 'I', 2));
    const curves = curvesByStage(sg.config, sg.metrics);
    expect(curves.I!.map((p) => [p.step, p.global_step, p.kl])).toEqual([[1, 1, 0.01], [2, 2, 0.02]]);
    expect(curves.II!.map((p) => [p.step, p.global_step])).toEqual([[1, 3]]);
    expect(Object.keys(curves.I![0])).toEqual(['step', 'global_step', 'reward_mean', 'correct_frac', 'unlocked', 'entropy', 'kl', 'kl_base', 'len_mean', 'reward_correct_mean', 'reward_incorrect_mean', 'no_answer_frac']);
  });
});

describe('experiment results', () => {
  const plan = resolvePlan('quick');
  const results = buildResults(plan, syntheticRuns(plan), META);

  it('has every arm × seed with its evals and the metadata', () => {
    expect(results.runs).toHaveLength(ARMS.length * 2);
    for (const r of results.runs) {
      const stages = r.arm === 'base' ? ['II', 'base'] : ['I', 'II'];
      expect(Object.keys(r.eval).sort(), r.id).toEqual(stages);
      expect(r.config.seeds.data).toBe(r.seed);
    }
    expect(results).toMatchObject({ plan: 'quick', seeds: [1, 2], commit: 'abc123', package_version: '0.1.0', wall_s: 140, metrics: ['pass@1', 'pass@4', 'mean@n', 'sound@n'] });
    expect(results.learning_rates.stage2).toBe(plan.regime.lr.stage2);
    expect(results.base_evals['2']!['pass@1']).toBe(pass1('base', 'base', 2));
  });

  it('tables mean ± sd over seeds; the base arm\'s Stage I cells are the base evals', () => {
    const row = (arm: string) => results.table.find((r) => r.arm === arm)!;
    const sg = row('sparse-grpo').cells.I['pass@1'];
    expect(sg.mean).toBeCloseTo((pass1('sparse-grpo', 'I', 1) + pass1('sparse-grpo', 'I', 2)) / 2, 12);
    expect(sg.sd).toBeCloseTo(Math.SQRT1_2 * 0.01, 12);
    expect(row('base').cells.I['pass@1'].mean).toBeCloseTo((pass1('base', 'base', 1) + pass1('base', 'base', 2)) / 2, 12);
    expect(row('base').cells.II['pass@1'].mean).toBeCloseTo(pass1('base', 'II', 1) / 2 + pass1('base', 'II', 2) / 2, 12);
    expect(results.table.map((r) => r.arm)).toEqual([...ARMS]);
  });

  it('pairs every two arms at both stages for every metric', () => {
    expect(results.paired).toHaveLength(((ARMS.length * (ARMS.length - 1)) / 2) * 2 * 4);
    // exprl-process vs sparse-grpo: a constant difference of 0.2 in both seeds (SE 0) → beyond 2 SE.
    const d = results.paired.find((x) => x.stage === 'II' && x.metric === 'pass@1' && x.a === 'sparse-grpo' && x.b === 'exprl-process')!;
    expect(d.mean).toBeCloseTo(-0.2, 12);
    expect(d.se).toBeCloseTo(0, 12);
    expect(d.exceeds2se).toBe(true);
    expect(ordering(d)).toBe('exprl-process > sparse-grpo');
  });

  it('gives the share of reward to wrong rollouts per arm; SFT has none', () => {
    // The synthetic steps: reward_mean 0.5, reward_incorrect_mean 0.2, correct_frac 0.25 → 0.15 / 0.5.
    expect(results.wrong_reward_share['sparse-grpo'].I.mean).toBeCloseTo(0.3, 12);
    expect(results.wrong_reward_share.sft.I.mean).toBeNull();
    expect(results.runs.find((r) => r.id === 'sft-s1')!.reward_split.I).toBeUndefined();
  });

  it('leaves missing runs out of their cells and counts the seeds that remain', () => {
    const runs = syntheticRuns(plan).map((r) => (r.id === 'sft-s2' ? { ...r, status: 'missing' as const, metrics: [] } : r));
    const partial = buildResults(plan, runs, META);
    expect(partial.table.find((r) => r.arm === 'sft')!.cells.II['pass@1']).toMatchObject({ n: 1, sd: null });
    const d = partial.paired.find((x) => x.stage === 'I' && x.metric === 'pass@1' && x.a === 'base' && x.b === 'sft')!;
    expect(d.seeds).toEqual([1]);
  });

  it('averages curves over seeds on one step axis: Stage II follows Stage I for every arm', () => {
    const pts = meanCurves(results, ['reward_mean', 'kl']);
    const base = pts.filter((p) => p.arm === 'base' && p.metric === 'reward_mean');
    expect(base.map((p) => [p.stage, p.x, p.mean])).toEqual([['II', 3, 0.1]]);
    const sft = pts.filter((p) => p.arm === 'sft' && p.metric === 'reward_mean');
    expect(sft.map((p) => [p.stage, p.x])).toEqual([['II', 3]]);
    expect(pts.filter((p) => p.arm === 'sft' && p.metric === 'kl').map((p) => p.x)).toEqual([1, 2, 3]);
    const pp = passPoints(results, 'pass@1');
    expect(pp).toHaveLength(ARMS.length * 2);
    for (const p of pp) expect(p.low).toBeLessThanOrEqual(p.high);
  });
});

describe('learning on the training prompts', () => {
  const plan = resolvePlan('quick');
  const base = buildResults(plan, syntheticRuns(plan), META);
  /** The results with sparse GRPO's Stage I correct_frac replaced per seed. */
  const withCurves = (bySeed: Record<number, (number | null)[]>) => ({
    ...base,
    runs: base.runs.map((r) =>
      r.arm === 'sparse-grpo' && bySeed[r.seed] !== undefined
        ? { ...r, curves: { ...r.curves, I: bySeed[r.seed].map((v, i) => ({ ...r.curves.I![0], step: i + 1, global_step: i + 1, correct_frac: v })) } }
        : r,
    ),
  });

  it('compares the last window of a stage with its first, per seed, then over seeds; a short stage compares halves', () => {
    const r = withCurves({ 1: [0.1, 0.2, 0.5, 0.6], 2: [0.2, 0.2, 0.2, 0.1] });
    const c = stageChanges(r, 'correct_frac', 10).find((x) => x.arm === 'sparse-grpo' && x.stage === 'I')!;
    // Halves of 4 steps: seed 1 0.55 − 0.15 = +0.40, seed 2 0.15 − 0.20 = −0.05.
    expect(c.first.mean).toBeCloseTo(0.175, 12);
    expect(c.last.mean).toBeCloseTo(0.35, 12);
    expect(c.change.mean).toBeCloseTo(0.175, 12);
    expect(c.change.sd).toBeCloseTo(Math.sqrt(2 * 0.225 ** 2), 12);
    expect(c.rose).toBe(1);
    // A window of 1 step compares the first step with the last: +0.5 and −0.1.
    expect(stageChanges(r, 'correct_frac', 1).find((x) => x.arm === 'sparse-grpo' && x.stage === 'I')!.change.mean).toBeCloseTo(0.2, 12);
  });

  it('gives no change where a seed lacks the key in a window, the stage has no rollouts or one step', () => {
    const r = withCurves({ 1: [0.1, null, 0.5, 0.6], 2: [0.2, 0.2, 0.2, 0.1] });
    const c = stageChanges(r, 'correct_frac', 10).find((x) => x.arm === 'sparse-grpo' && x.stage === 'I')!;
    expect(c.change.n).toBe(1);
    expect(c.change.mean).toBeCloseTo(-0.05, 12);
    // SFT's Stage I steps have no rollouts, so no correct_frac and no row.
    expect(stageChanges(base, 'correct_frac', 10).some((x) => x.arm === 'sft' && x.stage === 'I')).toBe(false);
    // The fixture's Stage II has one step: nothing to compare it with.
    expect(stageChanges(base, 'correct_frac', 10).some((x) => x.stage === 'II')).toBe(false);
  });
});
