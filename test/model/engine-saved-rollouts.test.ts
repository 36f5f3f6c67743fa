// The page's saved run keeps its rollouts (gpu-node project: the engine on Dawn, its saved run in
// memory). A run pauses after 2 RL steps; a new engine on the same folder (the page reloaded)
// resumes it and, before any new step, sends the rollouts of the saved steps as the first engine
// sent them live (the rubric's reasons too); the new step's rollouts follow. A second Resume in the
// same engine sends no saved step again (the page has them), and a bundle export carries every step.
// After another reload, showSavedRollouts sends the saved steps before any Resume, once.
import { testPlatform } from '#test-gpu';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChoiceStore } from '../../src/gpu/autotune';
import { Gpu } from '../../src/gpu/runtime';
import { preset } from '../../src/rl/config';
import type { StepMetrics } from '../../src/rl/metrics';
import type { EngineEvent, RolloutBatchView } from '../../src/worker/api';
import { Engine } from '../../src/worker/engine';
import { readBundle } from '../../src/worker/run-bundle';
import { bundleFromSavedRun } from '../../src/worker/run-bundle-io';
import { MemoryRunDir } from '../support/memory-run-dir';

const platform: string = testPlatform;
const made: Gpu[] = [];

async function freshGpu(): Promise<Gpu> {
  const { createNodeGpu } = await import('../../src/gpu/node-gpu');
  const gpu = await Gpu.create((await createNodeGpu()).gpu, 'Node (Dawn)');
  made.push(gpu);
  return gpu;
}

afterAll(() => {
  // Dawn aborts at process exit while a device lives.
  for (const g of made) g.destroy();
});

/** The tiny preset (rubric-judged ExpRL-Process), Stage I only, 5 steps, no evals. */
function config() {
  const c = preset('tiny');
  c.pretrain.steps = 0;
  c.stages = [{ ...c.stages[0], steps: 5 }];
  c.eval = { ...c.eval, before: false };
  return c;
}

/** The events' kinds in order: "m1" a step line, "r1" a step's rollouts, "start" a run-start. */
const kinds = (events: EngineEvent[]): string[] =>
  events.flatMap((e) => {
    if (e.type === 'run-start') return ['start'];
    if (e.type === 'run-metrics' && (e.line as { eval?: boolean }).eval !== true) return [`m${(e.line as StepMetrics).step}`];
    if (e.type === 'run-rollouts') return [`r${e.batch.step}`];
    return [];
  });
const batches = (events: EngineEvent[]): RolloutBatchView[] => events.flatMap((e) => (e.type === 'run-rollouts' ? [e.batch] : []));

describe.skipIf(platform !== 'node')('engine: the saved run keeps its rollouts', () => {
  it('a reload resumes with every saved step in the rollout browser before the next step; a second resume sends none again', async () => {
    const dir = new MemoryRunDir();
    const store = new MemoryChoiceStore();
    const first = new Engine(freshGpu, store, undefined, undefined, undefined, dir);
    await first.init();
    const live: EngineEvent[] = [];
    first.onEvent((e) => live.push(e));
    expect(await first.startRun(config(), 'builtin', { pauseAfter: 2 })).toMatchObject({ status: 'paused', steps: 2 });
    expect(kinds(live)).toEqual(['start', 'r1', 'm1', 'r2', 'm2']);

    // The page reloaded: a new engine (a new worker) on the same folder.
    const second = new Engine(freshGpu, store, undefined, undefined, undefined, dir);
    await second.init();
    const events: EngineEvent[] = [];
    second.onEvent((e) => events.push(e));
    expect(await second.resumeRun({ pauseAfter: 1 })).toMatchObject({ status: 'paused', steps: 3 });
    expect(kinds(events)).toEqual(['start', 'm1', 'm2', 'r1', 'r2', 'r3', 'm3']);
    // Rebuilt from rollouts.jsonl and prompts.json: as the first engine sent them live.
    expect(batches(events).slice(0, 2)).toEqual(batches(live));
    expect(batches(live)[0].rollouts.some((r) => r.segments.some((s) => s.reason !== undefined))).toBe(true);

    // Resume again in the same page: the saved steps are on screen already.
    events.length = 0;
    expect(await second.resumeRun({ pauseAfter: 1 })).toMatchObject({ status: 'paused', steps: 4 });
    expect(kinds(events)).toEqual(['start', 'm1', 'm2', 'm3', 'r4', 'm4']);

    // An export carries every step's rollouts, whatever the page showed.
    const b = readBundle(await bundleFromSavedRun(dir, [], 'exported'));
    expect([...new Set(b.rollouts.map((r) => r.step))]).toEqual([1, 2, 3, 4]);
    expect(b.rollouts).toHaveLength(4 * batches(live)[0].rollouts.length);

    // Reloaded once more: the page shows the saved rollouts before Resume, once; the resume then sends only new steps'.
    const third = new Engine(freshGpu, store, undefined, undefined, undefined, dir);
    await third.init();
    events.length = 0;
    third.onEvent((e) => events.push(e));
    expect(await third.showSavedRollouts()).toBe(4);
    expect(kinds(events)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(batches(events).slice(0, 2)).toEqual(batches(live));
    expect(await third.showSavedRollouts()).toBe(0);
    events.length = 0;
    expect(await third.resumeRun({ pauseAfter: 1 })).toMatchObject({ status: 'paused', steps: 5 });
    expect(kinds(events)).toEqual(['start', 'm1', 'm2', 'm3', 'm4', 'r5', 'm5']);
  }, 600_000);
});
