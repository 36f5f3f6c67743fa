/**
 * The plans of `exprl experiment`: which arms run, over which seeds, and the run config of every
 * arm × seed. Pure data (no GPU, no files): the CLI turns each planned run into a run folder.
 *
 * Every arm starts from the same base policy and, seed by seed, from the same seeds. All arms but
 * `base` run Stage I with their method, then the same Stage II (sparse RL); `base` runs Stage II
 * only. Equal compute in Stage I: the RL arms share steps, prompts per step and rollouts per
 * prompt; SFT takes as many steps with promptsPerStep × rolloutsPerPrompt references per step,
 * drawn from the same prompts the RL arms see. Every arm's Stage II, the base arm's included,
 * draws the same prompts with the same sampling seeds (stage-data.ts, stageSalt).
 * Every arm is evaluated on one fixed set of test prompts (tasks.evalSplit "test", drawn with
 * tasks.evalSeed whatever the seed) after each stage; the `base` arm also evaluates the base
 * policy before it trains: the one base evaluation of its seed, which the report shares with
 * every arm of that seed.
 */
import { preset, smallStage2, validateConfig, type Method, type RunConfig, type StageConfig, type TasksConfig } from '../config';
import { MAX_POOL } from '../stage-data';

/** The arms, in the order runs are made and rows are reported. */
export const ARMS = ['base', 'sft', 'self-distill', 'sparse-grpo', 'exprl-outcome', 'exprl-process', 'exprl-process-unguarded'] as const;
export type ArmId = (typeof ARMS)[number];
/** The arms that run a Stage I. */
export type TrainedArm = Exclude<ArmId, 'base'>;

/** What each arm is, for reports. */
export const ARM_LABELS: Readonly<Record<ArmId, string>> = {
  base: 'Base (no Stage I)',
  sft: 'SFT on references',
  'self-distill': 'Self-distillation',
  'sparse-grpo': 'Sparse GRPO',
  'exprl-outcome': 'ExpRL-Outcome',
  'exprl-process': 'ExpRL-Process (guarded)',
  'exprl-process-unguarded': 'ExpRL-Process (no guard)',
};

/** The Stage I method and judge guard of each trained arm. */
export const ARM_STAGE_I: Readonly<Record<TrainedArm, { method: Exclude<Method, 'stage2'>; guard: boolean }>> = {
  sft: { method: 'sft', guard: true },
  'self-distill': { method: 'self-distill', guard: true },
  'sparse-grpo': { method: 'sparse-grpo', guard: true },
  'exprl-outcome': { method: 'exprl-outcome', guard: true },
  'exprl-process': { method: 'exprl-process', guard: true },
  'exprl-process-unguarded': { method: 'exprl-process', guard: false },
};

export const PLAN_NAMES = ['quick', 'replication', 'tune'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** Learning rates: each arm's Stage I, and the Stage II every arm shares. */
export type LearningRates = Readonly<Record<TrainedArm | 'stage2', number>>;

/** Everything a plan fixes besides its arms and seeds. */
export interface Regime {
  /** Built-in task families and the difficulties of each split (tasks.families, tasks.difficulties). */
  families: string[];
  difficulties: TasksConfig['difficulties'];
  stageISteps: number;
  stageIISteps: number;
  /** Prompts per step and rollouts per prompt, the same in Stage I (RL arms) and Stage II. */
  promptsPerStep: number;
  rolloutsPerPrompt: number;
  maxResponseTokens: number;
  temperature: number;
  klCoef: { stageI: number; stageII: number };
  lr: LearningRates;
  eval: { prompts: number; n: number; k: number[]; maxResponseTokens: number };
  /** Seed of the test prompts (tasks.evalSeed): one test set for every seed. */
  evalSeed: number;
}

/**
 * Learning rates of the replication, one per arm: set on the dev split by the `tune` plan
 * (tasks.evalSplit "dev"), never on the test split the experiment reports. From runs/tune2
 * (1 seed, 24 runs, 2 h 19 min, SwiftShader): every arm did best at the lowest rate tried and
 * no arm beat the base policy's dev pass@1 of 0.145 (best per arm: Stage II 0.139, SFT 0.146,
 * self-distillation 0.133, sparse GRPO 0.111, ExpRL-Outcome 0.131, ExpRL-Process 0.139 with the
 * highest pass@16, 0.656 against 0.594); each doubling of the rate lost more, and 1e-3 collapsed
 * every policy-gradient arm. Each rate is the lower edge of its grid: in this regime the best
 * step is the smallest, and the replication measures whether any method gains at all.
 */
export const LEARNING_RATES: LearningRates = {
  sft: 1e-4,
  'self-distill': 1e-5,
  'sparse-grpo': 3e-5,
  'exprl-outcome': 3e-5,
  'exprl-process': 3e-5,
  'exprl-process-unguarded': 3e-5,
  stage2: 3e-5,
};

/**
 * The replication's regime: cheap enough for 3 seeds × 7 arms × (40 + 40) steps on this
 * project's software GPU, run in parts by resuming. Chosen on the dev split, where the base should
 * solve prompts rarely but not never (pass@16 between 10% and 50%). The shipped base (1800 SFT
 * steps) on dev linear equations, 32 prompts × 16 samples, 64 tokens (`exprl eval --tasks
 * linear-equation:dev:d=N`): d2 pass@1 27% / pass@16 72%, d3 9.0% / 50%, d4 6.8% / 41%; d3-4
 * together 14.5% / 59% (the tune's base eval, another draw of prompts), at the band's top edge.
 * Its sound@n there is 3.1% and 1.0%: most right answers at d3-4 are still guesses. The
 * references of d3-4 are 39-54 characters, so 64 tokens leave room for an answer line (48 cut
 * half of them).
 */
export const REGIME: Regime = {
  families: ['linear-equation'],
  difficulties: { easy: [3, 4], mid: [3, 4], rl: [3, 4], eval: [3, 4] },
  stageISteps: 40,
  stageIISteps: 40,
  promptsPerStep: 2,
  rolloutsPerPrompt: 16,
  maxResponseTokens: 64,
  temperature: 0.8,
  klCoef: { stageI: 0.001, stageII: 0 },
  lr: LEARNING_RATES,
  eval: { prompts: 32, n: 16, k: [1, 4, 16], maxResponseTokens: 64 },
  evalSeed: 0,
};

/** The CI smoke test: every arm, a few steps, tiny sizes (a few minutes on a software GPU). */
export const QUICK_REGIME: Regime = {
  ...REGIME,
  stageISteps: 2,
  stageIISteps: 1,
  promptsPerStep: 2,
  rolloutsPerPrompt: 4,
  maxResponseTokens: 24,
  eval: { prompts: 2, n: 4, k: [1, 4], maxResponseTokens: 24 },
};

/** Learning rates the `tune` plan tries, per trained arm and for Stage II. */
export type LearningRateGrid = Readonly<Record<TrainedArm | 'stage2', readonly number[]>>;

/**
 * The `tune` plan's grid, in the order its runs are made: factors of about 3 apart. First set
 * around what moved a base policy without wrecking it in the single-prompt learning tests
 * (policy-gradient steps of 1e-3 collapsed the earlier base within 10 steps; 1e-4 and 3e-4
 * learned; SFT learned at 1e-3). On the 1800-step base every arm finished so far did best at its
 * lowest rate, and worse than the base policy (dev pass@1 0.145: Stage II 1e-4 0.102, 3e-4
 * 0.078, 1e-3 0; SFT 3e-4 0.111, 1e-3 0.100, 3e-3 0.037; self-distillation 1e-4 0.041, 3e-4
 * 0.008), so lower rates were added, and self-distillation's 1e-3 dropped (the paper's own
 * self-distillation rate is 1e-7). Rates added after the tune began come last, so the runs
 * already made keep their place: the first run of a seed makes the base evaluation.
 */
export const LR_GRID: LearningRateGrid = {
  sft: [3e-4, 1e-3, 3e-3, 1e-4],
  'self-distill': [1e-4, 3e-4, 3e-5, 1e-5],
  'sparse-grpo': [1e-4, 3e-4, 1e-3, 3e-5],
  'exprl-outcome': [1e-4, 3e-4, 1e-3, 3e-5],
  'exprl-process': [1e-4, 3e-4, 1e-3, 3e-5],
  'exprl-process-unguarded': [1e-4, 3e-4, 1e-3, 3e-5],
  stage2: [1e-4, 3e-4, 1e-3, 3e-5],
};

/**
 * The arms `tune` runs unless told otherwise: the unguarded ExpRL-Process arm takes the guarded
 * arm's rate (the guard is the one thing that arm changes); `base` stands for Stage II, tuned on
 * the base policy's Stage II alone.
 */
export const TUNED_ARMS: readonly ArmId[] = ['base', 'sft', 'self-distill', 'sparse-grpo', 'exprl-outcome', 'exprl-process'];

const PLANS: Readonly<Record<PlanName, { seeds: number; regime: Regime; arms: readonly ArmId[] }>> = {
  quick: { seeds: 2, regime: QUICK_REGIME, arms: ARMS },
  replication: { seeds: 3, regime: REGIME, arms: ARMS },
  // The replication's regime, one stage per run, evaluated on the dev split.
  tune: { seeds: 1, regime: REGIME, arms: TUNED_ARMS },
};

/** The policy every arm starts from: the shipped pre-trained built-in policy. */
export const EXPERIMENT_POLICY = 'builtin-base';

export interface ExperimentPlan {
  name: PlanName;
  /** Seed values (1, 2, ...): seeds.init, seeds.data and seeds.sampling of that seed's runs. */
  seeds: number[];
  arms: ArmId[];
  regime: Regime;
  /** The `tune` plan's learning rates per arm; null for the other plans. */
  lrGrid: LearningRateGrid | null;
}

export interface PlannedRun {
  /** `<arm>-s<seed>` (`<arm>-lr<lr>-s<seed>` in `tune`): the run folder's name. */
  id: string;
  arm: ArmId;
  seed: number;
  /** The learning rate this run tries (`tune`); null in the other plans. */
  lr: number | null;
  config: RunConfig;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

/** The plan a name and the command's options describe: `seeds` seeds (default the plan's), `arms` (default all, in ARMS order). */
export function resolvePlan(name: PlanName, opts: { seeds?: number; arms?: readonly string[] } = {}): ExperimentPlan {
  const p = PLANS[name];
  if (p === undefined) throw new PlanError(`unknown plan ${JSON.stringify(name)} (plans: ${PLAN_NAMES.join(', ')})`);
  const count = opts.seeds ?? p.seeds;
  if (!Number.isInteger(count) || count < 1) throw new PlanError(`seeds must be a positive integer, got ${count}`);
  let arms: ArmId[] = [...p.arms];
  if (opts.arms !== undefined) {
    const unknown = opts.arms.filter((a) => !(ARMS as readonly string[]).includes(a));
    if (unknown.length > 0) throw new PlanError(`unknown arm ${JSON.stringify(unknown[0])} (arms: ${ARMS.join(', ')})`);
    if (opts.arms.length === 0) throw new PlanError('give at least one arm');
    arms = ARMS.filter((a) => opts.arms!.includes(a));
  }
  const lrGrid = name === 'tune' ? structuredClone(LR_GRID) : null;
  return { name, seeds: Array.from({ length: count }, (_, i) => i + 1), arms, regime: structuredClone(p.regime), lrGrid };
}

/** Stage I of a trained arm. SFT trains on promptsPerStep × rolloutsPerPrompt references per step. */
export function stageIConfig(r: Regime, arm: TrainedArm): StageConfig {
  const { method } = ARM_STAGE_I[arm];
  const base: StageConfig = {
    ...preset('small').stages[0],
    method,
    split: 'mid',
    steps: r.stageISteps,
    promptsPerStep: r.promptsPerStep,
    rolloutsPerPrompt: r.rolloutsPerPrompt,
    lr: r.lr[arm],
    temperature: r.temperature,
    maxResponseTokens: r.maxResponseTokens,
    klCoef: r.klCoef.stageI,
    epsHigh: 'auto',
  };
  if (method !== 'sft') return base;
  // The same prompts as the RL arms' Stage I (the pool is a prefix of one deterministic walk), their
  // references seen rolloutsPerPrompt times each: as many examples as the RL arms have rollouts.
  const poolSize = Math.min(MAX_POOL, r.stageISteps * r.promptsPerStep);
  return { ...base, promptsPerStep: r.promptsPerStep * r.rolloutsPerPrompt, rolloutsPerPrompt: 1, klCoef: 0, poolSize };
}

/** The Stage II every arm runs: sparse RL (stage2) on the rl split. */
export function stageIIConfig(r: Regime): StageConfig {
  const from: StageConfig = { ...preset('small').stages[0], lr: r.lr.stage2, temperature: r.temperature, maxResponseTokens: r.maxResponseTokens };
  return { ...smallStage2(from, r.stageIISteps), promptsPerStep: r.promptsPerStep, rolloutsPerPrompt: r.rolloutsPerPrompt, klCoef: r.klCoef.stageII };
}

/** The run config of one arm × seed. */
export function armConfig(plan: ExperimentPlan, arm: ArmId, seed: number): RunConfig {
  const r = plan.regime;
  const c = preset('small');
  c.policy = EXPERIMENT_POLICY;
  c.tasks = { ...c.tasks, families: [...r.families], difficulties: structuredClone(r.difficulties), evalPrompts: r.eval.prompts, evalSplit: 'test', evalSeed: r.evalSeed };
  c.stages = arm === 'base' ? [stageIIConfig(r)] : [stageIConfig(r, arm), stageIIConfig(r)];
  c.judge = { ...c.judge, kind: 'rubric', guard: arm === 'base' ? true : ARM_STAGE_I[arm].guard };
  c.seeds = { init: seed, data: seed, sampling: seed };
  // One base evaluation per seed (the base arm's), shared; every arm after each of its stages.
  c.eval = { ...c.eval, before: arm === 'base', stageEnds: true, everySteps: 0, n: r.eval.n, k: [...r.eval.k], maxResponseTokens: r.eval.maxResponseTokens, temperature: r.temperature };
  return validateConfig(c);
}

/**
 * A `tune` run: one stage at learning rate `lr`, evaluated on the dev split after it. A trained arm
 * runs its Stage I; `base` runs Stage II alone (the Stage II rate). The first run of each seed
 * also evaluates the base policy on dev, the mark every rate is read against.
 */
export function tuneConfig(plan: ExperimentPlan, arm: ArmId, lr: number, seed: number, first: boolean): RunConfig {
  const c = armConfig(plan, arm, seed);
  c.stages = [{ ...c.stages[0], lr }];
  c.tasks.evalSplit = 'dev';
  c.eval.before = first;
  return validateConfig(c);
}

/** The grid of `arm` in a tune plan: its Stage I rates, or the Stage II rates for `base`. */
export function gridOf(grid: LearningRateGrid, arm: ArmId): readonly number[] {
  return grid[arm === 'base' ? 'stage2' : arm];
}

/** Every arm × seed of the plan (× learning rate in `tune`), seed by seed, the base arm first in each seed. */
export function plannedRuns(plan: ExperimentPlan): PlannedRun[] {
  const grid = plan.lrGrid;
  if (grid === null) return plan.seeds.flatMap((seed) => plan.arms.map((arm) => ({ id: runId(arm, seed), arm, seed, lr: null, config: armConfig(plan, arm, seed) })));
  return plan.seeds.flatMap((seed) =>
    plan.arms.flatMap((arm, i) => gridOf(grid, arm).map((lr, j) => ({ id: runId(arm, seed, lr), arm, seed, lr, config: tuneConfig(plan, arm, lr, seed, i === 0 && j === 0) }))),
  );
}

/** A learning rate as run folders name it: 3e-4, 1e-3, 2.5e-4. */
export function lrLabel(lr: number): string {
  return lr.toExponential().replace(/\.?0*e\+?/, 'e');
}

export function runId(arm: ArmId, seed: number, lr: number | null = null): string {
  return lr === null ? `${arm}-s${seed}` : `${arm}-lr${lrLabel(lr)}-s${seed}`;
}

/** Optimizer steps of a run (Stage I and Stage II). */
export function runSteps(config: RunConfig): number {
  return config.stages.reduce((a, s) => a + s.steps, 0);
}

/** Which stage of the experiment a run's stage is: 0 = the base (before training), then "I" or "II". */
export type StageLabel = 'base' | 'I' | 'II';

/** The experiment stage of a run's stage number (0 = before the first stage; i >= 1 = config.stages[i - 1]). */
export function stageLabel(config: RunConfig, stage: number): StageLabel {
  if (stage === 0) return 'base';
  const s = config.stages[stage - 1];
  if (s === undefined) throw new PlanError(`the run has no stage ${stage}`);
  return s.method === 'stage2' ? 'II' : 'I';
}

/** What the plan holds equal between arms (and the one thing it does not: learning rates), for results.json and results.md. */
export interface HeldEqual {
  policy: string;
  judge: string;
  seeds: number[];
  tasks: { families: string[]; difficulties: TasksConfig['difficulties'] };
  stageI: {
    steps: number;
    promptsPerStep: number;
    rolloutsPerPrompt: number;
    /** Rollouts per RL step, and SFT's references per step: the same number. */
    samplesPerStep: number;
    sftExamplesPerStep: number;
    /** Distinct prompts of Stage I: the same for every arm (SFT trains on their references). */
    distinctPrompts: number;
    maxResponseTokens: number;
    temperature: number;
    klCoef: number;
  };
  stageII: { method: 'stage2'; steps: number; promptsPerStep: number; rolloutsPerPrompt: number; lr: number; klCoef: number; maxResponseTokens: number; split: string };
  eval: { split: 'test'; seed: number; prompts: number; n: number; k: number[]; maxResponseTokens: number; temperature: number };
  /** Per arm, set on the dev split: the one setting that differs. */
  learningRates: Record<string, number>;
}

export function heldEqual(plan: ExperimentPlan): HeldEqual {
  const r = plan.regime;
  const s2 = stageIIConfig(r);
  return {
    policy: EXPERIMENT_POLICY,
    judge: 'rubric',
    seeds: [...plan.seeds],
    tasks: { families: [...r.families], difficulties: structuredClone(r.difficulties) },
    stageI: {
      steps: r.stageISteps,
      promptsPerStep: r.promptsPerStep,
      rolloutsPerPrompt: r.rolloutsPerPrompt,
      samplesPerStep: r.promptsPerStep * r.rolloutsPerPrompt,
      sftExamplesPerStep: stageIConfig(r, 'sft').promptsPerStep,
      distinctPrompts: Math.min(MAX_POOL, r.stageISteps * r.promptsPerStep),
      maxResponseTokens: r.maxResponseTokens,
      temperature: r.temperature,
      klCoef: r.klCoef.stageI,
    },
    stageII: { method: 'stage2', steps: s2.steps, promptsPerStep: s2.promptsPerStep, rolloutsPerPrompt: s2.rolloutsPerPrompt, lr: s2.lr, klCoef: s2.klCoef, maxResponseTokens: s2.maxResponseTokens, split: s2.split },
    eval: { split: 'test', seed: r.evalSeed, prompts: r.eval.prompts, n: r.eval.n, k: [...r.eval.k], maxResponseTokens: r.eval.maxResponseTokens, temperature: r.temperature },
    learningRates: { ...Object.fromEntries(plan.arms.filter((a): a is TrainedArm => a !== 'base').map((a) => [a, r.lr[a]])), stage2: r.lr.stage2 },
  };
}

/** What must match for a re-run to continue an experiment folder: the plan's name and regime (seeds and arms may grow or shrink). */
export function planIdentity(plan: ExperimentPlan): { plan: PlanName; regime: Regime } {
  return { plan: plan.name, regime: plan.regime };
}

/** The first path where two JSON values differ ("regime.lr.sft", "stages[1].steps"), or null when equal; object keys in any order. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  const here = path === '' ? '(top)' : path;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return here;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = i < a.length && i < b.length ? firstDifference(a[i], b[i], `${path}[${i}]`) : `${path}[${i}]`;
      if (d !== null) return d;
    }
    return null;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = path === '' ? k : `${path}.${k}`;
      if (!(k in a) || !(k in b)) return p;
      const d = firstDifference(a[k], b[k], p);
      if (d !== null) return d;
    }
    return null;
  }
  return Object.is(a, b) ? null : here;
}
