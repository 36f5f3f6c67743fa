import { describe, expect, it } from 'vitest';
import { answerLines, answersEqual, checkAnswer, extractAnswer, parseNumber } from '../../src/tasks/answers';

describe('answer extraction', () => {
  it('a plain final line', () => {
    expect(extractAnswer('7 + 5 = 12\nAnswer: 12').value).toBe('12');
    expect(extractAnswer('Answer: -25').value).toBe('-25');
  });

  it('lenient: spaces, case, trailing period, markdown bold, list marker, "=", $..$, \\boxed', () => {
    for (const r of ['  Answer:   12  ', 'answer: 12.', 'ANSWER : 12', '**Answer:** 12', '**Answer**: 12', '- Answer: 12', 'Final answer: 12', 'Answer = 12', 'Answer: $12$', 'Answer: \\boxed{12}', 'Answer: **12**']) {
      expect(extractAnswer(`work\n${r}`).value, r).toBe('12');
    }
  });

  it('leading zeros, sign and thousands separators are numbers equal to the plain form', () => {
    expect(checkAnswer({ family: 'gcd', answer: '7' }, 'Answer: 007').correct).toBe(true);
    expect(checkAnswer({ family: 'gcd', answer: '7' }, 'Answer: +7').correct).toBe(true);
    expect(checkAnswer({ family: 'long-addition', answer: '1234567' }, 'Answer: 1,234,567').correct).toBe(true);
    expect(extractAnswer('Answer: 12,34').value).toBeNull();
  });

  it('several answer lines: the last one counts', () => {
    const r = extractAnswer('Answer: 10\nwait, I made a mistake\nAnswer: 12');
    expect(r.value).toBe('12');
    expect(r.answerLines).toBe(2);
    expect(checkAnswer({ family: 'x', answer: '10' }, 'Answer: 10\nAnswer: 12').correct).toBe(false);
    expect(checkAnswer({ family: 'x', answer: '12' }, 'Answer: 10\nAnswer: 12').correct).toBe(true);
  });

  it('hedging and non-answers give no value and are never correct', () => {
    for (const [r, reason] of [
      ['Answer: 12 or 13', 'not-a-number'],
      ['Answer: cannot be determined', 'not-a-number'],
      ['Answer: about 12', 'not-a-number'],
      ['Answer:', 'not-a-number'],
      ['Answer: 12\nAnswer: maybe 13', 'not-a-number'],
      ['the answer is 12', 'no-answer-line'],
      ['12', 'no-answer-line'],
      ['', 'no-answer-line'],
      ['so my answer: 12', 'no-answer-line'],
    ] as const) {
      const e = extractAnswer(r);
      expect(e.value, r).toBeNull();
      expect(e.reason, r).toBe(reason);
      expect(checkAnswer({ family: 'gcd', answer: '12' }, r).correct, r).toBe(false);
    }
  });

  it('linear-equation accepts "x = 5"; other families do not', () => {
    expect(checkAnswer({ family: 'linear-equation', answer: '-5' }, 'Answer: x = -5').correct).toBe(true);
    expect(checkAnswer({ family: 'gcd', answer: '5' }, 'Answer: x = 5').correct).toBe(false);
  });

  it('answered: a usable final answer, right or wrong (the metrics\' no_answer_frac and the rubric\'s cap)', () => {
    const gcd = { family: 'gcd', answer: '12' };
    expect(checkAnswer(gcd, 'Answer: 12')).toMatchObject({ correct: true, answered: true });
    expect(checkAnswer(gcd, 'Answer: 13')).toMatchObject({ correct: false, answered: true });
    for (const r of ['', '12', 'the answer is 12', 'Answer: cannot be determined', 'Answer:', '9, write 1, werite 54']) {
      expect(checkAnswer(gcd, r), r).toMatchObject({ correct: false, answered: false });
    }
    expect(checkAnswer({ family: 'imported', answer: 'Paris' }, 'Answer: Lyon')).toMatchObject({ correct: false, answered: true });
  });

  it('lists every answer line with its cleaned text', () => {
    expect(answerLines('Answer: 5 or 6\nwork\n**Answer:** 7.')).toEqual([
      { line: 'Answer: 5 or 6', text: '5 or 6', value: null },
      { line: '**Answer:** 7.', text: '7', value: '7' },
    ]);
  });

  it('CRLF line ends', () => {
    expect(extractAnswer('a\r\nAnswer: 3\r\n').value).toBe('3');
  });
});

describe('answer equality', () => {
  it('exact rationals', () => {
    expect(answersEqual('12', '12.0')).toBe(true);
    expect(answersEqual('24/2', '12')).toBe(true);
    expect(answersEqual('0.5', '1/2')).toBe(true);
    expect(answersEqual('-1/2', '1/-2')).toBe(true);
    expect(answersEqual('12', '13')).toBe(false);
    expect(answersEqual('9007199254740993', '9007199254740992')).toBe(false);
    expect(answersEqual('1/0', '1/0')).toBe(false);
    expect(parseNumber('1/0')).toBeNull();
  });

  it('non-numeric references compare as normalised text; numbers never equal text', () => {
    expect(answersEqual(' Yes ', 'yes')).toBe(true);
    expect(answersEqual('12', 'twelve')).toBe(false);
    expect(answersEqual(null, '12')).toBe(false);
    expect(answersEqual('', '')).toBe(false);
    expect(checkAnswer({ family: 'imported', answer: 'Paris' }, 'Answer: paris.').correct).toBe(true);
  });
});
