// THE run configuration: one schema, one set of defaults (the presets below), one validator.
// UI, CLI and tests read defaults and field documentation from here and nowhere else.

export const METHODS = ['sparse-grpo', 'exprl-outcome', 'exprl-process', 'sft', 'self-distill', 'stage2'] as const;
export type Method = (typeof METHODS)[number];

export const JUDGE_KINDS = ['rubric', 'policy', 'openai', 'none'] as const;
export type JudgeKind = (typeof JUDGE_KINDS)[number];

/** One training stage (Stage I = ExpRL or a baseline, Stage II = sparse RL). */
export interface StageConfig {
  method: Method;
  steps: number;
  promptsPerStep: number;
  rolloutsPerPrompt: number;
  miniBatches: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  gradClip: number;
  temperature: number;
  topK: number;
  topP: number;
  maxResponseTokens: number;
  epsLow: number;
  epsHigh: number | 'auto';
  dualClip: number;
  klCoef: number;
  entropyCoef: number;
}

export interface JudgeConfig {
  kind: JudgeKind;
  endpoint: string;
  model: string;
  processView: 'segment' | 'prefix';
  parse: 'last' | 'first';
  normalisation: 'linear' | 'extremes' | 'clipped';
  delimiter: string;
  maxSegments: number;
  retries: number;
  maxMaskedShare: number;
  callCap: number | null;
}

export interface SeedConfig {
  init: number;
  data: number;
  sampling: number;
}

export interface EvalConfig {
  n: number;
  k: number[];
  temperature: number;
  topK: number;
  topP: number;
  maxResponseTokens: number;
  everySteps: number;
}

export interface RunConfig {
  policy: string;
  stages: StageConfig[];
  judge: JudgeConfig;
  seeds: SeedConfig;
  eval: EvalConfig;
}

export type DeepPartial<T> = T extends (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

// ---------------------------------------------------------------------------------------------
// Field checks. Each returns a problem ("must be ...") or null.

type Check = (v: unknown) => string | null;
interface Field {
  doc: string;
  check: Check;
}

function num(opts: { int?: boolean; min?: number; max?: number; gt?: number; lt?: number }): Check {
  const parts: string[] = [];
  if (opts.gt !== undefined) parts.push(`> ${opts.gt}`);
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.lt !== undefined) parts.push(`< ${opts.lt}`);
  if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
  const what = `must be a finite ${opts.int ? 'integer' : 'number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return what;
    if (opts.int && !Number.isInteger(v)) return what;
    if (opts.gt !== undefined && !(v > opts.gt)) return what;
    if (opts.min !== undefined && v < opts.min) return what;
    if (opts.lt !== undefined && !(v < opts.lt)) return what;
    if (opts.max !== undefined && v > opts.max) return what;
    return null;
  };
}
function oneOf(values: readonly string[]): Check {
  return (v) => (typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
}
function str(nonEmpty: boolean): Check {
  return (v) => (typeof v === 'string' && (!nonEmpty || v.length > 0) ? null : nonEmpty ? 'must be a non-empty string' : 'must be a string');
}
function or(a: Check, b: Check, what: string): Check {
  return (v) => (a(v) === null || b(v) === null ? null : what);
}
const U32 = num({ int: true, min: 0, max: 0xffffffff });

/** Documentation and check of every field; the keys are exactly the config's keys. */
export const STAGE_FIELDS: Record<keyof StageConfig, Field> = {
  method: { doc: 'Training method of this stage: sparse-grpo (0/1 answer reward, GRPO), exprl-outcome (judge scores the whole trace, GRPO), exprl-process (judge scores each segment, delta values), sft (cross-entropy on the reference), self-distill (reverse KL to the reference-conditioned teacher), stage2 (sparse reward, advantage r - group mean).', check: oneOf(METHODS) },
  steps: { doc: 'Optimizer steps (batches of prompts) in this stage.', check: num({ int: true, min: 1 }) },
  promptsPerStep: { doc: 'Prompts sampled per step (the batch).', check: num({ int: true, min: 1 }) },
  rolloutsPerPrompt: { doc: 'Rollouts sampled per prompt: the GRPO group size G (ignored by sft).', check: num({ int: true, min: 1 }) },
  miniBatches: { doc: 'Mini-batches each step\'s prompts are split into (one update each); must divide promptsPerStep. 1 = one update per batch (ratio 1, plain REINFORCE).', check: num({ int: true, min: 1 }) },
  epochs: { doc: 'Passes over each step\'s batch.', check: num({ int: true, min: 1 }) },
  lr: { doc: 'AdamW learning rate (constant).', check: num({ gt: 0, max: 1 }) },
  weightDecay: { doc: 'AdamW decoupled weight decay.', check: num({ min: 0, max: 1 }) },
  gradClip: { doc: 'Global gradient-norm clip (0 = off).', check: num({ min: 0 }) },
  temperature: { doc: 'Sampling temperature of rollouts; the loss divides logits by it too, so the first update\'s ratio is exactly 1.', check: num({ gt: 0, max: 10 }) },
  topK: { doc: 'Top-k filter of rollout sampling (0 = off).', check: num({ int: true, min: 0 }) },
  topP: { doc: 'Top-p (nucleus) filter of rollout sampling (1 = off).', check: num({ gt: 0, max: 1 }) },
  maxResponseTokens: { doc: 'Maximum response length in tokens; a response cut here gets reward 0 (process: every segment score 0).', check: num({ int: true, min: 1 }) },
  epsLow: { doc: 'PPO clip below: ratio is clipped at 1 - epsLow.', check: num({ min: 0, lt: 1 }) },
  epsHigh: { doc: 'PPO clip above: ratio is clipped at 1 + epsHigh. "auto" = 0.28 for exprl-outcome, 0.26 otherwise (the paper\'s values).', check: or(num({ min: 0 }), (v) => (v === 'auto' ? null : 'x'), 'must be a finite number >= 0 or "auto"') },
  dualClip: { doc: 'Dual-clip constant c bounding the loss of negative-advantage tokens (> 1).', check: num({ gt: 1 }) },
  klCoef: { doc: 'Coefficient of the k3 KL penalty to the frozen reference policy, in the loss (0 = off).', check: num({ min: 0 }) },
  entropyCoef: { doc: 'Entropy bonus coefficient (0 = off).', check: num({ min: 0 }) },
};

export const JUDGE_FIELDS: Record<keyof JudgeConfig, Field> = {
  kind: { doc: 'Judge backend: rubric (programmatic, built-in task families), policy (the frozen base policy judges, as in the paper), openai (an OpenAI-compatible server), none (sparse methods only).', check: oneOf(JUDGE_KINDS) },
  endpoint: { doc: 'Base URL of the OpenAI-compatible server (kind "openai" only; empty otherwise).', check: str(false) },
  model: { doc: 'Model name sent to the server (kind "openai" only; empty otherwise).', check: str(false) },
  processView: { doc: 'What the process judge sees: "segment" (one segment alone, the paper\'s code) or "prefix" (all reasoning so far, the paper\'s text).', check: oneOf(['segment', 'prefix']) },
  parse: { doc: 'Which "Score:" line of the judge\'s reply counts: "last" (default; a quoted trace cannot fool it) or "first" (the paper\'s code).', check: oneOf(['last', 'first']) },
  normalisation: { doc: 'Score 1..5 to reward: "linear" (N-1)/4, "extremes" (1 -> 0, 5 -> 1, others dropped), "clipped" (<= 3 -> 0, else 1).', check: oneOf(['linear', 'extremes', 'clipped']) },
  delimiter: { doc: 'Segment delimiter of process rewards; belongs to the segment it closes ("\\n" suits the built-in policy, "###" or a blank line chat models).', check: str(true) },
  maxSegments: { doc: 'Cap on segments per response; text past the cap joins the last segment.', check: num({ int: true, min: 1 }) },
  retries: { doc: 'Retries of a failed judge call before its rollout is masked.', check: num({ int: true, min: 0, max: 20 }) },
  maxMaskedShare: { doc: 'The run pauses (with the reason) when more than this share of a step\'s rollouts is masked by judge failures.', check: num({ min: 0, max: 1 }) },
  callCap: { doc: 'Optional cap on judge calls for the whole run (null = none); the run pauses when reached.', check: or(num({ int: true, min: 1 }), (v) => (v === null ? null : 'x'), 'must be a positive integer or null') },
};

export const SEED_FIELDS: Record<keyof SeedConfig, Field> = {
  init: { doc: 'Seed of parameter initialisation (built-in policy from scratch).', check: U32 },
  data: { doc: 'Seed of prompt order and task generation.', check: U32 },
  sampling: { doc: 'Seed of the GPU sampler (rollouts and eval).', check: U32 },
};

export const EVAL_FIELDS: Record<keyof EvalConfig, Field> = {
  n: { doc: 'Samples per eval prompt.', check: num({ int: true, min: 1 }) },
  k: { doc: 'The k of the unbiased pass@k reported on eval lines; each in [1, n].', check: (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 1) ? null : 'must be a non-empty list of positive integers') },
  temperature: { doc: 'Eval sampling temperature.', check: num({ gt: 0, max: 10 }) },
  topK: { doc: 'Eval top-k (0 = off).', check: num({ int: true, min: 0 }) },
  topP: { doc: 'Eval top-p (1 = off).', check: num({ gt: 0, max: 1 }) },
  maxResponseTokens: { doc: 'Maximum eval response length in tokens.', check: num({ int: true, min: 1 }) },
  everySteps: { doc: 'Evaluate every this many steps (0 = only before and after training).', check: num({ int: true, min: 0 }) },
};

export const RUN_FIELDS: { policy: Field } = {
  policy: { doc: 'Policy model: "builtin" (the shipped small model) or a Hugging Face model id / checkpoint path.', check: str(true) },
};

/** Every field's path and documentation, for the UI and `exprl --help`. */
export function fieldDocs(): { path: string; doc: string }[] {
  const out: { path: string; doc: string }[] = [{ path: 'policy', doc: RUN_FIELDS.policy.doc }];
  const add = (prefix: string, fields: Record<string, Field>) => {
    for (const [k, f] of Object.entries(fields)) out.push({ path: `${prefix}.${k}`, doc: f.doc });
  };
  add('stages[]', STAGE_FIELDS);
  add('judge', JUDGE_FIELDS);
  add('seeds', SEED_FIELDS);
  add('eval', EVAL_FIELDS);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Presets.

/** The paper's Stage I settings (Qwen3-4B) per method, as the method doc gives them. */
export const PAPER_STAGE_I: Record<'exprl-outcome' | 'exprl-process' | 'sparse-grpo', StageConfig> = {
  'exprl-outcome': paperStage('exprl-outcome', 36, 10, 2, 0.28),
  'exprl-process': paperStage('exprl-process', 36, 16, 1, 0.26),
  'sparse-grpo': paperStage('sparse-grpo', 32, 16, 2, 0.26),
};

function paperStage(method: Method, prompts: number, rollouts: number, miniBatches: number, epsHigh: number): StageConfig {
  return {
    method,
    steps: 230,
    promptsPerStep: prompts,
    rolloutsPerPrompt: rollouts,
    miniBatches, // mini-batch of 18 / 36 / 16 prompts
    epochs: 1,
    lr: 1e-6,
    weightDecay: 0.01,
    gradClip: 1.0,
    temperature: 0.8,
    topK: 0,
    topP: 1,
    maxResponseTokens: 16384,
    epsLow: 0.2,
    epsHigh,
    dualClip: 3,
    klCoef: 0.001,
    entropyCoef: 0,
  };
}

/**
 * Stage II in the paper: 32 rollouts, batch 32, lr 1e-6, grad clip 0.3, up to 720 steps,
 * entropy 1e-4, no KL. Not given by the doc, carried over from Stage I (assumed): temperature,
 * weight decay, response length, clip range of the sparse method, one update per batch.
 */
export const PAPER_STAGE_II: StageConfig = {
  ...paperStage('stage2', 32, 32, 1, 0.26),
  steps: 720,
  gradClip: 0.3,
  klCoef: 0,
  entropyCoef: 1e-4,
};

export type PresetName = 'paper' | 'small' | 'tiny';

function paperPreset(): RunConfig {
  return {
    policy: 'Qwen3-4B-Instruct',
    stages: [{ ...PAPER_STAGE_I['exprl-process'] }, { ...PAPER_STAGE_II }],
    judge: {
      kind: 'policy',
      endpoint: '',
      model: '',
      processView: 'segment',
      parse: 'first',
      normalisation: 'linear',
      delimiter: '###',
      maxSegments: 10,
      retries: 2,
      maxMaskedShare: 0.5,
      callCap: null,
    },
    seeds: { init: 0, data: 0, sampling: 0 },
    eval: { n: 16, k: [1, 4, 16], temperature: 0.8, topK: 20, topP: 0.95, maxResponseTokens: 16384, everySteps: 10 },
  };
}

/**
 * Built-in policy, ExpRL-Process with the rubric judge. lr 3e-4: a sub-1M-parameter model
 * needs a far larger step than 1e-6 to move at all in a few hundred steps, and the low end of
 * the 1e-3..3e-4 range keeps noisy policy-gradient updates (and the KL to the reference) tame.
 * Short responses (128 characters with the character-level tokenizer) keep a step to seconds.
 */
function smallPreset(): RunConfig {
  const stage: StageConfig = {
    method: 'exprl-process',
    steps: 200,
    promptsPerStep: 8,
    rolloutsPerPrompt: 8,
    miniBatches: 1,
    epochs: 1,
    lr: 3e-4,
    weightDecay: 0.01,
    gradClip: 1.0,
    temperature: 0.8,
    topK: 0,
    topP: 1,
    maxResponseTokens: 128,
    epsLow: 0.2,
    epsHigh: 'auto',
    dualClip: 3,
    klCoef: 0.001,
    entropyCoef: 0,
  };
  return {
    policy: 'builtin',
    stages: [stage],
    judge: {
      kind: 'rubric',
      endpoint: '',
      model: '',
      processView: 'segment',
      parse: 'last',
      normalisation: 'linear',
      delimiter: '\n',
      maxSegments: 10,
      retries: 2,
      maxMaskedShare: 0.25,
      callCap: null,
    },
    seeds: { init: 1, data: 1, sampling: 1 },
    eval: { n: 16, k: [1, 4, 16], temperature: 0.8, topK: 0, topP: 1, maxResponseTokens: 128, everySteps: 25 },
  };
}

/** A few steps of the small preset, small enough for CI on a software GPU. */
function tinyPreset(): RunConfig {
  const c = smallPreset();
  c.stages = [{ ...c.stages[0], steps: 3, promptsPerStep: 2, rolloutsPerPrompt: 4, maxResponseTokens: 24 }];
  c.eval = { ...c.eval, n: 4, k: [1, 4], maxResponseTokens: 24, everySteps: 0 };
  return c;
}

/** A fresh copy of a preset (callers may mutate it). */
export function preset(name: PresetName): RunConfig {
  switch (name) {
    case 'paper':
      return paperPreset();
    case 'small':
      return smallPreset();
    case 'tiny':
      return tinyPreset();
    default:
      throw new ConfigError([{ path: 'preset', value: name, message: 'must be one of "paper", "small", "tiny"' }]);
  }
}
export const PRESET_NAMES: readonly PresetName[] = ['paper', 'small', 'tiny'];

/** The clip ratio above actually used: resolves "auto" by method. */
export function effectiveEpsHigh(stage: Pick<StageConfig, 'method' | 'epsHigh'>): number {
  if (stage.epsHigh !== 'auto') return stage.epsHigh;
  return stage.method === 'exprl-outcome' ? 0.28 : 0.26;
}

// ---------------------------------------------------------------------------------------------
// Validation.

export interface ConfigIssue {
  path: string;
  value: unknown;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid run config: ${issues.map((i) => `${i.path} = ${show(i.value)}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(value: unknown, fields: Record<string, Field>, path: string, issues: ConfigIssue[]): void {
  if (!isObject(value)) {
    issues.push({ path, value, message: 'must be an object' });
    return;
  }
  for (const [k, f] of Object.entries(fields)) {
    const problem = k in value ? f.check(value[k]) : 'is missing';
    if (problem !== null) issues.push({ path: `${path}.${k}`, value: value[k], message: problem });
  }
  for (const k of Object.keys(value)) {
    if (!(k in fields)) issues.push({ path: `${path}.${k}`, value: value[k], message: 'is not a known field' });
  }
}

const SCORED_METHODS: readonly Method[] = ['exprl-outcome', 'exprl-process'];

/** Every problem of `value` as a run config (empty when valid). */
export function configIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isObject(value)) return [{ path: '(config)', value, message: 'must be an object' }];
  const known = new Set(['policy', 'stages', 'judge', 'seeds', 'eval']);
  for (const k of Object.keys(value)) {
    if (!known.has(k)) issues.push({ path: k, value: value[k], message: 'is not a known field' });
  }
  const p = RUN_FIELDS.policy.check(value.policy);
  if (p !== null) issues.push({ path: 'policy', value: value.policy, message: p });
  if (!Array.isArray(value.stages) || value.stages.length === 0) {
    issues.push({ path: 'stages', value: value.stages, message: 'must be a non-empty list of stages' });
  } else {
    value.stages.forEach((s: unknown, i: number) => {
      const before = issues.length;
      checkFields(s, STAGE_FIELDS, `stages[${i}]`, issues);
      if (issues.length !== before || !isObject(s)) return;
      const st = s as unknown as StageConfig;
      if (st.promptsPerStep % st.miniBatches !== 0) {
        issues.push({ path: `stages[${i}].miniBatches`, value: st.miniBatches, message: `must divide promptsPerStep (${st.promptsPerStep})` });
      }
    });
  }
  checkFields(value.judge, JUDGE_FIELDS, 'judge', issues);
  checkFields(value.seeds, SEED_FIELDS, 'seeds', issues);
  checkFields(value.eval, EVAL_FIELDS, 'eval', issues);

  if (isObject(value.eval) && Array.isArray(value.eval.k) && typeof value.eval.n === 'number') {
    const n = value.eval.n;
    value.eval.k.forEach((k: unknown, i: number) => {
      if (typeof k === 'number' && k > n) issues.push({ path: `eval.k[${i}]`, value: k, message: `must be <= eval.n (${n})` });
    });
  }
  if (isObject(value.judge) && Array.isArray(value.stages)) {
    const j = value.judge;
    value.stages.forEach((s: unknown, i: number) => {
      if (isObject(s) && SCORED_METHODS.includes(s.method as Method) && j.kind === 'none') {
        issues.push({ path: 'judge.kind', value: j.kind, message: `stages[${i}] uses ${String(s.method)}, which needs a judge` });
      }
    });
    if (j.kind === 'openai' && (typeof j.endpoint !== 'string' || j.endpoint.length === 0)) {
      issues.push({ path: 'judge.endpoint', value: j.endpoint, message: 'is required when judge.kind is "openai"' });
    }
  }
  return issues;
}

/** Throws a ConfigError naming every bad field path and value; returns the config typed. */
export function validateConfig(value: unknown): RunConfig {
  const issues = configIssues(value);
  if (issues.length > 0) throw new ConfigError(issues);
  return value as RunConfig;
}

// ---------------------------------------------------------------------------------------------
// Merging.

/**
 * Deep merge of `override` onto `base` (neither is modified). Objects merge key by key; lists
 * are replaced, except `stages`, which merges index by index: `{stages: [{lr: 1e-3}]}` changes
 * stage 0's lr only. A stage index past the base's last stage starts from a copy of that last
 * stage. Unknown keys are carried into the result so that validation names them.
 */
export function mergeConfig(base: RunConfig, override: DeepPartial<RunConfig> | undefined): RunConfig {
  const out = structuredClone(base);
  if (override === undefined) return out;
  if (!isObject(override)) throw new ConfigError([{ path: '(overrides)', value: override, message: 'must be an object' }]);
  const merged = mergeObject(out as unknown as Record<string, unknown>, override as Record<string, unknown>, '') as Record<string, unknown>;
  const stagesOverride = (override as Record<string, unknown>).stages;
  if (stagesOverride !== undefined) {
    if (!Array.isArray(stagesOverride)) throw new ConfigError([{ path: 'stages', value: stagesOverride, message: 'must be a list' }]);
    merged.stages = stagesOverride.map((s: unknown, i: number) => {
      const from = base.stages[Math.min(i, base.stages.length - 1)];
      if (!isObject(s)) throw new ConfigError([{ path: `stages[${i}]`, value: s, message: 'must be an object' }]);
      return mergeObject(structuredClone(from) as unknown as Record<string, unknown>, s, `stages[${i}]`);
    });
  }
  return merged as unknown as RunConfig;
}

function mergeObject(base: Record<string, unknown>, over: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    if (path === '' && k === 'stages') continue;
    if (v === undefined) continue;
    const b = base[k];
    const p = path === '' ? k : `${path}.${k}`;
    if (isObject(b)) {
      if (!isObject(v)) throw new ConfigError([{ path: p, value: v, message: 'must be an object' }]);
      base[k] = mergeObject(b, v, p);
    } else {
      base[k] = structuredClone(v);
    }
  }
  return base;
}

/** A preset (by name or value) with user overrides merged on top, validated. */
export function resolveConfig(from: PresetName | RunConfig, overrides?: DeepPartial<RunConfig>): RunConfig {
  const base = typeof from === 'string' ? preset(from) : from;
  return validateConfig(mergeConfig(base, overrides));
}
