/**
 * What the `tune` plan found: per arm and learning rate, the dev-split evaluation after its one
 * stage (mean ± sd over seeds), the KL to the base policy and the reward at the stage's end, and
 * the rate each arm is given: the one with the highest mean dev pass@1 (the smaller rate on a
 * tie). Pure (no GPU, no files), like results.ts; the CLI hands the run folders' lines in.
 */
import type { EvalLine } from '../evaluate';
import { gridOf, stageLabel, type ArmId, type ExperimentPlan, type LearningRateGrid, type Regime } from './plans';
import { isEvalLine, num, passKeys, SOUND_KEY, spread, type Meta, type RunData, type Spread } from './results';

/** The dev-split metric the choice maximises. */
export const TUNE_METRIC = 'pass@1';

/** How many of a stage's last step lines the end-of-stage KL and reward average over. */
export const TAIL_STEPS = 5;

export interface TuneRow {
  arm: ArmId;
  lr: number;
  /** Dev pass@k and mean@n after the stage, over seeds. */
  cells: Record<string, Spread>;
  /** Mean over the stage's last TAIL_STEPS steps, then over seeds. */
  kl_base: Spread;
  reward_mean: Spread;
  /** Seeds whose run finished. */
  finished: number;
}

export interface TuneRunRecord {
  id: string;
  arm: ArmId;
  lr: number;
  seed: number;
  status: RunData['status'];
  wall_s: number | null;
  eval: EvalLine | null;
}

export interface TuningResults {
  format: 'exprl-tuning-results';
  version: 1;
  plan: 'tune';
  seeds: number[];
  arms: ArmId[];
  regime: Regime;
  grid: LearningRateGrid;
  metric: string;
  metrics: string[];
  /** The base policy's dev evaluation, over seeds (the first run of each seed makes it). */
  base: Record<string, Spread>;
  rows: TuneRow[];
  /** The chosen rate per arm ("stage2" for the base arm's Stage II); null until every rate of the arm finished. */
  chosen: Record<string, number | null>;
  commit: string | null;
  package_version: string;
  adapters: string[];
  wall_s: number;
  generated_at: string;
  runs: TuneRunRecord[];
}

/** Mean of `key` over the last TAIL_STEPS step lines of a run; null when none has it. */
function tailMean(metrics: readonly Record<string, unknown>[], key: string): number | null {
  const xs = metrics.filter((m) => !isEvalLine(m)).slice(-TAIL_STEPS).map((m) => num(m[key])).filter((x): x is number => x !== null);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The eval line after the run's stage (stage 1), and the base eval (stage 0) when the run made one. */
function evals(run: RunData): { after: EvalLine | null; base: EvalLine | null } {
  let after: EvalLine | null = null;
  let base: EvalLine | null = null;
  for (const m of run.metrics) {
    if (!isEvalLine(m)) continue;
    if (stageLabel(run.config, m.stage as number) === 'base') base = m as unknown as EvalLine;
    else after = m as unknown as EvalLine;
  }
  return { after, base };
}

/** The rate with the highest mean `metric`, the smaller on a tie; null unless every rate has a value. */
export function chooseRate(rows: readonly TuneRow[], metric = TUNE_METRIC): number | null {
  if (rows.length === 0 || rows.some((r) => r.cells[metric]?.mean === null || r.cells[metric] === undefined)) return null;
  const sorted = [...rows].sort((a, b) => a.lr - b.lr);
  let best = sorted[0];
  for (const r of sorted.slice(1)) if ((r.cells[metric].mean as number) > (best.cells[metric].mean as number)) best = r;
  return best.lr;
}

/** Tuning results from the tune plan's run folders (`runs` carry their `lr`). */
export function buildTuning(plan: ExperimentPlan, runs: readonly (RunData & { lr: number })[], meta: Meta): TuningResults {
  if (plan.lrGrid === null) throw new Error(`buildTuning: the plan "${plan.name}" has no learning-rate grid`);
  const grid = plan.lrGrid;
  const metrics = [...passKeys(plan.regime), 'mean@n', SOUND_KEY];
  const parsed = runs.map((r) => ({ run: r, ...evals(r) }));
  // Rows by rate within an arm, whatever order the grid runs them in.
  const rows: TuneRow[] = plan.arms.flatMap((arm) =>
    [...gridOf(grid, arm)].sort((a, b) => a - b).map((lr) => {
      const mine = parsed.filter((p) => p.run.arm === arm && p.run.lr === lr);
      const cells = Object.fromEntries(metrics.map((k) => [k, spread(mine.map((p) => (p.after === null ? null : num((p.after as unknown as Record<string, unknown>)[k]))))]));
      return {
        arm,
        lr,
        cells,
        kl_base: spread(mine.map((p) => tailMean(p.run.metrics, 'kl_base'))),
        reward_mean: spread(mine.map((p) => tailMean(p.run.metrics, 'reward_mean'))),
        finished: mine.filter((p) => p.run.status === 'finished').length,
      };
    }),
  );
  const chosen: Record<string, number | null> = {};
  for (const arm of plan.arms) {
    const mine = rows.filter((r) => r.arm === arm);
    chosen[arm === 'base' ? 'stage2' : arm] = mine.every((r) => r.finished === plan.seeds.length) ? chooseRate(mine) : null;
  }
  const bases = parsed.map((p) => p.base).filter((b): b is EvalLine => b !== null);
  const base = Object.fromEntries(metrics.map((k) => [k, spread(bases.map((b) => num((b as unknown as Record<string, unknown>)[k])))]));
  return {
    format: 'exprl-tuning-results',
    version: 1,
    plan: 'tune',
    seeds: [...plan.seeds],
    arms: [...plan.arms],
    regime: plan.regime,
    grid,
    metric: TUNE_METRIC,
    metrics,
    base,
    rows,
    chosen,
    commit: meta.commit,
    package_version: meta.version,
    adapters: meta.adapters,
    wall_s: meta.wallSeconds,
    generated_at: meta.generatedAt,
    runs: parsed.map((p) => ({ id: p.run.id, arm: p.run.arm, lr: p.run.lr, seed: p.run.seed, status: p.run.status, wall_s: p.run.wallSeconds, eval: p.after })),
  };
}
