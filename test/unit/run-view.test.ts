// rolloutBatchView (src/worker/run-view.ts): what the page gets of a step's records: the judge's
// reason per segment (long ones cut), the reference's steps and checkpoints, and which
// checkpoints each rollout reached by the rubric's rule.
import { describe, expect, it } from 'vitest';
import type { RolloutRecord } from '../../src/rl/rollouts';
import type { RolloutBatch } from '../../src/rl/run';
import { arithChain } from '../../src/tasks/families';
import { MAX_REASON_CHARS, rolloutBatchView } from '../../src/worker/run-view';

const item = arithChain.generate(1, 3, 0);

function record(text: string, o: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    itemId: item.id,
    group: 0,
    prompt: [1],
    response: [2],
    text,
    logpOld: new Float64Array(1),
    advantages: new Float64Array(1),
    lossMask: true,
    segments: [{ text, score: 1, advantage: 0.5 }],
    tokenSegment: new Int32Array(1),
    reward: 1,
    correct: false,
    answered: false,
    cut: false,
    masked: false,
    judgeCalls: 1,
    judgeFailures: 0,
    judgeParseFailures: 0,
    judgeMs: 0,
    ...o,
  };
}

describe('rolloutBatchView', () => {
  it('carries reasons (long ones cut), the reference steps and checkpoints, and the checkpoints each rollout reached', () => {
    expect(item.checkpoints.length).toBeGreaterThan(1);
    const solved = item.steps.join('\n');
    const batch: RolloutBatch = {
      stage: 1,
      step: 3,
      method: 'exprl-process',
      items: [item],
      records: [record(solved, { judgeReasons: ['establishes a new checkpoint: 4'] }), record('no steps here', { judgeReasons: ['x'.repeat(5000)] }), record('sparse')],
    };
    const v = rolloutBatchView(batch);
    expect(v.prompts[0]).toEqual({ id: item.id, question: item.question, reference: item.reference, answer: item.answer, steps: item.steps, checkpoints: item.checkpoints });
    expect(v.rollouts[0].segments[0].reason).toBe('establishes a new checkpoint: 4');
    expect(v.rollouts[1].segments[0].reason).toHaveLength(MAX_REASON_CHARS);
    expect(v.rollouts[1].segments[0].reason?.endsWith('…')).toBe(true);
    expect('reason' in v.rollouts[2].segments[0]).toBe(false);
    expect(v.rollouts[0].reached).toEqual(item.checkpoints.map(() => true));
    expect(v.rollouts[1].reached).toEqual(item.checkpoints.map(() => false));
    // Plain data: it crosses the worker boundary as is.
    expect(structuredClone(v)).toEqual(v);
  });
});
