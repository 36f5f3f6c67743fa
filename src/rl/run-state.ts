/**
 * Run state, defined once: what a run folder (the CLI), a saved run in the page and a crash save
 * hold so that a run continues exactly where it stopped. Pure data and its checks; the shells
 * store it (src/cli/run-folder.ts for Node).
 *
 * What it holds and why that is enough:
 * - the cursor: the stage being run, its steps done, and which evaluations are done;
 * - the policy's weights, and the AdamW moments and step count of the stage's trainer;
 * - the frozen policies: `base` (the policy Stage I started from; kl_base) and the stage's
 *   `reference` (its KL reference and self-distillation teacher). Each is stored once, under a
 *   key, or rebuilt: base "policy" is the run's starting policy as loaded from `config.policy`
 *   (nothing trained it before Stage I), and a reference "base" is the base itself;
 * - the judge-call count, the unlocked prompts and the evaluations so far;
 * - how many metrics.jsonl and rollouts.jsonl lines belong to this state: a resume cuts the
 *   files there, so lines of a step that was cut short are made again, identically.
 * There is no RNG state to keep: every draw is a pure function of the seeds and the cursor (a
 * step's prompts are `stepItems(pool, step)`, its sampling seed `mixSeed(seed, stageSalt(stage), step)`).
 */
import { prototypeKeyPath } from '../tasks/import';
import type { EvalLine } from './evaluate';

export const RUN_STATE_FORMAT = 'exprl-run-state';
export const RUN_STATE_VERSION = 1;

export interface RunCursor {
  /** Stage being run: 0 = Stage 0 (pre-training), i >= 1 = config.stages[i - 1]. */
  stage: number;
  /** Steps of that stage done. */
  step: number;
  /** Optimizer steps of stages I, II, ... done (the step numbers of metrics lines). */
  globalStep: number;
  /** The evaluation before Stage I is done. */
  baseEval: boolean;
  /** Every stage and the last evaluation are done. */
  finished: boolean;
}

/** Where a frozen policy's weights come from on resume. */
export type FrozenSource =
  | { kind: 'policy' } // the run's starting policy, loaded again from config.policy
  | { kind: 'base' } // the same weights as the base
  | { kind: 'stored'; key: string }; // stored under this key

export interface RunStateJson {
  format: typeof RUN_STATE_FORMAT;
  version: typeof RUN_STATE_VERSION;
  cursor: RunCursor;
  judgeCalls: number;
  unlocked: string[];
  evals: EvalLine[];
  /** metrics.jsonl and rollouts.jsonl lines written up to this state. */
  lines: { metrics: number; rollouts: number };
  /** AdamW's step count of the stage's trainer; null between stages (a new stage starts a new trainer). */
  optimizerStep: number | null;
  /** null before Stage I starts. */
  base: FrozenSource | null;
  /** The current stage's frozen reference; null when it has none. */
  reference: FrozenSource | null;
}

/** Flat f32 buffers, laid out as the model's parameter buffers (ModelParams.flat). */
export type FlatWeights = Float32Array[];

/** One checkpoint as the run hands it to its store. */
export interface RunSnapshot {
  state: RunStateJson;
  policy: FlatWeights;
  /** AdamW's first and second moments; present when state.optimizerStep is not null. */
  optimizer: { m: FlatWeights; v: FlatWeights } | null;
  /** Frozen policies first seen since the last snapshot, by key (stored once, kept while referenced). */
  frozen: Map<string, FlatWeights>;
}

/** A stored state as the run takes it back. */
export interface LoadedRunState {
  state: RunStateJson;
  policy: FlatWeights;
  optimizer: { m: FlatWeights; v: FlatWeights } | null;
  /** Every stored frozen policy the state refers to. */
  frozen: Map<string, FlatWeights>;
}

/** Keys of the stored frozen policies a state refers to. */
export function frozenKeys(state: RunStateJson): string[] {
  return [state.base, state.reference].flatMap((f) => (f?.kind === 'stored' ? [f.key] : [])).filter((k, i, all) => all.indexOf(k) === i);
}

export class RunStateError extends Error {
  constructor(where: string, why: string) {
    super(`${where}: ${why}`);
    this.name = 'RunStateError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function frozenSource(v: unknown, where: string, field: string): FrozenSource | null {
  if (v === null) return null;
  if (isObj(v) && (v.kind === 'policy' || v.kind === 'base')) return { kind: v.kind };
  if (isObj(v) && v.kind === 'stored' && typeof v.key === 'string' && /^[a-z0-9-]+$/.test(v.key)) return { kind: 'stored', key: v.key };
  throw new RunStateError(where, `${field} must be null, {"kind":"policy"}, {"kind":"base"} or {"kind":"stored","key":"a-z0-9-"}`);
}

/** Checks a parsed state file field by field; errors name the file and the field. */
export function parseRunState(value: unknown, where: string): RunStateJson {
  if (!isObj(value)) throw new RunStateError(where, 'must be a JSON object');
  // A state file is untrusted (it may come from elsewhere); its eval lines are copied into outputs.
  const protoKey = prototypeKeyPath(value);
  if (protoKey !== null) throw new RunStateError(where, `${protoKey.path}: "${protoKey.key}" is not allowed as a key (it would reach the object prototype)`);
  if (value.format !== RUN_STATE_FORMAT) throw new RunStateError(where, `format must be "${RUN_STATE_FORMAT}"`);
  if (value.version !== RUN_STATE_VERSION) throw new RunStateError(where, `version ${JSON.stringify(value.version)} is not supported (this build reads ${RUN_STATE_VERSION})`);
  const c = value.cursor;
  if (!isObj(c) || !isCount(c.stage) || !isCount(c.step) || !isCount(c.globalStep) || typeof c.baseEval !== 'boolean' || typeof c.finished !== 'boolean') {
    throw new RunStateError(where, 'cursor must be {stage, step, globalStep: counts; baseEval, finished: booleans}');
  }
  if (!isCount(value.judgeCalls)) throw new RunStateError(where, 'judgeCalls must be a count');
  if (!Array.isArray(value.unlocked) || !value.unlocked.every((x) => typeof x === 'string')) throw new RunStateError(where, 'unlocked must be a list of prompt ids');
  if (!Array.isArray(value.evals) || !value.evals.every(isObj)) throw new RunStateError(where, 'evals must be a list of eval lines');
  const l = value.lines;
  if (!isObj(l) || !isCount(l.metrics) || !isCount(l.rollouts)) throw new RunStateError(where, 'lines must be {metrics, rollouts} counts');
  if (value.optimizerStep !== null && !isCount(value.optimizerStep)) throw new RunStateError(where, 'optimizerStep must be a count or null');
  return {
    format: RUN_STATE_FORMAT,
    version: RUN_STATE_VERSION,
    cursor: { stage: c.stage, step: c.step, globalStep: c.globalStep, baseEval: c.baseEval, finished: c.finished },
    judgeCalls: value.judgeCalls,
    unlocked: value.unlocked as string[],
    evals: value.evals as EvalLine[],
    lines: { metrics: l.metrics, rollouts: l.rollouts },
    optimizerStep: value.optimizerStep as number | null,
    base: frozenSource(value.base, where, 'base'),
    reference: frozenSource(value.reference, where, 'reference'),
  };
}

/** Where the run stores checkpoints. `save` returns once the state is durable: a kill after it resumes from here. */
export interface RunStore {
  save(snapshot: RunSnapshot): Promise<void>;
}
