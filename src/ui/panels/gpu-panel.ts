/**
 * The GPU panel: the adapter and its limits, the kernel variants chosen for it, the GPU memory in
 * use by category (live while a run goes: refreshed after every step and, at most once a second,
 * as it progresses) and the step time split (sampling, judging, update) of the last step and the
 * median over the run's steps. Plain data from the engine only (EngineApi.gpuReport, the run's
 * metric lines); no WebGPU here. Every text goes in as textContent.
 */
import type * as Comlink from 'comlink';
import type { KernelChoice } from '../../gpu/autotune';
import type { AdapterReport } from '../../gpu/device';
import { formatBytes, MEMORY_CATEGORIES, type MemoryUse } from '../../gpu/memory-use';
import type { EvalLine } from '../../rl/evaluate';
import type { StepMetrics } from '../../rl/metrics';
import type { EngineApi, EngineStatus, GpuReport } from '../../worker/api';
import { el } from '../dom';
import type { EngineEvents } from '../state/events';
import { keyValueTable } from '../views/tables';

/** The limits the panel names (the rest are in the adapter report, shown on demand). */
const KEY_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension'];

const BYTE_LIMITS = new Set(['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxUniformBufferBindingSize']);

function limitText(name: string, value: number | undefined): string {
  if (value === undefined) return '?';
  return BYTE_LIMITS.has(name) ? formatBytes(value) : value.toLocaleString('en');
}

/** The adapter's rows: what it is, its key limits, the kernels chosen for it. */
export function adapterRows(adapter: AdapterReport, kernels: KernelChoice | null): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['adapter', adapter.description],
    ['kind', adapter.isSoftware ? 'software (CPU) adapter: expect small models only' : 'hardware GPU'],
  ];
  for (const name of KEY_LIMITS) rows.push([name, limitText(name, adapter.limits[name])]);
  if (kernels !== null) {
    const probe = kernels.probe.map((p) => `${p.variant}: ${p.gflops.toFixed(2)} GFLOP/s`).join(', ');
    rows.push(['matmul schedules', `${kernels.matmul.join(' > ')} (probe: ${probe || 'cached'})`]);
    rows.push(['row-wise kernels', `${kernels.rowWidth} rows (${kernels.rowProbe.map((r) => `${r.width}: ${r.ms.toFixed(1)} ms`).join(', ') || 'cached'})`]);
  }
  return rows;
}

/** One row per memory category (in the report's order, the empty ones too), then the total. */
export function memoryRows(memory: MemoryUse): { category: string; name: string; bytes: number; buffers: number }[] {
  const rows = MEMORY_CATEGORIES.map(({ category, name }) => ({ category, name, ...memory.byCategory[category] }));
  return [...rows, { category: 'total', name: 'total', bytes: memory.bytes, buffers: memory.buffers }];
}

export interface TimeSplit {
  part: 'sampling' | 'judging' | 'update' | 'other' | 'step';
  /** Seconds in the last step, and the median over the steps; null where no step timed it. */
  last: number | null;
  median: number | null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The step time split of the last RL step (Stage I on) and the median over the steps given; 'other' is the step less its parts. */
export function timeSplit(lines: readonly (StepMetrics | EvalLine)[]): TimeSplit[] {
  const steps = lines.filter((l): l is StepMetrics => (l as EvalLine).eval !== true && l.stage >= 1);
  const parts: Record<TimeSplit['part'], (l: StepMetrics) => number | null> = {
    sampling: (l) => l.time_sample_s,
    judging: (l) => l.time_judge_s,
    update: (l) => l.time_update_s,
    other: (l) => (l.time_sample_s === null && l.time_update_s === null ? null : Math.max(0, l.step_s - (l.time_sample_s ?? 0) - (l.time_judge_s ?? 0) - (l.time_update_s ?? 0))),
    step: (l) => l.step_s,
  };
  const last = steps.at(-1);
  return (Object.keys(parts) as TimeSplit['part'][]).map((part) => {
    const of = parts[part];
    const values = steps.map(of).filter((v): v is number => v !== null && Number.isFinite(v));
    return { part, last: last === undefined ? null : of(last), median: median(values) };
  });
}

const seconds = (s: number | null): string => (s === null ? '–' : s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);

/** The panel; `status` is what init reported (shown until the first report comes); the page's own run's events come from `events`. */
export function gpuPanel(engine: Comlink.Remote<EngineApi>, status: EngineStatus, events: EngineEvents): HTMLElement {
  const adapterTable = el('div', { className: 'gpu-adapter' });
  const allLimits = el('details', { className: 'gpu-limits' });
  const memoryTable = el('table', { className: 'gpu-memory' });
  const memoryNote = el('p', { className: 'gpu-memory-note' });
  const timeTable = el('table', { className: 'gpu-step-time' });
  const timeNote = el('p', { className: 'gpu-step-time-note', text: 'No RL step yet.' });
  const refreshButton = el('button', { text: 'Refresh memory' });

  const showAdapter = (adapter: AdapterReport, kernels: KernelChoice | null): void => {
    adapterTable.replaceChildren(keyValueTable(adapterRows(adapter, kernels)));
    const names = Object.keys(adapter.limits).sort();
    allLimits.replaceChildren(el('summary', { text: `all ${names.length} limits` }), keyValueTable(names.map((n) => [n, limitText(n, adapter.limits[n])])));
  };

  const showMemory = (r: GpuReport): void => {
    const head = el('tr', {}, el('th', { text: 'in use' }), el('th', { text: 'bytes' }), el('th', { text: 'buffers' }));
    memoryTable.replaceChildren(
      head,
      ...memoryRows(r.memory).map((row) =>
        el(
          'tr',
          { attrs: { 'data-category': row.category, 'data-bytes': String(row.bytes) } },
          el('th', { text: row.name }),
          el('td', { text: formatBytes(row.bytes) }),
          el('td', { text: String(row.buffers) }),
        ),
      ),
    );
    memoryNote.textContent = `Peak ${formatBytes(r.memory.peakBytes)} since the device was made; of the pool, ${formatBytes(r.pool.liveBytes)} handed out and ${formatBytes(r.pool.pooledBytes)} kept for reuse.`;
  };

  let refreshing = false;
  let lastRefresh = 0;
  const refresh = async (): Promise<void> => {
    if (refreshing) return;
    refreshing = true;
    lastRefresh = Date.now();
    try {
      // Optional in the API (a replay has no GPU); the live engine has it.
      const report = (engine as Partial<Comlink.Remote<EngineApi>>).gpuReport;
      if (typeof report !== 'function') throw new Error('this engine has no GPU');
      const r = await report();
      // A device made after a loss may differ: the report's adapter and kernels are the ones in use.
      showAdapter(r.adapter, r.kernels);
      showMemory(r);
    } catch (e) {
      memoryNote.textContent = `The engine gave no GPU report: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      refreshing = false;
    }
  };
  refreshButton.addEventListener('click', () => void refresh());

  let lines: (StepMetrics | EvalLine)[] = [];
  const showTimes = (): void => {
    const split = timeSplit(lines);
    const steps = lines.filter((l) => (l as EvalLine).eval !== true && l.stage >= 1).length;
    timeNote.textContent = steps === 0 ? 'No RL step yet.' : `Over ${steps} RL step${steps === 1 ? '' : 's'} (other: the step less sampling, judging and update).`;
    timeTable.replaceChildren(
      el('tr', {}, el('th', { text: 'step time' }), el('th', { text: 'last step' }), el('th', { text: 'median' })),
      ...split.map((s) => el('tr', { attrs: { 'data-part': s.part } }, el('th', { text: s.part }), el('td', { text: seconds(s.last) }), el('td', { text: seconds(s.median) }))),
    );
  };

  // The page's own run (a comparison arm's events carry their slot and go elsewhere).
  events.handle({
    'run-start': () => {
      lines = [];
      showTimes();
    },
    'run-metrics': (e) => {
      lines.push(e.line);
      showTimes();
      void refresh();
    },
    'run-progress': () => {
      if (Date.now() - lastRefresh > 1000) void refresh();
    },
    'run-end': () => void refresh(),
    'train-step': () => void refresh(),
  });

  showAdapter(status.adapter, status.kernels);
  showTimes();
  void refresh();
  return el(
    'section',
    { className: 'panel gpu-panel' },
    el('h2', { text: 'GPU engine' }),
    adapterTable,
    allLimits,
    el('h3', { text: 'GPU memory in use' }),
    memoryTable,
    memoryNote,
    refreshButton,
    el('h3', { text: 'Step time' }),
    timeTable,
    timeNote,
  );
}

/** "Check kernels": one matmul on the GPU against a float64 product on the CPU, with its error and time. */
export function kernelCheckPanel(engine: Comlink.Remote<EngineApi>): HTMLElement {
  const results = el('pre', { className: 'results', live: 'polite' });
  const button = el('button', { text: 'Check kernels (256×256×256)' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    results.textContent = 'running…';
    try {
      const rows = await engine.selfCheck(256, 256, 256);
      results.textContent = rows.map((r) => `${r.variant.padEnd(9)} relative L2 error ${r.relL2.toExponential(2)}  ${r.ms.toFixed(1)} ms`).join('\n');
    } catch (e) {
      results.textContent = `check failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      button.disabled = false;
    }
  });
  return el('section', { className: 'panel' }, button, results);
}
