/**
 * Temporary folders for GPU tests that run in both projects: a fresh path in Node (under TMPDIR),
 * undefined in the browser, where there is no file system. Node modules load through a computed
 * specifier so the browser bundle never tries to resolve them.
 */
const nodeProcess = (globalThis as { process?: { env: Record<string, string | undefined>; versions?: { node?: string } } }).process;
const inNode = typeof nodeProcess?.versions?.node === 'string';

/** A path that does not exist yet, or undefined outside Node. */
export function nodeTempPath(prefix: string): string | undefined {
  if (!inNode) return undefined;
  return `${nodeProcess?.env.TMPDIR ?? '/tmp'}/${prefix}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export async function removeNodePath(path: string | undefined): Promise<void> {
  if (path === undefined || !inNode) return;
  const specifier = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ specifier)) as typeof import('node:fs/promises');
  await fs.rm(path, { recursive: true, force: true });
}
