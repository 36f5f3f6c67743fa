/**
 * Model folders in the origin-private file system (browser page or worker): models/<name>/<file>.
 * Names are checked so a model name cannot reach outside its folder.
 */
import type { FolderFiles } from './api';

const ROOT = 'models';

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
