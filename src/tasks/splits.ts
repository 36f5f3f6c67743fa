/**
 * Disjoint splits of the built-in families: easy (Stage 0 pre-training of the built-in policy),
 * mid (Stage I, ExpRL mid-training), rl (Stage II, sparse RL) and eval (held out).
 *
 * Disjoint by construction: a question's split is a function of its canonical text alone
 * (hash53 of family + normalised question, mapped onto fixed buckets), not of the seed or the
 * difficulty. A split is drawn by walking a family's item stream and keeping the items whose
 * question hashes into that split (and that were not kept already). So no question can ever
 * be in two splits, whatever seeds, difficulties or counts the splits were drawn with.
 */
import { FAMILIES, getFamily } from './families/index';
import { canonicalQuestion } from './item';
import { hash53 } from './random';
import { MAX_DIFFICULTY, type TaskItem } from './types';

/** The four disjoint splits, and `dev` and `test`: the two disjoint halves of `eval` (experiments choose on dev and report on test). */
export const SPLIT_NAMES = ['easy', 'mid', 'rl', 'eval', 'dev', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
type BaseSplit = 'easy' | 'mid' | 'rl' | 'eval';
const BASE_SPLITS: readonly BaseSplit[] = ['easy', 'mid', 'rl', 'eval'];

/**
 * Share of the question space per split, in 1/1000 (they sum to 1000). Easy gets the most because
 * its low-difficulty question spaces are small; fixed so that the assignment never changes.
 */
export const SPLIT_SHARES: Readonly<Record<BaseSplit, number>> = Object.freeze({ easy: 400, mid: 250, rl: 200, eval: 150 });

/** Default difficulties per split: easy is for pre-training, eval spans the whole range. */
export const DEFAULT_SPLIT_DIFFICULTIES: Readonly<Record<SplitName, readonly number[]>> = Object.freeze({
  easy: [1, 2],
  mid: [2, 3, 4, 5, 6, 7, 8],
  rl: [2, 3, 4, 5, 6, 7, 8],
  eval: Array.from({ length: MAX_DIFFICULTY }, (_, i) => i + 1),
  dev: Array.from({ length: MAX_DIFFICULTY }, (_, i) => i + 1),
  test: Array.from({ length: MAX_DIFFICULTY }, (_, i) => i + 1),
});

/** The one of the four disjoint splits a question belongs to (easy, mid, rl or eval). */
export function splitOf(family: string, question: string): BaseSplit {
  const bucket = hash53(canonicalQuestion(family, question)) % 1000;
  let edge = 0;
  for (const name of BASE_SPLITS) {
    edge += SPLIT_SHARES[name];
    if (bucket < edge) return name;
  }
  return 'eval';
}

/** Whether a question is in `split`; dev and test halve eval by a second, independent hash. */
export function inSplit(family: string, question: string, split: SplitName): boolean {
  const base = splitOf(family, question);
  if (split !== 'dev' && split !== 'test') return base === split;
  if (base !== 'eval') return false;
  const half = hash53(`dev/test:${canonicalQuestion(family, question)}`) % 2 === 0 ? 'dev' : 'test';
  return half === split;
}

export interface SplitOptions {
  split: SplitName;
  /** Items to return (across all families; families and difficulties take turns). */
  count: number;
  seed: number;
  /** Family names; default all built-in families. */
  families?: readonly string[];
  /** Difficulties to cycle through; default DEFAULT_SPLIT_DIFFICULTIES[split]. */
  difficulties?: readonly number[];
  /** Give up after this many candidates per requested item (small question spaces). Default 200. */
  maxTriesPerItem?: number;
}

/**
 * `count` distinct items of one split, deterministic in its options. Item k uses family
 * families[k % F] and difficulty difficulties[floor(k / F) % D]. Throws when a (family, difficulty)
 * pair cannot supply enough new questions within the try budget (its question space is too small).
 */
export function makeSplit(opts: SplitOptions): TaskItem[] {
  const families = (opts.families ?? Object.keys(FAMILIES)).map(getFamily);
  const difficulties = opts.difficulties ?? DEFAULT_SPLIT_DIFFICULTIES[opts.split];
  if (!SPLIT_NAMES.includes(opts.split)) throw new Error(`unknown split "${opts.split}"`);
  if (families.length === 0 || difficulties.length === 0) throw new Error('makeSplit: no families or no difficulties');
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new Error(`makeSplit: bad count ${opts.count}`);
  const maxTries = opts.maxTriesPerItem ?? 200;
  const seen = new Set<string>();
  // One candidate cursor per (family, difficulty) stream so that streams do not depend on each other.
  const cursors = new Map<string, number>();
  const out: TaskItem[] = [];
  for (let k = 0; k < opts.count; k++) {
    const family = families[k % families.length];
    const difficulty = difficulties[Math.floor(k / families.length) % difficulties.length];
    const key = `${family.name}/${difficulty}`;
    let cursor = cursors.get(key) ?? 0;
    let found: TaskItem | undefined;
    for (let t = 0; t < maxTries && !found; t++, cursor++) {
      // The stream index folds in the difficulty: each (seed, difficulty) pair has its own stream.
      const item = family.generate(difficulty, opts.seed, cursor * 16 + difficulty);
      if (!inSplit(item.family, item.question, opts.split)) continue;
      const canon = canonicalQuestion(item.family, item.question);
      if (seen.has(canon)) continue;
      seen.add(canon);
      found = item;
    }
    cursors.set(key, cursor);
    if (!found) {
      throw new Error(
        `makeSplit: ${family.name} at difficulty ${difficulty} ran out of new "${opts.split}" questions after ${out.length} items; ask for fewer or other difficulties`,
      );
    }
    out.push(found);
  }
  return out;
}
