import { describe, expect, it } from 'vitest';
import { DEFAULT_CHARACTERS } from '../../src/model/char-tokenizer';
import { checkAnswer } from '../../src/tasks/answers';
import { arithChain, FAMILIES, gcd, getFamily, linearEquation, longAddition } from '../../src/tasks/families/index';
import { MAX_DIFFICULTY, MIN_DIFFICULTY } from '../../src/tasks/types';

const ALLOWED = new Set(DEFAULT_CHARACTERS);
const N = 150;
const difficulties = Array.from({ length: MAX_DIFFICULTY - MIN_DIFFICULTY + 1 }, (_, i) => i + MIN_DIFFICULTY);

function gcdOf(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

describe('task families: common properties', () => {
  for (const family of Object.values(FAMILIES)) {
    it(`${family.name}: charset, lengths, step counts, reference = steps joined, answer line, self-check`, () => {
      for (const d of difficulties) {
        const bounds = family.lengthBounds(d);
        const { min, max } = family.stepCount(d);
        for (let i = 0; i < N; i++) {
          const it = family.generate(d, 7, i);
          const where = `${family.name} d=${d} i=${i}: ${it.question}`;
          const outside = [...(it.question + it.reference)].filter((ch) => !ALLOWED.has(ch));
          if (outside.length > 0) expect(outside, where).toEqual([]);
          expect(it.question.length, where).toBeLessThanOrEqual(bounds.question);
          expect(it.reference.length, where).toBeLessThanOrEqual(bounds.reference);
          expect(it.reference).toBe(it.steps.join(family.delimiter));
          expect(it.steps.length).toBe(it.checkpoints.length);
          expect(it.steps.length - 1, where).toBeGreaterThanOrEqual(min);
          expect(it.steps.length - 1, where).toBeLessThanOrEqual(max);
          expect(it.steps[it.steps.length - 1]).toBe(`Answer: ${it.answer}`);
          expect(it.checkpoints[it.checkpoints.length - 1]).toBe(it.answer);
          expect(it.answer).toMatch(/^-?\d+$/);
          expect(it.difficulty).toBe(d);
          expect(it.family).toBe(family.name);
          expect(it.id.startsWith(`${family.name}:`)).toBe(true);
          // Every step line states its checkpoint.
          const missing = it.steps.filter((s, k) => !s.includes(it.checkpoints[k]));
          if (missing.length > 0) expect(missing, where).toEqual([]);
          // The reference itself passes the sparse check.
          if (!checkAnswer(it, it.reference).correct) expect.fail(`reference fails its own check: ${where}`);
        }
      }
    }, 30_000);

    it(`${family.name}: deterministic by seed, different across seeds and indices`, () => {
      expect(family.generate(5, 123, 9)).toEqual(family.generate(5, 123, 9));
      const a = new Set(Array.from({ length: 50 }, (_, i) => family.generate(5, 1, i).question));
      const b = Array.from({ length: 50 }, (_, i) => family.generate(5, 2, i).question);
      expect(a.size).toBeGreaterThan(45);
      expect(b.filter((q) => a.has(q)).length).toBeLessThan(5);
    });

    it(`${family.name}: rejects difficulties outside 1..10 and non-integers`, () => {
      expect(() => family.generate(0, 1, 1)).toThrow(/difficulty/);
      expect(() => family.generate(11, 1, 1)).toThrow(/difficulty/);
      expect(() => family.generate(2.5, 1, 1)).toThrow(/difficulty/);
    });

    it(`${family.name}: harder means longer references`, () => {
      const mean = (d: number) => {
        let s = 0;
        for (let i = 0; i < 200; i++) s += family.generate(d, 3, i).reference.length;
        return s / 200;
      };
      expect(mean(10)).toBeGreaterThan(mean(1) * 1.8);
    });
  }

  it('getFamily names the known families for an unknown one', () => {
    expect(() => getFamily('nope')).toThrow(/arith-chain, long-addition, gcd, linear-equation/);
  });
});

/** Evaluates the question's wording independently of the generator's own bookkeeping. */
function evalChain(question: string): number {
  const m = /^Start with (\d+), (.*)\. What is the result\?$/.exec(question);
  if (!m) throw new Error(`bad question ${question}`);
  let v = Number(m[1]);
  for (const op of m[2].split(', ')) {
    const [, kind, n] = /^(add|subtract|multiply by|divide by) (\d+)$/.exec(op)!;
    const b = Number(n);
    if (kind === 'add') v += b;
    else if (kind === 'subtract') v -= b;
    else if (kind === 'multiply by') v *= b;
    else {
      expect(v % b).toBe(0);
      v /= b;
    }
    expect(v).toBeGreaterThanOrEqual(0);
  }
  return v;
}

describe('task families: answers are right (independent oracles)', () => {
  it('arith-chain: hand example shape and answers from the question text', () => {
    const it0 = arithChain.generate(2, 42, 0);
    expect(it0.question).toBe('Start with 11, add 10, subtract 2, add 12. What is the result?');
    expect(it0.steps).toEqual(['11 + 10 = 21', '21 - 2 = 19', '19 + 12 = 31', 'Answer: 31']);
    for (const d of difficulties) for (let i = 0; i < 200; i++) {
      const it = arithChain.generate(d, 11, i);
      expect(String(evalChain(it.question)), it.question).toBe(it.answer);
      expect(Number(it.answer)).toBeLessThanOrEqual(10 ** (2 + Math.floor(d / 3)));
    }
  });

  it('long-addition: BigInt sum, one line per column, carry lines consistent', () => {
    for (const d of difficulties) for (let i = 0; i < 200; i++) {
      const it = longAddition.generate(d, 5, i);
      const [, a, b] = /^What is (\d+) \+ (\d+)\?$/.exec(it.question)!;
      expect(a.length).toBe(d + 1);
      expect(it.answer).toBe((BigInt(a) + BigInt(b)).toString());
      let carry = 0;
      for (const step of it.steps.slice(0, a.length)) {
        const m = /^col \d+: ([\d + ]+) = (\d+), write (\d), carry ([01])$/.exec(step)!;
        const terms = m[1].split(' + ').map(Number);
        if (carry) expect(terms[terms.length - 1]).toBe(1);
        expect(terms.reduce((s, t) => s + t, 0)).toBe(Number(m[2]));
        expect(Number(m[3])).toBe(Number(m[2]) % 10);
        carry = Number(m[4]);
      }
    }
  });

  it('gcd: exact number of divisions, answer = gcd, numbers within the stated bounds', () => {
    const it0 = gcd.generate(2, 42, 0);
    expect(it0.steps).toEqual(['966 = 3 * 299 + 69', '299 = 4 * 69 + 23', '69 = 3 * 23 + 0', 'Answer: 23']);
    for (const d of difficulties) for (let i = 0; i < 200; i++) {
      const it = gcd.generate(d, 9, i);
      const [, a, b] = /of (\d+) and (\d+)\?$/.exec(it.question)!.map(Number);
      expect(a).toBeGreaterThan(b);
      expect(String(gcdOf(a, b))).toBe(it.answer);
      expect(it.steps.length - 1).toBe(d + 1);
      if (d <= 3) expect(a).toBeLessThan(1e5);
      expect(a).toBeLessThan(1e9);
    }
  });

  it('linear-equation: substituting the answer satisfies the equation', () => {
    const it0 = linearEquation.generate(2, 42, 0);
    expect(it0.reference).toBe('3x = 50 - 17 = 33\nx = 33 / 3 = 11\nAnswer: 11');
    const parseSide = (s: string): [number, number] => {
      const m = /^(-?\d*)x(?: ([+-]) (\d+))?$/.exec(s.trim());
      if (m) {
        const coef = m[1] === '' ? 1 : m[1] === '-' ? -1 : Number(m[1]);
        return [coef, m[2] ? (m[2] === '-' ? -1 : 1) * Number(m[3]) : 0];
      }
      return [0, Number(s)];
    };
    let bothSides = 0;
    for (const d of difficulties) for (let i = 0; i < 200; i++) {
      const it = linearEquation.generate(d, 13, i);
      const [l, r] = it.question.replace('Solve for x: ', '').split(' = ');
      const [a, b] = parseSide(l);
      const [c, e] = parseSide(r);
      const x = Number(it.answer);
      expect(a * x + b, it.question).toBe(c * x + e);
      expect(Math.abs(a - c)).toBeGreaterThanOrEqual(2);
      if (c !== 0) bothSides++;
      if (d < 6) expect(c).toBe(0);
    }
    expect(bothSides).toBe(5 * 200);
  });
});
