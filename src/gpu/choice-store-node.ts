/** Kernel choices remembered in a JSON file (Node): $XDG_CACHE_HOME/exprl-lab/kernel-choices.json. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ChoiceStore, KernelChoice } from './autotune';

export function defaultChoiceFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'exprl-lab', 'kernel-choices.json');
}

export class FileChoiceStore implements ChoiceStore {
  constructor(private readonly file = defaultChoiceFile()) {}

  private async load(): Promise<Record<string, KernelChoice>> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, KernelChoice>) : {};
    } catch {
      // A missing or damaged cache only costs a new probe.
      return {};
    }
  }

  async get(key: string): Promise<KernelChoice | undefined> {
    return (await this.load())[key];
  }

  async set(key: string, value: KernelChoice): Promise<void> {
    const all = await this.load();
    all[key] = value;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFile(this.file, JSON.stringify(all, null, 2) + '\n');
  }
}
