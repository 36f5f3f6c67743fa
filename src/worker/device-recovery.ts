/**
 * A device loss in the page (the engine worker), as src/cli/run-recovery.ts handles one for
 * `exprl`: when a run fails on a device it did not ask to lose (a driver reset, the GPU process
 * restarted, the tab's GPU memory reclaimed), the engine makes a new device, loads the policy
 * again and resumes the run from its saved state, telling the page in a run note. After
 * MAX_PAGE_DEVICE_LOSSES losses in one run it stops trying: the run pauses with the reason, at
 * its last checkpoint.
 *
 * Also the test-only hook that loses the device (DeviceLossHook): armed only through the engine's
 * `testDeviceLoss`, which the page calls only when its own origin's storage holds the test flag
 * (src/ui/state/test-hooks.ts), never from a URL.
 */
import { DeviceLostError, type DeviceLoss, type Gpu } from '../gpu/runtime';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import type { RunCursor } from '../rl/run-state';
import type { RunSummary } from './api';

/** Device losses one run in the page survives; the next pauses it. */
export const MAX_PAGE_DEVICE_LOSSES = 2;

export function describeLoss(loss: DeviceLoss): string {
  return `${loss.reason}${loss.message === '' ? '' : `: ${loss.message}`}`;
}

/** The loss behind a failure: the error itself, or any failure once the device is known lost (lost work may end with a vaguer error). */
export function lossOf(e: unknown, gpu: Pick<Gpu, 'lost'> | null): DeviceLoss | null {
  if (e instanceof DeviceLostError) return e.loss;
  return gpu?.lost ?? null;
}

export interface SurviveLoss<P, R> {
  /** Runs the plan to its end. */
  attempt(plan: P): Promise<R>;
  /** The device loss behind a failure of `attempt`, or null (the failure is no loss: it is thrown). */
  lossOf(e: unknown): DeviceLoss | null;
  /** After the `count`-th loss: a new device, and the plan that continues the run on it. */
  recover(loss: DeviceLoss, count: number): Promise<P>;
  /** After the `count`-th loss, one over `max`: the run's result without another try. */
  giveUp(loss: DeviceLoss, count: number): Promise<R>;
  max: number;
}

/** `attempt(first)`, made again through `recover` after each device loss, up to `max` losses. */
export async function surviveDeviceLoss<P, R>(first: P, o: SurviveLoss<P, R>): Promise<R> {
  let plan = first;
  for (let losses = 0; ; ) {
    try {
      return await o.attempt(plan);
    } catch (e) {
      const loss = o.lossOf(e);
      if (loss === null) throw e;
      losses++;
      if (losses > o.max) return o.giveUp(loss, losses);
      plan = await o.recover(loss, losses);
    }
  }
}

/** What a run in the engine gives the recovery: how to run a plan, and how to continue after a loss. */
export interface RunRecoveryHost<P> {
  /** Runs the plan to its end. */
  attempt(plan: P): Promise<RunSummary>;
  /** Whether the plan's run is saved as it goes (a run without saved state ends at a loss). */
  saves(plan: P): boolean;
  /** The device now (its `lost` says whether a failure was a loss). */
  gpu(): Pick<Gpu, 'lost'> | null;
  /** Replaces the lost device (its policy and trainer go with it). */
  renewDevice(): Promise<void>;
  /** Where the saved state stands (null: no checkpoint yet), and the judge calls it counts. */
  savedAt(plan: P): Promise<{ cursor: RunCursor; judgeCalls: number } | null>;
  /** The plan that continues the run from its saved state (the policy loaded, the page told). */
  resumePlan(plan: P): Promise<P>;
  /** The plan that starts the run again when nothing was saved yet; null when it cannot be rebuilt. */
  restartPlan(plan: P): Promise<P | null>;
  note(message: string): void;
}

/**
 * host.attempt(first); after a device loss a new device and the run resumed from its saved state,
 * with a note; after `max` losses the run pauses (on a new device, when one can be had, so that
 * Resume continues it).
 */
export function runSurvivingLoss<P>(first: P, host: RunRecoveryHost<P>, max = MAX_PAGE_DEVICE_LOSSES): Promise<RunSummary> {
  let plan = first;
  return surviveDeviceLoss(first, {
    max,
    attempt: (p) => host.attempt((plan = p)),
    lossOf: (e) => (host.saves(plan) ? lossOf(e, host.gpu()) : null),
    recover: async (loss, count) => {
      await host.renewDevice();
      const at = await host.savedAt(plan);
      const next = at !== null ? await host.resumePlan(plan) : await host.restartPlan(plan);
      if (next === null) throw new Error(`the GPU device was lost (${describeLoss(loss)}) before the run's first checkpoint; start the run again`);
      host.note(recoveredNote(loss, count, max, at?.cursor ?? null));
      return next;
    },
    giveUp: async (loss, count) => {
      await host.renewDevice().catch(() => undefined);
      const at = await host.savedAt(plan);
      return { status: 'paused', reason: gaveUpReason(loss, count), steps: at?.cursor.globalStep ?? 0, judgeCalls: at?.judgeCalls ?? 0 };
    },
  });
}

/** What the page tells after a recovery: the loss, and where the run continues. */
export function recoveredNote(loss: DeviceLoss, count: number, max: number, at: { stage: number; step: number; globalStep: number } | null): string {
  const where = at === null ? 'from the start (no checkpoint was saved yet)' : `from step ${at.globalStep} (stage ${at.stage}, step ${at.step}), its last checkpoint`;
  return `the GPU device was lost (${describeLoss(loss)}); recreated it and resumed ${where}. Loss ${count} of this run; after ${max} the run pauses.`;
}

/** The reason a run pauses with once it gave up on the device. */
export function gaveUpReason(loss: DeviceLoss, count: number): string {
  return `the GPU device was lost ${count} times (the last: ${describeLoss(loss)}); the run is paused at its last checkpoint. Resume continues it on a new device; if the losses go on, reload the page or restart the browser`;
}

/** When the test hook loses the device: after RL step `step` (1-based, stages I on), the first `times` passes. */
export interface DeviceLossSpec {
  step: number;
  times?: number;
}

/**
 * The test-only device loss, as EXPRL_TEST_DEVICE_LOSS does it for the CLI: once the armed step's
 * metrics line is out, the device is destroyed. Not through Gpu.destroy: to the run it is a
 * loss it did not ask for, as a driver reset would be.
 */
export class DeviceLossHook {
  private spec: DeviceLossSpec | null = null;
  private done = 0;

  arm(spec: DeviceLossSpec | null): void {
    if (spec !== null && !(Number.isInteger(spec.step) && spec.step >= 1 && (spec.times === undefined || (Number.isInteger(spec.times) && spec.times >= 1)))) {
      throw new Error(`testDeviceLoss: step ${spec.step} and times ${spec.times} must be positive integers`);
    }
    this.spec = spec;
    this.done = 0;
  }

  /** After each metrics line of a run: loses the device when the armed step's line is out. */
  afterLine(line: StepMetrics | EvalLine, gpu: Pick<Gpu, 'device'>): void {
    const s = this.spec;
    if (s === null || this.done >= (s.times ?? 1) || ('eval' in line && line.eval === true) || line.stage < 1 || line.step !== s.step) return;
    this.done++;
    gpu.device.destroy();
  }
}
