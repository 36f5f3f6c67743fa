/**
 * The page's saved run: one run's state in a folder of the origin-private file system, laid out
 * as a CLI run folder is (src/rl/run-state-files.ts), so a reload continues it exactly as
 * `exprl train --resume` continues a folder:
 *
 *   run.json        the run's config (validated; no key: a key never enters the config)
 *   metrics.jsonl   the metric lines the saved state counts (rewritten at each save)
 *   state.json, state/   the run state, as the CLI writes it
 *   start-policy/   the starting policy's files, when the run began from the policy loaded in the page
 *                   (a resume needs it: the base may be "the starting policy", rebuilt, not stored)
 *
 * The folder is reached through `RunDir`, so the layout is tested with an in-memory folder.
 * A save writes a new checkpoint folder and metrics.jsonl, then replaces state.json, then removes
 * what that state no longer uses: each file is replaced whole (an OPFS writable commits on close),
 * so a page closed mid-save leaves the previous state in force, and metrics.jsonl at least as long
 * as that state counts (a load cuts it there).
 */
import { validateConfig, type RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import { frozenKeys, RunStateError, type FlatWeights, type LoadedRunState, type RunSnapshot, type RunStateJson, type RunStore } from '../rl/run-state';
import { CHECKPOINT_NAME, checkpointName, frozenFileName, parseStateFile, readWeights, STATE_DIR, STATE_FILE, stateFileText, weightsFile } from '../rl/run-state-files';
import type { FolderFiles } from './api';

/** A folder as the saved run uses it; paths are '/'-separated and relative to it. */
export interface RunDir {
  /** The file's bytes; null when it is missing. */
  read(path: string): Promise<Uint8Array | null>;
  /** Replaces the file whole, making its folders: a reader sees the old bytes or the new, never a part. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Names in a folder; [] when it is missing. */
  list(path: string): Promise<string[]>;
  /** Removes a file, or a folder with everything in it; a missing one is no error. */
  remove(path: string): Promise<void>;
}

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const START_POLICY_DIR = 'start-policy';
/** The rollouts (and their task items) of a run imported from a bundle (src/worker/run-bundle-io.ts): an export carries them on. */
export const IMPORTED_ROLLOUTS_FILE = 'rollouts.jsonl';
export const IMPORTED_PROMPTS_FILE = 'prompts.json';

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
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export class SavedRun implements RunStore {
  private seq = 0;
  /** The run's metric lines as JSON text, in order; a save writes those its state counts. */
  private metrics: string[] = [];

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
    for (const name of [RUN_FILE, STATE_FILE, METRICS_FILE, IMPORTED_ROLLOUTS_FILE, IMPORTED_PROMPTS_FILE, STATE_DIR, START_POLICY_DIR]) await this.dir.remove(name);
    this.metrics = [];
    this.seq = 0;
  }

  /** A metric line of the run, as it is made (the run hands it over before the checkpoint that counts it). */
  addMetrics(line: StepMetrics | EvalLine): void {
    this.metrics.push(JSON.stringify(line));
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
    const names = await this.dir.list(START_POLICY_DIR);
    let startPolicy: FolderFiles | null = null;
    if (names.length > 0) {
      startPolicy = {};
      for (const n of names) startPolicy[n] = await this.need(`${START_POLICY_DIR}/${checkFileName(n)}`);
    }
    await this.removeUnused(folder, state);
    return { config, state, resume: { state, policy, optimizer, frozen }, metrics: this.metrics.map((l) => JSON.parse(l) as StepMetrics | EvalLine), startPolicy };
  }
}
