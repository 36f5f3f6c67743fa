// The programmatic rubric judge for built-in task families: no language model, same 1..5 scale.
// It pays only for stated steps: a policy trained against it learned in 11 steps to emit
// one-line fragments ("9, write 1, werite 54") that an earlier, looser rule scored 5.
//
// Checkpoints are the reference's intermediate results, handed over by the caller in order
// (JudgeItem.checkpoints), plus the final answer (JudgeItem.answer). Answers are read by
// src/tasks/answers.ts, the checker of the sparse reward, pass@k and the metrics: a final answer
// is an answer line ("Answer: 42"); "the answer is 42", a lone "\boxed{42}" or a bare last
// number are not.
//
// STEPS. A line of the trace is a step when ALL of its text parses in the grammar of the item's
// family (JudgeItem.family; the union of the grammars below when it is absent or not built in):
//   - an answer line whose value is one number; or
//   - an optional label ("col 3:" in long-addition; "add 3x to both sides:" or "subtract x from
//     both sides:" in linear-equation), then clauses separated by "," or ";" (a final "." is
//     allowed), each of them either
//       * a TRUE equation: terms (numbers, "(-3)", and in linear-equation "x", "5x") joined by
//         + - * / and "=", where every side that is plain arithmetic has the same value (* and /
//         first); or
//       * in long-addition only, the column statement around such an equation with result r:
//         "<equation>, write r mod 10, carry floor(r / 10)", or the last column's "carry c, write c".
//   A line ends at a newline or at "###" (the paper's delimiter, so segments joined without a
//   newline still read as steps); blank lines are no text.
// A number is STATED where a step states it: in a true equation other than a bare "n = n", as a
// write/carry digit, or as the value of an answer line that is the correct answer (a wrong one
// states nothing true, even when it is an intermediate result: "Answer: 42" for 7 * 6 - 32). A numeric checkpoint is REACHED only
// where it is stated (a non-numeric one, from imported data, wherever its text occurs). Numbers
// listed ("11 12 13 ... 60"), mentioned in prose ("we had 8") or on a line with any other text
// ("7 * 6 = 42 melons") reach nothing. The price: a correct step with a word in it earns 2.
//
// GRADER TEXT: words aimed at the grader or a score claim (GRADER_TEXT below: "grader", "judge",
// "score", "ignore", "instructions", "full marks", ...). HEDGES: phrases that give up.
//
// OUTCOME rule (exact):
//   1  if the trace is empty, was truncated at the length limit, hedges, contains grader text,
//      or has answer lines with different values (a contradiction);
//   otherwise, with n checkpoints, m = the most checkpoints reached in their reference order
//   (a longest in-order chain over their occurrences), and c = 1 when the final answer is
//   correct, else 0:
//   5  if c = 1 and m = n;
//   else s = 1 + floor(4 * (m + c) / (n + 1)), which lies in 1..4, and at most 2 when the trace
//      has no final answer (answers.ts: `answered` false).
//   A bare final answer with no work is not special: m = 0, c = 1 -> 1 + floor(4 / (n + 1)).
//   (Give checkpoints WITHOUT the final answer, or a bare answer also counts as one.)
//
// SEGMENT rule (segment view; earlier segments are used only to tell new checkpoints apart):
//   1  if the trace was truncated, or the segment hedges, contains grader text, writes a false
//      equation ("4 + 5 = 4"; without this "anything = <checkpoint>" would pay), states a wrong
//      intermediate result ("= x" or "equals x" with x not a checkpoint, not the answer, not a
//      number of the question up to its sign), or has an answer line whose value is not the
//      correct answer (or no number);
//   1  also if the segment is empty or holds any text that is not a step (a fragment inside
//      garbage earns no checkpoint). Not 2: scored above a wrong step, junk paid better than
//      trying, and ExpRL-Process at lr 1e-3 learned within eight steps to write lines such as
//      "4x wr: 29" and to drop its answer line (a wrong answer scores 1);
//   5  if it reaches a checkpoint not reached by an earlier segment, or is the first segment to
//      declare the correct final answer (an answer line): the declared answer is the last
//      checkpoint, reached only by declaring it. So "Answer: 7" after "x = 14 / 2 = 7" earns 5,
//      not 3 for restating 7: with 3, the delta rule gave every correct trace's answer line a
//      negative value (s_K - s_(K-1) = 0.5 - 1) and ExpRL-Process learned to drop it;
//   3  if it only reaches checkpoints already reached (restates), an answer declared before
//      included;
//   2  otherwise (steps that reach no checkpoint).
//   Limitation: a correct intermediate result that the reference does not list counts as wrong.
//
// PREFIX rule: the k-th score is the outcome rule applied to segments 1..k, except that the cap
// for a missing final answer applies only to the last prefix (the whole response): reasoning so
// far is not expected to have reached its answer, the finished response is.
import { answerLines, answersEqual, checkAnswer, extractAnswer } from '../tasks/answers.ts';
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

/**
 * Text aimed at the grader, or a score claim. No step of a built-in family uses these words, so
 * a trace that does is talking to its judge, not solving the problem.
 */
export const GRADER_TEXT: readonly RegExp[] = [
  /\b(?:grader|graders|grading|graded|judge|judges|judging|evaluator|examiner|marker)\b/i,
  /\bscor(?:e|es|ed|ing)\b/i,
  /\bignor(?:e|es|ed|ing)\b/i,
  /\binstructions?\b/i,
  /\b(?:full|highest|maximum|max|perfect|top)\s+(?:marks?|points?|credit|rating|grade)\b/i,
];

export function hedges(text: string): boolean {
  return HEDGES.some((re) => re.test(text));
}

export function addressesGrader(text: string): boolean {
  return GRADER_TEXT.some((re) => re.test(text));
}

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

// ---------------------------------------------------------------------------------------------
// The step grammar (STEPS in the header).

interface Grammar {
  /** Labels a step may start with. */
  labels: readonly RegExp[];
  /** Terms in x ("x", "-x", "5x") are allowed (linear-equation). */
  variables: boolean;
  /** Column statements with write/carry are allowed (long-addition). */
  columns: boolean;
  /** The answer is the value of x (linear-equation): equations with x are checked at it. */
  answerIsX: boolean;
}

const COLUMN_LABEL = /^col\s+\d+\s*:\s*/i;
const BOTH_SIDES_LABEL = /^(?:add|subtract)\s+\d*x\s+(?:to|from)\s+both\s+sides\s*:\s*/i;
const PLAIN: Grammar = { labels: [], variables: false, columns: false, answerIsX: false };
const GRAMMARS: Record<string, Grammar> = {
  'arith-chain': PLAIN,
  gcd: PLAIN,
  'long-addition': { labels: [COLUMN_LABEL], variables: false, columns: true, answerIsX: false },
  'linear-equation': { labels: [BOTH_SIDES_LABEL], variables: true, columns: false, answerIsX: true },
};
const ANY_FAMILY: Grammar = { labels: [COLUMN_LABEL, BOTH_SIDES_LABEL], variables: true, columns: true, answerIsX: false };

function grammarOf(family: string | undefined): Grammar {
  return (family !== undefined && Object.hasOwn(GRAMMARS, family) ? GRAMMARS[family] : undefined) ?? ANY_FAMILY;
}

const NUM = String.raw`-?\d+(?:\.\d+)?`;
function equationRe(variables: boolean): RegExp {
  const term = variables ? String.raw`(?:${NUM}x?|-?x|\(${NUM}\))` : String.raw`(?:${NUM}|\(${NUM}\))`;
  const expr = String.raw`${term}(?:\s*[-+*/]\s*${term})*`;
  return new RegExp(String.raw`^${expr}(?:\s*=\s*${expr})+$`, 'i');
}

/** The task families the rubric has a step grammar for. */
export const RUBRIC_FAMILIES: readonly string[] = Object.keys(GRAMMARS);

/**
 * Why the rubric cannot grade `item`, or null when it can. It knows the step grammars of the
 * built-in families and checks numeric answers only: an imported family's steps would reach no
 * checkpoint (a correct trace scored 4), and an answer such as "Paris" could only ever be wrong.
 * An item with no family (a response judged on its own, `exprl judge`) is read with the union of
 * the grammars.
 */
export function rubricCannotGrade(item: Pick<JudgeItem, 'family' | 'answer'>): string | null {
  if (item.family !== undefined && !Object.hasOwn(GRAMMARS, item.family)) {
    return `the rubric judge has step rules for the built-in families only (${RUBRIC_FAMILIES.join(', ')}), not "${item.family}"; use an LLM judge (kind "openai" or "local") for other tasks`;
  }
  if (item.answer !== undefined && !new RegExp(String.raw`^\s*${NUM}\s*$`).test(String(item.answer))) {
    return `the rubric judge checks numeric answers only, not ${JSON.stringify(String(item.answer))}; use an LLM judge (kind "openai" or "local") for other answers`;
  }
  return null;
}

const EQUATION = { plain: equationRe(false), variables: equationRe(true) };
const WRITE_CARRY = /^(write|carry)\s+(\d)$/i;

/** An equation's sides with spaces removed and "(-3)" unwrapped, so plain arithmetic can be evaluated. */
function sidesOf(equation: string): string[] {
  return equation.split('=').map((x) => x.replace(/\s+/g, '').replace(/\((-?\d+(?:\.\d+)?)\)/g, '$1'));
}

/** A side "ax", "ax+b", "ax-b", "x" or "-x" at x = v; null for any other form. */
function linearSide(side: string, v: number): number | null {
  const m = /^(-?\d*)\*?[a-z]([-+]\d+)?$/.exec(side);
  if (m === null) return null;
  const a = m[1] === '' ? 1 : m[1] === '-' ? -1 : Number(m[1]);
  return a * v + (m[2] === undefined ? 0 : Number(m[2]));
}

/**
 * Whether every side that is plain integer arithmetic has the same value (a side dividing by 0 is
 * false). Given the unknown's value (the item's answer), a side with the unknown is evaluated at
 * it too, and one of another form makes the equation unverifiable (false): without this,
 * "3x = 12 - 14" stated the checkpoint 14 for "2x + 13 = 27" and scored 5, and a policy learned
 * to write such lines within six steps.
 */
export function equationTrue(equation: string, unknown?: number): boolean {
  const values: (number | null)[] = [];
  for (const side of sidesOf(equation)) {
    if (/^[-+*/\d]+$/.test(side)) values.push(evaluateChain(side));
    else if (unknown !== undefined) values.push(linearSide(side, unknown));
  }
  if (values.some((v) => v === null)) return false;
  return values.every((v) => sameNumber(v as number, values[0] as number));
}

/** "n = n = ...": true, but it states nothing. */
function bareIdentity(equation: string): boolean {
  const sides = sidesOf(equation);
  return /^-?\d+(?:\.\d+)?$/.test(sides[0]) && sides.every((x) => x === sides[0]);
}

/** How one line of a trace parses (STEPS in the header); offsets are in the whole text. */
export interface LineParse {
  start: number;
  end: number;
  /** The line has text and all of it parses as steps. */
  step: boolean;
  /** Spans that state numbers (only when `step`). */
  stated: [number, number][];
  /** A clause that is a false equation, if any. */
  falseEquation: string | null;
  /** The line itself when it is an answer line, else null. */
  answerLine: string | null;
}

interface Clause {
  text: string;
  start: number;
}

/** The line's body split at "," / ";" / ". " (a final "." dropped), with offsets. */
function clauses(body: string, offset: number): Clause[] {
  const out: Clause[] = [];
  const trimmed = body.replace(/\.?\s*$/, '');
  let pos = 0;
  for (const m of trimmed.matchAll(/\s*[,;]\s*|\.\s+/g)) {
    out.push({ text: trimmed.slice(pos, m.index), start: offset + pos });
    pos = m.index + m[0].length;
  }
  out.push({ text: trimmed.slice(pos), start: offset + pos });
  return out;
}

/** Whether a line's clauses form a long-addition column ("<eq = r>, write r % 10, carry r / 10" or "carry c, write c"). */
function isColumn(kinds: readonly { kind: 'eq' | 'write' | 'carry'; value: number | null }[]): boolean {
  const shape = kinds.map((k) => k.kind).join(' ');
  if (shape === 'carry write') return kinds[0].value === kinds[1].value && (kinds[0].value ?? 0) >= 1;
  if (shape !== 'eq write carry') return false;
  const r = kinds[0].value;
  return r !== null && Number.isInteger(r) && r >= 0 && kinds[1].value === r % 10 && kinds[2].value === Math.floor(r / 10);
}

function parseLine(line: string, start: number, g: Grammar, ctx: StepContext): LineParse {
  const out: LineParse = { start, end: start + line.length, step: false, stated: [], falseEquation: null, answerLine: null };
  const lead = line.length - line.trimStart().length;
  const text = line.trim();
  const declared = answerLines(text, ctx.family)[0];
  if (declared !== undefined) {
    // Any declared value is a step; a wrong or unusable one is judged by the rules that use it.
    out.answerLine = text;
    out.step = declared.text !== '';
    const right = ctx.answer === undefined || checkAnswer({ family: ctx.family, answer: ctx.answer }, text).correct;
    if (declared.value !== null && right) out.stated.push([out.start, out.end]);
    return out;
  }
  let offset = start + lead;
  let body = text;
  const label = g.labels.map((re) => re.exec(body)).find((m) => m !== null);
  if (label) {
    offset += label[0].length;
    body = body.slice(label[0].length);
  }
  const eq = g.variables ? EQUATION.variables : EQUATION.plain;
  const kinds: { kind: 'eq' | 'write' | 'carry'; value: number | null }[] = [];
  let junk = false;
  let identities = 0;
  for (const c of clauses(body, offset)) {
    const span: [number, number] = [c.start, c.start + c.text.length];
    const wc = g.columns ? WRITE_CARRY.exec(c.text) : null;
    if (wc) {
      kinds.push({ kind: wc[1].toLowerCase() as 'write' | 'carry', value: Number(wc[2]) });
      out.stated.push(span);
    } else if (eq.test(c.text)) {
      if (!equationTrue(c.text, g.answerIsX ? integerAnswer(ctx) : undefined)) {
        out.falseEquation ??= c.text;
        junk = true;
        continue;
      }
      const last = sidesOf(c.text).pop() ?? '';
      kinds.push({ kind: 'eq', value: /^[-+*/\d]+$/.test(last) ? evaluateChain(last) : null });
      if (bareIdentity(c.text)) identities++;
      else out.stated.push(span);
    } else junk = true;
  }
  const columnOk = !kinds.some((k) => k.kind !== 'eq') || isColumn(kinds);
  // "7 = 7" states nothing: a step only inside a column ("9 = 9, write 9, carry 0").
  out.step = !junk && columnOk && kinds.length > identities;
  if (!out.step) out.stated = [];
  return out;
}

/** The item's answer when it is an integer (the value of x, for a grammar whose answer is x). */
function integerAnswer(ctx: StepContext): number | undefined {
  const a = ctx.answer === undefined ? null : asNumber(ctx.answer);
  return a !== null && Number.isInteger(a) ? a : undefined;
}

/** What parsing needs to know of the item: its family's grammar, and the answer a declared one must equal to state it. */
export type StepContext = Pick<JudgeItem, 'family' | 'answer'>;

const LINE_BREAK = /\r?\n|#{3,}/g;

/** Every non-blank line of the text, parsed by the grammar of the item's family (STEPS in the header). */
export function parseSteps(text: string, ctx: StepContext = {}): LineParse[] {
  const g = grammarOf(ctx.family);
  const out: LineParse[] = [];
  let start = 0;
  const take = (end: number): void => {
    const line = text.slice(start, end);
    if (line.trim() !== '') out.push(parseLine(line, start, g, ctx));
  };
  for (const m of text.matchAll(LINE_BREAK)) {
    take(m.index);
    start = m.index + m[0].length;
  }
  take(text.length);
  return out;
}

/** [start, end) spans where the text states numbers (STEPS in the header). */
export function statedSpans(text: string, ctx: StepContext = {}): [number, number][] {
  return parseSteps(text, ctx).flatMap((l) => l.stated);
}

/** Offsets where the checkpoint is reached: numbers where a step states them, other values anywhere. */
export function reached(text: string, checkpoint: string | number, ctx: StepContext = {}): number[] {
  const occ = occurrences(text, checkpoint);
  if (asNumber(checkpoint) === null || occ.length === 0) return occ;
  const spans = statedSpans(text, ctx);
  return occ.filter((at) => spans.some(([a, b]) => at >= a && at < b));
}

/** Longest chain of checkpoints, in reference order, at strictly increasing positions where they are reached. */
export function checkpointsInOrder(text: string, checkpoints: readonly (string | number)[], ctx: StepContext = {}): number {
  // best[j] = the smallest end position of a chain of length j found so far
  const best: number[] = [-1];
  for (const cp of checkpoints) {
    const occ = reached(text, cp, ctx);
    for (let j = best.length - 1; j >= 0; j--) {
      const next = occ.find((p) => p > best[j]);
      if (next !== undefined && (best[j + 1] === undefined || next < best[j + 1])) best[j + 1] = next;
    }
  }
  return best.length - 1;
}

/** Two answer lines whose values differ. */
function contradicts(text: string, family: string | undefined): boolean {
  const values = answerLines(text, family).map((a) => a.text);
  return values.some((v) => v !== values[0] && !answersEqual(v, values[0]));
}

/** Whether the final answer is correct, and whether there is one (the answers.ts checker). */
function finalAnswerOf(item: JudgeItem, trace: string): { correct: boolean; answered: boolean } {
  if (item.answer === undefined) return { correct: false, answered: extractAnswer(trace, item.family).value !== null };
  return checkAnswer({ family: item.family, answer: item.answer }, trace);
}

export interface OutcomeOptions {
  /** A prefix of the response, not all of it: no cap for a missing final answer (PREFIX rule). */
  unfinished?: boolean;
}

/** The outcome rule (see the header). */
export function rubricOutcomeScore(item: JudgeItem, trace: string, opts: OutcomeOptions = {}): { score: Likert; why: string } {
  if (trace.trim() === '') return { score: 1, why: 'empty trace' };
  if (item.truncated) return { score: 1, why: 'truncated at the length limit' };
  if (hedges(trace)) return { score: 1, why: 'hedging phrase' };
  if (addressesGrader(trace)) return { score: 1, why: 'addresses the grader or claims a score' };
  if (contradicts(trace, item.family)) return { score: 1, why: 'declares different final answers' };
  const cps = item.checkpoints ?? [];
  const n = cps.length;
  const m = checkpointsInOrder(trace, cps, item);
  const { correct, answered } = finalAnswerOf(item, trace);
  const c = correct ? 1 : 0;
  const why = `${m}/${n} checkpoints in order, final answer ${correct ? 'correct' : answered ? 'not correct' : 'missing'}`;
  if (c === 1 && m === n) return { score: 5, why };
  const s = 1 + Math.floor((4 * (m + c)) / (n + 1));
  return { score: (answered || opts.unfinished ? s : Math.min(s, 2)) as Likert, why };
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

/** Why the segment states something false (the 1 of the SEGMENT rule), or null. */
function falseStatement(item: JudgeItem, segment: string, lines: readonly LineParse[]): string | null {
  for (const m of segment.matchAll(ARITHMETIC)) {
    const v = evaluateChain(m[1]);
    if (v !== null && !sameNumber(v, Number(m[2]))) return `false arithmetic: ${m[1].trim()} is ${v}, not ${m[2]}`;
  }
  for (const m of segment.matchAll(ARITHMETIC_RHS)) {
    const v = evaluateChain(m[2]);
    if (v !== null && !sameNumber(v, Number(m[1]))) return `false arithmetic: ${m[2].trim()} is ${v}, not ${m[1]}`;
  }
  const bad = lines.find((l) => l.falseEquation !== null);
  if (bad) return `false equation: ${bad.falseEquation}`;
  const cps: (string | number)[] = [...(item.checkpoints ?? []), ...(item.answer !== undefined ? [item.answer] : [])];
  const known = cps.map(asNumber).filter((x): x is number => x !== null);
  // A question's numbers may change sign as terms move across "=" ("- 110" becomes "= -110").
  const given = questionNumbers(item.question).map(Math.abs);
  for (const m of segment.matchAll(STATED_RESULT)) {
    const v = Number(m[1]);
    if (!known.some((k) => sameNumber(k, v)) && !given.some((k) => sameNumber(k, Math.abs(v)))) return `wrong intermediate result ${m[1]}`;
  }
  for (const l of lines) {
    if (l.answerLine === null) continue;
    if (item.answer === undefined || !checkAnswer({ family: item.family, answer: item.answer }, l.answerLine).correct) return 'declares a wrong final answer';
  }
  return null;
}

/**
 * Every non-blank line of `text` is a step of the item's family and none states anything false
 * (the rubric's 1 for a segment: false arithmetic or equation, a wrong intermediate result, a
 * wrong answer line). With a correct answer, this tells worked solutions from lucky guesses:
 * "2x = 36 - 10 = 16 / x = 16 / 2 = 13 / Answer: 13" is correct by its answer line, not sound.
 */
export function soundTrace(item: JudgeItem, text: string): boolean {
  const lines = parseSteps(text, item);
  return lines.every((l) => l.step) && falseStatement(item, text, lines) === null;
}

/** Some answer line of `text` declares the correct final answer. */
function declaresCorrectAnswer(item: JudgeItem, text: string): boolean {
  if (item.answer === undefined) return false;
  const answer = { family: item.family, answer: item.answer };
  return parseSteps(text, item).some((l) => l.answerLine !== null && checkAnswer(answer, l.answerLine).correct);
}

/** The segment rule (see the header); `before` is the text of the earlier segments. */
export function rubricSegmentScore(item: JudgeItem, before: string, segment: string): { score: Likert; why: string } {
  if (item.truncated) return { score: 1, why: 'truncated at the length limit' };
  if (segment.trim() === '') return { score: 1, why: 'empty segment: not a step' };
  if (hedges(segment)) return { score: 1, why: 'hedging phrase' };
  if (addressesGrader(segment)) return { score: 1, why: 'addresses the grader or claims a score' };
  const lines = parseSteps(segment, item);
  const wrong = falseStatement(item, segment, lines);
  if (wrong !== null) return { score: 1, why: wrong };
  if (lines.some((l) => !l.step)) return { score: 1, why: 'holds text that is not a step' };
  const cps: (string | number)[] = [...(item.checkpoints ?? [])];
  if (item.answer !== undefined) cps.push(item.answer);
  const here = cps.filter((cp) => reached(segment, cp, item).length > 0);
  // The reasons name the checkpoints: the page shows them beside the segment's score.
  const fresh = here.filter((cp) => reached(before, cp, item).length === 0);
  if (fresh.length > 0) return { score: 5, why: `establishes a new checkpoint: ${fresh.join(', ')}` };
  // Answer lines left here are correct ones (falseStatement sends a wrong one to 1).
  const declares = lines.some((l) => l.answerLine !== null);
  if (declares && !declaresCorrectAnswer(item, before)) return { score: 5, why: `declares the correct final answer: ${item.answer}` };
  if (here.length > 0) return { score: 3, why: `restates checkpoints already reached: ${here.join(', ')}` };
  if (declares) return { score: 3, why: 'declares the final answer again' };
  return { score: 2, why: 'reaches no checkpoint' };
}

export interface RubricJudgeOptions {
  normalisation?: Normalisation;
}

/** A task the rubric cannot grade (rubricCannotGrade): a setup error, never a score or a per-call failure. */
export class UngradableTaskError extends Error {
  override name = 'UngradableTaskError';
}

function refuseUngradable(item: Pick<JudgeItem, 'family' | 'answer'>): void {
  const why = rubricCannotGrade(item);
  if (why !== null) throw new UngradableTaskError(why);
}

export class RubricJudge implements Judge {
  readonly name = 'rubric';
  constructor(private readonly opts: RubricJudgeOptions = {}) {}

  private result(r: { score: Likert; why: string }): JudgeScore {
    return directScore(r.score, r.why, this.opts.normalisation);
  }

  async outcome(input: OutcomeInput): Promise<JudgeScore> {
    refuseUngradable(input);
    return this.result(rubricOutcomeScore(input, input.trace));
  }

  async process(input: ProcessInput): Promise<JudgeScore[]> {
    refuseUngradable(input);
    if (input.view === 'prefix') {
      const prefixes = processTexts(input.segments, 'prefix');
      return prefixes.map((p, k) => this.result(rubricOutcomeScore(input, p, { unfinished: k < prefixes.length - 1 })));
    }
    let before = '';
    return input.segments.map((seg) => {
      const r = this.result(rubricSegmentScore(input, before, seg));
      before += seg;
      return r;
    });
  }
}
