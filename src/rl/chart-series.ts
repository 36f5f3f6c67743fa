// Which metrics.jsonl keys the page plots together, and metric lines turned into the aligned
// columns a line chart draws: one x column (the step) shared by every series of a chart, one
// y column per (run, key). No DOM: the page (src/ui/views/charts.ts) draws what this returns.
//
// Lines come from a run as it streams, or later from files a user loads, so they are read as
// untrusted records: a value that is not a finite number counts as missing.

/**
 * A metrics.jsonl line as read: a step line or an eval line (`eval: true`) of src/rl/metrics.ts,
 * or any parsed JSON object (its fields are checked where they are read).
 */
export type MetricLine = object;

/** A line's field, own properties only (a key such as 'constructor' reads nothing). */
function field(line: MetricLine, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(line, key) ? (line as Record<string, unknown>)[key] : undefined;
}

/** One run's lines, in the order they were written. `id` tells runs apart; `label` names the run in a legend. */
export interface RunLines {
  id: string;
  label: string;
  lines: readonly MetricLine[];
}

export interface ChartSpec {
  /** Stable name of the chart (not a metric key). */
  id: string;
  /** The figure's accessible name. */
  title: string;
  /** One sentence on what to look for. */
  hint: string;
  /** The keys it plots; 'pass@k' stands for every pass@k key the runs' eval lines hold. */
  keys: readonly string[] | 'pass@k';
  /**
   * A span the y axis always shows (the data may widen it): [0, 1] for shares and rewards, so a
   * flat 0 reads as 0 of 1; none where the level is not the point (entropy).
   */
  ySpan?: readonly [number, number];
}

const UNIT: readonly [number, number] = [0, 1];

/** Until an eval line arrives, the eval chart names the pass@k every eval list starts from. */
export const DEFAULT_PASS_KEYS: readonly string[] = ['pass@1'];

/** The page's charts, in page order. Every key is a key of STEP_METRIC_KEYS or of an eval line. */
export const CHARTS: readonly ChartSpec[] = [
  { id: 'reward', title: 'Reward', keys: ['reward_mean'], ySpan: UNIT, hint: "Mean reward of the step's scored rollouts: watch this, not the loss." },
  {
    id: 'reward-split',
    title: 'Reward: correct vs wrong rollouts',
    keys: ['reward_correct_mean', 'reward_incorrect_mean'],
    ySpan: UNIT,
    hint: "When wrong rollouts' reward climbs, the policy learns to please the judge, not to solve.",
  },
  { id: 'correct', title: 'Correct and unanswered rollouts', keys: ['correct_frac', 'no_answer_frac'], ySpan: UNIT, hint: "Share of the step's rollouts with the right final answer, and with none at all." },
  { id: 'unlocked', title: 'Unlocked prompts', keys: ['unlocked'], ySpan: UNIT, hint: 'Training prompts with at least one correct rollout so far.' },
  { id: 'eval', title: 'Eval pass@k', keys: 'pass@k', ySpan: UNIT, hint: 'Held-out prompts, sampled n times at each evaluation (a point per evaluation).' },
  { id: 'entropy', title: 'Entropy', keys: ['entropy'], hint: 'Token-mean entropy on its own rollouts: a collapse means the policy stopped exploring.' },
  { id: 'kl', title: 'KL divergence', keys: ['kl', 'kl_base'], ySpan: [0, 0], hint: "kl: to the stage's frozen reference policy; kl_base: to the policy the run started from." },
  { id: 'length', title: 'Response length (tokens)', keys: ['len_mean', 'len_max'], ySpan: [0, 1], hint: 'Mean and longest response of the step.' },
  { id: 'clip', title: 'Clip fractions', keys: ['clip_frac_low', 'clip_frac_high'], ySpan: UNIT, hint: 'Share of tokens whose probability ratio the PPO clip cut, low and high side.' },
  { id: 'judge-latency', title: 'Judge latency (ms per call)', keys: ['judge_latency_ms'], ySpan: [0, 1], hint: 'Mean wall time of one judge call.' },
  { id: 'judge-failures', title: 'Judge failures', keys: ['judge_failures', 'judge_parse_failures'], ySpan: [0, 1], hint: 'Calls failed after their retries, and replies with no usable score (masked).' },
  { id: 'tokens', title: 'Tokens per second', keys: ['tokens_per_s'], ySpan: [0, 1], hint: "Generated response tokens over the step's wall time." },
  { id: 'time', title: 'Step time split (s)', keys: ['time_sample_s', 'time_judge_s', 'time_update_s', 'step_s'], ySpan: [0, 1], hint: 'Sampling, judging and the update, and the whole step.' },
];

const PASS_KEY = /^pass@(\d+)$/;

/** Keys an eval line carries (pass@k, and per-sample shares such as mean@n, sound@n), plotted at the eval's own step; every other key is read from step lines. */
export function isEvalKey(key: string): boolean {
  return PASS_KEY.test(key) || /^[a-z_]+@n$/.test(key);
}

export function isEvalLine(line: MetricLine): boolean {
  return field(line, 'eval') === true;
}

/**
 * The step a line is plotted at, or null when it is not plotted: Stage 0 (pre-training) step
 * lines count Stage 0's own steps, which restart at 1 beside the run's global step, so they stay
 * off the charts; eval lines are at the global step they ran after (0 = before training).
 */
export function lineStep(line: MetricLine): number | null {
  const step = field(line, 'step');
  if (typeof step !== 'number' || !Number.isFinite(step)) return null;
  if (!isEvalLine(line) && field(line, 'stage') === 0) return null;
  return step;
}

/** The keys a chart plots for these runs: its own list, or the pass@k keys the eval lines hold, by k. */
export function chartKeys(spec: ChartSpec, runs: readonly RunLines[]): string[] {
  if (spec.keys !== 'pass@k') return [...spec.keys];
  const ks = new Set<number>();
  for (const run of runs) for (const line of run.lines) if (isEvalLine(line)) for (const key of Object.keys(line)) {
    const m = PASS_KEY.exec(key);
    if (m !== null) ks.add(Number(m[1]));
  }
  return ks.size === 0 ? [...DEFAULT_PASS_KEYS] : [...ks].sort((a, b) => a - b).map((k) => `pass@${k}`);
}

export interface SeriesInfo {
  runId: string;
  key: string;
  /** The legend's text: the key, after the run's label when several runs share the chart. */
  label: string;
  /** Read from eval lines: sparse, so drawn with points. */
  eval: boolean;
  /** Colour and dash pattern (an empty list draws a solid line). */
  colour: string;
  dash: readonly number[];
}

/**
 * A y value: a number, null where the line at this step holds no value for the key (drawn as a
 * gap: a null in metrics.jsonl means there was nothing to average), undefined where the series
 * has no line at this step at all (another run's step, or a step between two evaluations; the
 * line is drawn across it).
 */
export type YValue = number | null | undefined;

export interface ChartData {
  spec: ChartSpec;
  keys: string[];
  series: SeriesInfo[];
  /** Steps, ascending, without repeats: every step any series has a line at. */
  x: number[];
  /** One column per series, each as long as x. */
  y: YValue[][];
}

/** Colour-blind-safe colours (Okabe and Ito), then dash patterns. */
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];
const DASHES: readonly (readonly number[])[] = [[], [6, 3], [2, 3], [8, 3, 2, 3]];

/** One run: a colour per key. Several runs: a colour per run and a dash pattern per key, so runs read apart at a glance. */
export function seriesStyle(run: number, key: number, runs: number): { colour: string; dash: readonly number[] } {
  if (runs <= 1) return { colour: COLOURS[key % COLOURS.length], dash: DASHES[Math.floor(key / COLOURS.length) % DASHES.length] };
  return { colour: COLOURS[run % COLOURS.length], dash: DASHES[key % DASHES.length] };
}

function value(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * A chart's series for these runs (run order, then key order), aligned on one x column. Within a
 * run, a later line at the same step replaces an earlier one (a resumed run writes it again).
 */
export function chartData(spec: ChartSpec, runs: readonly RunLines[]): ChartData {
  const keys = chartKeys(spec, runs);
  const series: SeriesInfo[] = [];
  const columns: Map<number, number | null>[] = [];
  runs.forEach((run, r) => {
    // step -> line, separately for step lines and eval lines
    const byStep = { step: new Map<number, MetricLine>(), eval: new Map<number, MetricLine>() };
    for (const line of run.lines) {
      const step = lineStep(line);
      if (step !== null) byStep[isEvalLine(line) ? 'eval' : 'step'].set(step, line);
    }
    keys.forEach((key, k) => {
      const evalKey = isEvalKey(key);
      const column = new Map<number, number | null>();
      for (const [step, line] of byStep[evalKey ? 'eval' : 'step']) column.set(step, value(field(line, key)));
      columns.push(column);
      series.push({ runId: run.id, key, label: runs.length > 1 ? `${run.label}: ${key}` : key, eval: evalKey, ...seriesStyle(r, k, runs.length) });
    });
  });
  const steps = new Set<number>();
  for (const column of columns) for (const step of column.keys()) steps.add(step);
  const x = [...steps].sort((a, b) => a - b);
  const y = columns.map((column) => x.map((step) => (column.has(step) ? column.get(step) : undefined)));
  return { spec, keys, series, x, y };
}

/** Index of the last step at which a series has a number, or -1. */
export function lastValueIndex(column: readonly YValue[]): number {
  for (let i = column.length - 1; i >= 0; i--) if (typeof column[i] === 'number') return i;
  return -1;
}
