/**
 * Long addition with carries, column by column from the right, as taught at school:
 *     col 1: 7 + 5 = 12, write 2, carry 1
 *     col 2: 3 + 4 + 1 = 8, write 8, carry 0
 *     ...
 *     col 4: carry 1, write 1          (only when a carry is left over)
 *     Answer: 1282
 * Checkpoint of a column: its sum (what the line computes); of the final carry: 1.
 *
 * Difficulty d (1..10): two numbers of d + 1 digits each (leading digit non-zero); from d = 6 the
 * second number may be up to 2 digits shorter (a column with only one digit reads "col 5: 4 + 1 = 5"
 * when it receives a carry, "col 5: 4 = 4" otherwise). Carries are random (about half the columns).
 */
import { buildItem, checkDifficulty } from '../item';
import { itemRng, type Rng } from '../random';
import type { LengthBounds, TaskFamily } from '../types';

const NAME = 'long-addition';
const DELIMITER = '\n';

function digitsOf(rng: Rng, n: number): number[] {
  // Most significant digit first, never zero.
  const out = [rng.int(1, 9)];
  for (let i = 1; i < n; i++) out.push(rng.int(0, 9));
  return out;
}

export const longAddition: TaskFamily = {
  name: NAME,
  delimiter: DELIMITER,
  description: 'Add two multi-digit numbers column by column, noting each carry.',
  stepCount: (d) => ({ min: d + 1, max: d + 2 }),
  lengthBounds(d): LengthBounds {
    checkDifficulty(NAME, d);
    const n = d + 1;
    // "What is A + B?"
    const question = 12 + 2 * n;
    // widest line "col 11: 9 + 9 + 1 = 19, write 9, carry 1" = 40 characters
    const line = 40;
    return { question, reference: (n + 1) * (line + DELIMITER.length) + 8 + n + 1 };
  },
  generate(d, seed, index) {
    checkDifficulty(NAME, d);
    const rng = itemRng(NAME, seed, index);
    const n = d + 1;
    const m = d >= 6 ? n - rng.int(0, 2) : n;
    const a = digitsOf(rng, n);
    const b = digitsOf(rng, m);
    const aText = a.join('');
    const bText = b.join('');
    const steps: string[] = [];
    const checkpoints: string[] = [];
    const written: number[] = [];
    let carry = 0;
    for (let col = 0; col < n; col++) {
      const da = a[n - 1 - col];
      const db = col < m ? b[m - 1 - col] : undefined;
      const terms = [da, ...(db === undefined ? [] : [db]), ...(carry ? [carry] : [])];
      const sum = terms.reduce((s, t) => s + t, 0);
      const digit = sum % 10;
      const nextCarry = sum >= 10 ? 1 : 0;
      steps.push(`col ${col + 1}: ${terms.join(' + ')} = ${sum}, write ${digit}, carry ${nextCarry}`);
      checkpoints.push(String(sum));
      written.push(digit);
      carry = nextCarry;
    }
    if (carry) {
      steps.push(`col ${n + 1}: carry 1, write 1`);
      checkpoints.push('1');
      written.push(1);
    }
    const answer = written.reverse().join('');
    // Checked against BigInt so a generator bug cannot produce a wrong reference silently.
    if (BigInt(answer) !== BigInt(aText) + BigInt(bText)) throw new Error(`${NAME}: internal error for ${aText} + ${bText}`);
    return buildItem(NAME, DELIMITER, d, `What is ${aText} + ${bText}?`, steps, checkpoints, answer);
  },
};
