// Which keys each chart plots, and metric lines turned into aligned chart columns (src/rl/chart-series.ts).
import { describe, expect, it } from 'vitest';
import { CHARTS, chartData, chartKeys, isEvalKey, lastValueIndex, seriesStyle, type ChartSpec, type MetricLine, type RunLines } from '../../src/rl/chart-series';
import { STEP_METRIC_KEYS } from '../../src/rl/metrics';

const spec = (keys: ChartSpec['keys']): ChartSpec => ({ id: 't', title: 'T', hint: '', keys });
const step = (stage: number, s: number, extra: Record<string, unknown> = {}): MetricLine => ({ step: s, stage, method: 'grpo', ...extra });
const evalLine = (s: number, extra: Record<string, unknown> = {}): MetricLine => ({ step: s, stage: 1, method: 'grpo', eval: true, n: 4, 'mean@n': 0.5, ...extra });
const run = (id: string, lines: MetricLine[]): RunLines => ({ id, label: id.toUpperCase(), lines });

describe('the charts', () => {
  it('plot real metric keys, each once, covering what the page teaches', () => {
    const keys = CHARTS.flatMap((c) => (c.keys === 'pass@k' ? [] : [...c.keys]));
    for (const k of keys) expect(STEP_METRIC_KEYS, k).toContain(k);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(CHARTS.map((c) => c.id)).size).toBe(CHARTS.length);
    for (const k of ['reward_mean', 'correct_frac', 'reward_correct_mean', 'reward_incorrect_mean', 'unlocked', 'entropy', 'kl', 'kl_base', 'len_mean', 'clip_frac_low', 'clip_frac_high', 'judge_latency_ms', 'judge_failures', 'tokens_per_s', 'time_sample_s', 'time_judge_s', 'time_update_s']) {
      expect(keys, k).toContain(k);
    }
    expect(CHARTS.filter((c) => c.keys === 'pass@k')).toHaveLength(1);
    // The reward figure plots reward_mean alone: one series per run, so two runs make two series.
    expect(CHARTS[0]).toMatchObject({ id: 'reward', keys: ['reward_mean'] });
  });

  it('tells eval keys from step keys', () => {
    expect(['pass@1', 'pass@16', 'mean@n', 'sound@n'].map(isEvalKey)).toEqual([true, true, true, true]);
    expect(['reward_mean', 'step', 'pass@', 'pass@k', 'n'].map(isEvalKey)).toEqual([false, false, false, false, false]);
  });
});

describe('chartKeys', () => {
  it('lists the pass@k keys the eval lines hold, by k, over every run; pass@1 before any eval', () => {
    const pass = spec('pass@k');
    expect(chartKeys(pass, [])).toEqual(['pass@1']);
    expect(chartKeys(pass, [run('a', [step(1, 1, { 'pass@99': 1 })])])).toEqual(['pass@1']);
    const runs = [run('a', [evalLine(0, { 'pass@1': 0.1, 'pass@16': 0.5 })]), run('b', [evalLine(0, { 'pass@4': 0.3, 'pass@1': 0.2 })])];
    expect(chartKeys(pass, runs)).toEqual(['pass@1', 'pass@4', 'pass@16']);
    expect(chartKeys(spec(['kl', 'kl_base']), runs)).toEqual(['kl', 'kl_base']);
  });
});

describe('chartData', () => {
  it('aligns one run: null for a missing value, Stage 0 step lines left out, eval lines at their own steps', () => {
    const lines = [
      step(0, 1, { reward_mean: null, loss: 3 }), // Stage 0 counts its own steps: not plotted
      step(0, 2, { reward_mean: null, loss: 2 }),
      evalLine(0, { 'pass@1': 0.1 }), // base eval, before the first RL step
      step(1, 1, { reward_mean: 0.2, unlocked: 1 }),
      step(1, 2, { reward_mean: null, unlocked: 1 }), // every rollout masked
      step(1, 3, { unlocked: 2 }), // an older file without the key
      evalLine(3, { 'pass@1': 0.4 }),
      step(2, 4, { reward_mean: 0.6, unlocked: 3 }),
    ];
    const d = chartData(spec(['reward_mean', 'pass@1']), [run('a', lines)]);
    expect(d.keys).toEqual(['reward_mean', 'pass@1']);
    expect(d.x).toEqual([0, 1, 2, 3, 4]);
    expect(d.y).toEqual([
      [undefined, 0.2, null, null, 0.6],
      [0.1, undefined, undefined, 0.4, undefined],
    ]);
    expect(d.series.map((s) => [s.runId, s.key, s.label, s.eval])).toEqual([['a', 'reward_mean', 'reward_mean', false], ['a', 'pass@1', 'pass@1', true]]);
    // A chart of step keys only has no eval-only step.
    expect(chartData(spec(['unlocked']), [run('a', lines)])).toMatchObject({ x: [1, 2, 3, 4], y: [[1, 1, 2, 3]] });
  });

  it('reads untrusted values: anything but a finite number is missing; a line without a usable step is skipped', () => {
    const lines = [step(1, 1, { kl: '0.5' }), step(1, 2, { kl: Number.NaN }), step(1, 3, { kl: Infinity }), step(1, 4, { kl: {} }), { stage: 1, kl: 9 }, { step: '5', stage: 1, kl: 9 }, step(1, 6, { kl: -0.25 })];
    expect(chartData(spec(['kl']), [run('a', lines)])).toMatchObject({ x: [1, 2, 3, 4, 6], y: [[null, null, null, null, -0.25]] });
  });

  it('keeps the last line of a step a run wrote twice (a resumed run)', () => {
    const d = chartData(spec(['entropy']), [run('a', [step(1, 1, { entropy: 1 }), step(1, 2, { entropy: 2 }), step(1, 2, { entropy: 3 })])]);
    expect(d).toMatchObject({ x: [1, 2], y: [[1, 3]] });
  });

  it('overlays several runs: one series per run and key, named after the run, on the union of their steps', () => {
    const a = run('a', [step(1, 1, { kl: 0.1, kl_base: 0.2 }), step(1, 2, { kl: 0.3, kl_base: 0.4 })]);
    const b = run('b', [step(1, 2, { kl: 1 }), step(1, 3, { kl: 2, kl_base: 3 })]);
    const d = chartData(spec(['kl', 'kl_base']), [a, b]);
    expect(d.x).toEqual([1, 2, 3]);
    expect(d.series.map((s) => s.label)).toEqual(['A: kl', 'A: kl_base', 'B: kl', 'B: kl_base']);
    expect(d.y).toEqual([
      [0.1, 0.3, undefined],
      [0.2, 0.4, undefined],
      [undefined, 1, 2],
      [undefined, null, 3],
    ]);
    // Colour by run, dash by key.
    expect(d.series.map((s) => s.colour)).toEqual([d.series[0].colour, d.series[0].colour, d.series[2].colour, d.series[2].colour]);
    expect(d.series[0].colour).not.toBe(d.series[2].colour);
    expect(d.series[0].dash).not.toEqual(d.series[1].dash);
    // Every column is as long as x.
    for (const col of d.y) expect(col).toHaveLength(d.x.length);
  });

  it('two runs on the reward chart make two series; no run makes none', () => {
    const reward = CHARTS.find((c) => c.id === 'reward')!;
    expect(chartData(reward, [run('a', [step(1, 1, { reward_mean: 0 })]), run('b', [step(1, 1, { reward_mean: 1 })])]).series).toHaveLength(2);
    expect(chartData(reward, [])).toMatchObject({ series: [], x: [], y: [] });
  });
});

describe('styles and values', () => {
  it('one run: a colour per key; several: a colour per run', () => {
    expect(seriesStyle(0, 0, 1).colour).not.toBe(seriesStyle(0, 1, 1).colour);
    expect(seriesStyle(0, 1, 1).dash).toEqual([]);
    expect(seriesStyle(0, 0, 2).colour).not.toBe(seriesStyle(1, 0, 2).colour);
  });

  it('finds the last number of a column', () => {
    expect(lastValueIndex([1, null, 2, undefined, null])).toBe(2);
    expect(lastValueIndex([null, undefined])).toBe(-1);
    expect(lastValueIndex([])).toBe(-1);
  });
});
