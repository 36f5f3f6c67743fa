/**
 * The run state's file layout, shared by the shells that store it: the CLI's run folder
 * (src/cli/run-folder.ts, on disk) and the page's saved run (src/worker/saved-run.ts, in the
 * origin-private file system). Both write the same files, so one reader fits both:
 *
 *   state.json                         {"folder": "state/c-000012", "state": RunStateJson}
 *   state/c-000012/policy.safetensors  flat.0 ...: the policy's flat parameter buffers
 *   state/c-000012/optimizer.safetensors  m.0 ..., v.0 ...: AdamW's moments (when a trainer is live)
 *   state/frozen-KEY.safetensors       a frozen policy (base, a stage's reference), written once
 *
 * Pure: bytes and text in and out; the shells own the files.
 */
import { parseSafetensors, writeSafetensors } from '../model/safetensors';
import { parseRunState, RunStateError, type FlatWeights, type RunStateJson } from './run-state';

export const STATE_FILE = 'state.json';
export const STATE_DIR = 'state';
/** A checkpoint folder's name inside STATE_DIR. */
export const CHECKPOINT_NAME = /^c-(\d{6})$/;

export function checkpointName(seq: number): string {
  return `c-${String(seq).padStart(6, '0')}`;
}

export function frozenFileName(key: string): string {
  return `frozen-${key}.safetensors`;
}

/** Weight groups as one safetensors file: each buffer of group `prefix` is the tensor `prefix.i`. */
export function weightsFile(groups: Record<string, FlatWeights>): Uint8Array {
  return writeSafetensors(Object.entries(groups).flatMap(([prefix, bufs]) => bufs.map((data, i) => ({ name: `${prefix}.${i}`, shape: [data.length], data }))));
}

/** The buffers `prefix.0`, `prefix.1`, ... of a weights file; errors name the file. */
export function readWeights(bytes: Uint8Array, file: string, prefix: string): FlatWeights {
  const st = parseSafetensors(bytes, file);
  const out: FlatWeights = [];
  for (let i = 0; st.header.byName.has(`${prefix}.${i}`); i++) out.push(st.float32(`${prefix}.${i}`));
  if (out.length === 0) throw new RunStateError(file, `holds no ${prefix}.0 tensor`);
  return out;
}

export function stateFileText(folder: string, state: RunStateJson): string {
  return JSON.stringify({ folder, state }) + '\n';
}

/** state.json's text, checked: the folder of the checkpoint in force ("state/c-NNNNNN") and its state. */
export function parseStateFile(text: string, where: string): { folder: string; state: RunStateJson } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RunStateError(where, `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const wrap = parsed as { folder?: unknown; state?: unknown };
  if (typeof wrap !== 'object' || wrap === null || typeof wrap.folder !== 'string' || !/^state\/c-\d{6}$/.test(wrap.folder)) {
    throw new RunStateError(where, 'must hold {"folder": "state/c-NNNNNN", "state": {...}}');
  }
  return { folder: wrap.folder, state: parseRunState(wrap.state, `${where}: state`) };
}
