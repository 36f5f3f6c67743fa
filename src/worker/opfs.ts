/**
 * Model folders in the origin-private file system (browser page or worker): models/<name>/<file>;
 * and the folder of the page's saved run (opfsRunDir). Names are checked so a name cannot reach
 * outside its folder.
 */
import type { FolderFiles } from './api';
import type { RunDir } from './saved-run';

const ROOT = 'models';
/** The folder of the page's saved run (opfsRunDir). */
export const SAVED_RUN_DIR = 'saved-run';

function checkName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name) || name === '.' || name === '..') {
    throw new Error(`model name "${name}" must be 1-100 letters, digits, '.', '_' or '-'`);
  }
  return name;
}

async function modelsDir(): Promise<FileSystemDirectoryHandle> {
  if (typeof navigator === 'undefined' || navigator.storage?.getDirectory === undefined) {
    throw new Error('this browser has no origin-private file system (navigator.storage.getDirectory)');
  }
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(ROOT, { create: true });
}

/**
 * Replaces models/<name> with the files. Not atomic: a save cut short leaves a folder that
 * loading rejects, naming the file or tensor that is missing.
 */
export async function saveFolder(name: string, files: FolderFiles): Promise<void> {
  const models = await modelsDir();
  await models.removeEntry(checkName(name), { recursive: true }).catch(() => undefined);
  const dir = await models.getDirectoryHandle(name, { create: true });
  for (const [file, bytes] of Object.entries(files)) {
    const writable = await (await dir.getFileHandle(checkName(file), { create: true })).createWritable();
    await writable.write(bytes as Uint8Array<ArrayBuffer>);
    await writable.close();
  }
}

export async function loadFolder(name: string): Promise<FolderFiles> {
  const models = await modelsDir();
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await models.getDirectoryHandle(checkName(name));
  } catch {
    throw new Error(`no saved model named "${name}" in this browser`);
  }
  const out: FolderFiles = {};
  for await (const [file, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
    if (handle.kind === 'file') out[file] = new Uint8Array(await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer());
  }
  return out;
}

export async function listFolders(): Promise<string[]> {
  const models = await modelsDir();
  const names: string[] = [];
  for await (const [name, handle] of models as unknown as AsyncIterable<[string, FileSystemHandle]>) {
    if (handle.kind === 'directory') names.push(name);
  }
  return names.sort();
}

/**
 * A folder of the origin-private file system as the saved run uses it (src/worker/saved-run.ts).
 * Paths are '/'-separated; each segment is checked as a name, so no path leaves the folder.
 */
export function opfsRunDir(name: string): RunDir {
  const root = async (): Promise<FileSystemDirectoryHandle> => {
    if (typeof navigator === 'undefined' || navigator.storage?.getDirectory === undefined) {
      throw new Error('this browser has no origin-private file system (navigator.storage.getDirectory)');
    }
    return (await navigator.storage.getDirectory()).getDirectoryHandle(checkName(name), { create: true });
  };
  /** The folder holding `path`'s last segment, and that segment; null when a folder on the way is missing. */
  const parent = async (path: string, create: boolean): Promise<[FileSystemDirectoryHandle, string] | null> => {
    const parts = path.split('/').map(checkName);
    let dir = await root();
    for (const p of parts.slice(0, -1)) {
      try {
        dir = await dir.getDirectoryHandle(p, { create });
      } catch (e) {
        if (!create && e instanceof DOMException && e.name === 'NotFoundError') return null;
        throw e;
      }
    }
    return [dir, parts[parts.length - 1]];
  };
  const missing = (e: unknown): boolean => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');
  return {
    async read(path) {
      const at = await parent(path, false);
      if (at === null) return null;
      try {
        return new Uint8Array(await (await (await at[0].getFileHandle(at[1])).getFile()).arrayBuffer());
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
    },
    async write(path, bytes) {
      const [dir, file] = (await parent(path, true))!;
      // A writable goes to a swap file and replaces the file on close: a reader never sees a part.
      const writable = await (await dir.getFileHandle(file, { create: true })).createWritable();
      await writable.write(bytes as Uint8Array<ArrayBuffer>);
      await writable.close();
    },
    async append(path, bytes) {
      const [dir, file] = (await parent(path, true))!;
      const handle = await dir.getFileHandle(file, { create: true });
      const size = (await handle.getFile()).size;
      // The swap file starts as a copy of the file; it replaces the file on close, as write's does.
      const writable = await handle.createWritable({ keepExistingData: true });
      await writable.write({ type: 'write', position: size, data: bytes as Uint8Array<ArrayBuffer> });
      await writable.close();
    },
    async list(path) {
      const at = await parent(`${path}/x`, false);
      if (at === null) return [];
      const names: string[] = [];
      for await (const [n] of at[0] as unknown as AsyncIterable<[string, FileSystemHandle]>) names.push(n);
      return names.sort();
    },
    async remove(path) {
      const at = await parent(path, false);
      if (at === null) return;
      await at[0].removeEntry(at[1], { recursive: true }).catch((e: unknown) => {
        if (!missing(e)) throw e;
      });
    },
  };
}
