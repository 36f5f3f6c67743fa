/**
 * What the rollout browser shows, without the DOM: the kept steps and which prompts became
 * solvable, the prompt and outcome filters, groups with no reward spread, how far rollouts got
 * along the reference, the text a focused segment shows, and the window of a virtualised list.
 */
import type { RolloutBatchView, RolloutView } from '../../worker/api';

/** Outcome filters; they overlap on purpose (a cut rollout is also wrong unless its answer is correct). */
export const OUTCOMES = ['all', 'correct', 'wrong', 'cut', 'masked'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface RolloutFilter {
  /** Matches a prompt id or a question, case-insensitively; blank matches every prompt. */
  prompt: string;
  outcome: Outcome;
}

/**
 * About 40 MB of UTF-16 text. Past it, older steps are thinned: a run of 16 prompts × 8 rollouts of
 * 300 characters keeps every one of its first 500 or so steps.
 */
export const DEFAULT_BUDGET_CHARS = 20_000_000;
/** Steps at the end that thinning never drops. */
export const KEEP_RECENT = 8;

export interface StepStore {
  /** Kept steps in arrival order (step numbers increase). */
  readonly steps: RolloutBatchView[];
  /** Characters of text the kept steps hold (batchChars). */
  chars: number;
  /** Steps received, kept or not. */
  received: number;
  /** Prompt id -> the step of its first correct rollout (the run's unlocked set), over every step received. */
  readonly firstCorrect: Map<string, number>;
  readonly budgetChars: number;
}

export function createStore(budgetChars = DEFAULT_BUDGET_CHARS): StepStore {
  return { steps: [], chars: 0, received: 0, firstCorrect: new Map(), budgetChars };
}

/** The text a step holds, in characters: what the page's memory grows with. */
export function batchChars(b: RolloutBatchView): number {
  let n = 0;
  for (const p of b.prompts) n += p.question.length + p.reference.length;
  for (const r of b.rollouts) {
    n += r.text.length + (r.judgeError?.length ?? 0);
    for (const s of r.segments) n += s.text.length + (s.reason?.length ?? 0);
  }
  return n;
}

/**
 * Adds a step. While the kept text exceeds the budget, every other step older than the last
 * KEEP_RECENT is dropped (the first step stays): old history gets coarser, recent steps stay whole.
 */
export function addStep(store: StepStore, batch: RolloutBatchView): void {
  store.received++;
  for (const r of batch.rollouts) {
    const id = batch.prompts[r.group]?.id;
    if (r.correct && id !== undefined && !store.firstCorrect.has(id)) store.firstCorrect.set(id, batch.step);
  }
  store.steps.push(batch);
  store.chars += batchChars(batch);
  while (store.chars > store.budgetChars) {
    const old = store.steps.length - KEEP_RECENT;
    if (old < 2) break; // nothing but the first step and the recent ones: over budget it stays
    const keep: RolloutBatchView[] = [];
    store.steps.forEach((s, i) => {
      if (i < old && i % 2 === 1) store.chars -= batchChars(s);
      else keep.push(s);
    });
    store.steps.splice(0, store.steps.length, ...keep);
  }
}

/** Index of the kept step numbered `step`, else of the latest kept step before it (0 when none). */
export function stepIndex(store: StepStore, step: number | null): number {
  if (store.steps.length === 0) return -1;
  if (step === null) return store.steps.length - 1;
  let at = 0;
  store.steps.forEach((s, i) => {
    if (s.step <= step) at = i;
  });
  return at;
}

export function matchesOutcome(r: RolloutView, outcome: Outcome): boolean {
  switch (outcome) {
    case 'all':
      return true;
    case 'correct':
      return r.correct;
    case 'wrong':
      return !r.correct;
    case 'cut':
      return r.cut;
    case 'masked':
      return r.masked;
  }
}

export function matchesPrompt(p: { id: string; question: string }, query: string): boolean {
  const q = query.trim().toLowerCase();
  return q === '' || p.id.toLowerCase().includes(q) || p.question.toLowerCase().includes(q);
}

/** One prompt of a step as the list shows it: the indices (into batch.rollouts) of its rollouts that pass the filter. */
export interface GroupRow {
  group: number;
  rollouts: number[];
}

/** The groups with at least one rollout passing the filter, in prompt order. */
export function filterRows(b: RolloutBatchView, f: RolloutFilter): GroupRow[] {
  return b.prompts.flatMap((p, g) => {
    if (!matchesPrompt(p, f.prompt)) return [];
    const rollouts = b.rollouts.flatMap((r, i) => (r.group === g && matchesOutcome(r, f.outcome) ? [i] : []));
    return rollouts.length === 0 ? [] : [{ group: g, rollouts }];
  });
}

/** Rewards closer than this count as equal (a process reward is a mean of floats). */
const SAME_REWARD = 1e-9;

export interface Spread {
  /** Rollouts with a reward (masked ones leave the group statistics). */
  scored: number;
  /** The common reward when the spread is zero. */
  reward: number | null;
  /** No two scored rollouts differ: group-normalised (sparse GRPO) advantages are all 0. */
  zero: boolean;
  /** Every segment value of the group is 0: this method learns nothing from the prompt either. */
  valuesZero: boolean;
}

/** Reward spread of one group, counted over its scored rollouts. */
export function groupSpread(b: RolloutBatchView, group: number): Spread {
  const rs = b.rollouts.filter((r) => r.group === group);
  const rewards = rs.flatMap((r) => (r.masked || r.reward === null ? [] : [r.reward]));
  const zero = rewards.length > 0 && Math.max(...rewards) - Math.min(...rewards) <= SAME_REWARD;
  const valuesZero = rs.every((r) => r.segments.every((s) => s.advantage === 0));
  return { scored: rewards.length, reward: zero ? rewards[0] : null, zero, valuesZero };
}

/** Per checkpoint of the group's prompt, how many of its rollouts reached it. */
export function reachCounts(b: RolloutBatchView, group: number): number[] {
  const counts = b.prompts[group].checkpoints.map(() => 0);
  for (const r of b.rollouts) {
    if (r.group !== group) continue;
    r.reached.forEach((hit, k) => {
      if (hit && k < counts.length) counts[k]++;
    });
  }
  return counts;
}

/** Where a prompt stands in the run's unlocked set at a step. */
export function unlockState(store: StepStore, promptId: string, step: number): { kind: 'new' | 'before' | 'not-yet'; step?: number } {
  const first = store.firstCorrect.get(promptId);
  if (first === undefined || first > step) return { kind: 'not-yet' };
  return first === step ? { kind: 'new', step } : { kind: 'before', step: first };
}

export function fmtScore(score: number | null): string {
  return score === null ? 'masked' : score.toFixed(2);
}

export function fmtValue(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
}

/** Why segment k has its score, in words: the judge's reason, or what decided without one. */
export function segmentReason(r: RolloutView, k: number): string {
  const reason = r.segments[k]?.reason;
  if (reason !== undefined && reason.trim() !== '') return reason;
  if (r.cut) return `cut at the length limit: reward ${r.reward === null ? 'none' : fmtScore(r.reward)} without asking the judge`;
  if (r.masked) return `masked: ${r.judgeError ?? 'the judge gave no usable score'}`;
  if (reason !== undefined) return 'the judge gave no reason';
  return `the answer check: ${r.correct ? 'correct final answer' : 'no correct final answer'}`;
}

/** The lines a focused segment shows: score, value, reason. */
export function segmentDetail(r: RolloutView, k: number): { score: string; value: string; reason: string } {
  const s = r.segments[k];
  return {
    score: `score ${fmtScore(s.score)}`,
    value: `value ${fmtValue(s.advantage)} (every token of the segment gets it)`,
    reason: `reason: ${segmentReason(r, k)}`,
  };
}

/** Rows rendered and the space above and below them. */
export interface ListWindow {
  start: number;
  /** Exclusive. */
  end: number;
  top: number;
  bottom: number;
}

/**
 * Rows that meet [scrollTop, scrollTop + viewport], plus `overscan` rows on each side, from the
 * rows' heights (measured, or estimated where not yet measured).
 */
export function listWindow(heights: readonly number[], scrollTop: number, viewport: number, overscan = 2): ListWindow {
  const n = heights.length;
  let y = 0;
  let start = 0;
  while (start < n && y + heights[start] <= scrollTop) y += heights[start++];
  if (start === n && n > 0) {
    // Scrolled past the end (the list shrank): show the last rows.
    start = n - 1;
    y -= heights[start];
  }
  let end = start;
  let bottomEdge = y;
  while (end < n && bottomEdge < scrollTop + viewport) bottomEdge += heights[end++];
  const s = Math.max(0, start - overscan);
  const e = Math.min(n, Math.max(end, start + 1) + overscan);
  let top = 0;
  for (let i = 0; i < s; i++) top += heights[i];
  let bottom = 0;
  for (let i = e; i < n; i++) bottom += heights[i];
  return { start: s, end: e, top, bottom };
}
