/**
 * What an experiment found, from its run folders' lines: per arm × seed × stage the eval line and
 * the curves of the step lines; over seeds the mean and spread (sample standard deviation) of
 * each cell; differences between arms paired by seed, with their standard error and whether they
 * exceed one and two of it; the share of reward that went to wrong rollouts. Pure (no GPU, no
 * files): the CLI reads the folders and hands their parsed lines in.
 */
import type { RunConfig } from '../config';
import type { EvalLine } from '../evaluate';
import { ARMS, heldEqual, stageLabel, type ArmId, type ExperimentPlan, type HeldEqual, type Regime, type StageLabel } from './plans';

/** The step-line keys kept as curves. */
export const CURVE_KEYS = ['reward_mean', 'correct_frac', 'unlocked', 'entropy', 'kl', 'kl_base', 'len_mean', 'reward_correct_mean', 'reward_incorrect_mean', 'no_answer_frac'] as const;
export type CurveKey = (typeof CURVE_KEYS)[number];

/** One step of a curve: its step within the stage (1-based), the run's step number, and the kept keys. */
export type CurvePoint = { step: number; global_step: number } & Record<CurveKey, number | null>;

/** The stages an experiment trains (its reports' column groups). */
export const TRAINED_STAGES = ['I', 'II'] as const;
export type TrainedStage = (typeof TRAINED_STAGES)[number];

/** Reward summed over a stage's unmasked rollouts, and the part of it wrong rollouts got. */
export interface RewardSplit {
  total: number;
  wrong: number;
  rollouts: number;
  /** "rollouts": exact, from rollouts.jsonl; "metrics": from the step lines' means (masked rollouts blur it). */
  from: 'rollouts' | 'metrics';
}

/** One run folder as read: its config and lines. */
export interface RunData {
  id: string;
  arm: ArmId;
  seed: number;
  config: RunConfig;
  /** "finished": state.json says so; "partial": started, not finished; "missing": no run folder. */
  status: 'finished' | 'partial' | 'missing';
  /** metrics.jsonl, parsed, in order. */
  metrics: readonly Record<string, unknown>[];
  /** From rollouts.jsonl (rewardSplits); absent: taken from the step lines. */
  rewards?: Partial<Record<TrainedStage, RewardSplit>>;
  /** Wall time spent on this run, all sessions together. */
  wallSeconds: number | null;
}

/** What a rollouts.jsonl line must carry for the reward split. */
export interface RolloutLine {
  stage: number;
  reward: number | null;
  correct: boolean;
  masked: boolean;
}

/** Exact reward split per trained stage from a run's rollouts.jsonl lines. */
export function rewardSplits(config: RunConfig, lines: Iterable<RolloutLine>): Partial<Record<TrainedStage, RewardSplit>> {
  const out: Partial<Record<TrainedStage, RewardSplit>> = {};
  for (const l of lines) {
    if (l.masked || l.reward === null || !Number.isFinite(l.reward)) continue;
    const label = stageLabel(config, l.stage);
    if (label === 'base') continue;
    const s = (out[label] ??= { total: 0, wrong: 0, rollouts: 0, from: 'rollouts' });
    s.total += l.reward;
    if (!l.correct) s.wrong += l.reward;
    s.rollouts++;
  }
  return out;
}

/**
 * The same from step lines when the rollouts are not at hand: per step, the wrong rollouts' mean
 * reward times their share, against the mean reward (equal to the exact split when no rollout is
 * masked and every step has as many rollouts).
 */
export function rewardSplitFromSteps(steps: readonly Record<string, unknown>[]): RewardSplit | null {
  let total = 0;
  let wrong = 0;
  let n = 0;
  for (const m of steps) {
    const mean = num(m.reward_mean);
    if (mean === null) continue;
    total += mean;
    wrong += (num(m.reward_incorrect_mean) ?? 0) * (1 - (num(m.correct_frac) ?? 0));
    n++;
  }
  return n === 0 ? null : { total, wrong, rollouts: n, from: 'metrics' };
}

/** The eval key of correct samples reached by right work (src/rl/evaluate.ts), next to mean@n. */
export const SOUND_KEY = 'sound@n';

/** Share of the reward that went to wrong rollouts; null when no reward was given. */
export function wrongRewardShare(s: RewardSplit | null | undefined): number | null {
  return s === null || s === undefined || !(s.total > 0) ? null : s.wrong / s.total;
}

/** A metrics value as a finite number, or null (missing, null, NaN, not a number). */
export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Whether a metrics.jsonl line is an evaluation line (not a step line). */
export const isEvalLine = (m: Record<string, unknown>): boolean => m.eval === true;

/** A run's eval lines by experiment stage (the last one of each). */
export function evalsByStage(config: RunConfig, metrics: readonly Record<string, unknown>[]): Partial<Record<StageLabel, EvalLine>> {
  const out: Partial<Record<StageLabel, EvalLine>> = {};
  for (const m of metrics) if (isEvalLine(m)) out[stageLabel(config, m.stage as number)] = m as unknown as EvalLine;
  return out;
}

/** A run's step lines as curves, by trained stage. */
export function curvesByStage(config: RunConfig, metrics: readonly Record<string, unknown>[]): Partial<Record<TrainedStage, CurvePoint[]>> {
  const out: Partial<Record<TrainedStage, CurvePoint[]>> = {};
  for (const m of metrics) {
    if (isEvalLine(m) || typeof m.stage !== 'number' || m.stage === 0) continue;
    const label = stageLabel(config, m.stage) as TrainedStage;
    const curve = (out[label] ??= []);
    const point = { step: curve.length + 1, global_step: m.step as number } as CurvePoint;
    for (const k of CURVE_KEYS) point[k] = num(m[k]);
    curve.push(point);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics over seeds.

/** Mean and sample standard deviation over the values given (nulls left out); sd is null for fewer than two. */
export interface Spread {
  mean: number | null;
  sd: number | null;
  n: number;
}

export function spread(values: readonly (number | null | undefined)[]): Spread {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return { mean: null, sd: null, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, sd: null, n: xs.length };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (xs.length - 1)), n: xs.length };
}

/** Difference a − b paired by seed: its mean over the seeds both have, and the standard error of that mean. */
export interface PairedDifference {
  stage: TrainedStage;
  metric: string;
  a: ArmId;
  b: ArmId;
  seeds: number[];
  mean: number | null;
  /** sd(differences) / sqrt(seeds); null for fewer than two seeds. */
  se: number | null;
  /** |mean| > se and |mean| > 2·se (false when se is null). */
  exceeds1se: boolean;
  exceeds2se: boolean;
  /** mean / se, the paired t statistic with seeds − 1 degrees of freedom; null without an se (or with se 0). */
  t: number | null;
  /** |t| beyond Student's two-sided 5% critical value for seeds − 1 degrees of freedom (one test, no correction for the many made). */
  p05: boolean;
}

/** Student's t two-sided 5% critical values, 1 to 30 degrees of freedom. */
const T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** The two-sided 5% critical value of Student's t with `df` degrees of freedom (beyond 30: the normal's, corrected to first order in 1/df). */
export function tCritical95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tCritical95: degrees of freedom must be a whole number ≥ 1, not ${df}`);
  if (df <= T_975.length) return T_975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df);
}

export function pairedDifference(stage: TrainedStage, metric: string, a: ArmId, b: ArmId, byA: ReadonlyMap<number, number | null>, byB: ReadonlyMap<number, number | null>): PairedDifference {
  const seeds = [...byA.keys()].filter((s) => typeof byA.get(s) === 'number' && typeof byB.get(s) === 'number').sort((x, y) => x - y);
  const d = spread(seeds.map((s) => (byA.get(s) as number) - (byB.get(s) as number)));
  const se = d.sd === null ? null : d.sd / Math.sqrt(d.n);
  const beyond = (m: number): boolean => d.mean !== null && se !== null && Math.abs(d.mean) > m * se;
  const t = d.mean !== null && se !== null && se > 0 ? d.mean / se : null;
  return { stage, metric, a, b, seeds, mean: d.mean, se, exceeds1se: beyond(1), exceeds2se: beyond(2), t, p05: t !== null && Math.abs(t) > tCritical95(d.n - 1) };
}

/** "a > b" or "b > a" by the sign of a paired difference; null when it is zero or unknown. */
export function ordering(d: PairedDifference): string | null {
  if (d.mean === null || d.mean === 0) return null;
  return d.mean > 0 ? `${d.a} > ${d.b}` : `${d.b} > ${d.a}`;
}

// ---------------------------------------------------------------------------------------------
// The results.

export interface RunRecord {
  id: string;
  arm: ArmId;
  seed: number;
  status: RunData['status'];
  wall_s: number | null;
  /** The run's eval lines: "base" (the base arm only: the base eval of its seed), "I", "II". */
  eval: Partial<Record<StageLabel, EvalLine>>;
  curves: Partial<Record<TrainedStage, CurvePoint[]>>;
  wrong_reward_share: Record<TrainedStage, number | null>;
  reward_split: Partial<Record<TrainedStage, RewardSplit>>;
  config: RunConfig;
}

export interface TableRow {
  arm: ArmId;
  /** pass@k (and mean@n) over seeds, after Stage I and after Stage II. The base arm's Stage I cells are the base evals. */
  cells: Record<TrainedStage, Record<string, Spread>>;
}

export interface Meta {
  commit: string | null;
  /** The commit of each session that ran steps, in order; null where the session did not record it. */
  sessionCommits?: (string | null)[];
  version: string;
  /** The adapters the runs ran on (one per session that ran steps). */
  adapters: string[];
  /** Wall time of every session that ran steps, together. */
  wallSeconds: number;
  generatedAt: string;
}

export interface ExperimentResults {
  format: 'exprl-experiment-results';
  version: 1;
  plan: string;
  seeds: number[];
  arms: ArmId[];
  regime: Regime;
  held_equal: HeldEqual;
  learning_rates: Record<string, number>;
  /** pass@k keys the table reports ("pass@1", ...). */
  metrics: string[];
  /** The commit this file was written from. */
  commit: string | null;
  /** The commit of each session that ran steps, in order (null: not recorded); absent in older files. */
  session_commits?: (string | null)[];
  package_version: string;
  adapters: string[];
  wall_s: number;
  generated_at: string;
  /** The base eval of each seed (the base arm's eval before training), shared by every arm of that seed. */
  base_evals: Record<string, EvalLine | null>;
  table: TableRow[];
  paired: PairedDifference[];
  wrong_reward_share: Record<string, Record<TrainedStage, Spread>>;
  runs: RunRecord[];
}

/** The pass@k keys of a plan's evals. */
export function passKeys(regime: Regime): string[] {
  return regime.eval.k.map((k) => `pass@${k}`);
}

/** The value of `metric` in each seed's cell of an arm at a stage (the base arm's Stage I: its seed's base eval). */
function valuesBySeed(records: readonly RunRecord[], plan: ExperimentPlan, arm: ArmId, stage: TrainedStage, metric: string): Map<number, number | null> {
  const out = new Map<number, number | null>();
  for (const seed of plan.seeds) {
    const r = records.find((x) => x.arm === arm && x.seed === seed);
    const line = r === undefined ? undefined : arm === 'base' && stage === 'I' ? r.eval.base : r.eval[stage];
    const v = line === undefined ? null : (line as unknown as Record<string, unknown>)[metric];
    out.set(seed, typeof v === 'number' ? v : null);
  }
  return out;
}

export function buildResults(plan: ExperimentPlan, runs: readonly RunData[], meta: Meta): ExperimentResults {
  const records: RunRecord[] = runs.map((r) => {
    const evals = evalsByStage(r.config, r.metrics);
    const curves = curvesByStage(r.config, r.metrics);
    const split: Partial<Record<TrainedStage, RewardSplit>> = {};
    for (const st of TRAINED_STAGES) {
      const fromSteps = r.metrics.filter((m) => !isEvalLine(m) && typeof m.stage === 'number' && m.stage > 0 && stageLabel(r.config, m.stage) === st);
      const s = r.rewards !== undefined ? r.rewards[st] : (rewardSplitFromSteps(fromSteps) ?? undefined);
      if (s !== undefined) split[st] = s;
    }
    if (r.arm !== 'base') delete evals.base;
    return {
      id: r.id,
      arm: r.arm,
      seed: r.seed,
      status: r.status,
      wall_s: r.wallSeconds,
      eval: evals,
      curves,
      wrong_reward_share: { I: wrongRewardShare(split.I), II: wrongRewardShare(split.II) },
      reward_split: split,
      config: r.config,
    };
  });
  const metrics = [...passKeys(plan.regime), 'mean@n', SOUND_KEY];
  const arms = ARMS.filter((a) => plan.arms.includes(a));
  const table: TableRow[] = arms.map((arm) => ({
    arm,
    cells: Object.fromEntries(TRAINED_STAGES.map((st) => [st, Object.fromEntries(metrics.map((m) => [m, spread([...valuesBySeed(records, plan, arm, st, m).values()])]))])) as TableRow['cells'],
  }));
  const paired: PairedDifference[] = [];
  for (const st of TRAINED_STAGES) {
    for (const m of metrics) {
      for (let i = 0; i < arms.length; i++) {
        for (let j = i + 1; j < arms.length; j++) {
          paired.push(pairedDifference(st, m, arms[i], arms[j], valuesBySeed(records, plan, arms[i], st, m), valuesBySeed(records, plan, arms[j], st, m)));
        }
      }
    }
  }
  const wrong: Record<string, Record<TrainedStage, Spread>> = {};
  for (const arm of arms) {
    const mine = records.filter((r) => r.arm === arm);
    wrong[arm] = { I: spread(mine.map((r) => r.wrong_reward_share.I)), II: spread(mine.map((r) => r.wrong_reward_share.II)) };
  }
  const baseEvals: Record<string, EvalLine | null> = {};
  for (const seed of plan.seeds) baseEvals[String(seed)] = records.find((r) => r.arm === 'base' && r.seed === seed)?.eval.base ?? null;
  const held = heldEqual(plan);
  return {
    format: 'exprl-experiment-results',
    version: 1,
    plan: plan.name,
    seeds: [...plan.seeds],
    arms,
    regime: plan.regime,
    held_equal: held,
    learning_rates: held.learningRates,
    metrics,
    commit: meta.commit,
    session_commits: meta.sessionCommits ?? [],
    package_version: meta.version,
    adapters: meta.adapters,
    wall_s: meta.wallSeconds,
    generated_at: meta.generatedAt,
    base_evals: baseEvals,
    table,
    paired,
    wrong_reward_share: wrong,
    runs: records,
  };
}

// ---------------------------------------------------------------------------------------------
// Plot data (the CLI draws it).

/** One point of a mean curve: x runs through Stage I (1..S1) then Stage II (S1 + 1 ...), the same for every arm. */
export interface MeanCurvePoint {
  arm: ArmId;
  stage: TrainedStage;
  x: number;
  metric: CurveKey;
  mean: number;
  /** Seeds with a value at this step. */
  n: number;
}

/** Curves of `keys` per arm, the mean over seeds step by step. */
export function meanCurves(results: ExperimentResults, keys: readonly CurveKey[]): MeanCurvePoint[] {
  const offset: Record<TrainedStage, number> = { I: 0, II: results.regime.stageISteps };
  const out: MeanCurvePoint[] = [];
  for (const arm of results.arms) {
    const mine = results.runs.filter((r) => r.arm === arm);
    for (const st of TRAINED_STAGES) {
      const len = Math.max(0, ...mine.map((r) => r.curves[st]?.length ?? 0));
      for (let i = 0; i < len; i++) {
        for (const metric of keys) {
          const s = spread(mine.map((r) => r.curves[st]?.[i]?.[metric]));
          if (s.mean !== null) out.push({ arm, stage: st, x: offset[st] + i + 1, metric, mean: s.mean, n: s.n });
        }
      }
    }
  }
  return out;
}

/** pass@k per arm and stage, mean and ± sd over seeds, for the dot chart. */
export interface PassPoint {
  arm: ArmId;
  stage: TrainedStage;
  mean: number;
  low: number;
  high: number;
  n: number;
}

export function passPoints(results: ExperimentResults, metric: string): PassPoint[] {
  const out: PassPoint[] = [];
  for (const row of results.table) {
    for (const st of TRAINED_STAGES) {
      const c = row.cells[st][metric];
      if (c === undefined || c.mean === null) continue;
      const sd = c.sd ?? 0;
      out.push({ arm: row.arm, stage: st, mean: c.mean, low: c.mean - sd, high: c.mean + sd, n: c.n });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Learning on the training prompts.

/**
 * How a step-line key moved within one stage of one arm: per seed, its mean over the stage's last
 * `window` steps minus its mean over the first `window`; then the mean and sd of those changes
 * over seeds, and in how many seeds it rose. Each step draws fresh prompts, but the same ones for
 * every arm of a seed, so a change all arms share can be the prompt order rather than learning.
 * A stage shorter than two windows uses halves; a run without the key there gives no change.
 */
export interface StageChange {
  arm: ArmId;
  stage: TrainedStage;
  key: CurveKey;
  first: Spread;
  last: Spread;
  change: Spread;
  rose: number;
}

export function stageChanges(results: ExperimentResults, key: CurveKey, window: number): StageChange[] {
  const out: StageChange[] = [];
  const mean = (xs: (number | null)[]): number | null => {
    const s = spread(xs);
    return s.n === xs.length ? s.mean : null;
  };
  for (const arm of results.arms) {
    for (const stage of TRAINED_STAGES) {
      const firsts: (number | null)[] = [];
      const lasts: (number | null)[] = [];
      for (const seed of results.seeds) {
        const curve = results.runs.find((r) => r.arm === arm && r.seed === seed)?.curves[stage] ?? [];
        const w = Math.min(window, Math.floor(curve.length / 2));
        const values = curve.map((p) => p[key]);
        firsts.push(w > 0 ? mean(values.slice(0, w)) : null);
        lasts.push(w > 0 ? mean(values.slice(-w)) : null);
      }
      const changes = firsts.map((f, i) => (f === null || lasts[i] === null ? null : (lasts[i] as number) - f));
      const change = spread(changes);
      if (change.n === 0) continue;
      out.push({ arm, stage, key, first: spread(firsts), last: spread(lasts), change, rose: changes.filter((c) => c !== null && c > 0).length });
    }
  }
  return out;
}
