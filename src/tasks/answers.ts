/**
 * Final-answer extraction and equality: the one answer checker. The sparse reward, pass@k, the
 * rubric judge and the step metrics all read answers here, so "correct" and "no answer" mean
 * the same thing wherever they are counted.
 *
 * Format the prompts ask for (ANSWER_INSTRUCTION in types.ts): a line `Answer: N`.
 *
 * Extraction rules, in order:
 * - Answer lines are lines that start (after optional spaces, `>`/`-`/`*` list or quote markers
 *   and `**` / `__` bold markers) with the word `answer` in any case, optionally `final answer`,
 *   followed by `:` or `=`. Text of the form "the answer is 5" is NOT an answer line.
 * - With several answer lines the LAST one counts (a trace that corrects itself ends with its
 *   final choice; the judge's parser makes the same choice for `Score:`).
 * - The value is the rest of that line with surrounding spaces, closing bold markers, a trailing
 *   period and a pair of `$` or `\boxed{...}` removed. For the linear-equation family a leading
 *   `x =` is accepted too ("Answer: x = 5").
 * - The value must then be ONE number: an optional sign, digits (leading zeros allowed: "007" is
 *   7; thousands separators allowed only as `,` between groups of exactly three digits), an
 *   optional decimal part, or a fraction p/q. Anything else ("5 or 6", "cannot be determined",
 *   "about 12", empty) is no answer: `value: null` with a reason, and it never counts as correct.
 *
 * Equality is numeric and exact (BigInt rationals): "12" = "012" = "12.0" = "24/2". Reference
 * answers that are not numbers (imported datasets) fall back to string equality after trimming,
 * collapsing spaces and lower-casing.
 */

export interface ExtractedAnswer {
  /** The normalised value text (as written, cleaned), or null when no usable answer was found. */
  value: string | null;
  /** The whole answer line that was used (null when there was none). */
  line: string | null;
  /** Why value is null: 'no-answer-line' | 'not-a-number'. */
  reason?: 'no-answer-line' | 'not-a-number';
  /** How many answer lines the response had (the last is used). */
  answerLines: number;
}

const ANSWER_LINE = /^[\s>*_-]*(?:\*\*|__)?\s*(?:final\s+)?answer\s*(?:\*\*|__)?\s*[:=]\s*(.*)$/i;
const NUMBER = /^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?(?:\/[+-]?\d+)?$/;

function cleanValue(raw: string, family?: string): string {
  let v = raw.trim();
  v = v.replace(/(?:\*\*|__)\s*$/, '').trim();
  v = v.replace(/^(?:\*\*|__)/, '').trim();
  v = v.replace(/\.$/, '').trim();
  const dollars = /^\$(.*)\$$/.exec(v);
  if (dollars) v = dollars[1].trim();
  const boxed = /^\\boxed\{(.*)\}$/.exec(v);
  if (boxed) v = boxed[1].trim();
  if (family === 'linear-equation') v = v.replace(/^x\s*=\s*/i, '');
  return v.trim();
}

/** One answer line as it appears in a response. */
export interface AnswerLine {
  /** The line, without its line end. */
  line: string;
  /** The value text, cleaned as above, whatever it holds. */
  text: string;
  /** `text` when it is one number by the rules above, else null. */
  value: string | null;
}

/** Every answer line of the response, in order (the last one is the final answer). */
export function answerLines(response: string, family?: string): AnswerLine[] {
  const out: AnswerLine[] = [];
  for (const line of response.split(/\r?\n/)) {
    const m = ANSWER_LINE.exec(line);
    if (m === null) continue;
    const text = cleanValue(m[1], family);
    out.push({ line, text, value: NUMBER.test(text) ? text : null });
  }
  return out;
}

/** The answer a response gives, by the rules above. `family` enables family-specific leniency. */
export function extractAnswer(response: string, family?: string): ExtractedAnswer {
  const lines = answerLines(response, family);
  const last = lines[lines.length - 1];
  if (last === undefined) return { value: null, line: null, reason: 'no-answer-line', answerLines: 0 };
  if (last.value === null) return { value: null, line: last.line, reason: 'not-a-number', answerLines: lines.length };
  return { value: last.value, line: last.line, answerLines: lines.length };
}

/** An exact rational p/q with q > 0, or null when the text is not a number by the rules above. */
export function parseNumber(text: string): { p: bigint; q: bigint } | null {
  const t = text.trim();
  if (!NUMBER.test(t)) return null;
  const [numText, denText] = t.split('/');
  const num = parseDecimal(numText);
  if (denText === undefined) return num;
  const den = BigInt(denText);
  if (den === 0n) return null;
  const sign = den < 0n ? -1n : 1n;
  return { p: num.p * sign, q: num.q * den * sign };
}

function parseDecimal(text: string): { p: bigint; q: bigint } {
  const s = text.replace(/,/g, '');
  const negative = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  const [whole, frac = ''] = body.split('.');
  const p = BigInt(whole + frac) * (negative ? -1n : 1n);
  return { p, q: 10n ** BigInt(frac.length) };
}

/** Numeric equality when both sides are numbers; normalised text equality otherwise. */
export function answersEqual(given: string | null, reference: string): boolean {
  if (given === null) return false;
  const a = parseNumber(given);
  const b = parseNumber(reference);
  if (a && b) return a.p * b.q === b.p * a.q;
  // One side numeric (or a number-shaped text such as 1/0 that is no number): never equal.
  if (a || b || NUMBER.test(given.trim()) || NUMBER.test(reference.trim())) return false;
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(given) !== '' && norm(given) === norm(reference);
}

export interface AnswerCheck {
  /** The final answer equals the item's answer. */
  correct: boolean;
  /**
   * The response declares a usable final answer at all (right or wrong): its last answer line
   * holds one number, or any non-empty text when the reference is no number. The rubric's
   * "without a final answer" and the metrics' `no_answer_frac` are both `!answered`.
   */
  answered: boolean;
  extracted: ExtractedAnswer;
}

/** The sparse check of one response against an item. */
export function checkAnswer(item: { family?: string; answer: string }, response: string): AnswerCheck {
  const extracted = extractAnswer(response, item.family);
  // A non-numeric reference (imported) may need the raw line value: fall back to the cleaned text.
  if (extracted.value === null && extracted.line !== null && parseNumber(item.answer) === null) {
    const raw = answerLines(extracted.line, item.family)[0]?.text ?? '';
    return { correct: answersEqual(raw, item.answer), answered: raw !== '', extracted };
  }
  return { correct: answersEqual(extracted.value, item.answer), answered: extracted.value !== null, extracted };
}
