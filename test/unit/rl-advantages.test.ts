// Advantages (src/rl/advantages.ts), against values computed by hand from the method doc.
import { describe, expect, it } from 'vitest';
import {
  cutReward,
  cutSegmentScores,
  groupAdvantages,
  grpoAdvantages,
  guardValues,
  processDeltaValues,
  processEndNormalisedValues,
  processGroupMeanValues,
  segmentValuesToTokens,
  selfDistillAdvantages,
  stage2Advantages,
} from '../../src/rl/advantages';
import { configIssues, preset } from '../../src/rl/config';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('GRPO outcome advantages', () => {
  it('normalise by the unbiased std plus 1e-6', () => {
    // mean 0.5; unbiased variance 4·0.25/3 = 1/3; std 0.5773503; A = ±0.5/0.5773513 = ±0.8660239.
    const g = grpoAdvantages([1, 0, 0, 1]);
    expect(g.mean).toBe(0.5);
    expect(g.std).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(g.advantages[0]).toBeCloseTo(0.8660239, 6);
    expect(g.advantages[1]).toBeCloseTo(-0.8660239, 6);
    // Population std (0.5) would give ±0.999998; the unbiased one must be used.
    expect(Math.abs(g.advantages[0] - 1)).toBeGreaterThan(0.1);
  });

  it('uses mean 0 and std 1 for a group of one', () => {
    expect(grpoAdvantages([0.75]).advantages[0]).toBeCloseTo(0.75 / (1 + 1e-6), 12);
    expect(grpoAdvantages([0]).advantages).toEqual([0]);
  });

  it('gives 0 to every rollout of a zero-std group', () => {
    expect(grpoAdvantages([0.5, 0.5, 0.5]).advantages).toEqual([0, 0, 0]);
  });

  it('leaves masked rollouts out of the statistics and gives them 0', () => {
    // Unmasked [1, 0, 0.5]: mean 0.5, unbiased std sqrt(0.5/2) = 0.5. The masked 9 must not count.
    const g = grpoAdvantages([1, 0, 0.5, 9], [false, false, false, true]);
    expect(g.count).toBe(3);
    expect(g.mean).toBe(0.5);
    expect(g.std).toBeCloseTo(0.5, 12);
    expect(g.advantages[0]).toBeCloseTo(0.5 / 0.500001, 12);
    expect(g.advantages[1]).toBeCloseTo(-0.5 / 0.500001, 12);
    expect(g.advantages[2]).toBe(0);
    expect(g.advantages[3]).toBe(0);
    // One unmasked rollout left: a group of one.
    expect(grpoAdvantages([1, 0.25], [true, false]).advantages[1]).toBeCloseTo(0.25 / (1 + 1e-6), 12);
    expect(grpoAdvantages([1, 1], [true, true]).advantages).toEqual([0, 0]);
    expect(() => grpoAdvantages([1, 0], [false])).toThrow(/2 rewards but 1 mask flags/);
    expect(() => grpoAdvantages([NaN])).toThrow(/reward 0 is NaN/);
  });
});

describe('Stage II advantages', () => {
  it('subtract the group mean, no std', () => {
    expect(stage2Advantages([1, 0, 0, 0]).advantages).toEqual([0.75, -0.25, -0.25, -0.25]);
    expect(stage2Advantages([1, 0, 1], [false, false, true]).advantages).toEqual([0.5, -0.5, 0]);
    expect(stage2Advantages([1]).advantages).toEqual([1]);
  });
});

describe('ExpRL-Process values', () => {
  it('K = 1: value_1 = s_1', () => {
    expect(processDeltaValues([0.5])).toEqual([0.5]);
    expect(processDeltaValues([])).toEqual([]);
  });

  it('K >= 2: differences, value_1 = s_1 - s_K, summing to 0', () => {
    expect(processDeltaValues([1, 0])).toEqual([1, -1]);
    // s = 0.25, 0.75, 0.5: value_1 = 0.25 - 0.5, value_2 = 0.75 - 0.25, value_3 = 0.5 - 0.75.
    const v = processDeltaValues([0.25, 0.75, 0.5]);
    expect(v).toEqual([-0.25, 0.5, -0.25]);
    expect(sum(v)).toBe(0);
    const w = processDeltaValues([0, 0.25, 1, 1, 0.5]);
    expect(w).toEqual([-0.5, 0.25, 0.75, 0, -0.5]);
    expect(sum(w)).toBe(0);
  });

  it('ablation end-normalised: s_k - s_K', () => {
    expect(processEndNormalisedValues([0.25, 0.75, 0.5])).toEqual([-0.25, 0.25, 0]);
    expect(processEndNormalisedValues([0.75])).toEqual([0]);
  });

  it('ablation group-mean baseline: pooled mean of the unmasked segment scores', () => {
    // b = (0.25 + 0.75 + 0.5) / 3 = 0.5; the masked rollout's 1s are not in b.
    const v = processGroupMeanValues([[0.25, 0.75], [0.5], [1, 1, 1]], [false, false, true]);
    expect(v).toEqual([[-0.25, 0.25], [0], [0, 0, 0]]);
  });

  it('spreads value_k over the tokens of segment k', () => {
    expect([...segmentValuesToTokens([-0.25, 0.5], [0, 0, 1, 1, 1])]).toEqual([-0.25, -0.25, 0.5, 0.5, 0.5]);
    expect([...segmentValuesToTokens([], [-1, -1])]).toEqual([0, 0]);
    expect(() => segmentValuesToTokens([1], [0, 1])).toThrow(/token 1 is in segment 1, only 1 values/);
  });
});

describe('cut responses and self-distillation', () => {
  it('a cut response gets reward 0 and, in process mode, all segment scores 0', () => {
    expect(cutReward(0.9, true)).toBe(0);
    expect(cutReward(0.9, false)).toBe(0.9);
    expect(cutSegmentScores([1, 0.5, 0.75], true)).toEqual([0, 0, 0]);
    expect(processDeltaValues(cutSegmentScores([1, 0.5, 0.75], true))).toEqual([0, 0, 0]);
  });

  it('self-distillation: A = logp_teacher - logp_student per token', () => {
    expect([...selfDistillAdvantages([-1, -2], [-1.5, -0.5])]).toEqual([0.5, -1.5]);
    expect(() => selfDistillAdvantages([-1], [])).toThrow(/1 teacher log-probs but 0 student/);
  });
});

describe('groupAdvantages', () => {
  it('outcome: every token gets its rollout A; cut beats masked; masked gets no loss', () => {
    const out = groupAdvantages('exprl-outcome', [
      { nTokens: 2, cut: false, masked: false, reward: 1 },
      { nTokens: 3, cut: true, masked: true, reward: 1 }, // cut: reward 0, not masked
      { nTokens: 1, cut: false, masked: true, reward: 0.5 },
    ]);
    // Unmasked rewards [1, 0]: mean 0.5, unbiased std sqrt(0.5).
    const a = 0.5 / (Math.SQRT1_2 + 1e-6);
    expect([...out[0].tokenAdvantages]).toEqual([a, a]);
    expect([...out[1].tokenAdvantages]).toEqual([-a, -a, -a]);
    expect(out[1].lossMask).toBe(true);
    expect([...out[2].tokenAdvantages]).toEqual([0]);
    expect(out[2].lossMask).toBe(false);
  });

  it('process: per-segment values on tokens, cut zeroes the scores', () => {
    const out = groupAdvantages('exprl-process', [
      { nTokens: 4, cut: false, masked: false, segmentScores: [0.25, 1], tokenSegment: [0, 0, 1, 1] },
      { nTokens: 2, cut: true, masked: false, segmentScores: [1, 1], tokenSegment: [0, 1] },
      { nTokens: 2, cut: false, masked: true, tokenSegment: [0, 0] },
    ]);
    expect([...out[0].tokenAdvantages]).toEqual([-0.75, -0.75, 0.75, 0.75]);
    expect([...out[1].tokenAdvantages]).toEqual([0, 0]);
    expect(out[2].lossMask).toBe(false);
    const end = groupAdvantages('exprl-process', [{ nTokens: 2, cut: false, masked: false, segmentScores: [0.25, 1], tokenSegment: [0, 1] }], 'end-normalised');
    expect([...end[0].tokenAdvantages]).toEqual([-0.75, 0]);
    expect(() => groupAdvantages('exprl-process', [{ nTokens: 1, cut: false, masked: false }])).toThrow(/rollout 0 has no segmentScores/);
  });

  describe('the guard (process mode)', () => {
    // Normalised scores: a lone segment scored 0.75 (a fragment line), a correct lone segment,
    // a wrong two-segment response, and a wrong lone segment the judge scored low.
    const group = [
      { nTokens: 3, cut: false, masked: false, correct: false, segmentScores: [0.75], tokenSegment: [0, 0, 0] },
      { nTokens: 2, cut: false, masked: false, correct: true, segmentScores: [1], tokenSegment: [0, 0] },
      { nTokens: 4, cut: false, masked: false, correct: false, segmentScores: [0.25, 1], tokenSegment: [0, 0, 1, 1] },
      { nTokens: 1, cut: false, masked: false, correct: false, segmentScores: [0], tokenSegment: [0] },
    ];
    const tokens = (out: { tokenAdvantages: Float64Array }[]) => out.map((o) => [...o.tokenAdvantages]);

    it('on: a wrong response of one segment gets 0 on every token; correct or two-segment ones keep their values', () => {
      const out = groupAdvantages('exprl-process', group, 'delta', { guard: true });
      expect(tokens(out)).toEqual([[0, 0, 0], [1, 1], [-0.75, -0.75, 0.75, 0.75], [0]]);
      expect(out.every((o) => o.lossMask)).toBe(true);
    });

    it('off (the default and the paper): the authors\' delta rule, +s_1 for a lone segment', () => {
      const expected = [[0.75, 0.75, 0.75], [1, 1], [-0.75, -0.75, 0.75, 0.75], [0]];
      expect(tokens(groupAdvantages('exprl-process', group))).toEqual(expected);
      expect(tokens(groupAdvantages('exprl-process', group, 'delta', { guard: false }))).toEqual(expected);
    });

    it('keeps negative values, and applies to the other value modes', () => {
      expect(guardValues([-0.5], false)).toEqual([-0.5]);
      expect(guardValues([0.5], false)).toEqual([0]);
      expect(guardValues([0.5, -0.5], false)).toEqual([0.5, -0.5]);
      expect(guardValues([0.5], true)).toEqual([0.5]);
      // Group mean of all segment scores: (0.75 + 1 + 0.25 + 1 + 0) / 5 = 0.6.
      const gm = tokens(groupAdvantages('exprl-process', group, 'group-mean', { guard: true }));
      expect(gm[0][0]).toBe(0); // 0.75 - 0.6 > 0, clamped
      expect(gm[1][0]).toBeCloseTo(0.4, 12);
      expect(gm[3][0]).toBeCloseTo(-0.6, 12);
    });

    it('needs the answer check, and leaves masked rollouts alone', () => {
      expect(() => groupAdvantages('exprl-process', [{ ...group[0], correct: undefined }], 'delta', { guard: true })).toThrow(/rollout 0 has no correct/);
      const out = groupAdvantages('exprl-process', [{ nTokens: 2, cut: false, masked: true, tokenSegment: [0, 0] }], 'delta', { guard: true });
      expect(out[0]).toMatchObject({ lossMask: false });
    });

    it('is the judge option judge.guard: on in the small and tiny presets, off in paper', () => {
      expect(preset('small').judge.guard).toBe(true);
      expect(preset('tiny').judge.guard).toBe(true);
      expect(preset('paper').judge.guard).toBe(false);
      const c = preset('small');
      (c.judge as { guard: unknown }).guard = 'yes';
      expect(configIssues(c).map((i) => i.path)).toContain('judge.guard');
    });

    it('does not touch the outcome methods (every outcome response is one segment)', () => {
      const g = [
        { nTokens: 1, cut: false, masked: false, correct: false, reward: 1 },
        { nTokens: 1, cut: false, masked: false, correct: false, reward: 0 },
      ];
      expect(tokens(groupAdvantages('exprl-outcome', g, 'delta', { guard: true }))).toEqual(tokens(groupAdvantages('exprl-outcome', g)));
    });
  });

  it('stage2 and self-distill', () => {
    const s2 = groupAdvantages('stage2', [
      { nTokens: 1, cut: false, masked: false, reward: 1 },
      { nTokens: 1, cut: false, masked: false, reward: 0 },
    ]);
    expect(s2.map((o) => o.tokenAdvantages[0])).toEqual([0.5, -0.5]);
    const sd = groupAdvantages('self-distill', [{ nTokens: 2, cut: false, masked: false, logpTeacher: [-1, -1], logpStudent: [-2, -0.5] }]);
    expect([...sd[0].tokenAdvantages]).toEqual([1, -0.5]);
  });
});
