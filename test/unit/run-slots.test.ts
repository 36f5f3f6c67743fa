// Run slots (src/worker/run-slots.ts) on an in-memory folder: the page's own run keeps its files at
// the top of the saved-run folder, a named slot its own under slots/<name>/, and beginning or
// clearing one leaves the others' files alone; a slot name cannot leave its folder.
import { describe, expect, it } from 'vitest';
import { preset } from '../../src/rl/config';
import { slotRunDir } from '../../src/worker/run-slots';
import { SavedRun } from '../../src/worker/saved-run';
import { MemoryRunDir } from '../support/memory-run-dir';

describe('slotRunDir', () => {
  it('the default slot is the folder itself; named slots are folders of their own that the others never touch', async () => {
    const dir = new MemoryRunDir();
    expect(slotRunDir(dir, undefined)).toBe(dir);
    const own = new SavedRun(slotRunDir(dir, undefined));
    const a = new SavedRun(slotRunDir(dir, 'compare-1'));
    const b = new SavedRun(slotRunDir(dir, 'compare-2'));
    await own.begin(preset('tiny'), null);
    await a.begin(preset('tiny'), { 'config.json': new Uint8Array([1]) });
    await b.begin(preset('small'), null);
    expect(dir.paths()).toEqual([
      'metrics.jsonl',
      'run.json',
      'slots/compare-1/metrics.jsonl',
      'slots/compare-1/run.json',
      'slots/compare-1/start-policy/config.json',
      'slots/compare-2/metrics.jsonl',
      'slots/compare-2/run.json',
    ]);
    // A new run of one slot, and clearing the page's own run, leave the other slots as they were.
    await a.begin(preset('small'), null);
    await own.clear();
    expect(dir.paths()).toEqual(['slots/compare-1/metrics.jsonl', 'slots/compare-1/run.json', 'slots/compare-2/metrics.jsonl', 'slots/compare-2/run.json']);
    expect(await slotRunDir(dir, 'compare-2').list('.')).toEqual([]);
    expect(JSON.parse(new TextDecoder().decode((await slotRunDir(dir, 'compare-2').read('run.json'))!)).policy).toBe(preset('small').policy);
  });

  it('refuses a slot name that would leave its folder', () => {
    const dir = new MemoryRunDir();
    for (const bad of ['', '..', 'a/b', '../x', 'a b']) expect(() => slotRunDir(dir, bad), bad).toThrow(/run slot/);
  });
});
