// The presets: the named default run configs (`paper`, `small`, `tiny`, `demo`), the paper's Stage I
// and Stage II settings, and the small preset's Stage 0 and Stage II. Every value of a default
// config is written here once; the schema (./schema.ts) documents and checks each field.
import { DEFAULT_TEMPLATES } from '../../judge/prompts';
import { methodTraits } from '../methods';
import type { Method, PretrainConfig, RunConfig, StageConfig, TasksConfig } from './schema';
import { ConfigError } from './validate';


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

export type PresetName = 'paper' | 'small' | 'tiny' | 'demo';

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
 * second half (scripts/builtin-base-sft.json) is 1800 SFT steps of 16 linear equations
 * (difficulties 1-4, twelve pools of 512) at lr 1e-3; the model learned to copy the question's
 * numbers around step 300 (loss 0.55 -> 0.18) and to do the arithmetic after about 900: on
 * dev d1-4 pass@1 went 1.6% -> 7.6% (step 600) -> 18%, and sound@n (correct with every line
 * true) 0 -> 15%. After 600 steps its right answers at difficulty 3-4 were guesses.
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
      requireProbes: false,
      retries: 2,
      timeoutMs: 60_000,
      breakerAfter: 8,
      apiKeyEnv: '',
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
 * per step keep a step near 5 s on a 2-core software adapter (median over 10 steps from the shipped
 * base, SwiftShader; docs/results.md, "Speed of a step").
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
      requireProbes: false,
      retries: 2,
      timeoutMs: 60_000,
      breakerAfter: 8,
      apiKeyEnv: '',
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

/**
 * The page's default: the shipped base policy practises four one-step linear equations with
 * guarded ExpRL-Process and the rubric judge, each step all four questions × 8 rollouts, so the
 * reward curve is the pool's mean rather than one question's. What it showed is DEMO_FINDINGS:
 * `exprl train --preset demo --stage2-steps 0`, seed 1, on 2 busy cores (SwiftShader), its eval
 * on 16 held-out dev questions of difficulty 1 (evalSplit "dev", evalSeed 0) instead of the
 * preset's "eval" split. One question at a time × 16 rollouts (80 steps) learned the same three
 * questions, less smoothly: the reward curve then cycles with the question.
 */
function demoPreset(): RunConfig {
  const c = smallPreset();
  c.tasks = { ...c.tasks, families: ['linear-equation'], difficulties: { easy: [1], mid: [1], rl: [1], eval: [1] }, evalPrompts: 16 };
  c.stages = [{ ...c.stages[0], poolSize: 4, steps: 200, promptsPerStep: 4, rolloutsPerPrompt: 8, lr: 1e-4, maxResponseTokens: 64 }];
  c.eval = { ...c.eval, n: 8, k: [1, 8], maxResponseTokens: 64, everySteps: 20 };
  return c;
}

/** What the demo preset showed, in the page's words (shown beside the run when it is chosen). */
export const DEMO_FINDINGS =
  'What this showed when we ran it (seed 1, 43 steps): on the four questions it practises, the share of right answers rose from 49% (first 5 steps) to 62% (last 10). ' +
  'One question went from 35% to 53% right, two from about 80% to 97-100%, and one that the base never solves stayed at 0%: its groups are all wrong, so they give no signal. ' +
  'Wrong answers earned no reward (the guard). Held-out questions of the same kind did not improve (pass@1 0.36 before, 0.30 after 40 steps): practice on four questions does not carry over.';

/** A fresh copy of a preset (callers may mutate it). */
export function preset(name: PresetName): RunConfig {
  switch (name) {
    case 'paper':
      return paperPreset();
    case 'small':
      return smallPreset();
    case 'tiny':
      return tinyPreset();
    case 'demo':
      return demoPreset();
    default:
      throw new ConfigError([{ path: 'preset', value: name, message: 'must be one of "paper", "small", "tiny", "demo"' }]);
  }
}
export const PRESET_NAMES: readonly PresetName[] = ['paper', 'small', 'tiny', 'demo'];

