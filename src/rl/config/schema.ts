// THE run configuration: one schema, one set of defaults (the presets below), one validator.
// UI, CLI and tests read defaults and field documentation from here and nowhere else.
import { DEFAULT_TEMPLATES, validateTemplate, type TemplateKind } from '../judge/prompts';
import { FAMILIES } from '../tasks/families/index';
import { TRANSFORMERS_DTYPES, type TransformersDtype } from '../model/transformers-dtypes';
import { describeAutoEpsHigh, effectiveEpsHigh, methodTraits, needsJudge, sparseRewardMethods } from './methods';

export { TRANSFORMERS_DTYPES, type TransformersDtype };
/** Moved to ./methods (the table of method traits); re-exported for existing callers. */
export { effectiveEpsHigh };

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
  retries: number;
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
  split: { doc: 'Task split the stage draws its prompts from: "mid" (Stage I mid-training), "rl" (Stage II), "easy" (the pre-training split).', check: oneOf(STAGE_SPLITS) },
  poolSize: {
    doc: 'Distinct prompts the stage draws and cycles through (null: steps × promptsPerStep, at most 512). A small pool repeats its prompts, so learning on them shows within a few steps (the learning tests use one).',
    check: or(num({ int: true, min: 1, max: 512 }), (v) => (v === null ? null : 'x'), 'must be an integer in 1..512 or null'),
  },
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
  maxResponseTokens: { doc: 'Maximum response length in tokens; a response cut here gets reward 0 (process: every segment score 0), unless cutCorrectReward pays a correct one.', check: num({ int: true, min: 1 }) },
  epsLow: { doc: 'PPO clip below: ratio is clipped at 1 - epsLow. From 1 up the bound is at or below 0, which no ratio reaches: no clip below (PipelineRL\'s epsilon 4 in the paper\'s Stage II).', check: num({ min: 0 }) },
  epsHigh: { doc: `PPO clip above: ratio is clipped at 1 + epsHigh. "auto" = ${describeAutoEpsHigh()} (the paper's values).`, check: or(num({ min: 0 }), (v) => (v === 'auto' ? null : 'x'), 'must be a finite number >= 0 or "auto"') },
  dualClip: { doc: 'Dual-clip constant c (> 1) bounding the loss of negative-advantage tokens at -A·c; 0 = off (the paper\'s Stage II).', check: or(num({ gt: 1 }), (v) => (v === 0 ? null : 'x'), 'must be 0 (off) or a finite number > 1') },
  klCoef: { doc: 'Coefficient of the k3 KL penalty to the frozen reference policy, in the loss (0 = off).', check: num({ min: 0 }) },
  entropyCoef: { doc: 'Entropy bonus coefficient (0 = off).', check: num({ min: 0 }) },
  lossAggregation: {
    doc: 'How an update\'s per-token losses (policy gradient, KL, entropy bonus) add up: "token-mean" sums them over the counted tokens and divides by their number (verl, the paper\'s Stage I); "sample-sum" divides the same sum by the number of samples, the rollouts with a loss (PipelineRL, the paper\'s Stage II), so a long response weighs more. SFT ignores it.',
    check: oneOf(LOSS_AGGREGATIONS),
  },
  cutCorrectReward: { doc: `A response cut at maxResponseTokens whose answer is nevertheless correct earns reward 1 instead of 0 (PipelineRL, the paper's Stage II). Sparse-reward methods only (${sparseRewardMethods().join(', ')}).`, check: (v) => (typeof v === 'boolean' ? null : 'must be true or false') },
};

export const JUDGE_FIELDS: Record<keyof JudgeConfig, Field> = {
  kind: { doc: 'Judge backend: rubric (programmatic, built-in task families), policy (the frozen policy judges itself, as in the paper; needs an instruct model with a chat template), local (an instruct model run by the app in its own slot, judge.model = folder or Hugging Face id), openai (an OpenAI-compatible server), none (sparse methods only).', check: oneOf(JUDGE_KINDS) },
  endpoint: { doc: 'Base URL of the OpenAI-compatible server (kind "openai" only; empty otherwise).', check: str(false) },
  model: { doc: 'Kind "openai": the model name sent to the server. Kind "local": the instruct model\'s folder or Hugging Face id. Empty otherwise.', check: str(false) },
  processView: { doc: 'What the process judge sees: "segment" (one segment alone, the paper\'s code) or "prefix" (all reasoning so far, the paper\'s text).', check: oneOf(['segment', 'prefix']) },
  parse: { doc: 'Which "Score:" line of the judge\'s reply counts: "last" (default; a quoted trace cannot fool it) or "first" (the paper\'s code).', check: oneOf(['last', 'first']) },
  normalisation: { doc: 'Score 1..5 to reward: "linear" (N-1)/4, "extremes" (1 -> 0, 5 -> 1, others dropped), "clipped" (<= 3 -> 0, else 1).', check: oneOf(['linear', 'extremes', 'clipped']) },
  delimiter: { doc: 'Segment delimiter of process rewards; belongs to the segment it closes ("\\n" suits the built-in policy, "###" or a blank line chat models).', check: str(true) },
  maxSegments: {
    doc: 'Cap on segments per response; text past the cap joins the last segment. null = no cap (the paper\'s training code has none; a cap suits small policies).',
    check: or(num({ int: true, min: 1 }), (v) => (v === null ? null : 'x'), 'must be a positive integer or null'),
  },
  guard: {
    doc: 'Process rewards: a response with no correct final answer and fewer than two segments gets no positive value (its negative values stay). Closes the route the delta rule leaves open (a lone segment gets +s_1 on every token); on in our presets, off in "paper" (the authors\' rule).',
    check: (v) => (typeof v === 'boolean' ? null : 'must be true or false'),
  },
  retries: { doc: 'Retries of a failed judge call before its rollout is masked.', check: num({ int: true, min: 0, max: 20 }) },
  maxMaskedShare: { doc: 'The run pauses (with the reason) when more than this share of a step\'s rollouts is masked by judge failures.', check: num({ min: 0, max: 1 }) },
  maxTokens: { doc: 'Reply tokens at most for judges that are language models (policy, local, openai).', check: num({ int: true, min: 1, max: 32768 }) },
  runtime: {
    doc: 'Kind "local": what runs the judge model. "kernels": this app\'s WGSL kernels (Llama-layout models with safetensors weights, e.g. SmolLM2-360M-Instruct). "transformers": @huggingface/transformers (ONNX weights under onnx/, any architecture it supports; onnxruntime-web on WebGPU in the page, onnxruntime-node on the CPU in Node). "auto": kernels when config.json is Llama-layout and the repo has safetensors weights, transformers otherwise; the run notes which was chosen and why.',
    check: oneOf(JUDGE_RUNTIMES),
  },
  dtype: { doc: 'Kind "local" with the transformers runtime: which ONNX weights to load (onnx/model.onnx = fp32, model_fp16.onnx, model_quantized.onnx = q8, model_q4.onnx, model_q4f16.onnx); "auto" lets transformers.js choose for the device.', check: oneOf(TRANSFORMERS_DTYPES) },
  templates: {
    doc: 'The judge prompts, editable: {outcome, segment, prefix}. Each must contain {{question}}, {{reference}} and {{trace}} (and may contain {{rubric}}); values are inserted fenced, the trace declared untrusted.',
    check: (v) => {
      if (!isObject(v)) return 'must be an object {outcome, segment, prefix}';
      for (const k of ['outcome', 'segment', 'prefix']) {
        if (typeof v[k] !== 'string') return `${k} must be a template string`;
        const errors = validateTemplate(v[k]);
        if (errors.length > 0) return `${k}: ${errors.join('; ')}`;
      }
      const extra = Object.keys(v).filter((k) => !['outcome', 'segment', 'prefix'].includes(k));
      return extra.length ? `has unknown template ${JSON.stringify(extra[0])}` : null;
    },
  },
  callCap: { doc: 'Optional cap on judge calls for the whole run (null = none); the run pauses when reached.', check: or(num({ int: true, min: 1 }), (v) => (v === null ? null : 'x'), 'must be a positive integer or null') },
};

export const SEED_FIELDS: Record<keyof SeedConfig, Field> = {
  init: { doc: 'Seed of parameter initialisation (built-in policy from scratch).', check: U32 },
  data: { doc: 'Seed of prompt order and task generation.', check: U32 },
  sampling: { doc: 'Seed of the GPU sampler (rollouts and eval).', check: U32 },
};

export const EVAL_FIELDS: Record<keyof EvalConfig, Field> = {
  before: { doc: 'Evaluate the policy before the first stage (the base; an experiment evaluates it once per seed and skips it in the other arms).', check: (v) => (typeof v === 'boolean' ? null : 'must be true or false') },
  stageEnds: { doc: 'Evaluate at the end of every stage (after Stage I and after Stage II), besides every everySteps steps and after the last stage.', check: (v) => (typeof v === 'boolean' ? null : 'must be true or false') },
  n: { doc: 'Samples per eval prompt.', check: num({ int: true, min: 1 }) },
  k: { doc: 'The k of the unbiased pass@k reported on eval lines; each in [1, n].', check: (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 1) ? null : 'must be a non-empty list of positive integers') },
  temperature: { doc: 'Eval sampling temperature.', check: num({ gt: 0, max: 10 }) },
  topK: { doc: 'Eval top-k (0 = off).', check: num({ int: true, min: 0 }) },
  topP: { doc: 'Eval top-p (1 = off).', check: num({ gt: 0, max: 1 }) },
  maxResponseTokens: { doc: 'Maximum eval response length in tokens.', check: num({ int: true, min: 1 }) },
  everySteps: { doc: 'Evaluate every this many steps (0 = only before and after training).', check: num({ int: true, min: 0 }) },
};

const difficultyList: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 1 && x <= 10) ? null : 'must be a non-empty list of integers in 1..10';

export const PRETRAIN_FIELDS: Record<keyof PretrainConfig, Field> = {
  steps: { doc: 'Stage 0 SFT steps on the easy split\'s references before Stage I; only a policy initialised here ("builtin") is pre-trained (0 = none).', check: num({ int: true, min: 0 }) },
  examplesPerStep: { doc: 'Question + reference examples per Stage 0 step.', check: num({ int: true, min: 1 }) },
  lr: { doc: 'Stage 0 AdamW learning rate.', check: num({ gt: 0, max: 1 }) },
  weightDecay: { doc: 'Stage 0 AdamW weight decay.', check: num({ min: 0, max: 1 }) },
  gradClip: { doc: 'Stage 0 global gradient-norm clip (0 = off).', check: num({ min: 0 }) },
};

export const TASKS_FIELDS: Record<keyof TasksConfig, Field> = {
  families: { doc: 'Built-in task families the prompts come from (arith-chain, long-addition, gcd, linear-equation).', check: (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length > 0) ? null : 'must be a non-empty list of family names') },
  difficulties: {
    doc: 'Difficulties (1..10) each split cycles through: {easy, mid, rl, eval}.',
    check: (v) => {
      if (!isObject(v)) return 'must be an object {easy, mid, rl, eval}';
      for (const k of ['easy', 'mid', 'rl', 'eval']) {
        const p = difficultyList(v[k]);
        if (p !== null) return `${k} ${p}`;
      }
      const extra = Object.keys(v).filter((k) => !['easy', 'mid', 'rl', 'eval'].includes(k));
      return extra.length ? `has unknown split ${JSON.stringify(extra[0])}` : null;
    },
  },
  evalPrompts: { doc: 'Held-out eval prompts per evaluation (from tasks.evalSplit, at the eval difficulties).', check: num({ int: true, min: 1 }) },
  evalSplit: { doc: 'Split evaluations draw from: "eval" (held out), or one of its two disjoint halves, "dev" (for choosing settings) and "test" (for reporting, never looked at while choosing).', check: oneOf(EVAL_SPLITS) },
  evalSeed: {
    doc: 'Seed the eval prompts are drawn with; null = seeds.data (the presets). A number keeps the same eval prompts whatever seeds.data is: `exprl experiment` varies seeds.data by seed and evaluates every seed on one fixed test set.',
    check: or(U32, (v) => (v === null ? null : 'x'), 'must be null or an integer in 0..4294967295'),
  },
};

export const RUN_FIELDS: { policy: Field; checkpointEvery: Field } = {
  checkpointEvery: {
    doc: 'Save the run state (weights, optimizer moments, cursor, counts) every this many steps, and always at the end of a stage, after an evaluation and when the run pauses, so that `exprl train --resume DIR` continues it exactly (0 = only at those points).',
    check: num({ int: true, min: 0 }),
  },
  policy: { doc: 'Policy model: "builtin" (a freshly initialised built-in policy, pre-trained by Stage 0), "builtin-base" (the shipped pre-trained built-in policy) or a checkpoint folder / Hugging Face model id.', check: str(true) },
};

/** Every field's path and documentation, for the UI and `exprl --help`. */
export function fieldDocs(): { path: string; doc: string }[] {
  const out: { path: string; doc: string }[] = [
    { path: 'policy', doc: RUN_FIELDS.policy.doc },
    { path: 'checkpointEvery', doc: RUN_FIELDS.checkpointEvery.doc },
  ];
  const add = (prefix: string, fields: Record<string, Field>) => {
    for (const [k, f] of Object.entries(fields)) out.push({ path: `${prefix}.${k}`, doc: f.doc });
  };
  add('tasks', TASKS_FIELDS);
  add('pretrain', PRETRAIN_FIELDS);
  add('stages[]', STAGE_FIELDS);
  add('judge', JUDGE_FIELDS);
  add('seeds', SEED_FIELDS);
  add('eval', EVAL_FIELDS);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Presets.

/**
 * PipelineRL's PPO epsilon 4: the ratio is kept in [1 - 4, 1 + 4] = [-3, 5]; no ratio is below 0
 * and one step's updates do not move a token's probability fivefold, so in effect nothing is
 * clipped. No dual clip.
 */
const EPSILON_4: Pick<StageConfig, 'epsLow' | 'epsHigh' | 'dualClip'> = { epsLow: 4, epsHigh: 4, dualClip: 0 };

/** The paper's Stage I settings (Qwen3-4B) per method and baseline, as the method doc gives them. */
export const PAPER_STAGE_I: Record<Exclude<Method, 'stage2'>, StageConfig> = {
  'exprl-outcome': paperStage('exprl-outcome', 36, 10, 2),
  'exprl-process': paperStage('exprl-process', 36, 16, 1),
  'sparse-grpo': paperStage('sparse-grpo', 32, 16, 2),
  // SFT (the code): lr 1e-6, 32 references per step, 600 steps; cross-entropy has no KL term.
  sft: { ...paperStage('sft', 32, 1, 1), steps: 600, klCoef: 0 },
  // Self-distillation (the code): lr 1e-7, 32 prompts × 16 samples, one mini-batch, no KL, no
  // clip. The code's loss has no ratio at all; ours is the PPO form, which with one mini-batch
  // and one epoch sees ratio 1 and gives the same gradient -A·∇logp. Epsilon 4 and no dual clip
  // keep the clip out of the way should mini-batches or epochs be added.
  'self-distill': { ...paperStage('self-distill', 32, 16, 1), lr: 1e-7, klCoef: 0, ...EPSILON_4 },
};

/** Stage I as verl runs it: token-mean loss, clip range (0.2, epsHigh of the method), dual clip 3, KL 0.001. */
function paperStage(method: Method, prompts: number, rollouts: number, miniBatches: number): StageConfig {
  return {
    method,
    split: methodTraits(method).split,
    poolSize: null,
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
    // The paper's value, written out so that the preset shows it ("auto" would resolve the same).
    epsHigh: methodTraits(method).epsHigh,
    dualClip: 3,
    klCoef: 0.001,
    entropyCoef: 0,
    lossAggregation: 'token-mean',
    cutCorrectReward: false,
  };
}

/**
 * Stage II in the paper, as PipelineRL runs it: 16 prompts × 32 rollouts (512) per optimizer
 * step, lr 1e-6, grad clip 0.3, up to 720 steps, entropy 1e-4, no KL; PPO epsilon 4 and no dual
 * clip; the summed token loss divided by the samples of the step; a correct answer cut at the
 * maximum length still earns 1. Not given by the doc, carried over from Stage I (assumed):
 * temperature, weight decay, response length, one update per batch.
 */
export const PAPER_STAGE_II: StageConfig = {
  ...paperStage('stage2', 16, 32, 1),
  ...EPSILON_4,
  steps: 720,
  gradClip: 0.3,
  klCoef: 0,
  entropyCoef: 1e-4,
  lossAggregation: 'sample-sum',
  cutCorrectReward: true,
};

export type PresetName = 'paper' | 'small' | 'tiny';

function defaultTasks(evalPrompts: number): TasksConfig {
  return {
    families: ['arith-chain', 'long-addition', 'gcd', 'linear-equation'],
    difficulties: { easy: [1, 2], mid: [2, 3, 4, 5, 6, 7, 8], rl: [2, 3, 4, 5, 6, 7, 8], eval: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    evalPrompts,
    evalSplit: 'eval',
    evalSeed: null,
  };
}

/**
 * Stage 0 of the built-in policy: the first half of what produced the shipped "builtin-base"
 * checkpoint (`npm run make-base`). 300 steps of 8 references (about five passes over 512
 * distinct easy items) at lr 2e-3 teach a sub-1M-parameter character model the formats of the
 * easy split, not yet to read the question: it wrote random numbers in the right places. The
 * second half (scripts/builtin-base-sft.json) is 600 SFT steps of 16 linear equations
 * (difficulties 1-4, four pools of 512) at lr 1e-3; the model learned to copy the question's
 * numbers around step 300 (loss 0.55 -> 0.18) and gets the arithmetic right some of the time.
 */
export const SMALL_PRETRAIN: PretrainConfig = { steps: 300, examplesPerStep: 8, lr: 2e-3, weightDecay: 0.01, gradClip: 1.0 };

/** Stage II for the built-in policy: sparse reward on the rl split, entropy bonus, no KL. */
export const SMALL_STAGE_II: Omit<StageConfig, 'lr' | 'maxResponseTokens' | 'temperature'> = {
  method: 'stage2',
  split: 'rl',
  poolSize: null,
  steps: 100,
  promptsPerStep: 8,
  rolloutsPerPrompt: 8,
  miniBatches: 1,
  epochs: 1,
  weightDecay: 0.01,
  gradClip: 0.3,
  topK: 0,
  topP: 1,
  epsLow: 0.2,
  epsHigh: 'auto',
  dualClip: 3,
  klCoef: 0,
  entropyCoef: 1e-4,
  lossAggregation: 'token-mean',
  cutCorrectReward: false,
};

function paperPreset(): RunConfig {
  return {
    policy: 'Qwen3-4B-Instruct',
    tasks: defaultTasks(32),
    pretrain: { ...SMALL_PRETRAIN, steps: 0 },
    stages: [{ ...PAPER_STAGE_I['exprl-process'] }, { ...PAPER_STAGE_II }],
    judge: {
      kind: 'policy',
      endpoint: '',
      model: '',
      processView: 'segment',
      parse: 'first',
      normalisation: 'linear',
      delimiter: '###',
      maxSegments: null, // the training code has no cap
      guard: false, // the authors' delta rule
      retries: 2,
      maxMaskedShare: 0.5,
      callCap: null,
      maxTokens: 2048, // the outcome judge's replies in the paper's code
      runtime: 'auto',
      dtype: 'auto',
      templates: { ...DEFAULT_TEMPLATES },
    },
    seeds: { init: 0, data: 0, sampling: 0 },
    checkpointEvery: 1,
    eval: { before: true, stageEnds: false, n: 16, k: [1, 4, 16], temperature: 0.8, topK: 20, topP: 0.95, maxResponseTokens: 16384, everySteps: 10 },
  };
}

/**
 * Built-in policy, ExpRL-Process with the rubric judge. lr 3e-4: a sub-1M-parameter model
 * needs a far larger step than 1e-6 to move at all in a few hundred steps, and the low end of
 * the 1e-3..3e-4 range keeps noisy policy-gradient updates (and the KL to the reference) tame.
 * Short responses (128 characters with the character-level tokenizer) and 4 prompts × 8 rollouts
 * per step keep a step to about a minute on a software adapter (seconds on a GPU).
 */
function smallPreset(): RunConfig {
  const stage: StageConfig = {
    method: 'exprl-process',
    split: 'mid',
    poolSize: null,
    steps: 200,
    promptsPerStep: 4,
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
    lossAggregation: 'token-mean',
    cutCorrectReward: false,
  };
  return {
    policy: 'builtin-base',
    tasks: defaultTasks(8),
    pretrain: { ...SMALL_PRETRAIN },
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
      guard: true,
      retries: 2,
      maxMaskedShare: 0.25,
      callCap: null,
      maxTokens: 512,
      runtime: 'auto',
      dtype: 'auto',
      templates: { ...DEFAULT_TEMPLATES },
    },
    seeds: { init: 1, data: 1, sampling: 1 },
    checkpointEvery: 1,
    eval: { before: true, stageEnds: false, n: 16, k: [1, 4, 16], temperature: 0.8, topK: 0, topP: 1, maxResponseTokens: 128, everySteps: 25 },
  };
}

/** Stage II of the small preset, to append after its Stage I (`exprl train --stage2-steps N`). */
export function smallStage2(from: StageConfig, steps: number): StageConfig {
  return { ...SMALL_STAGE_II, lr: from.lr, temperature: from.temperature, maxResponseTokens: from.maxResponseTokens, steps };
}

/**
 * The whole pipeline in miniature, small enough for CI on a software GPU: a fresh built-in
 * policy, 2 Stage 0 steps, 3 Stage I steps, 1 Stage II step, eval before and after.
 */
function tinyPreset(): RunConfig {
  const c = smallPreset();
  c.policy = 'builtin';
  c.pretrain = { ...c.pretrain, steps: 2, examplesPerStep: 4 };
  const s1: StageConfig = { ...c.stages[0], steps: 3, promptsPerStep: 2, rolloutsPerPrompt: 4, maxResponseTokens: 24 };
  c.stages = [s1, { ...smallStage2(s1, 1), promptsPerStep: 2, rolloutsPerPrompt: 4 }];
  c.tasks.evalPrompts = 2;
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

/** Every problem of `value` as a run config (empty when valid). */
export function configIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isObject(value)) return [{ path: '(config)', value, message: 'must be an object' }];
  const known = new Set(['policy', 'tasks', 'pretrain', 'stages', 'judge', 'seeds', 'eval', 'checkpointEvery']);
  for (const k of Object.keys(value)) {
    if (!known.has(k)) issues.push({ path: k, value: value[k], message: 'is not a known field' });
  }
  const every = RUN_FIELDS.checkpointEvery.check(value.checkpointEvery);
  if (every !== null) issues.push({ path: 'checkpointEvery', value: value.checkpointEvery, message: value.checkpointEvery === undefined ? 'is missing' : every });
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
      if (st.cutCorrectReward && !methodTraits(st.method).sparseReward) {
        issues.push({ path: `stages[${i}].cutCorrectReward`, value: true, message: `applies to sparse-reward methods only (${sparseRewardMethods().join(', ')}), not ${st.method}` });
      }
    });
  }
  checkFields(value.tasks, TASKS_FIELDS, 'tasks', issues);
  checkFields(value.pretrain, PRETRAIN_FIELDS, 'pretrain', issues);
  checkFields(value.judge, JUDGE_FIELDS, 'judge', issues);
  checkFields(value.seeds, SEED_FIELDS, 'seeds', issues);
  checkFields(value.eval, EVAL_FIELDS, 'eval', issues);

  if (isObject(value.eval) && Array.isArray(value.eval.k) && typeof value.eval.n === 'number') {
    const n = value.eval.n;
    value.eval.k.forEach((k: unknown, i: number) => {
      if (typeof k === 'number' && k > n) issues.push({ path: `eval.k[${i}]`, value: k, message: `must be <= eval.n (${n})` });
    });
  }
  if (isObject(value.tasks) && Array.isArray(value.tasks.families)) {
    value.tasks.families.forEach((f: unknown, i: number) => {
      if (typeof f === 'string' && !Object.hasOwn(FAMILIES, f)) {
        issues.push({ path: `tasks.families[${i}]`, value: f, message: `is not a built-in family (${Object.keys(FAMILIES).join(', ')})` });
      }
    });
  }
  if (isObject(value.judge) && value.judge.kind === 'policy' && typeof value.policy === 'string' && value.policy.startsWith('builtin')) {
    issues.push({
      path: 'judge.kind',
      value: 'policy',
      message: `the self-judge needs an instruct model with a chat template; the built-in policy ("${value.policy}") is a small character-level model that cannot follow a judging prompt. Use "rubric" (built-in tasks) or "openai"`,
    });
  }
  if (isObject(value.judge) && Array.isArray(value.stages)) {
    const j = value.judge;
    value.stages.forEach((s: unknown, i: number) => {
      if (isObject(s) && (METHODS as readonly unknown[]).includes(s.method) && needsJudge(s.method as Method) && j.kind === 'none') {
        issues.push({ path: 'judge.kind', value: j.kind, message: `stages[${i}] uses ${String(s.method)}, which needs a judge` });
      }
    });
    if (j.kind === 'local' && (typeof j.model !== 'string' || j.model.length === 0)) {
      issues.push({ path: 'judge.model', value: j.model, message: 'is required when judge.kind is "local" (a model folder or Hugging Face id)' });
    }
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

/**
 * Keys that reach an object's prototype when assigned (JSON.parse makes "__proto__" an own key):
 * a config holding one would change Object.prototype for the whole process.
 */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

function mergeObject(base: Record<string, unknown>, over: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    const p = path === '' ? k : `${path}.${k}`;
    if (FORBIDDEN_KEYS.includes(k)) throw new ConfigError([{ path: p, value: '(not shown)', message: `"${k}" is not allowed as a key (it would reach the object prototype)` }]);
    if (path === '' && k === 'stages') continue;
    if (v === undefined) continue;
    const b = base[k];
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
