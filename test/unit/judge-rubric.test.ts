import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../../src/tasks/families/index';
import {
  checkpointsInOrder,
  evaluateChain,
  finalAnswer,
  occurrences,
  reached,
  RubricJudge,
  rubricOutcomeScore,
  rubricSegmentScore,
  statedSpans,
} from '../../src/judge/rubric.ts';

// 3 checkpoints (without the final answer), answer 26.
const item = {
  question: 'Compute (3 + 5) * 4 - 6.',
  reference: '3 + 5 = 8. 8 * 4 = 32. 32 - 6 = 26.',
  checkpoints: [8, 32, 26] as (string | number)[],
  answer: '26',
};
// The last checkpoint equals the answer here; a second item keeps them apart.
const item2: typeof item = { ...item, checkpoints: [8, 32] };

const outcome = (trace: string, it: typeof item = item2, extra = {}) => rubricOutcomeScore({ ...it, ...extra }, trace).score;

describe('matching', () => {
  it('numbers match as whole tokens and by value', () => {
    expect(occurrences('x = 8, 18, 80, 8.0', 8)).toEqual([4, 15]);
    expect(occurrences('5-3 and y = -3', -3)).toEqual([12]);
    expect(occurrences('5-3', 3)).toEqual([2]);
    expect(occurrences('so X + 1 then', 'x+1')).toEqual([3]);
  });
  it('counts the longest in-order chain', () => {
    expect(checkpointsInOrder('a = 8, then b = 32, then c = 26', [8, 32, 26])).toBe(3);
    expect(checkpointsInOrder('c = 26, then b = 32, then a = 8', [8, 32, 26])).toBe(1);
    // 8 appears late too; the chain uses its early occurrence
    expect(checkpointsInOrder('a = 8, b = 32, c = 26 and again a = 8', [8, 32, 26])).toBe(3);
    expect(checkpointsInOrder('b = 32 ... a = 8 ... c = 26', [8, 32, 26])).toBe(2);
  });
  it('a number is reached only where the trace states it: equations, "write"/"carry", the declared answer', () => {
    expect(reached('3 + 5 = 8', 8)).toEqual([8]);
    expect(reached('84 = 2 * 36 + 12', 12)).toEqual([14]);
    expect(reached('subtract 2x from both sides: 5x + 3 = 18', 5)).toEqual([29]);
    expect(reached('x = -95 / (-5) = 19', -5)).toEqual([11]);
    expect(reached('col 5: carry 1, write 1', 1)).toEqual([13, 22]);
    expect(reached('col 5: carry 1, write 1', 5)).toEqual([]);
    expect(reached('Answer: 26', 26)).toEqual([8]);
    expect(reached('so \\boxed{26}', 26)).toEqual([10]);
    // Listed, mentioned in words, in a bare "n = n", in false arithmetic: not stated.
    expect(reached('8 32 26', 8)).toEqual([]);
    expect(reached('11, 12, 13, 14', 12)).toEqual([]);
    expect(reached('we had 8 before', 8)).toEqual([]);
    expect(reached('90 - 8', 8)).toEqual([]);
    expect(reached('8 = 8', 8)).toEqual([]);
    expect(reached('3 + 4 = 8', 8)).toEqual([]);
    // Strings other than numbers match anywhere, as before.
    expect(reached('so X + 1 then', 'x+1')).toEqual([3]);
    expect(statedSpans('7 * 6 = 42 melons; 42 - 32 = 10')).toEqual([[0, 10], [19, 31]]);
  });
  it('final answer: declared, boxed, bare, or a trailing "= value"', () => {
    expect(finalAnswer('... The answer is 26.')).toBe('26');
    expect(finalAnswer('so \\boxed{26}')).toBe('26');
    expect(finalAnswer('26')).toBe('26');
    expect(finalAnswer('work\n32 - 6 = 26')).toBe('26');
    expect(finalAnswer('Score: 5')).toBeNull();
    expect(finalAnswer('Thought process:')).toBeNull();
  });
});

describe('outcome rule', () => {
  it('5 for the correct answer with every checkpoint in order', () => {
    expect(outcome('3 + 5 = 8, 8 * 4 = 32, 32 - 6 = 26. Answer: 26')).toBe(5);
  });
  it('checkpoints out of order do not all count', () => {
    // chain 32 -> 8? no: order is 8 then 32; text gives 32 first then 8 -> chain 1; +1 answer -> 1+floor(4*2/3)=3
    expect(outcome('b = 32 first, then a = 8. Answer: 26')).toBe(3);
  });
  it('listing numbers reaches no checkpoint (the number-listing probe)', () => {
    expect(outcome('1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 27 28 29 30 31 32 33')).toBe(1);
    expect(outcome('8 = 8, 32 = 32')).toBe(1);
  });
  it('in proportion: 1 + floor(4 (m + c) / (n + 1))', () => {
    expect(outcome('3 + 5 = 8, 8 * 4 = 32. Answer: 30')).toBe(1 + Math.floor((4 * 2) / 3)); // 3
    expect(outcome('3 + 5 = 8 and then I stop.')).toBe(1 + Math.floor(4 / 3)); // 2
    expect(outcome('nothing useful')).toBe(1);
  });
  it('a bare final answer is scored by the same rule, not specially', () => {
    expect(outcome('26')).toBe(1 + Math.floor(4 / 3)); // m = 0, c = 1, n = 2 -> 2
    expect(outcome('26', { ...item2, checkpoints: [] })).toBe(5); // n = 0: the answer is all there is
    // when the caller lists the answer as a checkpoint too, a bare answer does not also reach it
    // (no step states it): m = 0, c = 1, n = 3
    expect(outcome('26', item)).toBe(1 + Math.floor(4 / 4)); // 2
    expect(outcome('Answer: 26', item)).toBe(1 + Math.floor((4 * 2) / 4)); // 3
  });
  it('1 for empty, hedging, contradicting and truncated traces', () => {
    expect(outcome('')).toBe(1);
    expect(outcome('   \n ')).toBe(1);
    expect(outcome('3 + 5 = 8, 8 * 4 = 32, so the result cannot be determined.')).toBe(1);
    expect(outcome('There is not enough information. Answer: 26')).toBe(1);
    expect(outcome("I don't know")).toBe(1);
    expect(outcome('The answer is 26. Wait, the answer is 30.')).toBe(1);
    expect(outcome('3 + 5 = 8, 8 * 4 = 32, 32 - 6 = 26. Answer: 26', item2, { truncated: true })).toBe(1);
  });
});

describe('segment rule', () => {
  const seg = (before: string, s: string, extra = {}) => rubricSegmentScore({ ...item2, ...extra }, before, s).score;
  it('5 for a new checkpoint, 3 for a restated one, 2 for irrelevant, 1 for a wrong result', () => {
    expect(seg('', '3 + 5 = 8.')).toBe(5);
    expect(seg('3 + 5 = 8.', 'Recall that 3 + 5 = 8.')).toBe(3);
    expect(seg('3 + 5 = 8.', 'Recall that we had 8.')).toBe(2);
    expect(seg('', '11 12 13 8 32 40')).toBe(2);
    expect(seg('', 'Let me think about this carefully.')).toBe(2);
    expect(seg('', '')).toBe(2);
    expect(seg('', '3 + 5 = 9.')).toBe(1);
    expect(seg('', 'So the answer is 30.')).toBe(1);
    expect(seg('', 'This cannot be determined.')).toBe(1);
  });
  it('numbers from the question are not wrong results; the correct final answer is a checkpoint', () => {
    expect(seg('', 'We have x = 6 to subtract.')).toBe(2);
    expect(seg('8 ... 32', '32 - 6 = 26. Answer: 26')).toBe(5);
  });
  it('1 for false arithmetic even when the stated result is a checkpoint', () => {
    expect(seg('', '3 + 4 = 8.')).toBe(1);
    expect(rubricSegmentScore(item2, '', '3 + 4 = 8.').why).toBe('false arithmetic: 3 + 4 is 7, not 8');
    expect(seg('', '2 * 2 * 2 = 8')).toBe(5);
    expect(seg('', '40 - 8 = 32')).toBe(5);
    // Euclid's steps state the dividend as quotient * divisor + remainder.
    expect(seg('', '32 = 3 * 8 + 8')).toBe(5);
    expect(seg('', '32 = 3 * 8 + 7')).toBe(1);
    expect(seg('', '2x = 40 - 8 = 32')).toBe(5);
  });
  it('evaluates integer chains with the usual precedence', () => {
    expect(evaluateChain('3 + 9 + 1')).toBe(13);
    expect(evaluateChain('2 * 3 + 4')).toBe(10);
    expect(evaluateChain('4 + 2 * 3')).toBe(10);
    expect(evaluateChain('20 / 2')).toBe(10);
    expect(evaluateChain('7 / 2')).toBe(3.5);
    expect(evaluateChain('5-3')).toBe(2);
    expect(evaluateChain('-4 + 10')).toBe(6);
    expect(evaluateChain('8 - -2')).toBe(10);
    expect(evaluateChain('1 / 0')).toBeNull();
  });
  it('never calls a step of a built-in reference wrong', () => {
    for (const family of Object.values(FAMILIES)) {
      for (let d = 1; d <= 10; d++) {
        for (let i = 0; i < 12; i++) {
          const it = family.generate(d, 5, i);
          // As a run hands them over (src/rl/rollouts.ts judgeItem).
          const judged = { question: it.question, reference: it.reference, answer: it.answer, checkpoints: it.checkpoints };
          let before = '';
          for (const step of it.steps) {
            const r = rubricSegmentScore(judged, before, step);
            expect(r.score, `${it.id} "${step}": ${r.why}`).toBeGreaterThanOrEqual(3);
            before += step + family.delimiter;
          }
          // The whole reference states every checkpoint in order, the answer included.
          expect(rubricOutcomeScore(judged, it.reference), it.id).toMatchObject({ score: 5 });
        }
      }
    }
  });
  it('truncated trace: every segment gets the minimum', async () => {
    const j = new RubricJudge();
    const r = await j.process({ ...item2, segments: ['3 + 5 = 8.\n', '8 * 4 = 32'], view: 'segment', truncated: true });
    expect(r.map((s) => (s.ok ? s.score : 0))).toEqual([1, 1]);
  });
});

describe('RubricJudge', () => {
  const j = new RubricJudge();
  const segments = ['3 + 5 = 8.\n', 'So a = 8 again.\n', '8 * 4 = 32.\n', '32 - 6 = 26. Answer: 26'];
  it('segment view', async () => {
    const r = await j.process({ ...item2, segments, view: 'segment' });
    expect(r.map((s) => (s.ok ? s.score : 0))).toEqual([5, 3, 5, 5]);
    expect(r.map((s) => (s.ok ? s.value : -1))).toEqual([1, 0.5, 1, 1]);
  });
  it('prefix view applies the outcome rule to the reasoning so far', async () => {
    const r = await j.process({ ...item2, segments, view: 'prefix' });
    // 1 + floor(4 m / 3) for m = 1, 1, 2, then 5 with the answer
    expect(r.map((s) => (s.ok ? s.score : 0))).toEqual([2, 2, 3, 5]);
  });
  it('outcome carries a rationale, a raw text with the score, and the normalised value', async () => {
    const r = await j.outcome({ ...item2, trace: '3 + 5 = 8, 8 * 4 = 32, 32 - 6 = 26. Answer: 26' });
    expect(r).toMatchObject({ ok: true, score: 5, value: 1 });
    expect(r.rationale).toContain('2/2 checkpoints');
    expect(r.raw).toMatch(/Score: 5$/);
  });
  it('uses the configured normalisation', async () => {
    const r = await new RubricJudge({ normalisation: 'extremes' }).outcome({ ...item2, trace: '3 + 5 = 8' });
    expect(r).toMatchObject({ ok: true, score: 2, value: null });
  });
});
