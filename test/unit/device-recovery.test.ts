// A device loss in the page (src/worker/device-recovery.ts): a run that fails on a lost device gets
// a new device and resumes from its saved state, with a note; other failures are thrown as they
// are; after MAX_PAGE_DEVICE_LOSSES losses the run pauses with the reason; a run that saved
// nothing yet starts again (or, on a loaded policy that went with the device, fails saying so).
// The test hook loses the device after the armed step's line only. No GPU: stand-ins.
import { describe, expect, it } from 'vitest';
import { DeviceLostError, type DeviceLoss } from '../../src/gpu/runtime';
import type { RunCursor } from '../../src/rl/run-state';
import type { StepMetrics } from '../../src/rl/metrics';
import type { EvalLine } from '../../src/rl/evaluate';
import type { RunSummary } from '../../src/worker/api';
import { DeviceLossHook, lossOf, MAX_PAGE_DEVICE_LOSSES, runSurvivingLoss, type RunRecoveryHost } from '../../src/worker/device-recovery';

const loss: DeviceLoss = { reason: 'unknown', message: 'GPU reset' };
const cursor = (globalStep: number): RunCursor => ({ stage: 1, step: globalStep, globalStep, baseEval: true, finished: false });
const done: RunSummary = { status: 'finished', steps: 5, judgeCalls: 0 };

interface Plan {
  from: string;
}

/** A host whose attempts fail as `failures` says, in order (then finish). */
function host(failures: unknown[], o: { saved?: RunCursor | null; saves?: boolean } = {}) {
  const log: string[] = [];
  let lost: DeviceLoss | null = null;
  const h: RunRecoveryHost<Plan> = {
    attempt: async (plan) => {
      log.push(`attempt ${plan.from}`);
      const f = failures.shift();
      if (f === undefined) return done;
      if (f instanceof DeviceLostError) lost = f.loss;
      throw f;
    },
    saves: () => o.saves ?? true,
    gpu: () => ({ lost }),
    renewDevice: async () => {
      log.push('renew');
      lost = null;
    },
    savedAt: async () => (o.saved === null ? null : { cursor: o.saved ?? cursor(3), judgeCalls: 7 }),
    resumePlan: async () => ({ from: 'saved' }),
    restartPlan: async (p) => (p.from === 'current' ? null : { from: 'restart' }),
    note: (m) => log.push(`note ${m}`),
  };
  return { h, log, lose: () => (lost = loss) };
}

describe('device loss in the page', () => {
  it('resumes from the saved state on a new device, and tells where', async () => {
    const { h, log } = host([new DeviceLostError(loss)]);
    expect(await runSurvivingLoss({ from: 'start' }, h)).toEqual(done);
    expect(log).toEqual([
      'attempt start',
      'renew',
      'note the GPU device was lost (unknown: GPU reset); recreated it and resumed from step 3 (stage 1, step 3), its last checkpoint. Loss 1 of this run; after 2 the run pauses.',
      'attempt saved',
    ]);
  });

  it('a vaguer error on a lost device is the loss too; an error on a live one is thrown as it is', async () => {
    const t = host([]);
    t.lose();
    expect(lossOf(new Error('AbortError: mapAsync'), t.h.gpu())).toEqual(loss);
    expect(lossOf(new Error('bad config'), { lost: null })).toBeNull();
    const { h, log } = host([new Error('bad config')]);
    await expect(runSurvivingLoss({ from: 'start' }, h)).rejects.toThrow('bad config');
    expect(log).toEqual(['attempt start']);
  });

  it('a run that keeps no state is not recovered', async () => {
    const { h } = host([new DeviceLostError(loss)], { saves: false });
    await expect(runSurvivingLoss({ from: 'start' }, h)).rejects.toThrow(DeviceLostError);
  });

  it(`pauses with the reason after ${MAX_PAGE_DEVICE_LOSSES} losses, on a new device`, async () => {
    const { h, log } = host(Array.from({ length: MAX_PAGE_DEVICE_LOSSES + 1 }, () => new DeviceLostError(loss)));
    const r = await runSurvivingLoss({ from: 'start' }, h);
    expect(r.status).toBe('paused');
    expect(r.steps).toBe(3);
    expect(r.judgeCalls).toBe(7);
    expect(r.reason).toMatch(/^the GPU device was lost 3 times \(the last: unknown: GPU reset\); the run is paused at its last checkpoint/);
    expect(log.filter((l) => l === 'renew').length).toBe(MAX_PAGE_DEVICE_LOSSES + 1);
    expect(log.filter((l) => l.startsWith('attempt')).length).toBe(MAX_PAGE_DEVICE_LOSSES + 1);
  });

  it('with nothing saved yet, starts again, or says the loaded policy is gone', async () => {
    const again = host([new DeviceLostError(loss)], { saved: null });
    expect(await runSurvivingLoss({ from: 'start' }, again.h)).toEqual(done);
    expect(again.log[2]).toMatch(/resumed from the start \(no checkpoint was saved yet\)/);
    expect(again.log[3]).toBe('attempt restart');
    const gone = host([new DeviceLostError(loss)], { saved: null });
    await expect(runSurvivingLoss({ from: 'current' }, gone.h)).rejects.toThrow(/before the run's first checkpoint; start the run again/);
  });

  it("the test hook destroys the device after the armed step's line, the first `times` times", () => {
    const hook = new DeviceLossHook();
    let destroyed = 0;
    const gpu = { device: { destroy: () => destroyed++ } as unknown as GPUDevice };
    const line = (stage: number, step: number): StepMetrics => ({ stage, step }) as StepMetrics;
    hook.afterLine(line(1, 2), gpu);
    expect(destroyed).toBe(0);
    hook.arm({ step: 2 });
    hook.afterLine(line(0, 2), gpu);
    hook.afterLine(line(1, 1), gpu);
    hook.afterLine({ eval: true, stage: 1, step: 2 } as unknown as EvalLine, gpu);
    expect(destroyed).toBe(0);
    hook.afterLine(line(1, 2), gpu);
    hook.afterLine(line(1, 2), gpu);
    expect(destroyed).toBe(1);
    hook.arm({ step: 2, times: 2 });
    hook.afterLine(line(1, 2), gpu);
    hook.afterLine(line(1, 2), gpu);
    hook.afterLine(line(1, 2), gpu);
    expect(destroyed).toBe(3);
    expect(() => hook.arm({ step: 0 })).toThrow(/positive integers/);
  });
});
