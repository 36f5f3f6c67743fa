/**
 * Linear equations with an integer solution, solved by isolating the x-term and dividing:
 *     Solve for x: 3x + 5 = 20
 *     3x = 20 - 5 = 15
 *     x = 15 / 3 = 5
 *     Answer: 5
 * From difficulty 6 x appears on both sides; the first step collects it:
 *     Solve for x: 7x + 3 = 2x + 18
 *     subtract 2x from both sides: 5x + 3 = 18
 *     5x = 18 - 3 = 15
 *     x = 15 / 5 = 3
 *     Answer: 3
 * Checkpoints: the collected coefficient (both-sides form), the isolated right-hand side, x.
 *
 * Difficulty d (1..10): |a| in 2..3 + d, |x| in 1..10 + 5d, |b| in 1..10 + 10d; negative a, b and x
 * from d = 3; both-sides form from d = 6 with |a - c| >= 2 (so the division is a real step).
 */
import { buildItem, checkDifficulty } from '../item';
import { itemRng, type Rng } from '../random';
import type { LengthBounds, TaskFamily } from '../types';

const NAME = 'linear-equation';
const DELIMITER = '\n';

/** "3x", "-3x", "x", "-x". */
function xTerm(a: number): string {
  if (a === 1) return 'x';
  if (a === -1) return '-x';
  return `${a}x`;
}

/** "3x + 5", "3x - 5". */
function side(a: number, b: number): string {
  return b < 0 ? `${xTerm(a)} - ${-b}` : `${xTerm(a)} + ${b}`;
}

/** A divisor written after "/": negative ones in parentheses. */
function paren(n: number): string {
  return n < 0 ? `(${n})` : String(n);
}

function signed(rng: Rng, lo: number, hi: number, allowNegative: boolean): number {
  const v = rng.int(lo, hi);
  return allowNegative && rng.chance(0.5) ? -v : v;
}

export const linearEquation: TaskFamily = {
  name: NAME,
  delimiter: DELIMITER,
  description: 'Solve a*x + b = c (from difficulty 6: a*x + b = c*x + e) for an integer x.',
  stepCount: (d) => (d >= 6 ? { min: 3, max: 3 } : { min: 2, max: 2 }),
  lengthBounds(d): LengthBounds {
    checkDifficulty(NAME, d);
    // Magnitudes: coefficients <= 2(3 + d) (both-sides form: a = k + c),
    // constants <= |a||x| + |b| + ... < 10^4 for every d; 6 characters cover sign and digits.
    const num = 6;
    const question = 14 + 2 * (num + 1 + 3 + num) + 3;
    const lines = [
      d >= 6 ? 31 + (num + 1) + 3 + (num + 1 + 3 + num) + 3 + num : 0,
      num + 1 + 3 + num + 3 + num + 3 + num,
      4 + num + 3 + num + 2 + 3 + num,
    ];
    return { question, reference: lines.reduce((s, l) => s + l + DELIMITER.length, 0) + 8 + num };
  },
  generate(d, seed, index) {
    checkDifficulty(NAME, d);
    const rng = itemRng(NAME, seed, index);
    const neg = d >= 3;
    const x = signed(rng, 1, 10 + 5 * d, neg);
    const steps: string[] = [];
    const checkpoints: string[] = [];
    let question: string;
    let a: number;
    let b: number;
    let rhs: number;
    if (d < 6) {
      a = signed(rng, 2, 3 + d, neg);
      b = signed(rng, 1, 10 + 10 * d, neg);
      rhs = a * x + b;
      question = `Solve for x: ${side(a, b)} = ${rhs}`;
    } else {
      // a - c = k with |k| >= 2; c != 0 so the right side really has an x-term.
      const k = signed(rng, 2, 2 + d, true);
      let c = signed(rng, 1, 2 + d, true);
      a = k + c;
      if (a === 0) {
        c = -c;
        a = k + c;
      }
      b = signed(rng, 1, 10 + 10 * d, true);
      const e = a * x + b - c * x;
      question = `Solve for x: ${side(a, b)} = ${side(c, e)}`;
      const move = c > 0 ? `subtract ${xTerm(c)} from both sides` : `add ${xTerm(-c)} to both sides`;
      a = k;
      rhs = e;
      steps.push(`${move}: ${side(a, b)} = ${rhs}`);
      checkpoints.push(String(a));
    }
    const isolated = rhs - b;
    steps.push(b > 0 ? `${xTerm(a)} = ${rhs} - ${b} = ${isolated}` : `${xTerm(a)} = ${rhs} + ${-b} = ${isolated}`);
    checkpoints.push(String(isolated));
    if (isolated / a !== x) throw new Error(`${NAME}: internal error (${question})`);
    steps.push(`x = ${isolated} / ${paren(a)} = ${x}`);
    checkpoints.push(String(x));
    return buildItem(NAME, DELIMITER, d, question, steps, checkpoints, String(x));
  },
};
