// Compare mode's logic (src/ui/state/compare.ts), no DOM and no engine: the scheduler's turns with a fake
// runner (round robin, Stage 0 in one turn, pause and stop of all arms, an arm that fails while the
// others go on, a resume's replayed lines), the summary table in the form of the paper's Table 1,
// and each arm's config from the setup.
import { describe, expect, it } from 'vitest';
import type { MetricLine } from '../../src/rl/chart-series';
import { preset } from '../../src/rl/config';
import { armConfig, armLabels, CompareScheduler, HACKING_LESSON, summaryTable, type CompareRunner, type TurnRequest, type TurnResult } from '../../src/ui/state/compare';

const config = preset('tiny');
const step = (stage: number, n: number, extra: Record<string, unknown> = {}): MetricLine => ({ stage, step: n, method: 'exprl-process', reward_mean: 0.1 * n, ...extra });
const evalLine = (n: number, extra: Record<string, unknown>): MetricLine => ({ eval: true, stage: 1, step: n, ...extra });

/** A runner whose turns make `pauseAfter` step lines of the arm (Stage 0 first where the arm has it) through the scheduler, as the page's events would. */
class FakeRunner implements CompareRunner {
  turns: { id: string; start: boolean; pauseAfter: number }[] = [];
  halts = 0;
  discarded: string[] = [];
  /** Per arm id: what its turns do instead (fail, finish); `undefined` makes steps. */
  script = new Map<string, (turn: number) => 'fail' | 'finish' | 'stopped' | undefined>();
  /** Called during a turn (after its lines): the test's hook to pause or stop mid-turn. */
  during: ((r: TurnRequest) => Promise<void> | void) | null = null;
  scheduler!: CompareScheduler;

  async turn(r: TurnRequest): Promise<TurnResult> {
    const n = this.turns.filter((t) => t.id === r.arm.id).length;
    this.turns.push({ id: r.arm.id, start: r.start, pauseAfter: r.pauseAfter });
    await Promise.resolve();
    const what = this.script.get(r.arm.id)?.(n);
    if (what === 'fail') throw new Error(`${r.arm.id} ran out of memory`);
    if (what === 'stopped') return { status: 'stopped', reason: 'paused by the user before the first step (nothing was saved)' };
    const s = this.scheduler;
    s.runStarted(r.arm.id, !r.start);
    // A resume sends the saved lines again first.
    if (!r.start) for (const l of [...r.arm.lines]) s.addLine(r.arm.id, l);
    let stage0 = r.arm.lines.filter((l) => (l as { stage: number }).stage === 0).length;
    let rl = s.steps(r.arm);
    for (let i = 0; i < r.pauseAfter; i++) {
      if (stage0 < r.arm.stage0) s.addLine(r.arm.id, step(0, ++stage0));
      else s.addLine(r.arm.id, step(1, ++rl));
    }
    await this.during?.(r);
    s.runEnded(r.arm.id);
    if (what === 'finish') return { status: 'finished' };
    return { status: 'paused', reason: `paused after ${r.pauseAfter} step` };
  }
  async halt(): Promise<void> {
    this.halts++;
  }
  async discard(arm: { id: string }): Promise<void> {
    this.discarded.push(arm.id);
  }
}

function setUp(ids: string[], target: number, stage0: Record<string, number> = {}): { s: CompareScheduler; r: FakeRunner; changes: string[] } {
  const r = new FakeRunner();
  const changes: string[] = [];
  const s = new CompareScheduler(
    ids.map((id) => ({ id, label: id.toUpperCase(), config, stage0: stage0[id] ?? 0 })),
    target,
    r,
    () => changes.push(s.phase),
  );
  r.scheduler = s;
  return { s, r, changes };
}

describe('CompareScheduler', () => {
  it('gives each arm one step in turn, round robin, starting each run on its first turn and resuming it after', async () => {
    const { s, r } = setUp(['a', 'b', 'c'], 2);
    await s.run();
    expect(r.turns.map((t) => `${t.id}${t.start ? '+' : ''}${t.pauseAfter}`)).toEqual(['a+1', 'b+1', 'c+1', 'a1', 'b1', 'c1']);
    expect(s.phase).toBe('done');
    expect(s.arms.map((a) => [a.status, s.steps(a), a.started])).toEqual([
      ['ready', 2, true],
      ['ready', 2, true],
      ['ready', 2, true],
    ]);
    // A higher target continues in the same order, resuming every arm.
    await s.run(3);
    expect(r.turns.slice(6).map((t) => `${t.id}${t.start ? '+' : ''}`)).toEqual(['a', 'b', 'c']);
    expect(s.arms.map((a) => s.steps(a))).toEqual([3, 3, 3]);
  });

  it('runs Stage 0 through in an arm\'s first turn, then one RL step per turn', async () => {
    const { s, r } = setUp(['a', 'b'], 2, { a: 3, b: 3 });
    await s.run();
    expect(r.turns.map((t) => `${t.id}${t.pauseAfter}`)).toEqual(['a4', 'b4', 'a1', 'b1']);
    expect(s.arms.map((a) => a.lines.length)).toEqual([5, 5]);
  });

  it('an arm that fails is set aside with its error; the others reach the target', async () => {
    const { s, r } = setUp(['a', 'b', 'c'], 3);
    r.script.set('b', (turn) => (turn === 1 ? 'fail' : undefined));
    await s.run();
    expect(s.phase).toBe('done');
    const b = s.arm('b')!;
    expect(b.status).toBe('failed');
    expect(b.note).toBe('b ran out of memory');
    expect(s.steps(b)).toBe(1);
    expect([s.steps(s.arm('a')!), s.steps(s.arm('c')!)]).toEqual([3, 3]);
    expect(r.turns.map((t) => t.id).join('')).toBe('abcabcac');
    // Continuing never gives the failed arm a turn again.
    await s.run(4);
    expect(r.turns.filter((t) => t.id === 'b')).toHaveLength(2);
  });

  it('an arm whose run finishes (its stages are done) takes no more turns', async () => {
    const { s, r } = setUp(['a', 'b'], 3);
    r.script.set('a', (turn) => (turn === 1 ? 'finish' : undefined));
    await s.run();
    expect(s.arm('a')!.status).toBe('finished');
    expect(r.turns.map((t) => t.id).join('')).toBe('ababb');
  });

  it('Pause all ends after the going turn; Continue goes on with the next arm in turn', async () => {
    const { s, r } = setUp(['a', 'b', 'c'], 5);
    r.during = (t) => {
      if (t.arm.id === 'b' && !t.start) void s.pause();
    };
    await s.run();
    expect(s.phase).toBe('paused');
    expect(r.halts).toBe(1);
    expect(r.turns.map((t) => t.id).join('')).toBe('abcab');
    expect(s.arms.map((a) => a.status)).toEqual(['ready', 'ready', 'ready']);
    r.during = null;
    await s.run(3);
    expect(s.phase).toBe('done');
    expect(r.turns.map((t) => t.id).join('')).toBe('abcabcabc');
    expect(r.turns.slice(5).every((t) => !t.start)).toBe(true);
  });

  it('Stop all ends after the going turn and removes every started arm\'s saved run; a stopped comparison does not go again', async () => {
    const { s, r } = setUp(['a', 'b', 'c'], 5);
    let stopping: Promise<void> | null = null;
    r.during = (t) => {
      if (t.arm.id === 'b') stopping = s.stop();
    };
    await s.run();
    await stopping;
    expect(s.phase).toBe('stopped');
    expect(r.halts).toBe(1);
    expect(r.turns.map((t) => t.id)).toEqual(['a', 'b']);
    expect(r.discarded).toEqual(['a', 'b']);
    expect(s.arms.map((a) => a.status)).toEqual(['stopped', 'stopped', 'stopped']);
    await expect(s.run()).rejects.toThrow(/stopped/);
  });

  it('Stop all between turns (paused) removes the saved runs at once', async () => {
    const { s, r } = setUp(['a', 'b'], 1);
    await s.run();
    expect(s.phase).toBe('done');
    await s.stop();
    expect(r.halts).toBe(0);
    expect(r.discarded).toEqual(['a', 'b']);
    expect(s.phase).toBe('stopped');
  });

  it('a turn that ends "stopped" (paused before its first step: nothing saved) begins that arm again', async () => {
    const { s, r } = setUp(['a', 'b'], 1);
    r.script.set('a', (turn) => (turn === 0 ? 'stopped' : undefined));
    await s.run();
    expect(r.turns.map((t) => `${t.id}${t.start ? '+' : ''}`)).toEqual(['a+', 'b+', 'a+']);
    expect(s.arms.map((a) => [a.status, s.steps(a)])).toEqual([
      ['ready', 1],
      ['ready', 1],
    ]);
  });

  it("a resume's replayed lines overwrite the kept ones in order; its end cuts what the saved state lost", () => {
    const { s } = setUp(['a'], 5);
    const a = s.arm('a')!;
    s.runStarted('a', false);
    for (const n of [1, 2, 3]) s.addLine('a', step(1, n));
    s.runEnded('a');
    s.runStarted('a', true);
    s.addLine('a', step(1, 1));
    // Mid-replay nothing shrinks: the charts do not empty and refill.
    expect(a.lines.map((l) => (l as { step: number }).step)).toEqual([1, 2, 3]);
    s.addLine('a', step(1, 2));
    s.runEnded('a');
    expect(a.lines.map((l) => (l as { step: number }).step)).toEqual([1, 2]);
    s.runStarted('a', false);
    expect(a.lines).toEqual([]);
  });

  it('refuses arms with the same id', () => {
    expect(() => setUp(['a', 'a'], 1)).toThrow(/distinct/);
  });
});

describe('summaryTable', () => {
  it('a row per arm: step metrics over the latest steps, unlocked as it stands, pass@k at the latest eval', () => {
    const a = [
      step(0, 1, { reward_mean: 9 }), // Stage 0: not a step of the table
      evalLine(0, { 'pass@1': 0.1, 'pass@4': 0.3 }),
      ...[1, 2, 3, 4, 5, 6].map((n) => step(1, n, { reward_mean: n / 10, correct_frac: n % 2, reward_incorrect_mean: n === 6 ? 'NaN' : 0.2, unlocked: n })),
      evalLine(6, { 'pass@1': 0.25, 'pass@4': 0.5 }),
    ];
    const b = [evalLine(0, { 'pass@1': 0.1, 'pass@16': 0.9 }), step(1, 1, { reward_mean: 0.5, correct_frac: null, unlocked: 2 })];
    const t = summaryTable(
      [
        { id: 'a', label: 'A', lines: a },
        { id: 'b', label: 'B', lines: b },
        { id: 'c', label: 'C', lines: [] },
      ],
      3,
    );
    expect(t.passKeys).toEqual(['pass@1', 'pass@4', 'pass@16']);
    expect(t.rows.map((r) => r.label)).toEqual(['A', 'B', 'C']);
    const [ra, rb, rc] = t.rows;
    expect(ra.steps).toBe(6);
    // The latest 3 steps: 4, 5, 6.
    expect(ra.latest.reward_mean).toBeCloseTo(0.5, 12);
    expect(ra.latest.correct_frac).toBeCloseTo(1 / 3, 12);
    expect(ra.latest.reward_incorrect_mean).toBeCloseTo(0.2, 12); // step 6's value is no number
    expect(ra.latest.unlocked).toBe(6);
    expect(ra.evalStep).toBe(6);
    expect(ra.pass).toEqual({ 'pass@1': 0.25, 'pass@4': 0.5, 'pass@16': null });
    expect(rb).toMatchObject({ steps: 1, evalStep: 0, latest: { reward_mean: 0.5, correct_frac: null, unlocked: 2 }, pass: { 'pass@1': 0.1, 'pass@4': null, 'pass@16': 0.9 } });
    expect(rc).toMatchObject({ steps: 0, evalStep: null, latest: { reward_mean: null, unlocked: null }, pass: { 'pass@1': null } });
  });
});

describe('arms', () => {
  it("an arm's config is the setup's with its Stage I method and guard; the setup is not changed", () => {
    const base = preset('tiny');
    const before = JSON.stringify(base);
    const c = armConfig(base, { method: 'sparse-grpo', guard: false });
    expect(c.stages[0].method).toBe('sparse-grpo');
    expect(c.judge.guard).toBe(false);
    expect(c.stages[1]).toEqual(base.stages[1]);
    expect(c.seeds).toEqual(base.seeds);
    expect(JSON.stringify(base)).toBe(before);
  });

  it('labels: unguarded where the guard matters, numbered when repeated', () => {
    expect(armLabels(HACKING_LESSON)).toEqual(['exprl-process', 'exprl-process (unguarded)']);
    expect(armLabels([{ method: 'sparse-grpo', guard: false }, { method: 'sparse-grpo', guard: true }])).toEqual(['sparse-grpo', 'sparse-grpo #2']);
  });
});
