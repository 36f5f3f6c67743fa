/**
 * A recorded run as the page plays it back (public/replays/<name>/, made by
 * scripts/make-replay.ts from a CLI run folder): `replay.json` (the run's config and the task
 * items its rollouts name), `metrics.jsonl` and `rollouts.jsonl` (the run folder's lines as they
 * were written; the rollouts gzipped). Here those files become the engine events a live run
 * sends, in the order it sends them, so the run panel shows a replay exactly as it shows a run.
 *
 * Pure: no GPU, no DOM. The files are untrusted input: every field is checked, and every error
 * names the file and the line.
 */
import { reached, RubricJudge } from '../judge/rubric';
import type { JudgeScore } from '../judge/types';
import { validateConfig, type RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import { judgeMode } from '../rl/methods';
import type { StepMetrics } from '../rl/metrics';
import type { TaskItem } from '../tasks/types';
import type { EngineEvent, RolloutBatchView, RolloutView } from './api';
import { MAX_REASON_CHARS } from './run-view';

export const REPLAY_FORMAT = 'exprl-replay';
export const REPLAY_VERSION = 1;
/** The files of a replay folder. The rollouts are gzipped: as plain JSON lines a 40-step run is ~0.5 MB. */
export const REPLAY_FILES = { header: 'replay.json', metrics: 'metrics.jsonl', rollouts: 'rollouts.jsonl.gz' } as const;

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** replay.json. */
export interface ReplayHeader {
  format: typeof REPLAY_FORMAT;
  version: number;
  name: string;
  title: string;
  /** What the run was and what it showed, in a sentence or two (shown above the panel). */
  about: string;
  config: RunConfig;
  /** Every task item a rollout line names (built-in items are regenerated from the config by the script). */
  prompts: TaskItem[];
}

/** One line of rollouts.jsonl (src/rl/rollouts.ts, rolloutJsonLine, with the stage/step/method it is written with). */
export interface RolloutLine {
  stage: number;
  step: number;
  method: string;
  prompt_id: string;
  text: string;
  segments: { text: string; score: number | null; advantage: number }[];
  reward: number | null;
  correct: boolean;
  cut: boolean;
  masked: boolean;
  judge_error?: string;
}

export interface Replay {
  header: ReplayHeader;
  metrics: (StepMetrics | EvalLine)[];
  rollouts: RolloutLine[];
}

/** The events of one step (or eval) of the recorded run: the unit of pacing, pausing and Step. */
export interface ReplayFrame {
  /** True for a metrics step line (what the Step button and `pauseAfter` count); false for an eval. */
  step: boolean;
  events: EngineEvent[];
}

// ---- reading ----------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one field; `where` is "file line n" (or "file") for the message. */
function field<T>(o: Json, key: string, ok: (v: unknown) => v is T, what: string, where: string): T {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  if (!ok(v)) throw new ReplayError(`${where}: "${key}" must be ${what}, got ${v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNumOrNull = (v: unknown): v is number | null => v === null || isNum(v);
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

/** Text of a file that may be gzipped (told by its magic bytes: a server may already have inflated it). */
export async function fileText(bytes: Uint8Array, file: string): Promise<string> {
  let data = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
      data = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (e) {
      throw new ReplayError(`${file}: not a readable gzip file (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new ReplayError(`${file}: not UTF-8 text`);
  }
}

/** The objects of a JSON-lines text, with their 1-based line numbers (blank lines skipped). */
export function jsonLines(text: string, file: string): { line: number; value: Json }[] {
  const out: { line: number; value: Json }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new ReplayError(`${file} line ${i + 1}: not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!isObject(value)) throw new ReplayError(`${file} line ${i + 1}: not a JSON object`);
    out.push({ line: i + 1, value });
  });
  return out;
}

export function parseItem(v: unknown, where: string): TaskItem {
  if (!isObject(v)) throw new ReplayError(`${where}: a prompt must be an object`);
  return {
    id: field(v, 'id', isStr, 'a string', where),
    family: field(v, 'family', isStr, 'a string', where),
    question: field(v, 'question', isStr, 'a string', where),
    reference: field(v, 'reference', isStr, 'a string', where),
    steps: field(v, 'steps', isStrList, 'a list of strings', where),
    checkpoints: field(v, 'checkpoints', isStrList, 'a list of strings', where),
    answer: field(v, 'answer', isStr, 'a string', where),
    difficulty: field(v, 'difficulty', isNum, 'a number', where),
  };
}

export function parseHeader(text: string, file: string = REPLAY_FILES.header): ReplayHeader {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ReplayError(`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(v)) throw new ReplayError(`${file}: not a JSON object`);
  if (v.format !== REPLAY_FORMAT) throw new ReplayError(`${file}: "format" must be "${REPLAY_FORMAT}"`);
  const version = field(v, 'version', isInt, 'an integer', file);
  if (version !== REPLAY_VERSION) throw new ReplayError(`${file}: version ${version} is not ${REPLAY_VERSION}, the one this page reads`);
  let config: RunConfig;
  try {
    config = validateConfig(field(v, 'config', isObject, 'an object', file) as unknown as RunConfig);
  } catch (e) {
    throw new ReplayError(`${file}: its "config" is not a valid run config: ${e instanceof Error ? e.message : String(e)}`);
  }
  const prompts = field(v, 'prompts', Array.isArray, 'a list', file).map((p, i) => parseItem(p, `${file} prompts[${i}]`));
  return {
    format: REPLAY_FORMAT,
    version,
    name: field(v, 'name', isStr, 'a string', file),
    title: field(v, 'title', isStr, 'a string', file),
    about: field(v, 'about', isStr, 'a string', file),
    config,
    prompts,
  };
}

/** A metrics.jsonl line: the fields the panel and the order need are checked; the rest pass as they are (charts read numbers only). */
export function metricsLine(v: Json, where: string): StepMetrics | EvalLine {
  field(v, 'step', isInt, 'an integer ≥ 0', where);
  field(v, 'stage', isInt, 'an integer ≥ 0', where);
  field(v, 'method', isStr, 'a string', where);
  if (v.eval !== undefined && v.eval !== true) throw new ReplayError(`${where}: "eval" must be true or absent`);
  return v as unknown as StepMetrics | EvalLine;
}

export function rolloutLine(v: Json, where: string): RolloutLine {
  const segments = field(v, 'segments', Array.isArray, 'a list', where).map((s: unknown, k) => {
    const at = `${where} segment ${k}`;
    if (!isObject(s)) throw new ReplayError(`${at}: must be an object`);
    return { text: field(s, 'text', isStr, 'a string', at), score: field(s, 'score', isNumOrNull, 'a number or null', at), advantage: field(s, 'advantage', isNum, 'a number', at) };
  });
  const error = v.judge_error;
  if (error !== undefined && !isStr(error)) throw new ReplayError(`${where}: "judge_error" must be a string`);
  return {
    stage: field(v, 'stage', isInt, 'an integer ≥ 0', where),
    step: field(v, 'step', isInt, 'an integer ≥ 0', where),
    method: field(v, 'method', isStr, 'a string', where),
    prompt_id: field(v, 'prompt_id', isStr, 'a string', where),
    text: field(v, 'text', isStr, 'a string', where),
    segments,
    reward: field(v, 'reward', isNumOrNull, 'a number or null', where),
    correct: field(v, 'correct', isBool, 'true or false', where),
    cut: field(v, 'cut', isBool, 'true or false', where),
    masked: field(v, 'masked', isBool, 'true or false', where),
    ...(error !== undefined ? { judge_error: error } : {}),
  };
}

/** The three files' texts as a checked replay; `names` says how to name them in errors (e.g. with the folder). */
export function parseReplay(texts: { header: string; metrics: string; rollouts: string }, names: { header: string; metrics: string; rollouts: string } = REPLAY_FILES): Replay {
  const header = parseHeader(texts.header, names.header);
  const metrics = jsonLines(texts.metrics, names.metrics).map(({ line, value }) => metricsLine(value, `${names.metrics} line ${line}`));
  if (metrics.length === 0) throw new ReplayError(`${names.metrics}: no lines`);
  const known = new Set(header.prompts.map((p) => p.id));
  // Each rollout belongs to a step line; one without is a cut file, not a run to show half of.
  const steps = new Set(metrics.filter((m) => (m as EvalLine).eval !== true).map((m) => `${m.stage}:${m.step}`));
  const rollouts = jsonLines(texts.rollouts, names.rollouts).map(({ line, value }) => {
    const where = `${names.rollouts} line ${line}`;
    const r = rolloutLine(value, where);
    if (!known.has(r.prompt_id)) throw new ReplayError(`${where}: prompt "${r.prompt_id}" is not among the prompts of ${names.header}`);
    if (r.stage < 1 || r.stage > header.config.stages.length) throw new ReplayError(`${where}: stage ${r.stage} is not a stage of the run's config (1..${header.config.stages.length})`);
    if (!steps.has(`${r.stage}:${r.step}`)) throw new ReplayError(`${where}: stage ${r.stage} step ${r.step} has no step line in ${names.metrics}`);
    return r;
  });
  return { header, metrics, rollouts };
}

// ---- events -----------------------------------------------------------------------------------

function shortReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 1)}…`;
}

/**
 * The rubric's reasons for a rollout's segments, as the live run got them (rollouts.jsonl keeps
 * the scores, not the reasons). The rubric is deterministic, so asking it again gives the same
 * reasons; null when the live run asked no judge (sparse methods, cut responses) or another judge.
 */
async function rubricReasons(config: RunConfig, r: RolloutLine, item: TaskItem): Promise<string[] | null> {
  const mode = judgeMode(config.stages[r.stage - 1].method);
  if (config.judge.kind !== 'rubric' || mode === 'none' || r.cut || r.segments.length === 0) return null;
  const judge = new RubricJudge({ normalisation: config.judge.normalisation });
  const base = { family: item.family, question: item.question, reference: item.reference, answer: item.answer, checkpoints: item.checkpoints, truncated: false };
  let scores: JudgeScore[];
  try {
    scores = mode === 'outcome' ? [await judge.outcome({ ...base, trace: r.text })] : await judge.process({ ...base, segments: r.segments.map((s) => s.text), view: config.judge.processView });
  } catch {
    return null; // an item the rubric cannot grade: the run would have refused it; no reasons to show
  }
  return scores.length === r.segments.length ? scores.map((s) => (s.ok ? s.rationale : `${s.failure.kind} failure: ${s.failure.message}`)) : null;
}

/** One step's rollout lines as the panel's batch: prompts in the order the lines first name them. */
async function batchView(config: RunConfig, items: ReadonlyMap<string, TaskItem>, lines: readonly RolloutLine[]): Promise<RolloutBatchView> {
  const order: string[] = [];
  for (const r of lines) if (!order.includes(r.prompt_id)) order.push(r.prompt_id);
  const rollouts: RolloutView[] = [];
  for (const r of lines) {
    const item = items.get(r.prompt_id)!;
    const reasons = await rubricReasons(config, r, item);
    rollouts.push({
      group: order.indexOf(r.prompt_id),
      text: r.text,
      segments: r.segments.map((s, k) => ({ text: s.text, score: s.score, advantage: s.advantage, ...(reasons !== null ? { reason: shortReason(reasons[k]) } : {}) })),
      reward: r.reward,
      correct: r.correct,
      cut: r.cut,
      masked: r.masked,
      ...(r.judge_error !== undefined ? { judgeError: r.judge_error } : {}),
      // The rubric's rule, as the live view (run-view.ts) applies it.
      reached: item.checkpoints.map((cp) => reached(r.text, cp, item).length > 0),
    });
  }
  const first = lines[0];
  return {
    stage: first.stage,
    step: first.step,
    method: first.method,
    prompts: order.map((id) => {
      const it = items.get(id)!;
      return { id: it.id, question: it.question, reference: it.reference, answer: it.answer, steps: [...it.steps], checkpoints: [...it.checkpoints] };
    }),
    rollouts,
  };
}

/** Rollout lines by step ("stage:step"), in the order the steps first appear. */
function linesBySteps(rollouts: readonly RolloutLine[]): Map<string, RolloutLine[]> {
  const byStep = new Map<string, RolloutLine[]>();
  for (const r of rollouts) {
    const key = `${r.stage}:${r.step}`;
    if (!byStep.has(key)) byStep.set(key, []);
    byStep.get(key)!.push(r);
  }
  return byStep;
}

/**
 * Rollout lines (rollouts.jsonl's, of a run folder, a replay, a bundle or the page's saved run) as
 * the rollout browser's batches, one per step in the order the lines name the steps. `prompts`
 * must hold every item the lines name.
 */
export async function rolloutBatchViews(config: RunConfig, prompts: readonly TaskItem[], rollouts: readonly RolloutLine[]): Promise<RolloutBatchView[]> {
  const items = new Map(prompts.map((p) => [p.id, p]));
  for (const r of rollouts) if (!items.has(r.prompt_id)) throw new ReplayError(`rollouts: prompt "${r.prompt_id}" is not among the prompts given`);
  const out: RolloutBatchView[] = [];
  for (const lines of linesBySteps(rollouts).values()) out.push(await batchView(config, items, lines));
  return out;
}

/**
 * The recorded run as frames of engine events, in a live run's order (src/rl/run.ts): a step's
 * rollouts, then its metrics line, then its progress; an eval line after its progress. The
 * 'run-start' and 'run-end' events are the engine's, around the frames it plays.
 */
export async function replayFrames(replay: Replay): Promise<ReplayFrame[]> {
  const { config } = replay.header;
  const items = new Map(replay.header.prompts.map((p) => [p.id, p]));
  const byStep = linesBySteps(replay.rollouts);
  const stepsOf = (stage: number): number => (stage === 0 ? config.pretrain.steps : (config.stages[stage - 1]?.steps ?? 0));
  const doneIn = new Map<number, number>();
  const frames: ReplayFrame[] = [];
  for (const line of replay.metrics) {
    if ((line as EvalLine).eval === true) {
      const ev = line as EvalLine;
      frames.push({ step: false, events: [{ type: 'run-progress', progress: { phase: 'eval', stage: ev.stage, done: ev.prompts, total: ev.prompts, method: ev.method } }, { type: 'run-metrics', line }] });
      continue;
    }
    const done = (doneIn.get(line.stage) ?? 0) + 1;
    doneIn.set(line.stage, done);
    const events: EngineEvent[] = [];
    const lines = byStep.get(`${line.stage}:${line.step}`);
    if (lines !== undefined) events.push({ type: 'run-rollouts', batch: await batchView(config, items, lines) });
    events.push({ type: 'run-metrics', line });
    events.push({ type: 'run-progress', progress: { phase: line.stage === 0 ? 'pretrain' : 'train', stage: line.stage, done, total: Math.max(done, stepsOf(line.stage)), method: line.method } });
    frames.push({ step: true, events });
  }
  return frames;
}
