// @vitest-environment jsdom
// The run's charts (src/ui/views/charts.ts) in a DOM without canvas: uPlot needs one (it fails in jsdom
// at import, on matchMedia), so a recording stub draws here; the page test (test/e2e) draws with
// uPlot in Chromium. Checked: each figure's data-metric/-series/-points, its accessible name, a
// legend naming every key with its value as text, plots built once per layout and streamed after.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHARTS, type MetricLine } from '../../src/rl/chart-series';
import { preset } from '../../src/rl/config';
import { chartsView, formatTick, formatValue, type PlotFactory, type PlotRequest } from '../../src/ui/views/charts';
import { runPanel } from '../../src/ui/panels/run-panel';
import type { EngineApi, EngineEvent } from '../../src/worker/api';

interface Stub {
  load: () => Promise<PlotFactory>;
  requests: PlotRequest[];
  setData: ReturnType<typeof vi.fn>;
  destroy: ReturnType<typeof vi.fn>;
}

function stub(): Stub {
  const requests: PlotRequest[] = [];
  const setData = vi.fn();
  const destroy = vi.fn();
  const factory: PlotFactory = (r) => {
    requests.push(r);
    return { setData, destroy };
  };
  return { load: vi.fn(async () => factory), requests, setData, destroy };
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const figure = (root: ParentNode, key: string): HTMLElement => root.querySelector(`figure[data-metric~="${key}"]`)!;
const attrs = (f: HTMLElement): [string, string, string] => [f.dataset.metric!, f.dataset.series!, f.dataset.points!];
const legend = (f: HTMLElement): string[] => [...f.querySelectorAll('.chart-legend li')].map((li) => li.textContent!);

const stepLine = (stage: number, step: number, extra: Record<string, unknown> = {}): MetricLine => ({ step, stage, method: 'exprl-process', reward_mean: 0.1 * step, kl: 0.01 * step, kl_base: null, ...extra });
const evalLine = (step: number, p1: number): MetricLine => ({ step, stage: 1, method: 'exprl-process', eval: true, n: 4, 'pass@1': p1, 'pass@4': 0.5, 'mean@n': p1 });

afterEach(() => document.body.replaceChildren());

describe('chartsView', () => {
  it('starts with one empty, named figure per chart and loads no plot until a point arrives', async () => {
    const s = stub();
    const view = chartsView(s.load);
    document.body.appendChild(view.element);
    const figures = [...document.querySelectorAll('figure')];
    expect(figures).toHaveLength(CHARTS.length);
    expect(figures.map((f) => f.dataset.chart)).toEqual(CHARTS.map((c) => c.id));
    for (const f of figures) {
      expect(f.dataset.series).toBe('0');
      expect(f.dataset.points).toBe('0');
      // The accessible name is the figcaption's text (aria-labelledby points at it).
      const caption = document.getElementById(f.getAttribute('aria-labelledby')!)!;
      expect(caption.tagName).toBe('FIGCAPTION');
      expect(caption.parentElement).toBe(f);
      expect(caption.textContent).toBe(CHARTS.find((c) => c.id === f.dataset.chart)!.title);
    }
    view.update([{ id: 'r', label: 'r', lines: [stepLine(0, 1)] }]); // Stage 0 only: nothing to plot
    await flush();
    expect(s.load).not.toHaveBeenCalled();
    expect(attrs(figure(document, 'reward_mean'))).toEqual(['reward_mean', '1', '0']);
  });

  it('streams: attributes and legend values follow the lines; a plot is built once and then given new data', async () => {
    const s = stub();
    const view = chartsView(s.load);
    document.body.appendChild(view.element);
    const lines: MetricLine[] = [evalLine(0, 0.25), stepLine(1, 1)];
    view.update([{ id: 'r', label: 'r', lines }]);
    await flush();
    expect(s.load).toHaveBeenCalledTimes(1);
    expect(s.requests).toHaveLength(CHARTS.length);
    const reward = figure(document, 'reward_mean');
    expect(attrs(reward)).toEqual(['reward_mean', '1', '1']);
    expect(legend(reward)).toEqual(['reward_mean0.1']);
    // Several keys in one figure: each named in data-metric and in the legend.
    const kl = figure(document, 'kl_base');
    expect(attrs(kl)).toEqual(['kl kl_base', '2', '1']);
    expect(legend(kl)).toEqual(['kl0.01', 'kl_base–']);
    expect([...kl.querySelectorAll('.chart-legend li')].map((li) => (li as HTMLElement).dataset.key)).toEqual(['kl', 'kl_base']);
    // The eval chart: the eval's own step (0) only, its keys from the eval line.
    const ev = figure(document, 'pass@1');
    expect(attrs(ev)).toEqual(['pass@1 pass@4', '2', '1']);
    expect(legend(ev)).toEqual(['pass@10.25', 'pass@40.5']);
    const req = s.requests.find((r) => r.target.closest('figure') === reward)!;
    expect(req.columns).toEqual([[1], [0.1]]);
    expect(req.series.map((x) => x.label)).toEqual(['reward_mean']);
    // Rewards and shares keep 0..1 on the axis; entropy's level is not the point.
    expect(req.ySpan).toEqual([0, 1]);
    expect(s.requests.find((r) => r.target.closest('figure') === figure(document, 'entropy'))!.ySpan).toBeUndefined();

    lines.push(stepLine(1, 2, { reward_mean: null }), stepLine(1, 3), evalLine(3, 0.75));
    view.update([{ id: 'r', label: 'r', lines }]);
    await flush();
    expect(s.load).toHaveBeenCalledTimes(1);
    expect(s.requests).toHaveLength(CHARTS.length); // no plot rebuilt
    expect(s.destroy).not.toHaveBeenCalled();
    expect(attrs(reward)).toEqual(['reward_mean', '1', '3']);
    expect(attrs(ev)).toEqual(['pass@1 pass@4', '2', '2']);
    expect(legend(ev)).toEqual(['pass@10.75', 'pass@40.5']);
    expect(s.setData).toHaveBeenCalledWith([[1, 2, 3], [0.1, null, 0.30000000000000004]]);

    // The hovered step's values, and back to the latest when the pointer leaves.
    req.onCursor(1);
    expect(legend(reward)).toEqual(['reward_mean–']);
    expect(reward.querySelector('.chart-at')!.textContent).toBe('step 2');
    req.onCursor(0);
    expect(legend(reward)).toEqual(['reward_mean0.1']);
    req.onCursor(null);
    expect(legend(reward)).toEqual(['reward_mean0.3']);
    expect(reward.querySelector('.chart-at')!.textContent).toBe('');
  });

  it('overlays several runs (one series per run and key, named by run) and rebuilds a plot when its series change', async () => {
    const s = stub();
    const view = chartsView(s.load);
    document.body.appendChild(view.element);
    const a = { id: 'a', label: 'grpo', lines: [stepLine(1, 1), stepLine(1, 2)] };
    view.update([a]);
    await flush();
    const b = { id: 'b', label: 'exprl-process', lines: [stepLine(1, 1, { reward_mean: 0.9 })] };
    view.update([a, b]);
    const reward = figure(document, 'reward_mean');
    expect(attrs(reward)).toEqual(['reward_mean', '2', '2']);
    expect(legend(reward)).toEqual(['grpo: reward_mean0.2', 'exprl-process: reward_mean0.9']);
    expect([...reward.querySelectorAll('.chart-legend li')].map((li) => (li as HTMLElement).dataset.run)).toEqual(['a', 'b']);
    expect(s.destroy).toHaveBeenCalledTimes(CHARTS.length);
    expect(s.requests).toHaveLength(2 * CHARTS.length);
    // A new run clears them.
    view.update([]);
    expect(attrs(reward)).toEqual(['reward_mean', '0', '0']);
    expect(legend(reward)).toEqual([]);
  });

  it('keeps figures and legends when the plot cannot be loaded, and says so', async () => {
    const view = chartsView(async () => {
      throw new Error('no canvas');
    });
    document.body.appendChild(view.element);
    view.update([{ id: 'r', label: 'r', lines: [stepLine(1, 1)] }]);
    await flush();
    expect(document.querySelector('.charts-note')!.textContent).toContain('no canvas');
    view.update([{ id: 'r', label: 'r', lines: [stepLine(1, 1), stepLine(1, 2)] }]);
    expect(attrs(figure(document, 'reward_mean'))).toEqual(['reward_mean', '1', '2']);
  });

  it('gives two views on one page distinct caption ids (compare mode shows several)', () => {
    document.body.append(chartsView(stub().load).element, chartsView(stub().load).element);
    const ids = [...document.querySelectorAll('figcaption')].map((c) => c.id);
    expect(ids).toHaveLength(2 * CHARTS.length);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('writes numbers briefly', () => {
    expect([0, 3, 0.25, 1 / 3, 123.456, 12345.6, 0.0001234, 0.0002, -0.5, null, undefined].map(formatValue)).toEqual(['0', '3', '0.25', '0.333', '123', '1.23e+4', '1.23e-4', '2e-4', '-0.5', '–', '–']);
    // Ticks keep the digits that tell them apart, and small ones are not rounded to 0.
    expect([0, 4.484, 4.486, 0.30000000000000004, 0.0002, -0.0004, 250, 2e6].map(formatTick)).toEqual(['0', '4.484', '4.486', '0.3', '2e-4', '-4e-4', '250', '2e+6']);
  });
});

describe('run panel', () => {
  it("charts the worker's metric lines as they stream, and starts empty again with the next run", async () => {
    let listener: ((e: EngineEvent) => void) | null = null;
    const api: Partial<EngineApi> = {
      onEvent: (l) => void (listener = l),
      startRun: (async () => ({ status: 'finished', steps: 0, judgeCalls: 0 })) as EngineApi['startRun'],
      stopRun: async () => {},
      // No run saved in this browser: the panel asks when it opens.
      savedRun: async () => null,
    };
    const s = stub();
    history.replaceState(null, '', '/');
    const panel = runPanel(api as unknown as Parameters<typeof runPanel>[0], { loadPlot: s.load });
    document.body.replaceChildren(panel);
    const send = (line: MetricLine): void => listener!({ type: 'run-metrics', line: line as never });
    send(stepLine(0, 1));
    send(evalLine(0, 0));
    send(stepLine(1, 1));
    await flush();
    const reward = figure(panel, 'reward_mean');
    expect(attrs(reward)).toEqual(['reward_mean', '1', '1']);
    send(stepLine(1, 2));
    expect(reward.dataset.points).toBe('2');
    expect(attrs(figure(panel, 'pass@1'))).toEqual(['pass@1 pass@4', '2', '1']);
    // The number table keeps every line, Stage 0's too.
    expect(panel.querySelectorAll('.metrics tbody tr')).toHaveLength(3);
    [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Start')!.click();
    // The engine's first event of a run resets the view (a resume's saved lines come after it).
    listener!({ type: 'run-start', config: preset('tiny'), resumedAt: null });
    expect(reward.dataset.points).toBe('0');
    history.replaceState(null, '', '/');
  });
});
