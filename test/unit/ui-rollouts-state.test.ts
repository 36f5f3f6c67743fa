// The rollout browser's logic without a DOM (src/ui/state/rollouts-state.ts): step retention, the
// unlocked set, filters, zero reward spread, checkpoint reach, segment reasons, the list window.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addStep,
  batchChars,
  createStore,
  filterRows,
  groupSpread,
  KEEP_RECENT,
  listWindow,
  reachCounts,
  segmentDetail,
  segmentReason,
  stepIndex,
  unlockState,
  type Outcome,
} from '../../src/ui/state/rollouts-state';
import type { RolloutBatchView, RolloutView } from '../../src/worker/api';

function rollout(o: Partial<RolloutView> & { group: number }): RolloutView {
  return { text: 'x = 1', segments: [{ text: 'x = 1', score: 0.5, advantage: 0 }], reward: 0.5, correct: false, cut: false, masked: false, reached: [false, false], ...o };
}

function batch(step: number, rollouts: RolloutView[], prompts = 2): RolloutBatchView {
  return {
    stage: 1,
    step,
    method: 'exprl-process',
    prompts: Array.from({ length: prompts }, (_, g) => ({ id: `p${g}`, question: `Question ${g}?`, reference: '3 + 5 = 8\nAnswer: 8', answer: '8', steps: ['3 + 5 = 8', 'Answer: 8'], checkpoints: ['8', '8'] })),
    rollouts,
  };
}

/** A step whose text is `chars` characters long in all (one prompt, one rollout). */
function sized(step: number, chars: number): RolloutBatchView {
  const b = batch(step, [], 1);
  b.prompts[0] = { ...b.prompts[0], question: '', reference: '' };
  const text = 'a'.repeat(Math.max(0, chars) >> 1);
  b.rollouts = [rollout({ group: 0, text, segments: [{ text: 'b'.repeat(chars - text.length), score: 1, advantage: 0 }] })];
  expect(batchChars(b)).toBe(chars);
  return b;
}

describe('step store', () => {
  it('keeps every step under the budget, and thins older steps over it, never the first or the last KEEP_RECENT', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 3000 }), (sizes, budget) => {
        const store = createStore(budget);
        sizes.forEach((c, i) => addStep(store, sized(i + 1, c)));
        const kept = store.steps.map((s) => s.step);
        expect(store.received).toBe(sizes.length);
        expect(store.chars).toBe(store.steps.reduce((n, s) => n + batchChars(s), 0));
        // In order, a subset, with the first and the recent steps whole.
        for (let i = 1; i < kept.length; i++) expect(kept[i]).toBeGreaterThan(kept[i - 1]);
        expect(kept[0]).toBe(1);
        const recent = Array.from({ length: Math.min(KEEP_RECENT, sizes.length) }, (_, i) => sizes.length - Math.min(KEEP_RECENT, sizes.length) + 1 + i);
        for (const s of recent) expect(kept).toContain(s);
        // Under the budget, or nothing left to drop.
        expect(store.chars <= budget || kept.length <= KEEP_RECENT + 1).toBe(true);
        if (sizes.reduce((a, b) => a + b, 0) <= budget) expect(kept.length).toBe(sizes.length);
      }),
    );
  });

  it('finds a step by number, else the latest kept one before it; null follows the latest', () => {
    const store = createStore();
    for (const s of [2, 5, 9]) addStep(store, batch(s, []));
    expect([stepIndex(store, 5), stepIndex(store, 6), stepIndex(store, 1), stepIndex(store, 100), stepIndex(store, null)]).toEqual([1, 1, 0, 2, 2]);
    expect(stepIndex(createStore(), null)).toBe(-1);
  });

  it('records the step where each prompt first had a correct rollout (the unlocked set), also for steps it drops', () => {
    const store = createStore(1); // every step over budget: only the first and the recent ones stay
    addStep(store, batch(1, [rollout({ group: 0 }), rollout({ group: 1 })]));
    addStep(store, batch(2, [rollout({ group: 0, correct: true }), rollout({ group: 1 })]));
    addStep(store, batch(3, [rollout({ group: 0, correct: true }), rollout({ group: 1, correct: true })]));
    expect([...store.firstCorrect]).toEqual([
      ['p0', 2],
      ['p1', 3],
    ]);
    expect(unlockState(store, 'p0', 1)).toEqual({ kind: 'not-yet' });
    expect(unlockState(store, 'p0', 2)).toEqual({ kind: 'new', step: 2 });
    expect(unlockState(store, 'p0', 3)).toEqual({ kind: 'before', step: 2 });
    expect(unlockState(store, 'p9', 3)).toEqual({ kind: 'not-yet' });
  });
});

describe('filters', () => {
  const rs = [
    rollout({ group: 0, correct: true }),
    rollout({ group: 0, cut: true, reward: 0 }),
    rollout({ group: 1, masked: true, reward: null, segments: [{ text: 'x', score: null, advantage: 0 }] }),
    rollout({ group: 1, correct: true, cut: true }),
  ];
  const b = batch(1, rs);
  const rows = (prompt: string, outcome: Outcome) => filterRows(b, { prompt, outcome });

  it('by outcome: correct, wrong (not correct), cut, masked; a group with nothing left goes', () => {
    expect(rows('', 'all')).toEqual([
      { group: 0, rollouts: [0, 1] },
      { group: 1, rollouts: [2, 3] },
    ]);
    expect(rows('', 'correct')).toEqual([
      { group: 0, rollouts: [0] },
      { group: 1, rollouts: [3] },
    ]);
    expect(rows('', 'wrong')).toEqual([
      { group: 0, rollouts: [1] },
      { group: 1, rollouts: [2] },
    ]);
    expect(rows('', 'cut')).toEqual([
      { group: 0, rollouts: [1] },
      { group: 1, rollouts: [3] },
    ]);
    expect(rows('', 'masked')).toEqual([{ group: 1, rollouts: [2] }]);
  });

  it('by prompt: its id or question, case-insensitive; blank matches all', () => {
    expect(rows('P1', 'all').map((r) => r.group)).toEqual([1]);
    expect(rows(' question 0', 'all').map((r) => r.group)).toEqual([0]);
    expect(rows('   ', 'all').map((r) => r.group)).toEqual([0, 1]);
    expect(rows('nowhere', 'all')).toEqual([]);
  });

  it('every rollout shown passes the filter, and every passing rollout is shown once', () => {
    const arb = fc.array(fc.record({ group: fc.integer({ min: 0, max: 2 }), correct: fc.boolean(), cut: fc.boolean(), masked: fc.boolean() }), { maxLength: 20 });
    fc.assert(
      fc.property(arb, fc.constantFrom<Outcome>('all', 'correct', 'wrong', 'cut', 'masked'), fc.constantFrom('', 'p0', 'question 2', 'zzz'), (flags, outcome, prompt) => {
        const bb = batch(1, flags.map((f) => rollout(f)), 3);
        const shown = filterRows(bb, { prompt, outcome }).flatMap((r) => r.rollouts);
        const want = bb.rollouts.flatMap((r, i) => {
          const p = bb.prompts[r.group];
          const okPrompt = prompt === '' || p.id.includes(prompt) || p.question.toLowerCase().includes(prompt);
          const okOutcome = outcome === 'all' || (outcome === 'correct' ? r.correct : outcome === 'wrong' ? !r.correct : outcome === 'cut' ? r.cut : r.masked);
          return okPrompt && okOutcome ? [i] : [];
        });
        expect([...shown].sort((x, y) => x - y)).toEqual(want);
      }),
    );
  });
});

describe('zero reward spread', () => {
  it('marks a group whose scored rollouts all got one reward; masked ones do not count', () => {
    const b = batch(1, [
      rollout({ group: 0, reward: 0 }),
      rollout({ group: 0, reward: 0 }),
      rollout({ group: 0, masked: true, reward: null }),
      rollout({ group: 1, reward: 0 }),
      rollout({ group: 1, reward: 1, segments: [{ text: 'x', score: 1, advantage: 0.7 }] }),
    ]);
    expect(groupSpread(b, 0)).toEqual({ scored: 2, reward: 0, zero: true, valuesZero: true });
    expect(groupSpread(b, 1)).toEqual({ scored: 2, reward: null, zero: false, valuesZero: false });
  });

  it('a process method may still give values where the reward has no spread', () => {
    const b = batch(1, [
      rollout({ group: 0, reward: 0.5, segments: [{ text: 'a', score: 1, advantage: 0.5 }, { text: 'b', score: 0, advantage: -0.5 }] }),
      rollout({ group: 0, reward: 0.5 + 1e-12 }),
    ]);
    expect(groupSpread(b, 0)).toMatchObject({ zero: true, valuesZero: false });
  });

  it('a group with every rollout masked has no spread to speak of', () => {
    const b = batch(1, [rollout({ group: 0, masked: true, reward: null })], 1);
    expect(groupSpread(b, 0)).toEqual({ scored: 0, reward: null, zero: false, valuesZero: true });
  });
});

describe('checkpoint reach and reasons', () => {
  it('counts, per checkpoint of the reference, the rollouts that reached it', () => {
    const b = batch(1, [rollout({ group: 0, reached: [true, false] }), rollout({ group: 0, reached: [true, true] }), rollout({ group: 1, reached: [true, true] })]);
    expect(reachCounts(b, 0)).toEqual([2, 1]);
    expect(reachCounts(b, 1)).toEqual([1, 1]);
  });

  it("a segment's reason: the judge's, else what decided its score without one", () => {
    const judged = rollout({ group: 0, segments: [{ text: '3 + 5 = 8', score: 1, advantage: 0.25, reason: 'establishes a new checkpoint: 8' }] });
    expect(segmentDetail(judged, 0)).toEqual({ score: 'score 1.00', value: 'value +0.250 (every token of the segment gets it)', reason: 'reason: establishes a new checkpoint: 8' });
    expect(segmentReason(rollout({ group: 0, cut: true, reward: 0 }), 0)).toBe('cut at the length limit: reward 0.00 without asking the judge');
    expect(segmentReason(rollout({ group: 0, masked: true, reward: null, judgeError: 'call failure: HTTP 503' }), 0)).toBe('masked: call failure: HTTP 503');
    expect(segmentReason(rollout({ group: 0, correct: true }), 0)).toBe('the answer check: correct final answer');
    const masked = rollout({ group: 0, masked: true, reward: null, segments: [{ text: 'x', score: null, advantage: 0 }] });
    expect(segmentDetail(masked, 0).score).toBe('score masked');
    expect(segmentDetail(rollout({ group: 0, segments: [{ text: 'x', score: 0, advantage: -0.5 }] }), 0).value).toMatch(/^value −0\.500/);
  });
});

describe('list window', () => {
  it('covers the viewport, and the space above, the rows and the space below add up to the whole list', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 60 }), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 3 }), (heights, scroll, viewport, overscan) => {
        const total = heights.reduce((a, b) => a + b, 0);
        const w = listWindow(heights, Math.min(scroll, total), viewport, overscan);
        const inside = heights.slice(w.start, w.end).reduce((a, b) => a + b, 0);
        expect(w.top + inside + w.bottom).toBe(total);
        if (heights.length === 0) return;
        expect(w.end).toBeGreaterThan(w.start);
        const top = Math.min(scroll, total);
        // The rendered rows reach from above the viewport's top to below its bottom (or the list's ends).
        expect(w.top).toBeLessThanOrEqual(Math.max(0, top));
        expect(w.top + inside >= Math.min(total, top + viewport) || w.end === heights.length).toBe(true);
      }),
    );
  });

  it('renders a few rows of a long list, not all of them', () => {
    const w = listWindow(Array.from({ length: 10_000 }, () => 100), 500_000, 800, 2);
    expect([w.start, w.end, w.top]).toEqual([4998, 5010, 499_800]);
  });
});
