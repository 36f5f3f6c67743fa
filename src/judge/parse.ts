// Reading a Likert score out of a judge's reply, and turning it into a reward.
import type { FailedResult, JudgeScore, Likert, Normalisation, ScorePick } from './types.ts';

export type ParsedScore =
  | { ok: true; score: Likert; rationale: string }
  | { ok: false; message: string; rationale: string };

/**
 * Removes the markup judges wrap around a score line: header marks, block-quote marks, list
 * bullets, bold/italic asterisks and underscores, backticks. Only the line is touched, so a
 * digit can never be created or merged by stripping.
 */
export function stripMarkup(line: string): string {
  return line
    .replace(/^\s*(?:#{1,6}\s*|>\s*|[-+]\s+)*/, '')
    .replace(/[*`~]/g, '')
    .replace(/(^|[^\w])_+|_+(?=[^\w]|$)/g, '$1')
    .trim();
}

const SCORE_LINE = /^score\s*[:=]\s*(.*)$/i;

/**
 * Reads the value written after `Score:`. Accepted: "4", "4.", "4/5", "4 / 5", "4 out of 5",
 * "4 (likely)". Refused (parse failure, never a guess): no leading integer, a decimal ("4.5"),
 * a range ("3-4"), a denominator other than 5 ("4/10"), a number outside 1..5 (0, 6, 10).
 */
function readValue(rest: string): { ok: true; score: Likert } | { ok: false; message: string } {
  const m = /^(\d+)(\s*\/\s*(\d+)|\s+out\s+of\s+(\d+))?(.*)$/i.exec(rest.trim());
  if (m === null) return { ok: false, message: `no integer after "Score:" in "${rest.trim()}"` };
  const n = Number(m[1]);
  const denom = m[3] ?? m[4];
  if (denom !== undefined && denom !== '5') {
    return { ok: false, message: `score "${rest.trim()}" is not on the 1..5 scale` };
  }
  const tail = m[5];
  if (/^\.\d/.test(tail) || /^\s*(?:-|–|to)\s*\d/.test(tail)) {
    return { ok: false, message: `score "${rest.trim()}" is not a single integer` };
  }
  if (!Number.isInteger(n) || n < 1 || n > 5) {
    return { ok: false, message: `score ${m[1]} is outside 1..5` };
  }
  return { ok: true, score: n as Likert };
}

/**
 * Text format: free reasoning, then a line `Score: N`. Only lines that START with "Score"
 * (after markup stripping) count, so a mention inside a sentence is ignored. By default the
 * LAST such line is taken: a judge that quotes a trace containing "Score: 5" before its own
 * verdict is not fooled. `pick: 'first'` reproduces the authors' code. The chosen line decides
 * alone: if it is unreadable we report a parse failure rather than fall back to another line.
 */
export function parseScoreText(text: string, pick: ScorePick = 'last'): ParsedScore {
  const lines = text.split(/\r?\n/);
  const hits: { index: number; rest: string }[] = [];
  lines.forEach((line, index) => {
    const m = SCORE_LINE.exec(stripMarkup(line));
    if (m !== null) hits.push({ index, rest: m[1] });
  });
  if (hits.length === 0) {
    return { ok: false, message: 'no "Score:" line in the reply', rationale: text.trim() };
  }
  const hit = pick === 'first' ? hits[0] : hits[hits.length - 1];
  const rationale = lines.slice(0, hit.index).join('\n').trim();
  const v = readValue(hit.rest);
  return v.ok ? { ok: true, score: v.score, rationale } : { ok: false, message: v.message, rationale };
}

/**
 * Structured format: a JSON object {"rationale": string, "score": integer 1..5}. A code fence
 * around the object is tolerated (some servers add one); anything else is a parse failure.
 */
export function parseScoreJson(text: string): ParsedScore {
  const body = text.trim().replace(/^```[a-z]*\s*\n?/i, '').replace(/\n?```\s*$/, '');
  let obj: unknown;
  try {
    obj = JSON.parse(body);
  } catch {
    return { ok: false, message: 'reply is not valid JSON', rationale: '' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, message: 'JSON reply is not an object', rationale: '' };
  }
  const rec = obj as Record<string, unknown>;
  const rationale = typeof rec.rationale === 'string' ? rec.rationale : '';
  if (typeof rec.rationale !== 'string') {
    return { ok: false, message: 'JSON reply has no string "rationale"', rationale };
  }
  const s = rec.score;
  if (typeof s !== 'number' || !Number.isInteger(s)) {
    return { ok: false, message: 'JSON "score" is not an integer', rationale };
  }
  if (s < 1 || s > 5) return { ok: false, message: `score ${s} is outside 1..5`, rationale };
  return { ok: true, score: s as Likert, rationale };
}

/**
 * Maps a 1..5 score to a reward.
 * - linear: (N - 1) / 4 -> 0, 0.25, 0.5, 0.75, 1
 * - extremes: 1 -> 0, 5 -> 1, 2..4 -> null (dropped: the rollout is masked)
 * - clipped: N <= 3 -> 0, else 1
 */
export function normalise(score: Likert, mode: Normalisation = 'linear'): number | null {
  switch (mode) {
    case 'linear':
      return (score - 1) / 4;
    case 'extremes':
      return score === 1 ? 0 : score === 5 ? 1 : null;
    case 'clipped':
      return score <= 3 ? 0 : 1;
  }
}

export interface ToScoreOptions {
  structured?: boolean;
  pick?: ScorePick;
  normalisation?: Normalisation;
}

/**
 * Parses a raw reply into a JudgeScore. With `structured`, JSON is tried first and the text
 * format second (servers that ignore response_format still often end with "Score: N").
 */
export function scoreFromReply(raw: string, opts: ToScoreOptions = {}): JudgeScore {
  let parsed = opts.structured ? parseScoreJson(raw) : parseScoreText(raw, opts.pick);
  if (!parsed.ok && opts.structured) {
    const text = parseScoreText(raw, opts.pick);
    if (text.ok) parsed = text;
  }
  if (!parsed.ok) {
    return { ok: false, raw, rationale: parsed.rationale, failure: { kind: 'parse', message: parsed.message } };
  }
  return {
    ok: true,
    raw,
    rationale: parsed.rationale,
    score: parsed.score,
    value: normalise(parsed.score, opts.normalisation),
  };
}

/** A score from a judge that needs no text (programmatic judges). */
export function directScore(score: Likert, rationale: string, normalisation?: Normalisation): JudgeScore {
  return { ok: true, raw: `${rationale}\nScore: ${score}`, rationale, score, value: normalise(score, normalisation) };
}

export function callFailure(message: string): FailedResult {
  return { ok: false, raw: '', rationale: '', failure: { kind: 'call', message } };
}
