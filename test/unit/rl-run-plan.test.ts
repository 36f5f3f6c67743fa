// The pure parts of a run: stage prompt pools and per-step items, SFT pairs, the teacher prompt,
// seeds, the judge-call estimate and cap arithmetic, and behaviour patterns.
import { describe, expect, it } from 'vitest';
import { builtinTokenizer } from '../../src/model/builtin';
import { BEHAVIOUR_PATTERNS, countBehaviours, detectBehaviours } from '../../src/rl/behaviours';
import { preset, resolveConfig } from '../../src/rl/config';
import { describeJudgeEstimate, judgeCallEstimate, maxJudgeCallsPerStep } from '../../src/rl/judge-budget';
import { mixSeed, MAX_POOL, rolloutPrompt, sftPair, stagePool, stageSalt, stepItems, teacherPrompt } from '../../src/rl/stage-data';
import { splitOf } from '../../src/tasks/splits';

describe('stage data', () => {
  const tasks = preset('small').tasks;

  it('draws a stage pool from its split, deterministic in the seed, distinct per stage', () => {
    const a = stagePool(tasks, 'mid', 40, 7, 1);
    expect(a).toHaveLength(40);
    expect(stagePool(tasks, 'mid', 40, 7, 1)).toEqual(a);
    for (const it of a) expect(splitOf(it.family, it.question)).toBe('mid');
    const b = stagePool(tasks, 'mid', 40, 7, 2);
    expect(b.map((x) => x.id)).not.toEqual(a.map((x) => x.id));
    expect(stagePool(tasks, 'easy', 10_000, 7, 0)).toHaveLength(MAX_POOL);
  });

  it('salts a stage by its role: Stage I stages 1, 2, ...; Stage II stages 2, 3, ..., whatever came before', () => {
    expect(stageSalt(['exprl-process', 'stage2'], 1)).toBe(1);
    expect(stageSalt(['exprl-process', 'stage2'], 2)).toBe(2);
    expect(stageSalt(['stage2'], 1)).toBe(2);
    expect(stageSalt(['sft', 'exprl-process', 'stage2', 'stage2'], 2)).toBe(2);
    expect(stageSalt(['sft', 'exprl-process', 'stage2', 'stage2'], 4)).toBe(3);
    expect(() => stageSalt(['stage2'], 2)).toThrow(/no stage 2 of 1/);
    expect(() => stageSalt(['stage2'], 0)).toThrow(/no stage 0/);
  });

  it('cycles the pool step by step', () => {
    const pool = stagePool(tasks, 'rl', 5, 1, 2);
    expect(stepItems(pool, 0, 3).map((x) => x.id)).toEqual([pool[0], pool[1], pool[2]].map((x) => x.id));
    expect(stepItems(pool, 1, 3).map((x) => x.id)).toEqual([pool[3], pool[4], pool[0]].map((x) => x.id));
  });

  it('builds the SFT pair: prompt, reference, <eos>; cut to the model length and said so', () => {
    const tok = builtinTokenizer();
    const item = stagePool(tasks, 'easy', 1, 1, 0)[0];
    const pair = sftPair(tok, item, 1000);
    const prompt = tok.encode(rolloutPrompt(item.question));
    expect(pair.responseStart).toBe(prompt.length);
    expect(pair.tokens).toEqual([...prompt, ...tok.encode(item.reference), tok.eosId]);
    expect(pair.truncated).toBe(false);
    const cut = sftPair(tok, item, prompt.length + 3);
    expect(cut.tokens).toHaveLength(prompt.length + 3);
    expect(cut.truncated).toBe(true);
    expect(() => sftPair(tok, item, prompt.length)).toThrow(/leaves no room/);
  });

  it('shows the teacher the reference and ends like the student prompt', () => {
    const t = teacherPrompt('What is 2 + 3?', '2 + 3 = 5\nAnswer: 5');
    expect(t).toContain('2 + 3 = 5\nAnswer: 5');
    expect(t.startsWith('What is 2 + 3?\n\n')).toBe(true);
    expect(t.endsWith(rolloutPrompt('').trimStart())).toBe(true);
  });

  it('mixes seeds into distinct 32-bit streams', () => {
    const seen = new Set<number>();
    for (let stage = 0; stage < 3; stage++) for (let step = 0; step < 50; step++) seen.add(mixSeed(1, stage, step));
    expect(seen.size).toBe(150);
    for (const s of seen) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    expect(mixSeed(1, 2, 3)).toBe(mixSeed(1, 2, 3));
  });
});

describe('judge-call estimate', () => {
  it('counts one call per rollout (outcome), up to maxSegments (process), none for the rest', () => {
    const c = resolveConfig('small', { stages: [{ promptsPerStep: 8, rolloutsPerPrompt: 8, steps: 10 }, { method: 'stage2', steps: 5, promptsPerStep: 8 }], judge: { maxSegments: 10 } });
    const e = judgeCallEstimate(c);
    expect(e.stages).toEqual([
      { stage: 1, method: 'exprl-process', rolloutsPerStep: 64, perStepAtLeast: 64, perStepAtMost: 640, totalAtMost: 6400 },
      { stage: 2, method: 'stage2', rolloutsPerStep: 64, perStepAtLeast: 0, perStepAtMost: 0, totalAtMost: 0 },
    ]);
    expect(e.totalAtMost).toBe(6400);
    expect(describeJudgeEstimate(c)).toBe('stage 1 exprl-process: 64 to 640 judge calls per step (one per segment); stage 2 stage2: no judge calls; at most 6400 in all (no cap)');
    const o = resolveConfig('small', { stages: [{ method: 'exprl-outcome', promptsPerStep: 4, rolloutsPerPrompt: 10 }], judge: { callCap: 100 } });
    expect(maxJudgeCallsPerStep(o.stages[0], o.judge)).toBe(40);
    expect(describeJudgeEstimate(o)).toMatch(/^stage 1 exprl-outcome: 40 judge calls per step; at most 8000 in all \(cap 100\)$/);
  });

  it('with no segment cap, bounds a process rollout by its response tokens', () => {
    const c = resolveConfig('small', { stages: [{ promptsPerStep: 2, rolloutsPerPrompt: 4, steps: 3, maxResponseTokens: 50 }], judge: { maxSegments: null } });
    expect(judgeCallEstimate(c).stages[0]).toMatchObject({ perStepAtLeast: 8, perStepAtMost: 400, totalAtMost: 1200 });
    expect(maxJudgeCallsPerStep(c.stages[0], c.judge)).toBe(400);
    expect(describeJudgeEstimate(c)).toContain('8 to 400 judge calls per step (one per segment, no segment cap: at most one per response token)');
  });
});

describe('behaviours', () => {
  it('finds each behaviour by its documented patterns, and none in plain work', () => {
    expect(detectBehaviours('3 * 4 = 12\nLet me check: 12 / 4 = 3.\nAnswer: 12')).toEqual({ verification: true, self_correction: false, backtracking: false });
    expect(detectBehaviours('5 + 7 = 13. Wait, that is wrong: 5 + 7 = 12')).toEqual({ verification: false, self_correction: true, backtracking: false });
    expect(detectBehaviours('That does not work. Let me try again with another approach.')).toEqual({ verification: false, self_correction: false, backtracking: true });
    expect(detectBehaviours('10 - 9 = 1\n1 + 5 = 6\nAnswer: 6')).toEqual({ verification: false, self_correction: false, backtracking: false });
    // Word boundaries: "awaiting" is not "wait", "checkpoint" is not a check.
    expect(detectBehaviours('awaiting the checkpoint')).toEqual({ verification: false, self_correction: false, backtracking: false });
    for (const list of Object.values(BEHAVIOUR_PATTERNS)) expect(list.length).toBeGreaterThan(0);
  });

  it('counts traces, not matches', () => {
    expect(countBehaviours(['wait, actually wait', 'verify', 'x'])).toEqual({ traces: 3, counts: { verification: 1, self_correction: 1, backtracking: 0 } });
  });
});
