/**
 * Chains of arithmetic operations: "Start with 7, add 5, multiply by 3, subtract 4. What is the
 * result?" The reference writes one operation per line with its running value ("7 + 5 = 12").
 *
 * Difficulty d (1..10): d + 1 operations; start value up to 5 + 5d; add/subtract operands up to
 * 5 + 5d; multipliers 2..min(9, d + 2); exact division ("divide by k") from d = 4; running values
 * stay in 0..10^(2 + floor(d / 3)) (subtractions never go below zero, a multiplication that would
 * pass the cap is replaced by an addition or subtraction).
 */
import { buildItem, checkDifficulty } from '../item';
import { itemRng } from '../random';
import type { LengthBounds, TaskFamily } from '../types';

const NAME = 'arith-chain';
const DELIMITER = '\n';

function cap(d: number): number {
  return 10 ** (2 + Math.floor(d / 3));
}

export const arithChain: TaskFamily = {
  name: NAME,
  delimiter: DELIMITER,
  description: 'A chain of additions, subtractions, multiplications and exact divisions; steps are the running values.',
  stepCount: (d) => ({ min: d + 1, max: d + 1 }),
  lengthBounds(d): LengthBounds {
    checkDifficulty(NAME, d);
    const ops = d + 1;
    const digits = String(cap(d)).length;
    // "Start with N, " + ops × ", multiply by NN" + ". What is the result?"
    const question = 12 + digits + ops * (14 + digits) + 21;
    // per line "A * B = C" with A, C below the cap, B an operand; answer line "Answer: C".
    const line = 3 * digits + 6;
    return { question, reference: ops * (line + DELIMITER.length) + 8 + digits };
  },
  generate(d, seed, index) {
    checkDifficulty(NAME, d);
    const rng = itemRng(NAME, seed, index);
    const limit = cap(d);
    const operandMax = 5 + 5 * d;
    const start = rng.int(1, 5 + 5 * d);
    let value = start;
    const phrases: string[] = [];
    const steps: string[] = [];
    const checkpoints: string[] = [];
    for (let k = 0; k < d + 1; k++) {
      const kinds: ('add' | 'sub' | 'mul' | 'div')[] = ['add', 'sub', 'mul'];
      if (d >= 4) kinds.push('div');
      let kind = rng.pick(kinds);
      let divisors: number[] = [];
      if (kind === 'div') {
        divisors = [2, 3, 4, 5, 6, 7, 8, 9].filter((q) => value % q === 0 && value > 0);
        if (divisors.length === 0) kind = 'mul';
      }
      const mulMax = Math.min(9, d + 2);
      if (kind === 'mul' && value * mulMax > limit) kind = value >= operandMax ? 'sub' : 'add';
      if (kind === 'sub' && value === 0) kind = 'add';
      if (kind === 'add' && value + operandMax > limit) kind = 'sub';
      let next: number;
      if (kind === 'add') {
        const b = rng.int(1, operandMax);
        next = value + b;
        phrases.push(`add ${b}`);
        steps.push(`${value} + ${b} = ${next}`);
      } else if (kind === 'sub') {
        const b = rng.int(1, Math.min(operandMax, value));
        next = value - b;
        phrases.push(`subtract ${b}`);
        steps.push(`${value} - ${b} = ${next}`);
      } else if (kind === 'mul') {
        const b = rng.int(2, mulMax);
        next = value * b;
        phrases.push(`multiply by ${b}`);
        steps.push(`${value} * ${b} = ${next}`);
      } else {
        const b = rng.pick(divisors);
        next = value / b;
        phrases.push(`divide by ${b}`);
        steps.push(`${value} / ${b} = ${next}`);
      }
      value = next;
      checkpoints.push(String(value));
    }
    const question = `Start with ${start}, ${phrases.join(', ')}. What is the result?`;
    return buildItem(NAME, DELIMITER, d, question, steps, checkpoints, String(value));
  },
};
