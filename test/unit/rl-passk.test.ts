// Eval estimators (src/rl/passk.ts) against values computed by hand.
import { describe, expect, it } from 'vitest';
import { countUnlocked, maxPass, meanAtN, passAt1, passAtK, summariseEval, updateUnlocked } from '../../src/rl/passk';

describe('unbiased pass@k', () => {
  it('matches 1 - C(n-c, k) / C(n, k)', () => {
    // n = 16, c = 4, k = 4: C(12,4) = 495, C(16,4) = 1820, pass@4 = 1325/1820.
    expect(passAtK(16, 4, 4)).toBeCloseTo(1325 / 1820, 14);
    expect(passAtK(16, 4, 4)).toBeCloseTo(0.7280219780, 9);
    // n = 5, c = 2, k = 2: 1 - C(3,2)/C(5,2) = 1 - 3/10.
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 14);
    // n = 16, c = 1, k = 16: the only correct sample is always among all 16.
    expect(passAtK(16, 1, 16)).toBe(1);
  });

  it('is 1 when n - c < k, 0 when c = 0, c/n at k = 1', () => {
    expect(passAtK(4, 2, 3)).toBe(1);
    expect(passAtK(16, 0, 4)).toBe(0);
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 14);
    expect(passAt1(10, 3)).toBeCloseTo(0.3, 14);
  });

  it('rejects k outside [1, n] and impossible counts', () => {
    expect(() => passAtK(4, 1, 5)).toThrow(/k 5 must be an integer in \[1, 4\]/);
    expect(() => passAtK(4, 5, 1)).toThrow(/c 5 must be an integer in \[0, 4\]/);
    expect(() => passAtK(0, 0, 1)).toThrow(/n 0 must be a positive integer/);
  });
});

describe('other estimators', () => {
  it('maxPass is the per-prompt maximum, meanAtN the sample mean', () => {
    expect(maxPass([false, false, true])).toBe(1);
    expect(maxPass([false, false])).toBe(0);
    expect(meanAtN([1, 0, 0.5, 0.5])).toBe(0.5);
  });

  it('summariseEval averages over prompts', () => {
    const s = summariseEval(
      [
        { correct: [true, false, false, false] }, // c = 1: pass@1 0.25, pass@4 1
        { correct: [false, false, false, false] }, // c = 0
        { correct: [true, true, false, false] }, // c = 2: pass@2 = 1 - C(2,2)/C(4,2) = 5/6
      ],
      [1, 2, 4, 16],
    );
    expect(s.n).toBe(4);
    expect(s.passAtK[1]).toBeCloseTo((0.25 + 0 + 0.5) / 3, 14);
    // c = 1, k = 2: 1 - C(3,2)/C(4,2) = 1/2.
    expect(s.passAtK[2]).toBeCloseTo((0.5 + 0 + 5 / 6) / 3, 14);
    expect(s.passAtK[4]).toBeCloseTo(2 / 3, 14);
    expect(s.passAtK[16]).toBeNull();
    expect(s.maxPass).toBeCloseTo(2 / 3, 14);
    expect(s.meanAtN).toBeCloseTo(0.25, 14);
    expect(s.unlocked).toBe(2);
    expect(() => summariseEval([{ correct: [true] }, { correct: [true, false] }], [1])).toThrow(/prompt 1 has 2 samples, prompt 0 has 1/);
  });
});

describe('unlocked prompts', () => {
  it('counts distinct prompts with at least one correct rollout, across steps', () => {
    const step1 = [
      { promptId: 'p1', correct: false },
      { promptId: 'p1', correct: true },
      { promptId: 'p1', correct: true },
      { promptId: 'p2', correct: false },
    ];
    expect(countUnlocked(step1)).toBe(1);
    const seen = updateUnlocked(new Set(), step1);
    const after = updateUnlocked(seen, [
      { promptId: 'p2', correct: true },
      { promptId: 'p1', correct: false }, // once unlocked, stays unlocked
      { promptId: 'p3', correct: false },
    ]);
    expect([...after].sort()).toEqual(['p1', 'p2']);
    expect(seen.size).toBe(1); // the input set is not modified
  });
});
