// The engine (the page's worker) survives a device loss it did not ask for (gpu-node project only:
// it makes devices of its own, as the engine does after a loss): the test hook loses the device
// after RL step 2's line; the engine makes a new device, rebuilds the policy, resumes the saved run
// from step 1's checkpoint, says so in a run note, and the run finishes with every step. The GPU
// report follows the new device. A second loss past the limit pauses the run with the reason.
import { testPlatform } from '#test-gpu';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChoiceStore } from '../../src/gpu/autotune';
import { Gpu } from '../../src/gpu/runtime';
import { preset } from '../../src/rl/config';
import type { StepMetrics } from '../../src/rl/metrics';
import type { EngineEvent } from '../../src/worker/api';
import { MAX_PAGE_DEVICE_LOSSES } from '../../src/worker/device-recovery';
import { Engine } from '../../src/worker/engine';
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

/** The tiny preset, Stage I only, 3 steps, no evals: the built-in policy is rebuilt from its seed after a loss. */
function config() {
  const c = preset('tiny');
  c.pretrain.steps = 0;
  c.stages = [{ ...c.stages[0], steps: 3 }];
  c.eval = { ...c.eval, before: false };
  return c;
}

const stepsOf = (events: EngineEvent[]): number[] =>
  events.flatMap((e) => (e.type === 'run-metrics' && (e.line as { eval?: boolean }).eval !== true ? [(e.line as StepMetrics).step] : []));

describe.skipIf(platform !== 'node')('engine device loss', () => {
  it('recreates the device after a loss, resumes the saved run from its last checkpoint, and finishes it', async () => {
    const engine = new Engine(freshGpu, new MemoryChoiceStore(), undefined, undefined, undefined, new MemoryRunDir());
    await engine.init();
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    await engine.testDeviceLoss({ step: 2 });
    const summary = await engine.startRun(config(), 'builtin');
    expect(summary).toMatchObject({ status: 'finished', steps: 3 });
    expect(made.length).toBe(2);
    expect(made[0].lost?.reason).toBe('destroyed');
    expect(made[1].lost).toBeNull();
    const notes = events.flatMap((e) => (e.type === 'run-note' ? [e.message] : []));
    expect(notes).toContain(
      `the GPU device was lost (destroyed: device was destroyed); recreated it and resumed from step 1 (stage 1, step 1), its last checkpoint. Loss 1 of this run; after ${MAX_PAGE_DEVICE_LOSSES} the run pauses.`,
    );
    const starts = events.filter((e) => e.type === 'run-start');
    expect(starts.map((e) => (e.type === 'run-start' ? e.resumedAt?.globalStep ?? null : -1))).toEqual([null, 1]);
    // Steps 1 and 2 before the loss; after it, step 1 replayed from the saved lines, then 2 again and 3.
    expect(stepsOf(events)).toEqual([1, 2, 1, 2, 3]);
    // Step 1's rollouts, saved, are on the page already: the resume does not send them again; step 2 is made again.
    expect(events.flatMap((e) => (e.type === 'run-rollouts' ? [e.batch.step] : []))).toEqual([1, 2, 2, 3]);
    const report = await engine.gpuReport();
    expect(report.memory.byCategory.weights.bytes).toBeGreaterThan(0);
    expect(report.kernels?.matmul.length).toBeGreaterThan(0);
  }, 600_000);

  it(`pauses with the reason after ${MAX_PAGE_DEVICE_LOSSES + 1} losses in one run`, async () => {
    const engine = new Engine(freshGpu, new MemoryChoiceStore(), undefined, undefined, undefined, new MemoryRunDir());
    await engine.init();
    await engine.testDeviceLoss({ step: 2, times: MAX_PAGE_DEVICE_LOSSES + 1 });
    const summary = await engine.startRun(config(), 'builtin');
    expect(summary.status).toBe('paused');
    expect(summary.reason).toMatch(new RegExp(`^the GPU device was lost ${MAX_PAGE_DEVICE_LOSSES + 1} times \\(the last: destroyed: device was destroyed\\); the run is paused at its last checkpoint`));
    expect(summary.steps).toBe(1);
    // Resume continues on the device made after the last loss.
    await engine.testDeviceLoss(null);
    expect(await engine.resumeRun()).toMatchObject({ status: 'finished', steps: 3 });
  }, 600_000);
});
