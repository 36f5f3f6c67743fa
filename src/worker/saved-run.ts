/**
 * The page's saved run: one run's state in a folder of the origin-private file system, laid out
 * as a CLI run folder is (src/rl/run-state-files.ts), so a reload continues it exactly as
 * `exprl train --resume` continues a folder:
 *
 *   run.json        the run's config (validated; no key: a key never enters the config)
 *   metrics.jsonl   the metric lines the saved state counts (rewritten at each save)
 *   rollouts.jsonl  one line per rollout, as the CLI writes it (src/rl/rollouts.ts, rolloutJsonLine),
 *                   appended as each step's rollouts arrive; a load cuts it to what the state counts
 *   prompts.json    every task item a rollout line names (a list; the bundle's prompts.json), so the
 *                   page rebuilds each step's rollout view from the saved run alone
 *   state.json, state/   the run state, as the CLI writes it
 *   start-policy/   the starting policy's files, when the run began from the policy loaded in the page
 *                   (a resume needs it: the base may be "the starting policy", rebuilt, not stored)
 *
 * The folder is reached through `RunDir`, so the layout is tested with an in-memory folder.
 * A save writes a new checkpoint folder and metrics.jsonl, then replaces state.json, then removes
 * what that state no longer uses: each file is replaced whole (an OPFS writable commits on close),
 * so a page closed mid-save leaves the previous state in force, and metrics.jsonl at least as long
 * as that state counts (a load cuts it there). A step's rollout lines are appended whole, after the
 * items they name are in prompts.json and before the checkpoint that counts them; a load cuts the
 * lines of a step the state does not count (one cut short), as `exprl train --resume` cuts the CLI's
 * rollouts.jsonl, so the step made again is not kept twice.
 */
import { validateConfig, type RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import { rolloutJsonLine } from '../rl/rollouts';
import type { RolloutBatch } from '../rl/run';
import { frozenKeys, RunStateError, type FlatWeights, type LoadedRunState, type RunSnapshot, type RunStateJson, type RunStore } from '../rl/run-state';
import { CHECKPOINT_NAME, checkpointName, frozenFileName, parseStateFile, readWeights, STATE_DIR, STATE_FILE, stateFileText, weightsFile } from '../rl/run-state-files';
import type { TaskItem } from '../tasks/types';
import type { FolderFiles } from './api';
import { parseItem, rolloutLine, type RolloutLine } from './replay-file';

/** A folder as the saved run uses it; paths are '/'-separated and relative to it. */
export interface RunDir {
  /** The file's bytes; null when it is missing. */
  read(path: string): Promise<Uint8Array | null>;
  /** Replaces the file whole, making its folders: a reader sees the old bytes or the new, never a part. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Names in a folder; [] when it is missing. */
  list(path: string): Promise<string[]>;
  /** Adds the bytes at the file's end, making it (and its folders) when missing: a reader sees the file before or after, never a part. */
  append(path: string, bytes: Uint8Array): Promise<void>;
  /** Removes a file, or a folder with everything in it; a missing one is no error. */
  remove(path: string): Promise<void>;
}

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const START_POLICY_DIR = 'start-policy';
/** The run's rollout lines and the task items they name: the run's own, or a bundle's it was imported from (src/worker/run-bundle-io.ts). */
export const ROLLOUTS_FILE = 'rollouts.jsonl';
export const PROMPTS_FILE = 'prompts.json';

/** A file name of a policy folder: one path segment, so a name cannot reach outside its folder. */
export function checkFileName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name) || name === '.' || name === '..') {
    throw new Error(`file name "${name}" must be 1-100 letters, digits, '.', '_' or '-'`);
  }
  return name;
}

/** Where a saved run is, without its weights. */
export interface SavedRunHead {
  config: RunConfig;
  state: RunStateJson;
}

/** A saved run as a resume takes it back. */
export interface SavedRunLoad extends SavedRunHead {
  resume: LoadedRunState;
  /** The metric lines the state counts, in order. */
  metrics: (StepMetrics | EvalLine)[];
  /** The starting policy's files, when the run began from the policy loaded in the page. */
  startPolicy: FolderFiles | null;
  /** The rollout lines the state counts, in order, and the items they name. */
  rollouts: RolloutLine[];
  prompts: TaskItem[];
}

/** The rollout lines a saved state counts, and the task items they name. */
export interface SavedRollouts {
  lines: RolloutLine[];
  prompts: TaskItem[];
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export class SavedRun implements RunStore {
  private seq = 0;
  /** The run's metric lines as JSON text, in order; a save writes those its state counts. */
  private metrics: string[] = [];
  /** The items prompts.json holds, by id (read when first needed). */
  private prompts: Map<string, TaskItem> | null = null;

  constructor(private readonly dir: RunDir) {}

  /** A new run: whatever was saved goes, then run.json (and the starting policy's files) are written. */
  async begin(config: RunConfig, startPolicy: FolderFiles | null): Promise<void> {
    await this.clear();
    if (startPolicy !== null) for (const [name, b] of Object.entries(startPolicy)) await this.dir.write(`${START_POLICY_DIR}/${checkFileName(name)}`, b);
    await this.dir.write(METRICS_FILE, new Uint8Array());
    await this.dir.write(RUN_FILE, bytes(JSON.stringify(config, null, 2) + '\n'));
  }

  /** Removes the saved run. */
  async clear(): Promise<void> {
    for (const name of [RUN_FILE, STATE_FILE, METRICS_FILE, ROLLOUTS_FILE, PROMPTS_FILE, STATE_DIR, START_POLICY_DIR]) await this.dir.remove(name);
    this.metrics = [];
    this.prompts = new Map();
    this.seq = 0;
  }

  /** A metric line of the run, as it is made (the run hands it over before the checkpoint that counts it). */
  addMetrics(line: StepMetrics | EvalLine): void {
    this.metrics.push(JSON.stringify(line));
  }

  /**
   * A step's rollouts, as they arrive (the run waits for this before the step's checkpoint): items
   * not yet in prompts.json are added to it, then the step's lines are appended to rollouts.jsonl,
   * each line through `redact` (the page's judge key never reaches a file).
   */
  async addRollouts(batch: RolloutBatch, redact: (line: string) => string = (line) => line): Promise<void> {
    const known = await this.knownPrompts();
    const named = new Set(batch.records.map((r) => r.itemId));
    const fresh = batch.items.filter((it) => named.has(it.id) && !known.has(it.id));
    if (fresh.length > 0) {
      for (const it of fresh) known.set(it.id, it);
      await this.dir.write(PROMPTS_FILE, bytes(JSON.stringify([...known.values()]) + '\n'));
    }
    const text = batch.records.map((r) => redact(rolloutJsonLine(r, { stage: batch.stage, step: batch.step, method: batch.method })) + '\n').join('');
    if (text !== '') await this.dir.append(ROLLOUTS_FILE, bytes(text));
  }

  private async knownPrompts(): Promise<Map<string, TaskItem>> {
    this.prompts ??= new Map((await this.readPrompts()).map((it) => [it.id, it]));
    return this.prompts;
  }

  /** prompts.json's items, checked; [] when it is missing. */
  private async readPrompts(): Promise<TaskItem[]> {
    const b = await this.dir.read(PROMPTS_FILE);
    if (b === null) return [];
    const where = `saved run: ${PROMPTS_FILE}`;
    let raw: unknown;
    try {
      raw = JSON.parse(text(b));
    } catch (e) {
      throw new RunStateError(where, `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!Array.isArray(raw)) throw new RunStateError(where, 'must be a list of task items');
    return raw.map((v, i) => checked(() => parseItem(v, `${where} [${i}]`)));
  }

  /**
   * rollouts.jsonl's lines that `state` counts, checked, with the items they name: the lines of the
   * steps it commits (a step line among `metrics`, the metric lines it counts), at most
   * `state.lines.rollouts` of them. For a run saved here that is the file's first
   * `state.lines.rollouts` lines, as the CLI cuts its rollouts.jsonl; a run imported from a bundle
   * that carried some of its rollouts (or saved before the page kept them) has fewer.
   */
  async rollouts(state: RunStateJson, metrics: readonly (StepMetrics | EvalLine)[]): Promise<SavedRollouts> {
    return (await this.readRollouts(state, metrics)).saved;
  }

  /** The saved rollouts; the file's text as it should be (the load cuts it so) and whether it is so; every item of prompts.json. */
  private async readRollouts(state: RunStateJson, metrics: readonly (StepMetrics | EvalLine)[]): Promise<{ saved: SavedRollouts; kept: string; whole: boolean; prompts: TaskItem[] }> {
    const prompts = await this.readPrompts();
    const b = await this.dir.read(ROLLOUTS_FILE);
    if (b === null) return { saved: { lines: [], prompts: [] }, kept: '', whole: true, prompts };
    const known = new Map(prompts.map((it) => [it.id, it]));
    const steps = new Set(metrics.filter((m) => (m as EvalLine).eval !== true).map((m) => `${m.stage}:${m.step}`));
    // Complete lines only: what follows the last newline is a part (none is written, but a file may come from elsewhere).
    const all = text(b).split('\n').slice(0, -1);
    const lines: RolloutLine[] = [];
    const texts: string[] = [];
    all.forEach((t, i) => {
      if (lines.length >= state.lines.rollouts || t.trim() === '') return;
      const where = `saved run: ${ROLLOUTS_FILE} line ${i + 1}`;
      let raw: unknown;
      try {
        raw = JSON.parse(t);
      } catch (e) {
        throw new RunStateError(where, `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RunStateError(where, 'must be a JSON object');
      const r = checked(() => rolloutLine(raw as Record<string, unknown>, where));
      if (!steps.has(`${r.stage}:${r.step}`)) return;
      if (!known.has(r.prompt_id)) throw new RunStateError(where, `prompt "${r.prompt_id}" is not among the items of ${PROMPTS_FILE}`);
      // The line as written (the CLI's fields the view does not read, too): a bundle carries it on.
      lines.push(raw as RolloutLine);
      texts.push(t);
    });
    const used = new Set(lines.map((r) => r.prompt_id));
    const kept = texts.map((t) => t + '\n').join('');
    return { saved: { lines, prompts: prompts.filter((it) => used.has(it.id)) }, kept, whole: bytes(kept).length === b.length, prompts };
  }

  async save(snap: RunSnapshot): Promise<void> {
    const names = await this.dir.list(STATE_DIR);
    for (const n of names) {
      const m = CHECKPOINT_NAME.exec(n);
      if (m !== null) this.seq = Math.max(this.seq, Number(m[1]));
    }
    const folder = `${STATE_DIR}/${checkpointName(++this.seq)}`;
    await this.dir.write(`${folder}/policy.safetensors`, weightsFile({ flat: snap.policy }));
    if (snap.optimizer !== null) await this.dir.write(`${folder}/optimizer.safetensors`, weightsFile({ m: snap.optimizer.m, v: snap.optimizer.v }));
    for (const [key, weights] of snap.frozen) await this.dir.write(`${STATE_DIR}/${frozenFileName(key)}`, weightsFile({ flat: weights }));
    const count = snap.state.lines.metrics;
    if (count > this.metrics.length) throw new RunStateError(METRICS_FILE, `the state counts ${count} metric lines; the run handed over ${this.metrics.length}`);
    await this.dir.write(METRICS_FILE, bytes(this.metrics.slice(0, count).map((l) => l + '\n').join('')));
    await this.dir.write(STATE_FILE, bytes(stateFileText(folder, snap.state)));
    await this.removeUnused(folder, snap.state);
  }

  /** Checkpoint folders and frozen files the state in force does not use (and half-written ones). */
  private async removeUnused(folder: string, state: RunStateJson): Promise<void> {
    const keep = new Set([folder.slice(STATE_DIR.length + 1), ...frozenKeys(state).map(frozenFileName)]);
    for (const n of await this.dir.list(STATE_DIR)) if (!keep.has(n)) await this.dir.remove(`${STATE_DIR}/${n}`);
  }

  private async need(path: string): Promise<Uint8Array> {
    const b = await this.dir.read(path);
    if (b === null) throw new RunStateError(`saved run: ${path}`, 'is missing');
    return b;
  }

  /** The saved run's config and state; null when nothing is saved (or no state yet). */
  async head(): Promise<SavedRunHead | null> {
    const run = await this.dir.read(RUN_FILE);
    const state = await this.dir.read(STATE_FILE);
    if (run === null || state === null) return null;
    return { config: this.parseConfig(run), state: parseStateFile(text(state), `saved run: ${STATE_FILE}`).state };
  }

  private parseConfig(b: Uint8Array): RunConfig {
    let raw: unknown;
    try {
      raw = JSON.parse(text(b));
    } catch (e) {
      throw new RunStateError(`saved run: ${RUN_FILE}`, `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    return validateConfig(raw as RunConfig);
  }

  /** metrics.jsonl's lines the state counts (a longer file is what a save cut short left). */
  private async metricTexts(state: RunStateJson): Promise<string[]> {
    const lines = text(await this.need(METRICS_FILE)).split('\n');
    if (lines.length - 1 < state.lines.metrics) throw new RunStateError(`saved run: ${METRICS_FILE}`, `has ${lines.length - 1} complete lines; the saved state counts ${state.lines.metrics}`);
    return lines.slice(0, state.lines.metrics);
  }

  /** The metric lines the saved state counts, in order (the page shows them before the run resumes). */
  async metricLines(state: RunStateJson): Promise<(StepMetrics | EvalLine)[]> {
    return (await this.metricTexts(state)).map((l) => JSON.parse(l) as StepMetrics | EvalLine);
  }

  /** The saved run with its weights, metric lines and starting policy; later saves continue from it. */
  async load(): Promise<SavedRunLoad> {
    const config = this.parseConfig(await this.need(RUN_FILE));
    const { folder, state } = parseStateFile(text(await this.need(STATE_FILE)), `saved run: ${STATE_FILE}`);
    this.seq = Number(folder.slice(-6));
    const policyFile = `${folder}/policy.safetensors`;
    const policy = readWeights(await this.need(policyFile), policyFile, 'flat');
    let optimizer: LoadedRunState['optimizer'] = null;
    if (state.optimizerStep !== null) {
      const f = `${folder}/optimizer.safetensors`;
      const b = await this.need(f);
      optimizer = { m: readWeights(b, f, 'm'), v: readWeights(b, f, 'v') };
    }
    const frozen = new Map<string, FlatWeights>();
    for (const key of frozenKeys(state)) {
      const f = `${STATE_DIR}/${frozenFileName(key)}`;
      frozen.set(key, readWeights(await this.need(f), f, 'flat'));
    }
    this.metrics = await this.metricTexts(state);
    const metrics = this.metrics.map((l) => JSON.parse(l) as StepMetrics | EvalLine);
    // The lines of a step the state does not count go before the run makes that step again.
    const r = await this.readRollouts(state, metrics);
    if (!r.whole) await this.dir.write(ROLLOUTS_FILE, bytes(r.kept));
    this.prompts = new Map(r.prompts.map((it) => [it.id, it]));
    const names = await this.dir.list(START_POLICY_DIR);
    let startPolicy: FolderFiles | null = null;
    if (names.length > 0) {
      startPolicy = {};
      for (const n of names) startPolicy[n] = await this.need(`${START_POLICY_DIR}/${checkFileName(n)}`);
    }
    await this.removeUnused(folder, state);
    return { config, state, resume: { state, policy, optimizer, frozen }, metrics, startPolicy, rollouts: r.saved.lines, prompts: r.saved.prompts };
  }
}

/** A check of replay-file.ts, its error as a RunStateError (which names the file and line already). */
function checked<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = message.indexOf(': ');
    throw new RunStateError(at < 0 ? 'saved run' : message.slice(0, at), at < 0 ? message : message.slice(at + 2));
  }
}
