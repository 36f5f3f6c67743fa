// Step and eval metric lines (src/rl/metrics.ts): exactly the method doc's keys, and each value
// aggregated by hand from a small batch of rollout records.
import { describe, expect, it } from 'vitest';
import { advantageStats, evalMetrics, fracZeroStd, meanStd, stepMetrics, STEP_METRIC_KEYS, type RolloutRecord } from '../../src/rl/metrics';

const DOC_KEYS = [
  'step', 'stage', 'method', 'reward_mean', 'reward_std', 'frac_zero_std', 'adv_mean', 'adv_std', 'adv_min',
  'adv_max', 'loss', 'kl', 'entropy', 'clip_frac_low', 'clip_frac_high', 'grad_norm', 'len_mean', 'len_max',
  'cut_frac', 'judge_calls', 'judge_latency_ms', 'judge_failures', 'judge_parse_failures', 'masked',
  'unlocked', 'tokens_per_s', 'step_s', 'kl_base', 'correct_frac', 'reward_correct_mean',
  'reward_incorrect_mean', 'no_answer_frac', 'time_sample_s', 'time_judge_s', 'time_update_s', 'skipped',
];

function rec(p: Partial<RolloutRecord> & { promptId: string }): RolloutRecord {
  return {
    reward: 0,
    correct: false,
    answered: true,
    advantages: [],
    length: 0,
    cut: false,
    masked: false,
    judgeCalls: 0,
    judgeLatenciesMs: [],
    judgeFailures: 0,
    judgeParseFailures: 0,
    ...p,
  };
}

// Group a: rewards 1, 0 (std > 0). Group b: 0.5, 0.5 (zero std) and a masked one (reward 7 ignored).
const batch: RolloutRecord[] = [
  rec({ promptId: 'a', reward: 1, correct: true, advantages: [1, 1], length: 2, judgeCalls: 1, judgeLatenciesMs: [100] }),
  rec({ promptId: 'a', reward: 0, advantages: [-1, -1, -1], length: 3, cut: true, answered: false }),
  rec({ promptId: 'b', reward: 0.5, advantages: [0], length: 1, judgeCalls: 2, judgeLatenciesMs: [200, 300], judgeParseFailures: 1 }),
  rec({ promptId: 'b', reward: 0.5, advantages: [0, 0], length: 2, judgeCalls: 1, judgeLatenciesMs: [400] }),
  rec({ promptId: 'b', reward: 7, advantages: [9, 9], length: 4, masked: true, correct: true, judgeCalls: 3, judgeLatenciesMs: [1, 2, 3], judgeFailures: 1 }),
];
const update = { loss: 0.01, kl: 0.002, klBase: 0.003, entropy: 1.5, clipFracLow: 0.1, clipFracHigh: 0.2, gradNorm: 0.7, skipped: 0 };

describe('step metrics', () => {
  it('have exactly the keys of the method doc', () => {
    const m = stepMetrics({ step: 3, stage: 1, method: 'exprl-process', rollouts: batch, update, stepSeconds: 4, unlockedBefore: new Set() });
    expect(Object.keys(m).sort()).toEqual([...DOC_KEYS].sort());
    expect([...STEP_METRIC_KEYS].sort()).toEqual([...DOC_KEYS].sort());
  });

  it('aggregate the rollout records', () => {
    const m = stepMetrics({ step: 3, stage: 1, method: 'exprl-process', rollouts: batch, update, stepSeconds: 4, unlockedBefore: new Set(['c']) });
    // Unmasked rewards 1, 0, 0.5, 0.5: mean 0.5, unbiased variance (0.25+0.25)/3.
    expect(m.reward_mean).toBe(0.5);
    expect(m.reward_std).toBeCloseTo(Math.sqrt(0.5 / 3), 12);
    expect(m.frac_zero_std).toBe(0.5); // group b (unmasked 0.5, 0.5) of groups a, b
    // Unmasked tokens 1, 1, -1, -1, -1, 0, 0, 0: mean -1/8; min -1; max 1.
    expect(m.adv_mean).toBe(-0.125);
    expect(m.adv_min).toBe(-1);
    expect(m.adv_max).toBe(1);
    const dev = [1, 1, -1, -1, -1, 0, 0, 0].map((a) => (a + 0.125) ** 2).reduce((x, y) => x + y, 0);
    expect(m.adv_std).toBeCloseTo(Math.sqrt(dev / 7), 12);
    expect(m.len_mean).toBe(12 / 5);
    expect(m.len_max).toBe(4);
    expect(m.cut_frac).toBe(0.2);
    expect(m.judge_calls).toBe(7);
    expect(m.judge_latency_ms).toBeCloseTo((100 + 200 + 300 + 400 + 1 + 2 + 3) / 7, 12);
    expect(m.judge_failures).toBe(1);
    expect(m.judge_parse_failures).toBe(1);
    expect(m.masked).toBe(1);
    expect(m.unlocked).toBe(3); // c before, a and b (any correct rollout) now
    expect(m.tokens_per_s).toBe(3);
    expect(m.step_s).toBe(4);
    expect([m.loss, m.kl, m.entropy, m.clip_frac_low, m.clip_frac_high, m.grad_norm]).toEqual([0.01, 0.002, 1.5, 0.1, 0.2, 0.7]);
    expect([m.step, m.stage, m.method]).toEqual([3, 1, 'exprl-process']);
    expect(m.kl_base).toBe(0.003);
    expect([m.time_sample_s, m.time_judge_s, m.time_update_s]).toEqual([null, null, null]);
  });

  it('say where the reward went: correct and wrong rollouts, and responses without an answer', () => {
    const times = { sample: 1.5, judge: 0.25, update: 2 };
    const m = stepMetrics({ step: 3, stage: 1, method: 'exprl-process', rollouts: batch, update, stepSeconds: 4, times, unlockedBefore: new Set() });
    expect(m.correct_frac).toBe(2 / 5); // the masked rollout is correct too: correctness needs no judge
    expect(m.reward_correct_mean).toBe(1); // unmasked correct: reward 1 (the masked one's 7 is no reward)
    expect(m.reward_incorrect_mean).toBeCloseTo((0 + 0.5 + 0.5) / 3, 12);
    expect(m.no_answer_frac).toBe(1 / 5);
    expect([m.time_sample_s, m.time_judge_s, m.time_update_s]).toEqual([1.5, 0.25, 2]);
  });

  it('report null, not 0, when there is nothing to average', () => {
    const m = stepMetrics({ step: 0, stage: 1, method: 'sft', rollouts: [], update, stepSeconds: 0, unlockedBefore: new Set() });
    expect([m.reward_mean, m.reward_std, m.frac_zero_std, m.adv_mean, m.len_mean, m.cut_frac, m.judge_latency_ms, m.tokens_per_s]).toEqual([null, null, null, null, null, null, null, null]);
    expect([m.correct_frac, m.reward_correct_mean, m.reward_incorrect_mean, m.no_answer_frac]).toEqual([null, null, null, null]);
    expect(m.judge_calls).toBe(0);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('helpers', () => {
    expect(meanStd([2])).toEqual({ mean: 2, std: 0 });
    expect(meanStd([1, 3])).toEqual({ mean: 2, std: Math.SQRT2 });
    expect(fracZeroStd([rec({ promptId: 'x', reward: 1 })])).toBeNull(); // a group of one is not "zero std"
    expect(advantageStats([rec({ promptId: 'x', masked: true, advantages: [5] })]).mean).toBeNull();
  });
});

describe('eval metrics', () => {
  it('have eval: true, n, pass@k per k and mean@n', () => {
    const e = evalMetrics({
      step: 10,
      stage: 1,
      method: 'exprl-process',
      ks: [1, 4, 16],
      prompts: [
        { correct: [...Array(12).fill(false), true, true, true, true] }, // n = 16, c = 4
        { correct: Array(16).fill(false) },
      ],
    });
    expect(Object.keys(e).sort()).toEqual(['eval', 'mean@n', 'method', 'n', 'pass@1', 'pass@16', 'pass@4', 'stage', 'step']);
    expect(e.eval).toBe(true);
    expect(e.n).toBe(16);
    expect(e['pass@1']).toBeCloseTo(0.125, 14);
    expect(e['pass@4']).toBeCloseTo(1325 / 1820 / 2, 14);
    expect(e['pass@16']).toBe(0.5);
    expect(e['mean@n']).toBeCloseTo(0.125, 14);
  });
});
