/**
 * Run bundles (src/worker/run-bundle.ts) to and from where runs live: the page's saved run
 * (a RunDir, src/worker/saved-run.ts, with its rollouts), a CLI run folder given as files, the
 * rollouts the page showed (RolloutBatchView), and the replay an imported bundle is viewed as (the run panel plays
 * it through the replay engine, as it plays a recorded run).
 *
 * Pure: no DOM, no GPU; folders are reached through RunDir or given as bytes.
 */
import type { RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import { methodTraits } from '../rl/methods';
import type { StepMetrics } from '../rl/metrics';
import { parseStateFile, STATE_DIR, STATE_FILE } from '../rl/run-state-files';
import { stagePool, stageSalt } from '../rl/stage-data';
import type { TaskItem } from '../tasks/types';
import type { RolloutBatchView } from './api';
import { REPLAY_FORMAT, REPLAY_VERSION, type Replay, type RolloutLine } from './replay-file';
import { BUNDLE_FILES, BUNDLE_LIMITS, BundleError, jsonLinesOf, parseConfigFile, parseMetricsFile, readBundle, writeBundle, type RunBundle } from './run-bundle';
import { METRICS_FILE, PROMPTS_FILE, ROLLOUTS_FILE, RUN_FILE, SavedRun, START_POLICY_DIR, type RunDir } from './saved-run';

/** Every item a stage of the run trains on, by id: the pools the run drew (src/rl/run.ts). Built-in families only. */
export function runItems(cfg: RunConfig): Map<string, TaskItem> {
  const items = new Map<string, TaskItem>();
  const methods = cfg.stages.map((s) => s.method);
  cfg.stages.forEach((s, i) => {
    if (methodTraits(s.method).trainsOnReferences) return; // SFT stages make no rollouts
    const pool = stagePool(cfg.tasks, s.split, s.poolSize ?? s.steps * s.promptsPerStep, cfg.seeds.data, stageSalt(methods, i + 1));
    for (const it of pool) items.set(it.id, it);
  });
  return items;
}

/** The rollout lines whose step has a step line among the metrics (a bundle holds no others), in the order of those lines. */
function onSteps(rollouts: readonly RolloutLine[], metrics: readonly (StepMetrics | EvalLine)[]): RolloutLine[] {
  const steps = new Map(metrics.filter((m) => (m as EvalLine).eval !== true).map((m, i) => [`${m.stage}:${m.step}`, i]));
  const at = (r: RolloutLine): number => steps.get(`${r.stage}:${r.step}`) ?? -1;
  return rollouts.filter((r) => at(r) >= 0).sort((a, b) => at(a) - at(b));
}

/**
 * The rollouts the page showed, as rollouts.jsonl lines and the items they name. Items come from
 * the run's own pools where they are built-in (family and difficulty included); an item the page
 * alone knows keeps its text, with family "unknown".
 */
export function rolloutLinesFromViews(config: RunConfig, batches: readonly RolloutBatchView[]): { rollouts: RolloutLine[]; prompts: TaskItem[] } {
  let pool: Map<string, TaskItem>;
  try {
    pool = runItems(config);
  } catch {
    pool = new Map();
  }
  const prompts = new Map<string, TaskItem>();
  const rollouts: RolloutLine[] = [];
  for (const b of batches) {
    for (const r of b.rollouts) {
      const p = b.prompts[r.group];
      if (p === undefined) continue;
      if (!prompts.has(p.id)) {
        const known = pool.get(p.id);
        prompts.set(p.id, known !== undefined && known.question === p.question ? known : { id: p.id, family: 'unknown', question: p.question, reference: p.reference, steps: [...p.steps], checkpoints: [...p.checkpoints], answer: p.answer, difficulty: 0 });
      }
      rollouts.push({
        stage: b.stage,
        step: b.step,
        method: b.method,
        prompt_id: p.id,
        text: r.text,
        segments: r.segments.map((s) => ({ text: s.text, score: s.score, advantage: s.advantage })),
        reward: r.reward,
        correct: r.correct,
        cut: r.cut,
        masked: r.masked,
        ...(r.judgeError !== undefined ? { judge_error: r.judgeError } : {}),
      });
    }
  }
  return { rollouts, prompts: [...prompts.values()] };
}

/** Every file under `path` of a RunDir, by its path. */
async function filesUnder(dir: RunDir, path: string, out: Record<string, Uint8Array>): Promise<void> {
  for (const name of await dir.list(path)) {
    const p = `${path}/${name}`;
    // A folder reads as missing (null): then its files.
    const b = await dir.read(p);
    if (b !== null) out[p] = b;
    else await filesUnder(dir, p, out);
  }
}

/**
 * The page's saved run as a bundle's zip bytes: its config, metric lines, state and starting
 * policy, and the rollouts its state counts (those it was imported with and those it made since);
 * then, for a step it holds none of (a run saved before the page kept rollouts), `shown` (the
 * rollouts the page showed).
 * A save may land while this reads (the run goes on): a checkpoint removed under it is read again.
 */
export async function bundleFromSavedRun(dir: RunDir, shown: readonly RolloutBatchView[], title: string): Promise<Uint8Array> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readSavedOnce(dir, shown, title);
    } catch (e) {
      if (!(e instanceof BundleError) || attempt >= 2 || !/missing/.test(e.message)) throw e;
    }
  }
}

async function readSavedOnce(dir: RunDir, shown: readonly RolloutBatchView[], title: string): Promise<Uint8Array> {
  const runBytes = await dir.read(RUN_FILE);
  if (runBytes === null) throw new BundleError('saved run', 'there is no run saved in this browser to export');
  const config = parseConfigFile(runBytes, `saved run: ${RUN_FILE}`);
  const stateText = await dir.read(STATE_FILE);
  const metricsBytes = (await dir.read(METRICS_FILE)) ?? new Uint8Array();
  let metrics = parseMetricsFile(metricsBytes, `saved run: ${METRICS_FILE}`);
  const state: Record<string, Uint8Array> = {};
  let rollouts: RolloutLine[] = [];
  let prompts: TaskItem[] = [];
  if (stateText !== null) {
    state[STATE_FILE] = stateText;
    await filesUnder(dir, STATE_DIR, state);
    await filesUnder(dir, START_POLICY_DIR, state);
    // The state counts its metric and rollout lines; longer files are what a save or a step cut short left.
    const st = parseStateFile(new TextDecoder().decode(stateText), `saved run: ${STATE_FILE}`).state;
    metrics = metrics.slice(0, st.lines.metrics);
    ({ lines: rollouts, prompts } = await new SavedRun(dir).rollouts(st, metrics));
  }
  if (metrics.length === 0) throw new BundleError('saved run', 'the run has no metric lines yet: nothing to export');
  const fresh = rolloutLinesFromViews(config, shown);
  const seen = new Set(rollouts.map((r) => `${r.stage}:${r.step}`));
  rollouts = [...rollouts, ...fresh.rollouts.filter((r) => !seen.has(`${r.stage}:${r.step}`))];
  const ids = new Set(prompts.map((p) => p.id));
  for (const p of fresh.prompts) if (!ids.has(p.id)) prompts.push(p);
  rollouts = onSteps(rollouts, metrics);
  const used = new Set(rollouts.map((r) => r.prompt_id));
  const zip = writeBundle({ title, source: 'page', config, metrics, rollouts, prompts: prompts.filter((p) => used.has(p.id)), state });
  // What is written is what an import reads: checked before it is offered.
  readBundle(zip, title);
  return zip;
}

/**
 * Makes the bundle the page's saved run ("continue this run"): whatever was saved goes; the
 * starting policy, the state's files, the metric lines and the rollouts are written, then
 * run.json, then state.json last, so a page closed midway leaves no state to resume.
 */
export async function writeSavedRun(dir: RunDir, b: RunBundle): Promise<void> {
  for (const name of [STATE_FILE, RUN_FILE, METRICS_FILE, ROLLOUTS_FILE, PROMPTS_FILE, STATE_DIR, START_POLICY_DIR]) await dir.remove(name);
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  for (const [path, bytes] of Object.entries(b.state)) if (path !== STATE_FILE) await dir.write(path, bytes);
  await dir.write(METRICS_FILE, enc(b.metrics.map((m) => JSON.stringify(m) + '\n').join('')));
  if (b.rollouts.length > 0) {
    await dir.write(ROLLOUTS_FILE, enc(b.rollouts.map((r) => JSON.stringify(r) + '\n').join('')));
    await dir.write(PROMPTS_FILE, enc(JSON.stringify(b.prompts) + '\n'));
  }
  await dir.write(RUN_FILE, enc(JSON.stringify(b.config, null, 2) + '\n'));
  await dir.write(STATE_FILE, b.state[STATE_FILE]);
}

/**
 * A CLI run folder (`exprl train --out DIR`) given as its files by path inside the folder, as a
 * bundle's zip bytes: run.json, metrics.jsonl, the state, and the rollouts with the items the
 * run's config draws (a run on an imported task set keeps no rollouts: their items are not known).
 */
export function bundleFromFolder(files: Readonly<Record<string, Uint8Array>>, title: string): { zip: Uint8Array; note: string | null } {
  const get = (p: string): Uint8Array => {
    const b = Object.hasOwn(files, p) ? files[p] : undefined;
    if (b === undefined) throw new BundleError(`${title}/${p}`, 'is missing from the run folder');
    return b;
  };
  const config = parseConfigFile(get(RUN_FILE), `${title}/${RUN_FILE}`);
  const metrics = parseMetricsFile(get(METRICS_FILE), `${title}/${METRICS_FILE}`);
  const state: Record<string, Uint8Array> = {};
  for (const [p, b] of Object.entries(files)) if (p === STATE_FILE || p.startsWith(`${STATE_DIR}/`) || p.startsWith(`${START_POLICY_DIR}/`)) state[p] = b;
  let rollouts: RolloutLine[] = [];
  let prompts: TaskItem[] = [];
  let note: string | null = null;
  if (Object.hasOwn(files, BUNDLE_FILES.rollouts)) {
    const items = runItems(config);
    const lines = jsonLinesOf(files[BUNDLE_FILES.rollouts], `${title}/${BUNDLE_FILES.rollouts}`, BUNDLE_LIMITS.lines).map((l) => l.value as unknown as RolloutLine);
    if (lines.every((r) => items.has(r.prompt_id))) {
      rollouts = onSteps(lines, metrics);
      const used = new Set(rollouts.map((r) => r.prompt_id));
      prompts = [...items.values()].filter((it) => used.has(it.id));
    } else note = "The rollouts are left out: they name prompts the run's config does not draw (an imported task set).";
  }
  return { zip: writeBundle({ title, source: 'cli', config, metrics, rollouts, prompts, state }), note };
}

/** An imported bundle as a replay: the run panel plays it through the replay engine. */
export function bundleReplay(b: RunBundle): Replay {
  const evals = b.metrics.filter((m) => (m as EvalLine).eval === true);
  const steps = b.metrics.length - evals.length;
  return {
    header: {
      format: REPLAY_FORMAT,
      version: REPLAY_VERSION,
      name: 'imported',
      title: b.manifest.title,
      about: `A run made ${b.manifest.source === 'cli' ? 'by the exprl command' : 'in this app'}: ${steps} step lines, ${evals.length} evaluations, ${b.rollouts.length} rollouts.`,
      config: b.config,
      prompts: b.prompts,
    },
    metrics: b.metrics,
    rollouts: b.rollouts,
  };
}
