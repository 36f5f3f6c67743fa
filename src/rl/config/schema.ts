// THE run configuration's schema: every field's type, documentation and check. Defaults are
// the presets (./presets.ts); validation (./validate.ts) and merging (./merge.ts) read the
// tables below. UI, CLI and tests read field documentation from here and nowhere else.
import { validateTemplate, type TemplateKind } from '../../judge/prompts';
import { TRANSFORMERS_DTYPES, type TransformersDtype } from '../../model/transformers-dtypes';
import { describeAutoEpsHigh, sparseRewardMethods } from '../methods';
import { bool, custom, isObject, num, oneOf, orValue, str, U32, type Check, type Field } from './checks';

export { TRANSFORMERS_DTYPES, type TransformersDtype };

export const METHODS = ['sparse-grpo', 'exprl-outcome', 'exprl-process', 'sft', 'self-distill', 'stage2'] as const;
export type Method = (typeof METHODS)[number];

export const JUDGE_KINDS = ['rubric', 'policy', 'local', 'openai', 'none'] as const;
export type JudgeKind = (typeof JUDGE_KINDS)[number];

/** What runs a "local" judge model: our kernels (Llama layout, safetensors) or transformers.js (ONNX, any architecture it supports). */
export const JUDGE_RUNTIMES = ['auto', 'kernels', 'transformers'] as const;
export type JudgeRuntime = (typeof JUDGE_RUNTIMES)[number];

/** Task splits a stage can draw its prompts from (src/tasks/splits.ts). */
export const STAGE_SPLITS = ['easy', 'mid', 'rl'] as const;
export type StageSplit = (typeof STAGE_SPLITS)[number];

/** One training stage (Stage I = ExpRL or a baseline, Stage II = sparse RL). */
export interface StageConfig {
  method: Method;
  split: StageSplit;
  /** Distinct prompts the stage cycles through; null: steps × promptsPerStep (at most 512). */
  poolSize: number | null;
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
  lossAggregation: LossAggregation;
  cutCorrectReward: boolean;
}

/** How per-token losses become the loss of an update (STAGE_FIELDS.lossAggregation). */
export const LOSS_AGGREGATIONS = ['token-mean', 'sample-sum'] as const;
export type LossAggregation = (typeof LOSS_AGGREGATIONS)[number];

export interface JudgeConfig {
  kind: JudgeKind;
  endpoint: string;
  model: string;
  processView: 'segment' | 'prefix';
  parse: 'last' | 'first';
  normalisation: 'linear' | 'extremes' | 'clipped';
  delimiter: string;
  maxSegments: number | null;
  guard: boolean;
  requireProbes: boolean;
  retries: number;
  timeoutMs: number;
  breakerAfter: number;
  apiKeyEnv: string;
  maxMaskedShare: number;
  callCap: number | null;
  maxTokens: number;
  runtime: JudgeRuntime;
  dtype: TransformersDtype;
  templates: JudgeTemplates;
}

/** The judge's prompt templates, by kind; {{question}}, {{reference}}, {{trace}} and {{rubric}} are filled in. */
export type JudgeTemplates = Record<TemplateKind, string>;

export interface SeedConfig {
  init: number;
  data: number;
  sampling: number;
}

export const EVAL_SPLITS = ['eval', 'dev', 'test'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

export interface EvalConfig {
  /** Evaluate before the first stage. */
  before: boolean;
  /** Evaluate at the end of every stage. */
  stageEnds: boolean;
  n: number;
  k: number[];
  temperature: number;
  topK: number;
  topP: number;
  maxResponseTokens: number;
  everySteps: number;
}

/** Stage 0: supervised pre-training of a freshly initialised built-in policy on the easy split. */
export interface PretrainConfig {
  steps: number;
  examplesPerStep: number;
  lr: number;
  weightDecay: number;
  gradClip: number;
}

/** Where the prompts come from: the built-in task families. */
export interface TasksConfig {
  families: string[];
  /** Difficulties each split cycles through. */
  difficulties: { easy: number[]; mid: number[]; rl: number[]; eval: number[] };
  evalPrompts: number;
  /** The split evaluations draw from: eval, or one of its halves (dev for choosing settings, test for reporting). */
  evalSplit: EvalSplit;
  /** Seed of the eval prompts; null = seeds.data. A fixed number keeps one test set while seeds.data varies. */
  evalSeed: number | null;
}

export interface RunConfig {
  policy: string;
  tasks: TasksConfig;
  pretrain: PretrainConfig;
  stages: StageConfig[];
  judge: JudgeConfig;
  seeds: SeedConfig;
  eval: EvalConfig;
  checkpointEvery: number;
}


/** Documentation and check of every field; the keys are exactly the config's keys. */
export const STAGE_FIELDS: Record<keyof StageConfig, Field> = {
  method: { doc: 'Training method of this stage: sparse-grpo (0/1 answer reward, GRPO), exprl-outcome (judge scores the whole trace, GRPO), exprl-process (judge scores each segment, delta values), sft (cross-entropy on the reference), self-distill (reverse KL to the reference-conditioned teacher), stage2 (sparse reward, advantage r - group mean).', ...oneOf(METHODS) },
  split: { doc: 'Task split the stage draws its prompts from: "mid" (Stage I mid-training), "rl" (Stage II), "easy" (the pre-training split).', ...oneOf(STAGE_SPLITS) },
  poolSize: {
    doc: 'Distinct prompts the stage draws and cycles through (null: steps × promptsPerStep, at most 512). A small pool repeats its prompts, so learning on them shows within a few steps (the learning tests use one).',
    ...orValue(num({ int: true, min: 1, max: 512 }), null, 'must be an integer in 1..512 or null'),
  },
  steps: { doc: 'Optimizer steps (batches of prompts) in this stage.', ...num({ int: true, min: 1 }) },
  promptsPerStep: { doc: 'Prompts sampled per step (the batch).', ...num({ int: true, min: 1 }) },
  rolloutsPerPrompt: { doc: 'Rollouts sampled per prompt: the GRPO group size G (ignored by sft).', ...num({ int: true, min: 1 }) },
  miniBatches: { doc: 'Mini-batches each step\'s prompts are split into (one update each); must divide promptsPerStep. 1 = one update per batch (ratio 1, plain REINFORCE).', ...num({ int: true, min: 1 }) },
  epochs: { doc: 'Passes over each step\'s batch.', ...num({ int: true, min: 1 }) },
  lr: { doc: 'AdamW learning rate (constant).', ...num({ gt: 0, max: 1 }) },
  weightDecay: { doc: 'AdamW decoupled weight decay.', ...num({ min: 0, max: 1 }) },
  gradClip: { doc: 'Global gradient-norm clip (0 = off).', ...num({ min: 0 }) },
  temperature: { doc: 'Sampling temperature of rollouts; the loss divides logits by it too, so the first update\'s ratio is exactly 1.', ...num({ gt: 0, max: 10 }) },
  topK: { doc: 'Top-k filter of rollout sampling (0 = off).', ...num({ int: true, min: 0 }) },
  topP: { doc: 'Top-p (nucleus) filter of rollout sampling (1 = off).', ...num({ gt: 0, max: 1 }) },
  maxResponseTokens: { doc: 'Maximum response length in tokens; a response cut here gets reward 0 (process: every segment score 0), unless cutCorrectReward pays a correct one.', ...num({ int: true, min: 1 }) },
  epsLow: { doc: 'PPO clip below: ratio is clipped at 1 - epsLow. From 1 up the bound is at or below 0, which no ratio reaches: no clip below (PipelineRL\'s epsilon 4 in the paper\'s Stage II).', ...num({ min: 0 }) },
  epsHigh: { doc: `PPO clip above: ratio is clipped at 1 + epsHigh. "auto" = ${describeAutoEpsHigh()} (the paper's values).`, ...orValue(num({ min: 0 }), 'auto', 'must be a finite number >= 0 or "auto"') },
  dualClip: { doc: 'Dual-clip constant c (> 1) bounding the loss of negative-advantage tokens at -A·c; 0 = off (the paper\'s Stage II).', ...orValue(num({ gt: 1 }), 0, 'must be 0 (off) or a finite number > 1') },
  klCoef: { doc: 'Coefficient of the k3 KL penalty to the frozen reference policy, in the loss (0 = off).', ...num({ min: 0 }) },
  entropyCoef: { doc: 'Entropy bonus coefficient (0 = off).', ...num({ min: 0 }) },
  lossAggregation: {
    doc: 'How an update\'s per-token losses (policy gradient, KL, entropy bonus) add up: "token-mean" sums them over the counted tokens and divides by their number (verl, the paper\'s Stage I); "sample-sum" divides the same sum by the number of samples, the rollouts with a loss (PipelineRL, the paper\'s Stage II), so a long response weighs more. SFT ignores it.',
    ...oneOf(LOSS_AGGREGATIONS),
  },
  cutCorrectReward: { doc: `A response cut at maxResponseTokens whose answer is nevertheless correct earns reward 1 instead of 0 (PipelineRL, the paper's Stage II). Sparse-reward methods only (${sparseRewardMethods().join(', ')}).`, ...bool },
};

/** judge.apiKeyEnv: a variable name, or empty (no key). */
const ENV_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*)?$/;

export const JUDGE_FIELDS: Record<keyof JudgeConfig, Field> = {
  kind: { doc: 'Judge backend: rubric (programmatic, built-in task families), policy (the frozen policy judges itself, as in the paper; needs an instruct model with a chat template), local (an instruct model run by the app in its own slot, judge.model = folder or Hugging Face id), openai (an OpenAI-compatible server), none (sparse methods only).', ...oneOf(JUDGE_KINDS) },
  endpoint: { doc: 'Base URL of the OpenAI-compatible server (kind "openai" only; empty otherwise).', ...str(false) },
  model: { doc: 'Kind "openai": the model name sent to the server. Kind "local": the instruct model\'s folder or Hugging Face id. Empty otherwise.', ...str(false) },
  processView: { doc: 'What the process judge sees: "segment" (one segment alone, the paper\'s code) or "prefix" (all reasoning so far, the paper\'s text).', ...oneOf(['segment', 'prefix']) },
  parse: { doc: 'Which "Score:" line of the judge\'s reply counts: "last" (default; a quoted trace cannot fool it) or "first" (the paper\'s code).', ...oneOf(['last', 'first']) },
  normalisation: { doc: 'Score 1..5 to reward: "linear" (N-1)/4, "extremes" (1 -> 0, 5 -> 1, others dropped), "clipped" (<= 3 -> 0, else 1).', ...oneOf(['linear', 'extremes', 'clipped']) },
  delimiter: { doc: 'Segment delimiter of process rewards; belongs to the segment it closes ("\\n" suits the built-in policy, "###" or a blank line chat models).', ...str(true) },
  maxSegments: {
    doc: 'Cap on segments per response; text past the cap joins the last segment. null = no cap (the paper\'s training code has none; a cap suits small policies).',
    ...orValue(num({ int: true, min: 1 }), null, 'must be a positive integer or null'),
  },
  guard: {
    doc: 'Process rewards: a response with no correct final answer and fewer than two segments gets no positive value (its negative values stay). Closes the route the delta rule leaves open (a lone segment gets +s_1 on every token); on in our presets, off in "paper" (the authors\' rule).',
    ...bool,
  },
  requireProbes: {
    doc: 'Refuse to start a run when the judge-hacking probes (run against the judge in every mode before the first step) find a junk trace the judge pays more than the minimum, or cannot score one. Off: such a judge is only warned about.',
    ...bool,
  },
  retries: { doc: 'Retries of a failed judge call before its rollout is masked: after a timeout, HTTP 429 or 5xx, a reset connection, or a reply that holds no readable score (truncated or invalid JSON, no choices, no "Score:" line).', ...num({ int: true, min: 0, max: 20 }) },
  timeoutMs: {
    doc: 'Time limit of one judge request in ms: an HTTP request (kind "openai"), or one batch of generation (kinds "policy" and "local"). A request past it fails and is retried (judge.retries).',
    ...num({ int: true, min: 1, max: 3_600_000 }),
  },
  breakerAfter: {
    doc: 'Judge calls in a row that fail after their retries before the judge stops calling (its circuit opens): the run pauses with the reason, and resumes with exprl train --resume.',
    ...num({ int: true, min: 1, max: 10_000 }),
  },
  apiKeyEnv: {
    doc: 'Kind "openai": the name of the environment variable that holds the API key (exprl only; empty = no key). The key goes only in the Authorization header, only to judge.endpoint\'s origin, and is redacted from every output. There is no default variable, so a shared config cannot send your key anywhere unasked.',
    type: { kind: 'string', nonEmpty: false },
    check: (v) => (typeof v === 'string' && ENV_NAME.test(v) ? null : 'must be an environment variable name (letters, digits and _, not starting with a digit) or empty'),
  },
  maxMaskedShare: { doc: 'The run pauses (with the reason) when more than this share of a step\'s rollouts is masked by judge failures.', ...num({ min: 0, max: 1 }) },
  maxTokens: { doc: 'Reply tokens at most for judges that are language models (policy, local, openai).', ...num({ int: true, min: 1, max: 32768 }) },
  runtime: {
    doc: 'Kind "local": what runs the judge model. "kernels": this app\'s WGSL kernels (Llama-layout models with safetensors weights, e.g. SmolLM2-360M-Instruct). "transformers": @huggingface/transformers (ONNX weights under onnx/, any architecture it supports; onnxruntime-web on WebGPU in the page, onnxruntime-node on the CPU in Node). "auto": kernels when config.json is Llama-layout and the repo has safetensors weights, transformers otherwise; the run notes which was chosen and why.',
    ...oneOf(JUDGE_RUNTIMES),
  },
  dtype: { doc: 'Kind "local" with the transformers runtime: which ONNX weights to load (onnx/model.onnx = fp32, model_fp16.onnx, model_quantized.onnx = q8, model_q4.onnx, model_q4f16.onnx); "auto" lets transformers.js choose for the device.', ...oneOf(TRANSFORMERS_DTYPES) },
  templates: {
    doc: 'The judge prompts, editable: {outcome, segment, prefix}. Each must contain {{question}}, {{reference}} and {{trace}} (and may contain {{rubric}}); values are inserted fenced, the trace declared untrusted.',
    ...custom('an object {outcome, segment, prefix} of template strings', (v) => {
      if (!isObject(v)) return 'must be an object {outcome, segment, prefix}';
      for (const k of ['outcome', 'segment', 'prefix']) {
        if (typeof v[k] !== 'string') return `${k} must be a template string`;
        const errors = validateTemplate(v[k]);
        if (errors.length > 0) return `${k}: ${errors.join('; ')}`;
      }
      const extra = Object.keys(v).filter((k) => !['outcome', 'segment', 'prefix'].includes(k));
      return extra.length ? `has unknown template ${JSON.stringify(extra[0])}` : null;
    }),
  },
  callCap: { doc: 'Optional cap on judge calls for the whole run (null = none); the run pauses when reached.', ...orValue(num({ int: true, min: 1 }), null, 'must be a positive integer or null') },
};

export const SEED_FIELDS: Record<keyof SeedConfig, Field> = {
  init: { doc: 'Seed of parameter initialisation (built-in policy from scratch).', ...U32 },
  data: { doc: 'Seed of prompt order and task generation.', ...U32 },
  sampling: { doc: 'Seed of the GPU sampler (rollouts and eval).', ...U32 },
};

export const EVAL_FIELDS: Record<keyof EvalConfig, Field> = {
  before: { doc: 'Evaluate the policy before the first stage (the base; an experiment evaluates it once per seed and skips it in the other arms).', ...bool },
  stageEnds: { doc: 'Evaluate at the end of every stage (after Stage I and after Stage II), besides every everySteps steps and after the last stage.', ...bool },
  n: { doc: 'Samples per eval prompt.', ...num({ int: true, min: 1 }) },
  k: { doc: 'The k of the unbiased pass@k reported on eval lines; each in [1, n].', ...custom('a list of positive integers', (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 1) ? null : 'must be a non-empty list of positive integers')) },
  temperature: { doc: 'Eval sampling temperature.', ...num({ gt: 0, max: 10 }) },
  topK: { doc: 'Eval top-k (0 = off).', ...num({ int: true, min: 0 }) },
  topP: { doc: 'Eval top-p (1 = off).', ...num({ gt: 0, max: 1 }) },
  maxResponseTokens: { doc: 'Maximum eval response length in tokens.', ...num({ int: true, min: 1 }) },
  everySteps: { doc: 'Evaluate every this many steps (0 = only before and after training).', ...num({ int: true, min: 0 }) },
};

const difficultyList: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 1 && x <= 10) ? null : 'must be a non-empty list of integers in 1..10';

export const PRETRAIN_FIELDS: Record<keyof PretrainConfig, Field> = {
  steps: { doc: 'Stage 0 SFT steps on the easy split\'s references before Stage I; only a policy initialised here ("builtin") is pre-trained (0 = none).', ...num({ int: true, min: 0 }) },
  examplesPerStep: { doc: 'Question + reference examples per Stage 0 step.', ...num({ int: true, min: 1 }) },
  lr: { doc: 'Stage 0 AdamW learning rate.', ...num({ gt: 0, max: 1 }) },
  weightDecay: { doc: 'Stage 0 AdamW weight decay.', ...num({ min: 0, max: 1 }) },
  gradClip: { doc: 'Stage 0 global gradient-norm clip (0 = off).', ...num({ min: 0 }) },
};

export const TASKS_FIELDS: Record<keyof TasksConfig, Field> = {
  families: { doc: 'Built-in task families the prompts come from (arith-chain, long-addition, gcd, linear-equation).', ...custom('a list of family names', (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length > 0) ? null : 'must be a non-empty list of family names')) },
  difficulties: {
    doc: 'Difficulties (1..10) each split cycles through: {easy, mid, rl, eval}.',
    ...custom('an object {easy, mid, rl, eval} of difficulty lists', (v) => {
      if (!isObject(v)) return 'must be an object {easy, mid, rl, eval}';
      for (const k of ['easy', 'mid', 'rl', 'eval']) {
        const p = difficultyList(v[k]);
        if (p !== null) return `${k} ${p}`;
      }
      const extra = Object.keys(v).filter((k) => !['easy', 'mid', 'rl', 'eval'].includes(k));
      return extra.length ? `has unknown split ${JSON.stringify(extra[0])}` : null;
    }),
  },
  evalPrompts: { doc: 'Held-out eval prompts per evaluation (from tasks.evalSplit, at the eval difficulties).', ...num({ int: true, min: 1 }) },
  evalSplit: { doc: 'Split evaluations draw from: "eval" (held out), or one of its two disjoint halves, "dev" (for choosing settings) and "test" (for reporting, never looked at while choosing).', ...oneOf(EVAL_SPLITS) },
  evalSeed: {
    doc: 'Seed the eval prompts are drawn with; null = seeds.data (the presets). A number keeps the same eval prompts whatever seeds.data is: `exprl experiment` varies seeds.data by seed and evaluates every seed on one fixed test set.',
    ...orValue(U32, null, 'must be null or an integer in 0..4294967295'),
  },
};

export const RUN_FIELDS: { policy: Field; checkpointEvery: Field } = {
  checkpointEvery: {
    doc: 'Save the run state (weights, optimizer moments, cursor, counts) every this many steps, and always at the end of a stage, after an evaluation and when the run pauses, so that `exprl train --resume DIR` continues it exactly (0 = only at those points).',
    ...num({ int: true, min: 0 }),
  },
  policy: { doc: 'Policy model: "builtin" (a freshly initialised built-in policy, pre-trained by Stage 0), "builtin-base" (the shipped pre-trained built-in policy) or a checkpoint folder / Hugging Face model id.', ...str(true) },
};

/** The sections of a run config and their fields; `stages[]` stands for every stage. */
const SECTIONS: readonly [string, Record<string, Field>][] = [
  ['tasks', TASKS_FIELDS],
  ['pretrain', PRETRAIN_FIELDS],
  ['stages[]', STAGE_FIELDS],
  ['judge', JUDGE_FIELDS],
  ['seeds', SEED_FIELDS],
  ['eval', EVAL_FIELDS],
];

/** Every field of the schema by its path ("policy", "judge.endpoint", "stages[].lr"). */
export function schemaFields(): { path: string; field: Field }[] {
  const out = [
    { path: 'policy', field: RUN_FIELDS.policy },
    { path: 'checkpointEvery', field: RUN_FIELDS.checkpointEvery },
  ];
  for (const [prefix, fields] of SECTIONS) for (const [k, field] of Object.entries(fields)) out.push({ path: `${prefix}.${k}`, field });
  return out;
}

/** The field at a path of `schemaFields`; a stage index ("stages[0].lr") names the stage field. Throws for an unknown path (a programming error). */
export function schemaField(path: string): Field {
  const key = path.replace(/^stages\[\d+\]\./, 'stages[].');
  const found = schemaFields().find((f) => f.path === key);
  if (found === undefined) throw new Error(`no config field ${JSON.stringify(path)}`);
  return found.field;
}

/** Every field's path and documentation, for the UI and `exprl --help`. */
export function fieldDocs(): { path: string; doc: string }[] {
  return schemaFields().map(({ path, field }) => ({ path, doc: field.doc }));
}
