/**
 * The building blocks of the config schema: what values a field takes, as data (`ValueType`,
 * read by the CLI help, the page's inputs and the URL parser) and as a check (`Check`, read by
 * validation). Each helper returns both, so the two cannot disagree.
 */

/** Returns a problem ("must be ...") or null. */
export type Check = (v: unknown) => string | null;

/** What values a field takes. `also`: values accepted besides the numbers (null, "auto", 0). */
export type ValueType =
  | { kind: 'int' | 'number'; min?: number; max?: number; gt?: number; lt?: number; also?: readonly (number | string | null)[] }
  | { kind: 'enum'; choices: readonly string[] }
  | { kind: 'string'; nonEmpty: boolean }
  | { kind: 'bool' }
  /** Lists and objects (templates, difficulties, eval k): checked by code, described in words. */
  | { kind: 'json'; what: string };

/** One field of the schema: its documentation, its type and its check. */
export interface Field {
  doc: string;
  type: ValueType;
  check: Check;
}

export type Rule = Pick<Field, 'type' | 'check'>;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface NumberBounds {
  int?: boolean;
  min?: number;
  max?: number;
  gt?: number;
  lt?: number;
}

/** "must be a finite integer >= 1" and the like: the words every numeric check uses. */
function describeNumber(opts: NumberBounds): string {
  const parts: string[] = [];
  if (opts.gt !== undefined) parts.push(`> ${opts.gt}`);
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.lt !== undefined) parts.push(`< ${opts.lt}`);
  if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
  return `must be a finite ${opts.int ? 'integer' : 'number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
}

export function num(opts: NumberBounds): Rule {
  const what = describeNumber(opts);
  const { int, ...bounds } = opts;
  return {
    type: { kind: int ? 'int' : 'number', ...bounds },
    check: (v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return what;
      // Past 2^53 a float holds no exact integer (2^53 + 1 reads as 2^53): not a count anyone meant.
      if (opts.int && !Number.isSafeInteger(v)) return what;
      if (opts.gt !== undefined && !(v > opts.gt)) return what;
      if (opts.min !== undefined && v < opts.min) return what;
      if (opts.lt !== undefined && !(v < opts.lt)) return what;
      if (opts.max !== undefined && v > opts.max) return what;
      return null;
    },
  };
}

export function oneOf(values: readonly string[]): Rule {
  return {
    type: { kind: 'enum', choices: values },
    check: (v) => (typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`),
  };
}

export function str(nonEmpty: boolean): Rule {
  return {
    type: { kind: 'string', nonEmpty },
    check: (v) => (typeof v === 'string' && (!nonEmpty || v.length > 0) ? null : nonEmpty ? 'must be a non-empty string' : 'must be a string'),
  };
}

export const bool: Rule = { type: { kind: 'bool' }, check: (v) => (typeof v === 'boolean' ? null : 'must be true or false') };

/** A number rule that also takes one other value (null, "auto", 0 = off); `what` is the problem otherwise. */
export function orValue(rule: Rule, value: number | string | null, what: string): Rule {
  const t = rule.type;
  if (t.kind !== 'int' && t.kind !== 'number') throw new Error(`orValue takes a number rule, not ${t.kind}`);
  return { type: { ...t, also: [...(t.also ?? []), value] }, check: (v) => (rule.check(v) === null || v === value ? null : what) };
}

/** A list or object checked by code; `what` describes it in words (help texts). */
export function custom(what: string, check: Check): Rule {
  return { type: { kind: 'json', what }, check };
}

export const U32 = num({ int: true, min: 0, max: 0xffffffff });
