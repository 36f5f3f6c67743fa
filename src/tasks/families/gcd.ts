/**
 * Euclid's algorithm for the greatest common divisor, one division with remainder per line:
 *     84 = 2 * 36 + 12
 *     36 = 3 * 12 + 0
 *     Answer: 12
 * Checkpoints: the remainders.
 *
 * Built backwards from the gcd g and the quotients so that the number of division steps is exact:
 * difficulty d (1..10) has d + 1 divisions, quotients in 1..max(3, 6 - floor(d / 2)) (the last
 * one >= 2; small difficulties get larger quotients so that their question space is not tiny),
 * g in 1..20 + 10d. The larger number is stated first. Largest numbers: below 10^5 at d = 3,
 * below 10^9 at d = 10 (the tests check both).
 */
import { buildItem, checkDifficulty } from '../item';
import { itemRng } from '../random';
import type { LengthBounds, TaskFamily } from '../types';

const NAME = 'gcd';
const DELIMITER = '\n';

function qMaxOf(d: number): number {
  return Math.max(3, 6 - Math.floor(d / 2));
}

/** Bound on the larger input: g_max · (q_max + 1)^(steps) covers the backward construction. */
function maxInput(d: number): number {
  return (20 + 10 * d) * (qMaxOf(d) + 1) ** (d + 1);
}

export const gcd: TaskFamily = {
  name: NAME,
  delimiter: DELIMITER,
  description: "Euclid's algorithm: repeated division with remainder until the remainder is 0.",
  stepCount: (d) => ({ min: d + 1, max: d + 1 }),
  lengthBounds(d): LengthBounds {
    checkDifficulty(NAME, d);
    const digits = String(maxInput(d)).length;
    // "What is the greatest common divisor of A and B?"
    const question = 45 + 2 * digits;
    // "A = Q * B + R"
    const line = 3 * digits + 10;
    return { question, reference: (d + 1) * (line + DELIMITER.length) + 8 + digits };
  },
  generate(d, seed, index) {
    checkDifficulty(NAME, d);
    const rng = itemRng(NAME, seed, index);
    const divisions = d + 1;
    const qMax = qMaxOf(d);
    const g = rng.int(1, 20 + 10 * d);
    // r[k] for k = 0..divisions+1: r[0] > r[1] > ... > r[divisions] = g > r[divisions+1] = 0,
    // with r[k-1] = q_k · r[k] + r[k+1].
    const r: number[] = new Array(divisions + 2).fill(0);
    const q: number[] = new Array(divisions + 1).fill(0);
    r[divisions] = g;
    r[divisions + 1] = 0;
    for (let k = divisions; k >= 1; k--) {
      // The last quotient must be >= 2, otherwise r[k-1] = r[k] and the step is no division at all.
      q[k] = rng.int(k === divisions ? 2 : 1, qMax);
      r[k - 1] = q[k] * r[k] + r[k + 1];
    }
    const steps: string[] = [];
    const checkpoints: string[] = [];
    for (let k = 1; k <= divisions; k++) {
      steps.push(`${r[k - 1]} = ${q[k]} * ${r[k]} + ${r[k + 1]}`);
      checkpoints.push(String(r[k + 1]));
    }
    const question = `What is the greatest common divisor of ${r[0]} and ${r[1]}?`;
    return buildItem(NAME, DELIMITER, d, question, steps, checkpoints, String(g));
  },
};
