// The GPU panel's data (src/ui/panels/gpu-panel.ts) and the page's test-hook flag (src/ui/state/test-hooks.ts):
// the step time split of the last RL step and the median over the run, with "other" the step less
// its parts; memory rows in category order with the total; the adapter's rows; the flag's forms.
import { describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../src/gpu/memory-use';
import type { EvalLine } from '../../src/rl/evaluate';
import type { StepMetrics } from '../../src/rl/metrics';
import { adapterRows, memoryRows, timeSplit } from '../../src/ui/panels/gpu-panel';
import { armTestHooks, deviceLossSpec } from '../../src/ui/state/test-hooks';

const step = (stage: number, s: number, sample: number | null, judge: number | null, update: number | null, total: number): StepMetrics =>
  ({ stage, step: s, step_s: total, time_sample_s: sample, time_judge_s: judge, time_update_s: update }) as StepMetrics;

describe('GPU panel data', () => {
  it('splits the last RL step and the median over RL steps; Stage 0 and evals do not count', () => {
    const lines = [step(0, 1, null, null, null, 9), step(1, 1, 1, 0.5, 2, 4), { eval: true, stage: 1, step: 1 } as unknown as EvalLine, step(1, 2, 3, 0.5, 2, 6), step(1, 3, 2, 1, 4, 8)];
    const split = Object.fromEntries(timeSplit(lines).map((s) => [s.part, [s.last, s.median]]));
    expect(split).toEqual({ sampling: [2, 2], judging: [1, 0.5], update: [4, 2], other: [1, 0.5], step: [8, 6] });
    expect(timeSplit([]).every((s) => s.last === null && s.median === null)).toBe(true);
    // An even count takes the mean of the middle two; a part no step timed stays empty.
    const even = Object.fromEntries(timeSplit([step(1, 1, 1, null, 1, 3), step(1, 2, 2, null, 1, 4)]).map((s) => [s.part, [s.last, s.median]]));
    expect(even.sampling).toEqual([2, 1.5]);
    expect(even.judging).toEqual([null, null]);
  });

  it('lists every memory category in order, then the total', () => {
    const ledger = new MemoryLedger();
    ledger.add('params-0', 4096);
    ledger.add('k-cache-0', 1024);
    const rows = memoryRows(ledger.snapshot());
    expect(rows[0]).toEqual({ category: 'weights', name: 'weights (the policy)', bytes: 4096, buffers: 1 });
    expect(rows.find((r) => r.category === 'kv-cache')?.bytes).toBe(1024);
    expect(rows.at(-1)).toEqual({ category: 'total', name: 'total', bytes: 5120, buffers: 2 });
    expect(rows.filter((r) => r.bytes === 0).length).toBe(rows.length - 3);
  });

  it("shows the adapter, its key limits in their units, and the kernels chosen", () => {
    const adapter = { vendor: 'v', architecture: 'a', device: 'd', description: 'SwiftShader', isSoftware: true, features: [], limits: { maxBufferSize: 2 ** 30, maxStorageBuffersPerShaderStage: 8 } };
    const kernels = { adapter: 'x', matmul: ['tiled', 'vec4'] as const, rowWidth: 'wide' as const, probe: [], rowProbe: [], probedAt: '' };
    const rows = new Map(adapterRows(adapter, { ...kernels, matmul: [...kernels.matmul] }));
    expect(rows.get('adapter')).toBe('SwiftShader');
    expect(rows.get('kind')).toMatch(/^software/);
    expect(rows.get('maxBufferSize')).toBe('1.00 GiB');
    expect(rows.get('maxStorageBuffersPerShaderStage')).toBe('8');
    expect(rows.get('maxComputeWorkgroupStorageSize')).toBe('?');
    expect(rows.get('matmul schedules')).toBe('tiled > vec4 (probe: cached)');
    expect(adapterRows(adapter, null).some(([k]) => k === 'matmul schedules')).toBe(false);
  });
});

describe('test hooks', () => {
  it('reads the device-loss flag; unset arms nothing; a malformed one is refused', async () => {
    expect(deviceLossSpec(null)).toBeNull();
    expect(deviceLossSpec('')).toBeNull();
    expect(deviceLossSpec('2')).toEqual({ step: 2 });
    expect(deviceLossSpec('2:3')).toEqual({ step: 2, times: 3 });
    expect(() => deviceLossSpec('soon')).toThrow(/STEP or STEP:TIMES/);
    const armed: unknown[] = [];
    const engine = { testDeviceLoss: async (s: unknown) => void armed.push(s) };
    await armTestHooks(engine, { getItem: () => null });
    expect(armed).toEqual([]);
    await armTestHooks(engine, { getItem: (k) => (k === 'exprl-test-device-loss' ? '3' : null) });
    expect(armed).toEqual([{ step: 3 }]);
  });
});
