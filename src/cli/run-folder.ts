/**
 * A run folder's state on disk (src/rl/run-state.ts says what the state is; src/rl/run-state-files.ts
 * its files, DIR/state.json and DIR/state/, which the page's saved run shares).
 *
 * A save writes a new c-* folder (numbered above any there, so never the one in force) and any
 * new frozen file, then replaces state.json by rename, then removes what the new state no longer
 * refers to. state.json is replaced atomically, so a kill at any point leaves the previous
 * complete checkpoint in force; a resume removes leftovers.
 */
import { mkdir, open, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { frozenKeys, RunStateError, type FlatWeights, type LoadedRunState, type RunSnapshot, type RunStateJson, type RunStore } from '../rl/run-state';
import { CHECKPOINT_NAME, checkpointName, frozenFileName, parseStateFile, readWeights, STATE_DIR, STATE_FILE, stateFileText, weightsFile } from '../rl/run-state-files';
import { testFaultPoint } from './test-hooks';

export { STATE_FILE };

async function writeDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  const f = await open(path, 'w');
  try {
    await f.writeFile(bytes);
    await f.sync();
  } finally {
    await f.close();
  }
}

export class RunFolder implements RunStore {
  private seq = 0;

  constructor(readonly dir: string) {}

  /** True when the folder holds a saved state. */
  async hasState(): Promise<boolean> {
    try {
      await readFile(join(this.dir, STATE_FILE));
      return true;
    } catch {
      return false;
    }
  }

  async save(snap: RunSnapshot): Promise<void> {
    const folder = await this.nextFolder();
    const at = join(this.dir, folder);
    await mkdir(at, { recursive: true });
    await writeDurable(join(at, 'policy.safetensors'), weightsFile({ flat: snap.policy }));
    testFaultPoint('checkpoint-write');
    if (snap.optimizer !== null) await writeDurable(join(at, 'optimizer.safetensors'), weightsFile({ m: snap.optimizer.m, v: snap.optimizer.v }));
    for (const [key, weights] of snap.frozen) {
      const file = join(this.dir, STATE_DIR, frozenFileName(key));
      await writeDurable(`${file}.tmp`, weightsFile({ flat: weights }));
      await rename(`${file}.tmp`, file);
    }
    const stateFile = join(this.dir, STATE_FILE);
    await writeDurable(`${stateFile}.tmp`, stateFileText(folder, snap.state));
    await rename(`${stateFile}.tmp`, stateFile);
    await this.removeUnused(folder, snap.state);
  }

  /**
   * A checkpoint folder name above every c-* folder there: never the one in force (a RunFolder that
   * did not load the state, or a resume's first save, would otherwise write over it).
   */
  private async nextFolder(): Promise<string> {
    const names = await readdir(join(this.dir, STATE_DIR)).catch(() => [] as string[]);
    for (const n of names) {
      const m = CHECKPOINT_NAME.exec(n);
      if (m !== null) this.seq = Math.max(this.seq, Number(m[1]));
    }
    return `${STATE_DIR}/${checkpointName(++this.seq)}`;
  }

  /** Deletes checkpoint folders and frozen files the state in force does not use (and half-written ones). */
  private async removeUnused(folder: string, state: RunStateJson): Promise<void> {
    const keep = new Set([folder.slice(STATE_DIR.length + 1), ...frozenKeys(state).map(frozenFileName)]);
    const names = await readdir(join(this.dir, STATE_DIR)).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => !keep.has(n)).map((n) => rm(join(this.dir, STATE_DIR, n), { recursive: true, force: true })));
  }

  /** state.json, checked: the folder of the checkpoint in force and its state. */
  private async readStateFile(): Promise<{ folder: string; state: RunStateJson }> {
    const stateFile = join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = await readFile(stateFile, 'utf8');
    } catch (e) {
      throw new RunStateError(stateFile, `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    return parseStateFile(text, stateFile);
  }

  /** The state in force without its weights (where a run is: cursor, evals, line counts); nothing is changed. */
  async peek(): Promise<RunStateJson> {
    return (await this.readStateFile()).state;
  }

  /** The state in force, with its weights; errors name the file. */
  async load(): Promise<LoadedRunState> {
    const wrap = await this.readStateFile();
    const state = wrap.state;
    this.seq = Number(wrap.folder.slice(-6));
    const at = join(this.dir, wrap.folder);
    const policyFile = join(at, 'policy.safetensors');
    const policy = readWeights(await readFile(policyFile), policyFile, 'flat');
    let optimizer: LoadedRunState['optimizer'] = null;
    if (state.optimizerStep !== null) {
      const f = join(at, 'optimizer.safetensors');
      const bytes = await readFile(f);
      optimizer = { m: readWeights(bytes, f, 'm'), v: readWeights(bytes, f, 'v') };
    }
    const frozen = new Map<string, FlatWeights>();
    for (const key of frozenKeys(state)) {
      const f = join(this.dir, STATE_DIR, frozenFileName(key));
      frozen.set(key, readWeights(await readFile(f), f, 'flat'));
    }
    await this.removeUnused(wrap.folder, state);
    return { state, policy, optimizer, frozen };
  }
}

/** Cuts a JSONL file to its first `lines` lines (what a state counts); a missing file counts as empty. */
export async function cutLines(file: string, lines: number): Promise<void> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (text === null) {
    if (lines === 0) return; // nothing to cut: the run appends to it
    throw new RunStateError(file, `is missing; the saved state counts ${lines} lines`);
  }
  let at = 0;
  for (let i = 0; i < lines; i++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) throw new RunStateError(file, `has ${i} complete lines; the saved state counts ${lines}`);
    at = nl + 1;
  }
  await truncate(file, Buffer.byteLength(text.slice(0, at), 'utf8'));
}
