/**
 * What a run does when something goes wrong mid-run, for `exprl train` and `exprl experiment`:
 *
 *   executeRunSurvivingLoss   a device lost without our asking is replaced and the run resumes
 *                             from its last checkpoint, up to MAX_DEVICE_LOSSES losses a process
 *   withResumeHint            any other failure keeps the last checkpoint in force (a failed step
 *                             saves nothing: its weights may be half-updated) and says how to resume
 */
import { GpuMemoryError } from '../gpu/memory';
import { DeviceLostError, type DeviceLoss } from '../gpu/runtime';
import { UngradableTaskError } from '../judge/rubric';
import { ConfigError } from '../rl/config';
import type { RunResult } from '../rl/run';
import { UsageError } from './args';
import { renewGpu, type CliGpu } from './gpu';
import { executeRun, peekRunState, reopenRunFolder, type ExecuteRunOptions, type RunSetup } from './run-exec';

/** Device losses one process survives; the next ends the run (a GPU that keeps failing will not heal). */
export const MAX_DEVICE_LOSSES = 3;

function describeLoss(loss: DeviceLoss): string {
  return `${loss.reason}${loss.message === '' ? '' : `: ${loss.message}`}`;
}

/**
 * executeRun on `g`'s device; after a device loss the run did not ask for, a fresh device and the
 * run folder reopened at its last checkpoint (reopenRunFolder cuts metrics.jsonl and
 * rollouts.jsonl back to it, so the files end as an uninterrupted run's would).
 */
export async function executeRunSurvivingLoss(o: Omit<ExecuteRunOptions, 'gpu'>, g: CliGpu): Promise<RunResult> {
  let setup: RunSetup = { out: o.out, config: o.config, resume: o.resume };
  for (;;) {
    try {
      return await executeRun({ ...o, ...setup, gpu: g.gpu });
    } catch (e) {
      // A failure on a lost device is the loss, whatever error the lost work ended with.
      const loss = e instanceof DeviceLostError ? e.loss : g.gpu.lost;
      if (loss === null) throw e;
      g.losses++;
      if (g.losses >= MAX_DEVICE_LOSSES) {
        throw new Error(`the GPU device was lost ${g.losses} times (the last: ${describeLoss(loss)}); giving up`, { cause: e });
      }
      o.log(`the GPU device was lost (${describeLoss(loss)}); recreating it and resuming from the last checkpoint (loss ${g.losses}; the run gives up at ${MAX_DEVICE_LOSSES})`);
      await renewGpu(g);
      setup = await reopenRunFolder(o.out);
      const at = setup.resume?.state.cursor;
      o.log(at === undefined ? `resuming ${o.out} from the start (no checkpoint yet)` : `resuming ${o.out} at stage ${at.stage}, step ${at.step} (${at.globalStep} optimizer steps done)`);
    }
  }
}

/**
 * Errors of the setup, not of the run: resuming would meet them again (the command exits 2 for
 * the first three; a buffer too large for the device says which setting to lower in a new run).
 */
function isSetupError(e: unknown): boolean {
  return e instanceof UsageError || e instanceof ConfigError || e instanceof UngradableTaskError || e instanceof GpuMemoryError;
}

/**
 * Runs `body` (a run on the folder `out`); a failure of the run comes back with a second line
 * saying where the run's saved state stands and how to continue from it (`resumeHow`, e.g.
 * "exprl train --resume DIR"). The error keeps its class, so the exit code is unchanged.
 */
export async function withResumeHint<T>(out: string, resumeHow: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (isSetupError(e) || !(e instanceof Error)) throw e;
    const state = await peekRunState(out).catch(() => null);
    e.message +=
      state === null
        ? `\nno checkpoint was saved yet; ${resumeHow} starts the run again`
        : `\nthe last checkpoint (stage ${state.cursor.stage}, step ${state.cursor.step}) is intact; continue with: ${resumeHow}`;
    throw e;
  }
}
