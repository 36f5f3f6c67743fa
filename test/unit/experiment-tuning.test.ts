// The `tune` plan (src/rl/experiment/plans.ts) and what it reports (src/rl/experiment/tuning.ts,
// renderTuningReport): one stage per run at each rate of the grid, scored on the dev split; the
// rate chosen per arm. Synthetic run lines, no GPU.
import { describe, expect, it } from 'vitest';
import { armConfig, gridOf, LR_GRID, lrLabel, plannedRuns, resolvePlan, runId, TUNED_ARMS, type ArmId, type PlannedRun } from '../../src/rl/experiment/plans';
import { renderTuningReport } from '../../src/rl/experiment/report';
import type { RunData } from '../../src/rl/experiment/results';
import { buildTuning, chooseRate, TAIL_STEPS, type TuneRow } from '../../src/rl/experiment/tuning';
import { META } from './experiment-fixture';

const plan = resolvePlan('tune');

/** An arm's rates from the smallest (the grid lists them in the order its runs are made). */
const rates = (arm: ArmId | 'stage2'): number[] => [...(arm === 'stage2' ? LR_GRID.stage2 : gridOf(LR_GRID, arm))].sort((a, b) => a - b);
/** The rate whose runs score best below: the second smallest for every arm but sparse GRPO (its largest). */
const peakRate = (arm: ArmId | 'stage2'): number => (arm === 'sparse-grpo' ? rates(arm)[rates(arm).length - 1] : rates(arm)[1]);

/** Dev pass@1 of a run: peaks at peakRate, plus a seed term. */
function devPass1(arm: ArmId, lr: number, seed: number): number {
  return 0.3 - 0.1 * Math.abs(rates(arm).indexOf(lr) - rates(arm).indexOf(peakRate(arm))) + 0.01 * seed;
}

function syntheticTuneRuns(runs: readonly PlannedRun[], unfinished: string[] = []): (RunData & { lr: number })[] {
  return runs.map((r) => {
    const method = r.config.stages[0].method;
    const metrics: Record<string, unknown>[] = [];
    if (r.config.eval.before) metrics.push({ step: 0, stage: 0, method, eval: true, n: 16, 'pass@1': 0.05, 'pass@4': 0.15, 'pass@16': 0.3, 'mean@n': 0.05, 'sound@n': 0.01, prompts: 32 });
    for (let step = 1; step <= 8; step++) metrics.push({ step, stage: 1, method, reward_mean: step, kl_base: 0.01 * step, loss: 0.1 });
    const p1 = devPass1(r.arm, r.lr!, r.seed);
    if (!unfinished.includes(r.id)) metrics.push({ step: 8, stage: 1, method, eval: true, n: 16, 'pass@1': p1, 'pass@4': p1 * 2, 'pass@16': Math.min(1, p1 * 3), 'mean@n': p1, prompts: 32 });
    return { id: r.id, arm: r.arm, seed: r.seed, lr: r.lr!, config: r.config, status: unfinished.includes(r.id) ? 'partial' : 'finished', metrics, wallSeconds: 60 };
  });
}

describe('the tune plan', () => {
  it('runs each tuned arm at each rate of its grid: one stage, evaluated on dev, the base eval once per seed', () => {
    expect(plan.seeds).toEqual([1]);
    expect(plan.arms).toEqual([...TUNED_ARMS]);
    expect(plan.arms).not.toContain('exprl-process-unguarded');
    const runs = plannedRuns(plan);
    expect(runs).toHaveLength(TUNED_ARMS.reduce((a, arm) => a + gridOf(LR_GRID, arm).length, 0));
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
    expect(runs.filter((r) => r.config.eval.before).map((r) => r.id)).toEqual([runs[0].id]);
    for (const r of runs) {
      expect(r.config.stages).toHaveLength(1);
      expect(r.config.stages[0].lr).toBe(r.lr);
      expect(r.config.tasks.evalSplit).toBe('dev');
      expect(r.config.eval.stageEnds).toBe(true);
      expect(r.id).toBe(runId(r.arm, r.seed, r.lr));
      // Everything else is the replication's run of that arm (its first stage).
      const rep = armConfig(resolvePlan('replication'), r.arm, r.seed);
      expect({ ...r.config.stages[0], lr: 0 }).toEqual({ ...rep.stages[0], lr: 0 });
    }
    const base = runs.filter((r) => r.arm === 'base');
    expect(base.map((r) => r.config.stages[0].method)).toEqual(LR_GRID.stage2.map(() => 'stage2'));
    expect(base.map((r) => r.lr)).toEqual([...LR_GRID.stage2]);
    expect(runs.find((r) => r.arm === 'sft')!.id).toBe('sft-lr3e-4-s1');
  });

  it('names rates compactly and keeps the other plans as they were (no rate in their ids)', () => {
    expect([3e-4, 1e-3, 2.5e-4, 1e-4].map(lrLabel)).toEqual(['3e-4', '1e-3', '2.5e-4', '1e-4']);
    const q = plannedRuns(resolvePlan('quick'));
    expect(q.every((r) => r.lr === null && /^[a-z-]+-s\d+$/.test(r.id))).toBe(true);
    expect(resolvePlan('quick').lrGrid).toBeNull();
  });
});

describe('tuning results', () => {
  const row = (lr: number, mean: number | null): TuneRow => ({ arm: 'sft', lr, cells: { 'pass@1': { mean, sd: null, n: mean === null ? 0 : 1 } }, kl_base: { mean: null, sd: null, n: 0 }, reward_mean: { mean: null, sd: null, n: 0 }, finished: 1 });

  it('chooses the rate with the highest mean dev pass@1, the smaller one on a tie, none while a rate has no value', () => {
    expect(chooseRate([row(1e-3, 0.2), row(3e-4, 0.3), row(3e-3, 0.1)])).toBe(3e-4);
    expect(chooseRate([row(1e-3, 0.3), row(3e-4, 0.3)])).toBe(3e-4);
    expect(chooseRate([row(1e-3, 0.3), row(3e-4, null)])).toBeNull();
    expect(chooseRate([])).toBeNull();
  });

  it('tables every arm × rate from the run lines, with the base dev eval, the tail KL and the choice', () => {
    const t = buildTuning(plan, syntheticTuneRuns(plannedRuns(plan)), META);
    expect(t.rows).toHaveLength(plannedRuns(plan).length);
    expect(t.chosen).toEqual({ stage2: peakRate('stage2'), sft: peakRate('sft'), 'self-distill': peakRate('self-distill'), 'sparse-grpo': peakRate('sparse-grpo'), 'exprl-outcome': peakRate('exprl-outcome'), 'exprl-process': peakRate('exprl-process') });
    // Rows go by rate within an arm.
    expect(t.rows.filter((r) => r.arm === 'sft').map((r) => r.lr)).toEqual(rates('sft'));
    expect(t.base['pass@1'].mean).toBe(0.05);
    const r = t.rows.find((x) => x.arm === 'sft' && x.lr === peakRate('sft'))!;
    expect(r.cells['pass@1'].mean).toBeCloseTo(0.31, 12);
    // Mean of the last TAIL_STEPS steps' kl_base: steps 4..8 of 8.
    expect(r.kl_base.mean).toBeCloseTo((0.01 * (8 + 9 - TAIL_STEPS) * TAIL_STEPS) / 2 / TAIL_STEPS, 12);
    const md = renderTuningReport(t);
    expect(md).toContain('# Learning rates: `exprl experiment --plan tune` (1 seed)');
    expect(md).toContain('Base policy on dev: pass@1 0.050, pass@4 0.150, pass@16 0.300, sound@n 0.010.');
    expect(md).toContain(`| SFT on references | Stage I | ${lrLabel(peakRate('sft'))} | 0.310 |`);
    expect(md).toMatch(new RegExp(`\\| SFT on references \\| Stage I \\| ${lrLabel(peakRate('sft'))} \\| 0\\.310 \\|.*\\| \\*\\*yes\\*\\* \\|`));
    expect(md).toContain(`| Stage II (all arms) | ${lrLabel(peakRate('stage2'))} |`);
  });

  it('chooses nothing for an arm until every one of its rates finished', () => {
    const runs = plannedRuns(plan);
    const t = buildTuning(plan, syntheticTuneRuns(runs, [runId('sft', 1, LR_GRID.sft[2])]), META);
    expect(t.chosen.sft).toBeNull();
    expect(t.chosen['sparse-grpo']).toBe(peakRate('sparse-grpo'));
    const md = renderTuningReport(t);
    expect(md).toContain('| Stage I, sft | — (not every rate finished) |');
    // The largest rate of its grid won: the report says a larger one was not tried.
    expect(md).toContain(`| Stage I, sparse-grpo | ${lrLabel(peakRate('sparse-grpo'))} (edge of the grid: a rate beyond it was not tried) |`);
    expect(md).toContain(`| Stage II (all arms) | ${lrLabel(peakRate('stage2'))} |`);
  });
});
