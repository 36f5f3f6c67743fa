// The programmatic rubric judge for built-in task families: no language model, same 1..5 scale.
//
// Checkpoints are the reference's intermediate results, handed over by the caller in order
// (JudgeItem.checkpoints), plus the final answer (JudgeItem.answer). A checkpoint is "reached"
// where its value occurs in the text: numbers are compared by value as whole numeric tokens
// ("12" does not match inside "123", "-3" matches "= -3" but "5-3" yields 3), other strings
// case-insensitively with free whitespace between characters. A number counts only where the
// trace states it (STATED below): inside an equation that is not false and not a bare "n = n"
// ("7 * 6 = 42", "84 = 2 * 36 + 12", "5x + 3 = 18"), in long addition's "write 1" / "carry 1",
// or as a declared answer ("Answer: 42"). A number merely listed or mentioned in prose does not
// count: otherwise a trace listing "11 12 13 ... 60" would reach every checkpoint in that range
// (the "number-listing" probe). The price: a restatement in words ("we had 8") scores 2, not 3.
//
// OUTCOME rule (exact):
//   1  if the trace is empty, was truncated at the length limit, contains a hedging phrase
//      (HEDGES below), or declares two different final answers (a contradiction);
//   otherwise, with n checkpoints, m = the most checkpoints reached in their reference order
//   (a longest in-order chain over their occurrences in the text), and c = 1 when the final
//   answer is correct, else 0:
//   5  if c = 1 and m = n;
//   else 1 + floor(4 * (m + c) / (n + 1)), which lies in 1..4.
//   A bare final answer with no work is not special: m = 0, c = 1 -> 1 + floor(4 / (n + 1)).
//   (Give checkpoints WITHOUT the final answer, or a bare answer also counts as one.)
//
// SEGMENT rule (segment view; earlier segments are used only to tell new checkpoints apart):
//   1  if the trace was truncated, the segment hedges, states a wrong intermediate result
//      ("= x" or "equals x" with x not a checkpoint, not the answer, not a number of the
//      question up to its sign), writes an equation whose arithmetic is false ("4 + 5 = 4": a chain of
//      integers joined by + - * / and then "= r", evaluated with the usual precedence; without
//      this a policy could earn a 5 by writing "anything = <checkpoint>"), or declares a wrong
//      final answer;
//   5  if it reaches a checkpoint not reached by an earlier segment (the correct final answer
//      counts as the last checkpoint);
//   3  if it only mentions checkpoints already reached (restates);
//   2  otherwise (irrelevant, including an empty segment).
//   Limitation: a correct intermediate result that the reference does not list counts as wrong.
//
// PREFIX rule: the k-th score is the outcome rule applied to segments 1..k (reasoning so far).
import { directScore } from './parse.ts';
import type { Judge, JudgeItem, JudgeScore, Likert, Normalisation, OutcomeInput, ProcessInput } from './types.ts';
import { processTexts } from './types.ts';

/** Phrases that give up or refuse to commit; any of them sends the trace to the minimum. */
export const HEDGES: readonly RegExp[] = [
  /\bcan(?:not|'t|\s+not)\s+be\s+(?:determined|found|computed|solved|known|calculated)\b/i,
  /\b(?:impossible|unable|not\s+possible)\s+to\s+(?:determine|tell|know|say|solve|compute)\b/i,
  /\b(?:not\s+enough|insufficient)\s+(?:information|data)\b/i,
  /\bi\s+(?:do\s+not|don't)\s+know\b/i,
  /\bno\s+(?:unique|definite)\s+answer\b/i,
  /\b(?:undetermined|indeterminate)\b/i,
];

const NUMBER_TOKEN = /(?<![\d.])-?\d+(?:\.\d+)?(?![\d]|\.\d)/g;

function asNumber(v: string | number): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  const t = v.trim();
  return /^-?\d+(?:\.\d+)?$/.test(t) ? Number(t) : null;
}

function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function escapeRe(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Start offsets where the checkpoint's value occurs in the text. */
export function occurrences(text: string, checkpoint: string | number): number[] {
  const num = asNumber(checkpoint);
  const out: number[] = [];
  if (num !== null) {
    for (const m of text.matchAll(NUMBER_TOKEN)) if (sameNumber(Number(m[0]), num)) out.push(m.index);
    return out;
  }
  const chars = [...String(checkpoint).replace(/\s+/g, '')];
  if (chars.length === 0) return out;
  let src = chars.map(escapeRe).join('\\s*');
  if (/\d/.test(chars[0])) src = `(?<![\\d.])${src}`;
  if (/\d/.test(chars[chars.length - 1])) src = `${src}(?![\\d]|\\.\\d)`;
  for (const m of text.matchAll(new RegExp(src, 'gi'))) out.push(m.index);
  return out;
}

// STATED: where a trace states numbers. A term is a number, a (signed) variable with an optional
// coefficient ("5x", "-x") or a parenthesised number; an expression is terms joined by + - * /.
const TERM = String.raw`(?:-?\d+(?:\.\d+)?[a-z]?|-?[a-z]|\(-?\d+(?:\.\d+)?\))`;
const EXPRESSION = String.raw`${TERM}(?:\s*[-+*/]\s*${TERM})*`;
const EQUATION = new RegExp(String.raw`(?<![\w.])${EXPRESSION}(?:\s*=\s*${EXPRESSION})+`, 'gi');
const WRITTEN = /\b(?:write|carry)\s*-?\d+(?:\.\d+)?/gi;

/** Whether an equation's sides agree where they are plain integer arithmetic, and it is not "n = n". */
function equationHolds(equation: string): boolean {
  const sides = equation.split('=').map((x) => x.replace(/\s+/g, ''));
  if (sides.every((x) => x === sides[0]) && /^\(?-?\d+(?:\.\d+)?\)?$/.test(sides[0])) return false;
  const values = sides.filter((x) => /^[-+*/\d]+$/.test(x)).map((x) => evaluateChain(x));
  return values.every((v) => v === null || values[0] === null || sameNumber(v, values[0] as number));
}

/** [start, end) spans where the text states numbers (see STATED in the header). */
export function statedSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of text.matchAll(EQUATION)) if (equationHolds(m[0])) spans.push([m.index, m.index + m[0].length]);
  // Declared answers ("Answer: 42", "\boxed{42}") as finalAnswer reads them (DECLARED below).
  for (const re of [WRITTEN, ...DECLARED]) for (const m of text.matchAll(re)) spans.push([m.index, m.index + m[0].length]);
  return spans;
}

/** Offsets where the checkpoint is reached: numbers where the text states them, other values anywhere. */
export function reached(text: string, checkpoint: string | number): number[] {
  const occ = occurrences(text, checkpoint);
  if (asNumber(checkpoint) === null || occ.length === 0) return occ;
  const spans = statedSpans(text);
  return occ.filter((at) => spans.some(([a, b]) => at >= a && at < b));
}

/** Longest chain of checkpoints, in reference order, at strictly increasing positions where they are reached. */
export function checkpointsInOrder(text: string, checkpoints: readonly (string | number)[]): number {
  // best[j] = the smallest end position of a chain of length j found so far
  const best: number[] = [-1];
  for (const cp of checkpoints) {
    const occ = reached(text, cp);
    for (let j = best.length - 1; j >= 0; j--) {
      const next = occ.find((p) => p > best[j]);
      if (next !== undefined && (best[j + 1] === undefined || next < best[j + 1])) best[j + 1] = next;
    }
  }
  return best.length - 1;
}

export function hedges(text: string): boolean {
  return HEDGES.some((re) => re.test(text));
}

function normAnswer(s: string): string {
  return s.trim().replace(/^\$+|\$+$/g, '').replace(/[.\s]+$/, '').replace(/\s+/g, '').toLowerCase();
}

export function answersEqual(a: string, b: string): boolean {
  const x = asNumber(normAnswer(a));
  const y = asNumber(normAnswer(b));
  if (x !== null && y !== null) return sameNumber(x, y);
  return normAnswer(a) === normAnswer(b);
}

const DECLARED = [
  /\\boxed\{([^{}]+)\}/g,
  /\b(?:final\s+)?answer\s*(?:is|:|=)\s*\$?([^\n$]+?)\$?\s*(?:[.!]\s|[.!]?$|\n)/gim,
];

/** Final answers the text declares explicitly, in order of appearance. */
export function declaredAnswers(text: string): string[] {
  const found: { at: number; value: string }[] = [];
  for (const re of DECLARED) {
    for (const m of text.matchAll(re)) found.push({ at: m.index, value: m[1].trim() });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.value);
}

/**
 * The trace's final answer: the last declared one; failing that, the last non-empty line when
 * it is a bare value ("42") or ends with "= value". Nothing else is read as an answer, so a
 * stray number (such as the 5 of a "Score: 5" line) is not.
 */
export function finalAnswer(text: string): string | null {
  const declared = declaredAnswers(text);
  if (declared.length > 0) return declared[declared.length - 1];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return null;
  const last = lines[lines.length - 1];
  const bare = /^\s*\$?([^\s$:]+?)\$?\.?\s*$/.exec(last);
  if (bare !== null) return bare[1];
  const eq = /=\s*\$?(-?\d+(?:\.\d+)?)\$?\s*\.?\s*$/.exec(last);
  return eq !== null ? eq[1] : null;
}

function contradicts(text: string): boolean {
  const declared = declaredAnswers(text);
  return declared.some((d) => !answersEqual(d, declared[0]));
}

/** The outcome rule (see the header). */
export function rubricOutcomeScore(item: JudgeItem, trace: string): { score: Likert; why: string } {
  if (trace.trim() === '') return { score: 1, why: 'empty trace' };
  if (item.truncated) return { score: 1, why: 'truncated at the length limit' };
  if (hedges(trace)) return { score: 1, why: 'hedging phrase' };
  if (contradicts(trace)) return { score: 1, why: 'declares different final answers' };
  const cps = item.checkpoints ?? [];
  const n = cps.length;
  const m = checkpointsInOrder(trace, cps);
  const fa = finalAnswer(trace);
  const c = item.answer !== undefined && fa !== null && answersEqual(fa, item.answer) ? 1 : 0;
  const why = `${m}/${n} checkpoints in order, final answer ${c ? 'correct' : 'not correct'}`;
  if (c === 1 && m === n) return { score: 5, why };
  return { score: (1 + Math.floor((4 * (m + c)) / (n + 1))) as Likert, why };
}

function questionNumbers(question: string): number[] {
  return [...question.matchAll(NUMBER_TOKEN)].map((m) => Number(m[0]));
}

// A number after "=" that does not start an expression ("220 = 2 * 100 + 20" states no 2).
const STATED_RESULT = /(?:=|\bequals\b)\s*(-?\d+(?:\.\d+)?)(?![\d]|\.\d|\s*[-+*/]\s*-?\d)/gi;

/** "a op b op c = r" with integers: the expression, and the stated result. */
const ARITHMETIC = /(?<![\w.]|[-+*/]\s*)(-?\d+(?:\s*[-+*/]\s*-?\d+)+)\s*=\s*(-?\d+)(?![\d.]*\d|\s*[-+*/]\s*-?\d)/g;

/** "r = a op b op c" (Euclid's "220 = 2 * 100 + 20"): the stated value, and the expression. */
const ARITHMETIC_RHS = /(?<![\w.]|[-+*/]\s*)(-?\d+)\s*=\s*(-?\d+(?:\s*[-+*/]\s*-?\d+)+)(?![\d.]*\d|\s*=)/g;

/** Value of integers joined by + - * / (* and / first, left to right); null when not exact. */
export function evaluateChain(expr: string): number | null {
  const parts = expr.match(/-?\d+|[-+*/]/g);
  if (parts === null) return null;
  // Tokens alternate number, operator, number...; a "-3" after an operator is a negative number.
  const nums: number[] = [];
  const ops: string[] = [];
  let wantNumber = true;
  for (const p of parts) {
    if (wantNumber) {
      if (!/^-?\d+$/.test(p)) return null;
      nums.push(Number(p));
    } else {
      if (/^-\d+$/.test(p)) {
        // "5-3" tokenises as 5, -3: a subtraction.
        ops.push('-');
        nums.push(Number(p.slice(1)));
        continue;
      }
      ops.push(p);
    }
    wantNumber = !wantNumber;
  }
  if (wantNumber) return null;
  const terms = [nums[0]];
  const signs: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    const x = nums[i + 1];
    if (o === '*') terms[terms.length - 1] *= x;
    else if (o === '/') {
      if (x === 0) return null;
      terms[terms.length - 1] /= x;
    } else {
      signs.push(o);
      terms.push(x);
    }
  }
  let v = terms[0];
  signs.forEach((o, i) => (v = o === '+' ? v + terms[i + 1] : v - terms[i + 1]));
  return Number.isFinite(v) ? v : null;
}

/** The segment rule (see the header); `before` is the text of the earlier segments. */
export function rubricSegmentScore(item: JudgeItem, before: string, segment: string): { score: Likert; why: string } {
  if (item.truncated) return { score: 1, why: 'truncated at the length limit' };
  if (segment.trim() === '') return { score: 2, why: 'empty segment' };
  if (hedges(segment)) return { score: 1, why: 'hedging phrase' };
  const cps: (string | number)[] = [...(item.checkpoints ?? [])];
  if (item.answer !== undefined) cps.push(item.answer);
  for (const m of segment.matchAll(ARITHMETIC)) {
    const v = evaluateChain(m[1]);
    if (v !== null && !sameNumber(v, Number(m[2]))) return { score: 1, why: `false arithmetic: ${m[1].trim()} is ${v}, not ${m[2]}` };
  }
  for (const m of segment.matchAll(ARITHMETIC_RHS)) {
    const v = evaluateChain(m[2]);
    if (v !== null && !sameNumber(v, Number(m[1]))) return { score: 1, why: `false arithmetic: ${m[2].trim()} is ${v}, not ${m[1]}` };
  }
  const known = cps.map(asNumber).filter((x): x is number => x !== null);
  // A question's numbers may change sign as terms move across "=" ("- 110" becomes "= -110").
  const given = questionNumbers(item.question).map(Math.abs);
  for (const m of segment.matchAll(STATED_RESULT)) {
    const v = Number(m[1]);
    if (!known.some((k) => sameNumber(k, v)) && !given.some((k) => sameNumber(k, Math.abs(v)))) return { score: 1, why: `wrong intermediate result ${m[1]}` };
  }
  if (item.answer !== undefined && declaredAnswers(segment).some((d) => !answersEqual(d, item.answer as string))) {
    return { score: 1, why: 'declares a wrong final answer' };
  }
  const reachedBefore = (cp: string | number) => reached(before, cp).length > 0;
  const here = cps.filter((cp) => reached(segment, cp).length > 0);
  if (here.some((cp) => !reachedBefore(cp))) return { score: 5, why: 'establishes a new checkpoint' };
  if (here.length > 0) return { score: 3, why: 'restates checkpoints already reached' };
  return { score: 2, why: 'reaches no checkpoint' };
}

export interface RubricJudgeOptions {
  normalisation?: Normalisation;
}

export class RubricJudge implements Judge {
  readonly name = 'rubric';
  constructor(private readonly opts: RubricJudgeOptions = {}) {}

  private result(r: { score: Likert; why: string }): JudgeScore {
    return directScore(r.score, r.why, this.opts.normalisation);
  }

  async outcome(input: OutcomeInput): Promise<JudgeScore> {
    return this.result(rubricOutcomeScore(input, input.trace));
  }

  async process(input: ProcessInput): Promise<JudgeScore[]> {
    if (input.view === 'prefix') {
      return processTexts(input.segments, 'prefix').map((p) => this.result(rubricOutcomeScore(input, p)));
    }
    let before = '';
    return input.segments.map((seg) => {
      const r = this.result(rubricSegmentScore(input, before, seg));
      before += seg;
      return r;
    });
  }
}
