// A saved-run folder (src/worker/saved-run.ts RunDir) held in memory, for tests of what the page
// saves without OPFS: `failOn` makes writes and appends of one path throw (a page closed mid-save).
import type { RunDir } from '../../src/worker/saved-run';

export class MemoryRunDir implements RunDir {
  readonly files = new Map<string, Uint8Array>();
  failOn: string | null = null;
  async read(path: string): Promise<Uint8Array | null> {
    return this.files.get(path) ?? null;
  }
  async write(path: string, bytes: Uint8Array): Promise<void> {
    this.refuse('write', path);
    this.files.set(path, bytes.slice());
  }
  async append(path: string, bytes: Uint8Array): Promise<void> {
    this.refuse('append', path);
    const old = this.files.get(path) ?? new Uint8Array();
    const out = new Uint8Array(old.length + bytes.length);
    out.set(old);
    out.set(bytes, old.length);
    this.files.set(path, out);
  }
  async list(path: string): Promise<string[]> {
    const names = new Set<string>();
    for (const p of this.files.keys()) if (p.startsWith(`${path}/`)) names.add(p.slice(path.length + 1).split('/')[0]);
    return [...names].sort();
  }
  async remove(path: string): Promise<void> {
    for (const p of [...this.files.keys()]) if (p === path || p.startsWith(`${path}/`)) this.files.delete(p);
  }
  /** Every file's path, sorted. */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }
  private refuse(op: string, path: string): void {
    if (path === this.failOn) throw new Error(`${op} ${path}: the page is gone`);
  }
}
