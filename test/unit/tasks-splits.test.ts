import { describe, expect, it } from 'vitest';
import { canonicalQuestion } from '../../src/tasks/item';
import { DEFAULT_SPLIT_DIFFICULTIES, inSplit, makeSplit, SPLIT_NAMES, SPLIT_SHARES, splitOf } from '../../src/tasks/splits';

const BASE = ['easy', 'mid', 'rl', 'eval'] as const;

describe('task splits', () => {
  it('shares sum to 1000 and the assignment is a function of the canonical question', () => {
    expect(Object.values(SPLIT_SHARES).reduce((s, x) => s + x, 0)).toBe(1000);
    expect(splitOf('gcd', 'What is  the greatest common divisor of 28 and 20? ')).toBe(splitOf('gcd', 'what is the greatest common divisor of 28 and 20?'));
    expect(canonicalQuestion('gcd', ' A  b ')).toBe(canonicalQuestion('gcd', 'a b'));
  });

  it('four splits of thousands of items are pairwise disjoint, even across seeds and difficulties', () => {
    const seen = new Map<string, string>();
    const sizes: Record<string, number> = {};
    for (const split of BASE) {
      for (const seed of [1, 2]) {
        const items = makeSplit({ split, count: 600, seed, difficulties: split === 'easy' ? [1, 2] : [2, 3, 4, 5, 6] });
        sizes[split] = (sizes[split] ?? 0) + items.length;
        for (const it of items) {
          const key = canonicalQuestion(it.family, it.question);
          const other = seen.get(key);
          if (other !== undefined && other !== split) expect.fail(`"${it.question}" is in ${other} and ${split}`);
          seen.set(key, split);
          expect(splitOf(it.family, it.question)).toBe(split);
        }
      }
    }
    expect(Object.values(sizes)).toEqual([1200, 1200, 1200, 1200]);
  }, 30_000);

  it('within a split: no duplicates, deterministic, families and difficulties take turns', () => {
    const a = makeSplit({ split: 'mid', count: 400, seed: 3 });
    const b = makeSplit({ split: 'mid', count: 400, seed: 3 });
    expect(a).toEqual(b);
    expect(new Set(a.map((it) => canonicalQuestion(it.family, it.question))).size).toBe(400);
    expect(new Set(a.map((it) => it.id)).size).toBe(400);
    expect(a.slice(0, 4).map((it) => it.family)).toEqual(['arith-chain', 'long-addition', 'gcd', 'linear-equation']);
    expect(a[4].difficulty).toBe(DEFAULT_SPLIT_DIFFICULTIES.mid[1]);
    const c = makeSplit({ split: 'mid', count: 400, seed: 4 });
    expect(c).not.toEqual(a);
  });

  it('the filter does real work: unfiltered streams would hit every split', () => {
    const hits = new Set<string>();
    const items = makeSplit({ split: 'eval', count: 200, seed: 1, families: ['gcd'] });
    for (const it of items) hits.add(splitOf(it.family, it.question));
    expect([...hits]).toEqual(['eval']);
    const counts: Record<string, number> = { easy: 0, mid: 0, rl: 0, eval: 0 };
    for (let i = 0; i < 4000; i++) counts[splitOf('x', `question ${i}`)]++;
    // Roughly the configured shares (binomial noise well inside ±25%).
    for (const s of BASE) expect(Math.abs(counts[s] - 4 * SPLIT_SHARES[s])).toBeLessThan(SPLIT_SHARES[s]);
  });

  it('dev and test are disjoint halves of eval, whatever the seed and difficulty', () => {
    expect(SPLIT_NAMES).toContain('dev');
    const dev = [1, 2].flatMap((seed) => makeSplit({ split: 'dev', count: 300, seed, difficulties: [1, 2, 3] }));
    const test = [1, 2].flatMap((seed) => makeSplit({ split: 'test', count: 300, seed, difficulties: [1, 2, 3] }));
    const key = (it: { family: string; question: string }): string => canonicalQuestion(it.family, it.question);
    const devKeys = new Set(dev.map(key));
    for (const it of test) expect(devKeys.has(key(it)), it.question).toBe(false);
    for (const it of [...dev, ...test]) expect(splitOf(it.family, it.question)).toBe('eval');
    for (const it of dev) expect([inSplit(it.family, it.question, 'dev'), inSplit(it.family, it.question, 'test')]).toEqual([true, false]);
    // Roughly half of eval each.
    const evalItems = makeSplit({ split: 'eval', count: 400, seed: 5, difficulties: [2, 3, 4] });
    const inDev = evalItems.filter((it) => inSplit(it.family, it.question, 'dev')).length;
    expect(Math.abs(inDev - 200)).toBeLessThan(50);
  });

  it('a question space that is too small is an error, not a silent short split', () => {
    // linear-equation at difficulty 1 has few distinct questions; asking for far more must fail clearly.
    expect(() => makeSplit({ split: 'eval', count: 20000, seed: 1, families: ['linear-equation'], difficulties: [1] })).toThrow(/ran out of new "eval" questions/);
    expect(() => makeSplit({ split: 'eval', count: 1, seed: 1, families: ['nope'] })).toThrow(/unknown task family/);
  });
});
