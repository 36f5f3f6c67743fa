// The judge layer's contract. Pure types: no GPU, no DOM, no model imports.

/** Integer Likert score the judges emit. */
export type Likert = 1 | 2 | 3 | 4 | 5;

/** How a 1..5 score becomes a reward (see normalise() in parse.ts). */
export type Normalisation = 'linear' | 'extremes' | 'clipped';

/** Which `Score:` line the text parser takes when a reply contains several. */
export type ScorePick = 'last' | 'first';

/**
 * Process view. "segment": each segment is judged on its own, without the text before it (the
 * authors' code). "prefix": the k-th score judges the reasoning so far, segments 1..k (the
 * paper's wording).
 */
export type ProcessView = 'segment' | 'prefix';

/**
 * Why a score has no number. A parse failure means the judge answered but no valid 1..5 score
 * could be read; a call failure means no usable answer came back at all (after retries). Either
 * way the rollout is masked upstream: a failure is never turned into a number.
 */
export interface JudgeFailure {
  kind: 'parse' | 'call';
  message: string;
}

interface ScoreBase {
  /** The judge's reply exactly as received ('' when the call itself failed). */
  raw: string;
  /** The judge's reasoning (text before the score line, or the JSON rationale). */
  rationale: string;
}

export interface ScoredResult extends ScoreBase {
  ok: true;
  score: Likert;
  /**
   * The normalised reward. `null` only where the normalisation drops the score (extremes-only
   * keeps 1 and 5): that rollout is masked, exactly like a failure, but it is not a failure.
   */
  value: number | null;
}

export interface FailedResult extends ScoreBase {
  ok: false;
  failure: JudgeFailure;
}

export type JudgeScore = ScoredResult | FailedResult;

/** What every judge call is about. */
export interface JudgeItem {
  question: string;
  /** The hidden, step-wise reference solution. */
  reference: string;
  /** Optional marking scheme shown to the judge. */
  rubric?: string;
  /**
   * Built-in task family, when known: the rubric judge parses steps by its grammar and reads
   * answers with its leniency ("Answer: x = 5" in linear-equation), as the sparse check does.
   */
  family?: string;
  /** Final answer, used by the programmatic rubric judge (LLM judges read the reference). */
  answer?: string;
  /** The reference's intermediate results in order, for the programmatic rubric judge. */
  checkpoints?: readonly (string | number)[];
  /** True when the policy's response was cut at the maximum length. */
  truncated?: boolean;
}

export interface OutcomeInput extends JudgeItem {
  /** The policy's whole response. */
  trace: string;
}

export interface ProcessInput extends JudgeItem {
  /** The response split into segments, each including the delimiter that closes it. */
  segments: readonly string[];
  view: ProcessView;
}

export interface Judge {
  readonly name: string;
  /** One score for the whole trace. */
  outcome(input: OutcomeInput, signal?: AbortSignal): Promise<JudgeScore>;
  /** One score per segment (segment view) or per prefix (prefix view), in order. */
  process(input: ProcessInput, signal?: AbortSignal): Promise<JudgeScore[]>;
  /**
   * Why the judge has stopped calling (its circuit breaker opened: too many calls in a row
   * failed); null while it works. Every call after that is a call failure. The run pauses on it.
   */
  tripped?(): string | null;
}

/** The texts a process judge scores: segment k alone, or segments 1..k joined. */
export function processTexts(segments: readonly string[], view: ProcessView): string[] {
  if (view === 'segment') return [...segments];
  const out: string[] = [];
  let acc = '';
  for (const s of segments) {
    acc += s; // segments keep their delimiter, so plain concatenation restores the trace
    out.push(acc);
  }
  return out;
}
