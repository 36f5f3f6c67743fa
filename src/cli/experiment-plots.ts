/**
 * The experiment's SVG plots, drawn by Observable Plot in Node with jsdom as the document (both
 * are imported here only, in the CLI, never in the page's bundle): the mean curves over seeds of
 * reward_mean, correct_frac (each step faint, with a moving average within each stage), unlocked
 * and kl per arm, and a dot chart of pass@1 after Stage I and after Stage II per arm (mean ± sd
 * over seeds). The data come from src/rl/experiment/results.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARM_LABELS } from '../rl/experiment/plans';
import { PLOT_FILES, SMOOTH_STEPS } from '../rl/experiment/report';
import { meanCurves, passPoints, TRAINED_STAGES, type CurveKey, type ExperimentResults } from '../rl/experiment/results';

const CURVE_LABELS: Partial<Record<CurveKey, string>> = {
  reward_mean: 'mean reward',
  correct_frac: 'share of correct rollouts',
  unlocked: 'prompts unlocked',
  kl: 'KL to the stage reference',
};

const CURVES: readonly CurveKey[] = ['reward_mean', 'correct_frac', 'unlocked', 'kl'];
/** Per-step means of few rollouts jump from step to step: these curves also get a moving average. */
const SMOOTHED: readonly CurveKey[] = ['reward_mean', 'correct_frac'];
const LEGEND_ROW = 14;

/** Writes OUT/plots/NAME.svg for every PLOT_FILES entry; returns the paths written. */
export async function writePlots(dir: string, results: ExperimentResults): Promise<string[]> {
  const [{ JSDOM }, Plot] = await Promise.all([import('jsdom'), import('@observablehq/plot')]);
  const dom = new JSDOM('<!DOCTYPE html><html><body></body></html>');
  const { document } = dom.window;
  const serializer = new dom.window.XMLSerializer();
  const arms = results.arms;
  const color = { type: 'categorical' as const, domain: arms, scheme: 'tableau10' as const };
  /** One text row per arm in the right margin, in the arms' colours (Plot's own legends are HTML, not SVG). */
  const legend = (names: readonly string[], label: (n: string) => string, anchor: 'top-right' | 'bottom-right' = 'top-right'): ReturnType<typeof Plot.text>[] =>
    names.flatMap((n, i) => [
      Plot.dot([n], { frameAnchor: anchor, dx: 12, dy: (anchor === 'top-right' ? 1 : -1) * i * LEGEND_ROW, fill: (d: string) => d, r: 4 }),
      Plot.text([n], { frameAnchor: anchor, dx: 20, dy: (anchor === 'top-right' ? 1 : -1) * i * LEGEND_ROW, text: (d: string) => label(d), textAnchor: 'start', fill: 'currentColor' }),
    ]);
  const svgs = new Map<string, SVGElement | HTMLElement>();
  const s1 = results.regime.stageISteps;
  const steps = s1 + results.regime.stageIISteps;
  // Whole steps only: every step as a tick on short plans, Plot's choice on long ones.
  const stepTicks = steps <= 12 ? Array.from({ length: steps }, (_, i) => i + 1) : undefined;
  for (const metric of CURVES) {
    const points = meanCurves(results, [metric]);
    svgs.set(
      metric,
      Plot.plot({
        document,
        width: 760,
        height: 360,
        marginRight: 200,
        style: { background: 'white' },
        x: { label: `step (Stage I: 1–${s1}, then Stage II)`, grid: true, ticks: stepTicks, tickFormat: 'd' },
        y: { label: `${CURVE_LABELS[metric] ?? metric} (mean over seeds)`, grid: true, zero: metric !== 'kl' },
        color,
        marks: [
          Plot.ruleX([s1 + 0.5], { stroke: '#888', strokeDasharray: '4 3' }),
          Plot.text([s1 + 0.5], { x: (d: number) => d, frameAnchor: 'top', dy: 4, dx: 4, textAnchor: 'start', text: () => 'Stage II →', fill: '#666' }),
          ...(SMOOTHED.includes(metric)
            ? [
                // Each step faint, then its moving average within each stage of each arm.
                Plot.lineY(points, { x: 'x', y: 'mean', stroke: 'arm', z: 'arm', strokeWidth: 1, strokeOpacity: 0.25 }),
                Plot.lineY(
                  points.map((p) => ({ ...p, series: `${p.arm} ${p.stage}` })),
                  Plot.windowY({ k: SMOOTH_STEPS, anchor: 'middle', reduce: 'mean', strict: false }, { x: 'x', y: 'mean', stroke: 'arm', z: 'series', strokeWidth: 2 }),
                ),
              ]
            : [
                Plot.lineY(points, { x: 'x', y: 'mean', stroke: 'arm', z: 'arm', strokeWidth: 1.5 }),
                Plot.dot(points, { x: 'x', y: 'mean', fill: 'arm', r: points.length > 400 ? 0 : 1.5 }),
              ]),
          ...legend(arms, (a) => ARM_LABELS[a as keyof typeof ARM_LABELS] ?? a),
        ],
      }),
    );
  }
  const pass = passPoints(results, 'pass@1');
  const stageColor = { type: 'categorical' as const, domain: TRAINED_STAGES.map((s) => `after Stage ${s}`), range: ['#4e79a7', '#e15759'] };
  svgs.set(
    'pass1',
    Plot.plot({
      document,
      width: 760,
      height: 80 + arms.length * 36,
      marginLeft: 190,
      marginRight: 150,
      style: { background: 'white' },
      x: { label: 'pass@1 on the test prompts (mean ± sd over seeds)', grid: true, domain: [0, Math.max(0.05, ...pass.map((p) => p.high))], nice: true },
      y: { domain: arms.map((a) => ARM_LABELS[a]), label: null },
      color: stageColor,
      marks: TRAINED_STAGES.flatMap((st, i) => {
        const rows = pass.filter((p) => p.stage === st).map((p) => ({ ...p, label: ARM_LABELS[p.arm], which: `after Stage ${st}` }));
        const dy = i === 0 ? -5 : 5;
        return [
          Plot.ruleY(rows, { y: 'label', x1: 'low', x2: 'high', stroke: 'which', dy, strokeWidth: 2 }),
          Plot.dot(rows, { y: 'label', x: 'mean', fill: 'which', dy, r: 4 }),
        ];
      }).concat(legend(TRAINED_STAGES.map((s) => `after Stage ${s}`), (s) => s)),
    }),
  );
  const plots = join(dir, 'plots');
  await mkdir(plots, { recursive: true });
  const written: string[] = [];
  for (const { name } of PLOT_FILES) {
    const svg = svgs.get(name);
    if (svg === undefined) throw new Error(`plot ${name} was not drawn`);
    if (svg.tagName.toLowerCase() !== 'svg') throw new Error(`plot ${name}: Observable Plot returned <${svg.tagName}>, not <svg>`);
    const path = join(plots, `${name}.svg`);
    await writeFile(path, serializer.serializeToString(svg) + '\n');
    written.push(path);
  }
  dom.window.close();
  return written;
}
