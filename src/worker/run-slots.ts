/**
 * Run slots: the engine keeps one saved run per slot, so several runs (the arms of a comparison)
 * can take turns on the one GPU, each pausing with its state saved and resuming where it stood.
 * The page's own run is the default slot (no name): its files stay where they always were, at the
 * top of the saved-run folder. A named slot's files are the same layout (src/worker/saved-run.ts)
 * one folder down, `slots/<name>/`, which the default slot's files never touch.
 */
import { checkFileName, type RunDir } from './saved-run';

/** The folder that holds the named slots, inside the saved-run folder. */
export const SLOTS_DIR = 'slots';

/** A slot name: one path segment of letters, digits, '.', '_' or '-' (it names a folder). */
export function checkSlot(slot: string): string {
  try {
    return checkFileName(slot);
  } catch {
    throw new Error(`run slot "${slot}" must be 1-100 letters, digits, '.', '_' or '-'`);
  }
}

/** The folder of a slot: `dir` itself for the default slot (undefined), else `slots/<slot>/` under it. */
export function slotRunDir(dir: RunDir, slot: string | undefined): RunDir {
  if (slot === undefined) return dir;
  const base = `${SLOTS_DIR}/${checkSlot(slot)}`;
  const at = (path: string): string => `${base}/${path}`;
  return {
    read: (path) => dir.read(at(path)),
    write: (path, bytes) => dir.write(at(path), bytes),
    append: (path, bytes) => dir.append(at(path), bytes),
    list: (path) => dir.list(at(path)),
    remove: (path) => dir.remove(at(path)),
  };
}
