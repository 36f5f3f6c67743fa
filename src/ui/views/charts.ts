/**
 * The run's charts: one figure per chart of src/rl/chart-series.ts, streaming as metric lines
 * arrive. Each figure says what it plots in attributes a test or a script can read:
 *   data-metric  the metrics.jsonl keys it plots, space-separated (select one with [data-metric~="kl"]);
 *   data-series  how many series it draws (runs × keys);
 *   data-points  how many steps its x axis holds (the union over its series).
 * Its figcaption is its accessible name; under the plot a legend names each series by its key
 * and writes its value as text (the latest, or the hovered step's), so the canvas is never the
 * only channel. The drawing itself is a PlotFactory (uPlot in the page, loaded on first data).
 */
import { CHARTS, chartData, lastValueIndex, type ChartData, type ChartSpec, type RunLines, type YValue } from '../../rl/chart-series';
import { el } from '../dom';

/** The columns a plot draws: x first, then one column per series. */
export type PlotColumns = [number[], ...YValue[][]];

export interface PlotRequest {
  /** The element the plot draws into. */
  target: HTMLElement;
  width: number;
  height: number;
  series: ChartData['series'];
  columns: PlotColumns;
  /** A span the y axis always shows (ChartSpec.ySpan). */
  ySpan?: readonly [number, number];
  /** The data index under the pointer, or null when it leaves. */
  onCursor(index: number | null): void;
}

export interface PlotHandle {
  setData(columns: PlotColumns): void;
  destroy(): void;
}

export type PlotFactory = (request: PlotRequest) => PlotHandle;

export interface ChartsView {
  element: HTMLElement;
  /** Redraws every chart from these runs' lines (all of them, each time). */
  update(runs: readonly RunLines[]): void;
}

const PLOT_WIDTH = 290;
const PLOT_HEIGHT = 150;

/** The page's plots: uPlot, in its own chunk so the page opens without it. */
const loadUplot = (): Promise<PlotFactory> => import('./uplot-plot').then((m) => m.uplotPlot);

/** A legend value: three significant digits at most, exponent form for the very small and the large. */
export function formatValue(v: YValue): string {
  if (typeof v !== 'number') return '–';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? Number(v.toPrecision(3)).toExponential() : a >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
}

/** An axis tick: as many digits as the tick has (up to 6), exponent form below 1e-3 (a KL near 1e-4 is not "0"). */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (v === 0) return '0';
  return a < 1e-3 || a >= 1e6 ? Number(v.toPrecision(3)).toExponential() : String(Number(v.toPrecision(6)));
}

interface Figure {
  spec: ChartSpec;
  element: HTMLElement;
  plotBox: HTMLElement;
  legend: HTMLElement;
  at: HTMLElement;
  data: ChartData | null;
  /** What the plot was built for (series names and styles); a change rebuilds it. */
  layout: string;
  plot: PlotHandle | null;
  cursor: number | null;
}

/** Numbers each view, so two views on one page have distinct element ids. */
let views = 0;

/**
 * The figures, empty until lines arrive. `loadPlot` gives what draws them; it is called once,
 * when the first chart has a point to draw (the default loads uPlot).
 */
export function chartsView(loadPlot: () => Promise<PlotFactory> = loadUplot): ChartsView {
  let factory: PlotFactory | null = null;
  let loading: Promise<void> | null = null;
  let latest: readonly RunLines[] = [];
  const note = el('p', { className: 'charts-note', live: 'polite' });
  const view = ++views;

  const figures: Figure[] = CHARTS.map((spec) => {
    const captionId = `chart-${view}-${spec.id}-caption`;
    const plotBox = el('div', { className: 'chart-plot', attrs: { 'aria-hidden': 'true' } });
    const legend = el('ul', { className: 'chart-legend' });
    const at = el('span', { className: 'chart-at' });
    const element = el(
      'figure',
      { className: 'chart', attrs: { 'data-chart': spec.id, 'data-metric': '', 'data-series': '0', 'data-points': '0', 'aria-labelledby': captionId } },
      el('figcaption', { attrs: { id: captionId }, text: spec.title }),
      el('p', { className: 'chart-hint', text: spec.hint }),
      plotBox,
      el('div', { className: 'chart-foot' }, legend, at),
    );
    return { spec, element, plotBox, legend, at, data: null, layout: '', plot: null, cursor: null };
  });

  /** Legend values: at the hovered step, or each series' latest number. */
  const showValues = (f: Figure): void => {
    const d = f.data;
    if (d === null) return;
    const i = f.cursor !== null && f.cursor < d.x.length ? f.cursor : null;
    f.at.textContent = i === null ? '' : `step ${d.x[i]}`;
    d.y.forEach((column, j) => {
      const value = f.legend.children[j]?.querySelector('.series-value');
      if (value) value.textContent = formatValue(column[i ?? lastValueIndex(column)]);
    });
  };

  const draw = (f: Figure): void => {
    const d = chartData(f.spec, latest);
    f.data = d;
    f.element.dataset.metric = d.keys.join(' ');
    f.element.dataset.series = String(d.series.length);
    f.element.dataset.points = String(d.x.length);
    const layout = JSON.stringify(d.series.map((s) => [s.label, s.colour, s.dash, s.eval]));
    if (layout !== f.layout) {
      f.layout = layout;
      f.legend.replaceChildren(
        ...d.series.map((s) => {
          const swatch = el('span', { className: 'swatch' });
          swatch.style.borderTopColor = s.colour;
          swatch.style.borderTopStyle = s.dash.length > 0 ? 'dashed' : 'solid';
          return el('li', { attrs: { 'data-key': s.key, 'data-run': s.runId } }, swatch, el('span', { className: 'series-name', text: s.label }), el('span', { className: 'series-value' }));
        }),
      );
      f.plot?.destroy();
      f.plot = null;
      f.cursor = null;
    }
    const columns: PlotColumns = [d.x, ...d.y];
    if (factory !== null && d.series.length > 0) {
      if (f.plot === null) {
        f.plot = factory({
          target: f.plotBox,
          width: PLOT_WIDTH,
          height: PLOT_HEIGHT,
          series: d.series,
          columns,
          ...(f.spec.ySpan !== undefined ? { ySpan: f.spec.ySpan } : {}),
          onCursor: (i) => {
            f.cursor = i;
            showValues(f);
          },
        });
      } else f.plot.setData(columns);
    }
    showValues(f);
  };

  /** A plot that cannot be drawn leaves the figures' attributes, legends and the rest of the page working. */
  const stopPlots = (e: unknown): void => {
    factory = null;
    for (const f of figures) f.plot = null;
    note.textContent = `The charts could not be drawn (${e instanceof Error ? e.message : String(e)}); their legends and the numbers below still come in.`;
  };
  const drawAll = (): void => {
    try {
      for (const f of figures) draw(f);
    } catch (e) {
      stopPlots(e);
      for (const f of figures) draw(f);
    }
  };

  const update = (runs: readonly RunLines[]): void => {
    latest = runs;
    drawAll();
    const anyPoint = figures.some((f) => (f.data?.x.length ?? 0) > 0);
    if (factory === null && loading === null && anyPoint) {
      loading = loadPlot()
        .then((f) => {
          factory = f;
          drawAll();
        })
        .catch(stopPlots);
    }
  };

  drawAll();
  const element = el('section', { className: 'charts', attrs: { 'aria-label': 'Run charts' } }, note, ...figures.map((f) => f.element));
  return { element, update };
}
