/**
 * Rollout collection for one RL step: for every task item, G sampled responses with the
 * log-probs they were sampled with, their judge scores (outcome or per segment), the sparse
 * answer check, and per-token advantages from `groupAdvantages`. A record maps onto the
 * `PolicyRollout` the policy step consumes (`toPolicyRollout`) and onto one `rollouts.jsonl`
 * line (`rolloutJsonLine`).
 *
 * Rules (method doc, "Rewards and advantages" and the masking paragraph):
 * - A response is cut when it stopped at the length limit (maxTokens or the model's maxSeqLen)
 *   rather than at <eos> or a stop string. Its reward is 0 (process: every segment score 0)
 *   without asking the judge, so a cut rollout is never masked and costs no judge call. With
 *   `cutCorrectReward` a sparse method pays a cut response whose answer is correct 1 instead.
 * - A judge failure (failed call, unparseable reply, a thrown error) masks the rollout and is
 *   counted; so does a score the normalisation drops (`value: null`), which is not a failure.
 *   A masked rollout's reward and scores are `null`, never 0, and it leaves the group statistics.
 * - The sparse answer is always checked, whatever the method, for the metrics.
 */
import type { PolicySession } from '../model/session';
import type { Judge, JudgeItem, JudgeScore, ProcessView } from '../judge/types';
import { checkAnswer } from '../tasks/answers';
import type { TaskItem } from '../tasks/types';
import { groupAdvantages, type AdvantageInput, type AdvantageMethod, type ProcessValueMode } from './advantages';
import { judgeMode } from './methods';
import type { RolloutRecord as MetricsRollout } from './metrics';
import type { PolicyRollout } from './policy-step';
import { segmentTokens } from './segments';
import { rolloutPrompt } from './stage-data';

/** Methods whose advantages come from sampled rollouts alone (self-distillation needs a teacher pass). */
export type RolloutMethod = Exclude<AdvantageMethod, 'self-distill'>;

export interface CollectOptions {
  rolloutsPerPrompt: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  maxTokens: number;
  method: RolloutMethod;
  /** Needed by the ExpRL methods; the sparse methods never call it. */
  judge?: Judge;
  /** Must agree with the method when given: exprl-outcome asks outcome scores, exprl-process process scores. */
  judgeMode?: 'outcome' | 'process';
  view: ProcessView;
  delimiter: string;
  /** null: no cap. */
  maxSegments: number | null;
  processMode?: ProcessValueMode;
  /** Process mode: a response with no correct answer and fewer than two segments gets no positive value (the guard; default off). */
  guard?: boolean;
  /** Filled in with the wall time of sampling and of judging (seconds), for the step's time split. */
  times?: { sampleS: number; judgeS: number };
  /** A cut response with a correct answer earns 1, not 0 (PipelineRL's Stage II); sparse methods only. */
  cutCorrectReward?: boolean;
  /** A response that contains one of these stops there, finished (not cut). */
  stopStrings?: string[];
  signal?: AbortSignal;
}

export interface RolloutSegment {
  text: string;
  /** Normalised judge score (process), the reward (other methods, one segment); null when masked. */
  score: number | null;
  /** The value every token of the segment gets. */
  advantage: number;
}

export interface RolloutRecord {
  itemId: string;
  /** Index of the item in the collected batch: the group this rollout belongs to. */
  group: number;
  prompt: number[];
  response: number[];
  /** The response's text, special tokens left out. */
  text: string;
  logpOld: Float64Array;
  advantages: Float64Array;
  /** false: masked, no loss. */
  lossMask: boolean;
  /** Process: the response's steps; other methods: the whole response as one segment. */
  segments: RolloutSegment[];
  /** Per response token, its segment (-1 when the response has no text). */
  tokenSegment: Int32Array;
  /** Scalar reward (process: mean of the segment scores); null when masked. */
  reward: number | null;
  /** Sparse answer check. */
  correct: boolean;
  /** The response declares a final answer, right or wrong. */
  answered: boolean;
  cut: boolean;
  masked: boolean;
  judgeCalls: number;
  judgeFailures: number;
  judgeParseFailures: number;
  /** Wall time of this rollout's judge calls (0 when none). */
  judgeMs: number;
  /** Why the judge gave no usable score (the first failure), when masked by one. */
  judgeError?: string;
  /**
   * The judge's reason for each of `segments`, in order (its rationale, or the failure), when a
   * judge was asked and answered once per segment. For the page only: rollouts.jsonl leaves it out.
   */
  judgeReasons?: string[];
}


/** A window of undecided tokens longer than this moves on anyway (a run of U+FFFD that never completes). */
const MAX_WINDOW = 32;
/** Tokens of context before the window on the second try (see tokenPieces). */
const CONTEXT = 4;

/**
 * Each token's share of the decoded text, so that the shares concatenate to the decoding of all
 * the ids (`text`, when the caller has it already). A multi-byte character split over tokens of a
 * byte-level tokenizer only appears once complete, and lands on the token that completes it.
 *
 * Decoding every growing prefix would cost n²/2 ids. Instead a window of recent tokens is
 * decoded: it starts where the text last ended in a complete character, so with a byte-level
 * tokenizer each token costs about one id. Some decoders change the text at the start of a
 * decoding (SentencePiece's Strip drops a leading space), which a window starting there would
 * copy into the pieces; then the pieces do not concatenate to `text`, and a second pass keeps
 * CONTEXT tokens before each window and subtracts their decoding. Should that fail too, the
 * growing prefixes are decoded after all: exact whatever the decoder does.
 */
export function tokenPieces(decode: (ids: number[]) => string, ids: readonly number[], text: string = decode(ids.slice())): string[] {
  for (const context of [0, CONTEXT]) {
    const pieces = windowPieces(decode, ids, context);
    if (pieces.join('') === text) return pieces;
  }
  return windowPieces(decode, ids, Infinity);
}

/**
 * Pieces from decodings of ids[start..t] as t grows. After a token whose text ends in a complete
 * character the window restarts `context` tokens back (Infinity: never, the growing prefix).
 */
function windowPieces(decode: (ids: number[]) => string, ids: readonly number[], context: number): string[] {
  const pieces: string[] = [];
  // A one-token window is the commonest decode; tokens repeat, so each is decoded once.
  const single = new Map<number, string>();
  let start = 0;
  let prev = ''; // decode(ids[start..t])
  for (let t = 0; t < ids.length; t++) {
    let cur: string;
    if (start === t) {
      cur = single.get(ids[t]) ?? decode([ids[t]]);
      single.set(ids[t], cur);
    } else cur = decode(ids.slice(start, t + 1));
    let from = prev.length;
    if (!cur.startsWith(prev)) {
      // A placeholder (an incomplete character) was rewritten: drop the earlier shares back to
      // the common prefix and give the rewritten text to this token.
      let common = 0;
      while (common < prev.length && common < cur.length && prev[common] === cur[common]) common++;
      let excess = prev.length - common;
      for (let k = pieces.length - 1; k >= 0 && excess > 0; k--) {
        const cutBy = Math.min(excess, pieces[k].length);
        pieces[k] = pieces[k].slice(0, pieces[k].length - cutBy);
        excess -= cutBy;
      }
      from = common;
    }
    pieces.push(cur.slice(from));
    prev = cur;
    const settled = !cur.endsWith('\uFFFD') || t + 1 - start >= MAX_WINDOW;
    const next = Math.max(0, t + 1 - context);
    if (settled && next > start) {
      start = next;
      prev = next === t + 1 ? '' : decode(ids.slice(next, t + 1));
    }
  }
  return pieces;
}

function judgeItem(item: TaskItem, cut: boolean): JudgeItem {
  return { family: item.family, question: item.question, reference: item.reference, answer: item.answer, checkpoints: item.checkpoints, truncated: cut };
}

interface Judged {
  scores: number[] | null;
  calls: number;
  failures: number;
  parseFailures: number;
  /** The first failure's message, for the pause reason and the record. */
  error?: string;
  /** Per result, the judge's rationale or its failure (absent when the results do not line up with the segments). */
  reasons?: string[];
  /** Wall time of this rollout's judging. */
  ms?: number;
}

/** Normalised values of the judge's scores, or null (masked) when any failed or was dropped. */
function tally(results: readonly JudgeScore[], expected: number): Judged {
  let failures = 0;
  let parseFailures = 0;
  let dropped = false;
  let error: string | undefined;
  const scores: number[] = [];
  for (const r of results) {
    if (!r.ok) {
      failures++;
      if (r.failure.kind === 'parse') parseFailures++;
      error ??= `${r.failure.kind} failure: ${r.failure.message}`;
    } else if (r.value === null) dropped = true;
    else scores.push(r.value);
  }
  if (results.length !== expected) {
    // A judge that answers with the wrong number of scores cannot be lined up with the segments.
    return { scores: null, calls: expected, failures: failures + 1, parseFailures, error: `the judge returned ${results.length} scores for ${expected} segments` };
  }
  const reasons = results.map((r) => (r.ok ? r.rationale : `${r.failure.kind} failure: ${r.failure.message}`));
  return { scores: failures > 0 || dropped ? null : scores, calls: expected, failures, parseFailures, error, reasons };
}

async function askJudge(judge: Judge, mode: 'outcome' | 'process', item: JudgeItem, text: string, segments: string[], o: CollectOptions): Promise<Judged> {
  const expected = mode === 'outcome' ? 1 : segments.length;
  const t0 = performance.now();
  try {
    const judged =
      mode === 'outcome' ? tally([await judge.outcome({ ...item, trace: text }, o.signal)], 1) : tally(await judge.process({ ...item, segments, view: o.view }, o.signal), expected);
    return { ...judged, ms: performance.now() - t0 };
  } catch (e) {
    if (o.signal?.aborted) throw e;
    // A judge that throws is a failed call: masked and counted like one.
    const error = `the judge threw: ${e instanceof Error ? e.message : String(e)}`;
    return { scores: null, calls: expected, failures: Math.max(1, expected), parseFailures: 0, error, ms: performance.now() - t0 };
  }
}

function modeOf(o: CollectOptions): 'outcome' | 'process' | null {
  const mode = judgeMode(o.method);
  const need = mode === 'none' ? null : mode;
  if (o.judgeMode !== undefined && need !== null && o.judgeMode !== need) {
    throw new Error(`collectRollouts: method ${o.method} needs judgeMode "${need}", got "${o.judgeMode}"`);
  }
  if (need !== null && o.judge === undefined) throw new Error(`collectRollouts: method ${o.method} needs a judge`);
  if (o.cutCorrectReward && need !== null) throw new Error(`collectRollouts: cutCorrectReward applies to sparse methods only, not ${o.method}`);
  return need;
}

/**
 * Samples `rolloutsPerPrompt` responses per item (all items in one batched decode), judges and
 * checks them, and computes each group's advantages. Records come item by item, G per item.
 */
export async function collectRollouts(session: PolicySession, items: readonly TaskItem[], o: CollectOptions): Promise<RolloutRecord[]> {
  const G = o.rolloutsPerPrompt;
  if (!(Number.isInteger(G) && G >= 1)) throw new Error(`collectRollouts: rolloutsPerPrompt ${G} must be a positive integer`);
  const mode = modeOf(o);
  if (items.length === 0) return [];
  const tok = session.tokenizer;
  const decode = (ids: number[]): string => session.responseText(ids);
  const prompts = items.map((item, i) => {
    const ids = tok.encode(rolloutPrompt(item.question));
    if (ids.length === 0) throw new Error(`collectRollouts: item ${i} (${item.id}) encodes to no tokens`);
    if (ids.length >= session.config.maxSeqLen) {
      throw new Error(`collectRollouts: item ${i} (${item.id}) has a ${ids.length}-token prompt; the model takes ${session.config.maxSeqLen} in all, so nothing is left for a response`);
    }
    return ids;
  });
  const tSample = performance.now();
  const gen = await session.generateIds(
    prompts.flatMap((p) => Array.from({ length: G }, () => p.slice())),
    { temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, maxTokens: o.maxTokens, stopStrings: o.stopStrings },
  );

  const segOpts = { delimiter: o.delimiter, maxSegments: o.maxSegments };
  const pending = gen.tokens.map(async (response, s) => {
    const g = Math.floor(s / G);
    const item = items[g];
    const cut = gen.finish[s] === 'length';
    const text = decode(response);
    const split = segmentTokens(tokenPieces(decode, response, text), segOpts);
    const { correct, answered } = checkAnswer(item, text);
    // Cut, yet correct: paid like a finished response when the option says so (sparse methods only).
    const paidCut = cut && o.cutCorrectReward === true && correct;
    const segTexts = mode === 'process' ? split.segments.map((x) => x.text) : [text];
    let judged: Judged = { scores: null, calls: 0, failures: 0, parseFailures: 0 };
    if (mode !== null && !cut && !(mode === 'process' && segTexts.length === 0)) {
      judged = await askJudge(o.judge as Judge, mode, judgeItem(item, cut), text, segTexts, o);
    }
    let scores: number[] | null;
    if (cut && !paidCut) scores = segTexts.map(() => 0);
    else if (mode === null) scores = [correct ? 1 : 0];
    else if (mode === 'process' && segTexts.length === 0) scores = []; // nothing to judge, nothing to reward
    else scores = judged.scores;
    return { g, response, cut, paidCut, split, text, correct, answered, scores, judged };
  });
  const tJudge = performance.now();
  const done = await Promise.all(pending);
  if (o.times) {
    o.times.sampleS = (tJudge - tSample) / 1000;
    o.times.judgeS = (performance.now() - tJudge) / 1000;
  }

  const records: RolloutRecord[] = [];
  for (let g = 0; g < items.length; g++) {
    const group = done.slice(g * G, (g + 1) * G);
    const inputs: AdvantageInput[] = group.map((r) => ({
      nTokens: r.response.length,
      // "cut" there means "reward 0"; a paid cut response keeps its reward.
      cut: r.cut && !r.paidCut,
      masked: r.scores === null,
      reward: r.scores === null ? 0 : r.scores[0],
      segmentScores: r.scores ?? [],
      tokenSegment: mode === 'process' ? r.split.tokenSegment : new Int32Array(r.response.length),
      correct: r.correct,
    }));
    const method: AdvantageMethod = o.method;
    const out = groupAdvantages(method, inputs, o.processMode, { guard: o.guard });
    // The same call with one "token" per segment yields each segment's value, even for a segment
    // lying inside a single token (whose value then reaches no token).
    const perSegment = groupAdvantages(
      method,
      inputs.map((x) => {
        const K = mode === 'process' ? (x.segmentScores?.length ?? 0) : 1;
        return { ...x, nTokens: K, tokenSegment: Int32Array.from({ length: K }, (_, k) => k) };
      }),
      o.processMode,
      { guard: o.guard },
    );
    group.forEach((r, i) => {
      const s = g * G + i;
      const masked = r.scores === null;
      const segTexts = mode === 'process' ? r.split.segments.map((x) => x.text) : [r.text];
      const segValues = perSegment[i].tokenAdvantages;
      const scoreOf = (k: number): number | null => (r.scores === null ? null : (r.scores[k] ?? null));
      const reward = masked ? null : mode === 'process' ? mean(r.scores ?? []) : (r.scores?.[0] ?? 0);
      records.push({
        itemId: items[g].id,
        group: g,
        prompt: prompts[g].slice(),
        response: r.response,
        text: r.text,
        logpOld: Float64Array.from(gen.logprobs[s]),
        advantages: out[i].tokenAdvantages,
        lossMask: out[i].lossMask,
        segments: segTexts.map((text, k) => ({ text, score: scoreOf(k), advantage: masked ? 0 : (segValues[k] ?? 0) })),
        tokenSegment: mode === 'process' ? r.split.tokenSegment : new Int32Array(r.response.length),
        reward,
        correct: r.correct,
        answered: r.answered,
        cut: r.cut,
        masked,
        judgeCalls: r.judged.calls,
        judgeFailures: r.judged.failures,
        judgeParseFailures: r.judged.parseFailures,
        judgeMs: r.judged.ms ?? 0,
        ...(r.judged.error !== undefined ? { judgeError: r.judged.error } : {}),
        ...(r.judged.reasons !== undefined ? { judgeReasons: r.judged.reasons } : {}),
      });
    });
  }
  return records;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** What the policy step needs from a record. */
export function toPolicyRollout(r: RolloutRecord): PolicyRollout {
  return { prompt: r.prompt, response: r.response, logpOld: r.logpOld, advantages: r.advantages, lossMask: r.lossMask };
}

/** One `rollouts.jsonl` line (method doc / issue 4): no token arrays, segments as objects. */
export function rolloutJsonLine(r: RolloutRecord, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ...extra,
    prompt_id: r.itemId,
    text: r.text,
    segments: r.segments,
    reward: r.reward,
    correct: r.correct,
    answered: r.answered,
    cut: r.cut,
    masked: r.masked,
    tokens: r.response.length,
    judge_calls: r.judgeCalls,
    judge_failures: r.judgeFailures,
    ...(r.judgeError !== undefined ? { judge_error: r.judgeError } : {}),
  });
}

/** The record as the step metrics read it. */
export function metricsRecord(r: RolloutRecord): MetricsRollout {
  return {
    promptId: r.itemId,
    reward: r.reward ?? 0,
    correct: r.correct,
    answered: r.answered,
    advantages: r.advantages,
    length: r.response.length,
    cut: r.cut,
    masked: r.masked,
    judgeCalls: r.judgeCalls,
    // One figure per call: the rollout's judging wall time shared among its calls.
    judgeLatenciesMs: r.judgeCalls > 0 ? Array.from({ length: r.judgeCalls }, () => r.judgeMs / r.judgeCalls) : [],
    judgeFailures: r.judgeFailures,
    judgeParseFailures: r.judgeParseFailures,
  };
}
