/**
 * The charts' plots drawn with uPlot (a canvas line chart made for streaming data). Loaded on
 * demand by charts.ts. uPlot's own legend is off: charts.ts writes a legend as text.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTick, type PlotFactory } from './charts';

/** The y range: the data's, widened to the chart's span, 5% headroom; a flat line gets some room. */
function yRange(span: readonly [number, number] | undefined): uPlot.Range.Function {
  return (_u, min, max) => {
    let lo = min ?? span?.[0] ?? 0;
    let hi = max ?? span?.[1] ?? 1;
    if (span !== undefined) {
      lo = Math.min(lo, span[0]);
      hi = Math.max(hi, span[1]);
    }
    if (hi === lo) {
      const d = Math.abs(lo) * 0.1 || 1;
      return [lo - d, hi + d];
    }
    const pad = (hi - lo) * 0.05;
    return [span !== undefined && lo === span[0] ? lo : lo - pad, hi + pad];
  };
}

export const uplotPlot: PlotFactory = (request) => {
  const ticks = (_u: uPlot, splits: number[]): string[] => splits.map(formatTick);
  const options: uPlot.Options = {
    width: request.width,
    height: request.height,
    legend: { show: false },
    scales: { x: { time: false }, y: { range: yRange(request.ySpan) } },
    axes: [
      { size: 28, gap: 2, values: ticks },
      { size: 50, gap: 2, values: ticks },
    ],
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: 'step' },
      ...request.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.colour,
          dash: [...s.dash],
          width: 1.5,
          // null in a column is a step without a value (a gap); undefined, no line at that step (drawn across).
          spanGaps: false,
          // Eval lines are a few points apart: show them as points.
          points: s.eval ? { show: true, size: 6 } : undefined,
        }),
      ),
    ],
    hooks: { setCursor: [(u) => request.onCursor(u.cursor.idx ?? null)] },
  };
  const chart = new uPlot(options, request.columns as uPlot.AlignedData, request.target);
  return {
    setData: (columns) => chart.setData(columns as uPlot.AlignedData),
    destroy: () => chart.destroy(),
  };
};
