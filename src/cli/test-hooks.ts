/**
 * Test-only fault injection for the `exprl` command. Unset variables have no effect.
 *
 * EXPRL_TEST_KILL="POINT:N" makes the process kill itself with SIGKILL the N-th time it passes
 * POINT (1-based), so a test can stop a run at an exact place (mid-checkpoint-write included) and
 * check that a resume loses nothing. EXPRL_TEST_THROW="POINT:N" throws an error there instead: an
 * exception mid-step, which must leave the last checkpoint in force; EXPRL_TEST_SIGTERM and
 * EXPRL_TEST_SIGINT="POINT:N" send that signal there. Points: "checkpoint-write"
 * (policy written, the rest of the checkpoint not), "rollouts" (a step's rollouts appended, its
 * update not made), "checkpoint" (a checkpoint complete).
 * EXPRL_TEST_NAN poisons steps (testPoisonStep); EXPRL_TEST_DEVICE_LOSS loses the GPU device
 * (testDeviceLoss).
 */
import type { Gpu } from '../gpu/runtime';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';

/** Passes so far per variable and point. */
const passes = new Map<string, number>();

/**
 * EXPRL_TEST_NAN="FROM:COUNT": optimizer steps FROM .. FROM + COUNT - 1 (1-based, stages I on)
 * get NaN advantages, so their gradient norm is NaN (the run skips and counts them). Unset: none.
 */
export function testPoisonStep(globalStep: number): boolean {
  const spec = process.env.EXPRL_TEST_NAN;
  if (spec === undefined || spec === '') return false;
  const [from, count] = spec.split(':').map(Number);
  return globalStep >= from && globalStep < from + count;
}

/** True the N-th time `point` is passed, when the variable holds "POINT:N". */
function nthPass(variable: string, point: string): boolean {
  const spec = process.env[variable];
  if (spec === undefined || spec === '') return false;
  const [name, n] = spec.split(':');
  if (name !== point) return false;
  const key = `${variable}:${point}`;
  const count = (passes.get(key) ?? 0) + 1;
  passes.set(key, count);
  return count === Number(n);
}

/**
 * A place a test may stop the run at: EXPRL_TEST_KILL kills the process there, EXPRL_TEST_THROW
 * throws, and EXPRL_TEST_SIGTERM / EXPRL_TEST_SIGINT send the process that signal, as a user's
 * `kill` or Ctrl-C would: the run stops at its next step boundary and saves its state.
 */
export function testFaultPoint(point: string): void {
  if (nthPass('EXPRL_TEST_KILL', point)) process.kill(process.pid, 'SIGKILL');
  if (nthPass('EXPRL_TEST_THROW', point)) throw new Error(`test fault injected at ${point} (EXPRL_TEST_THROW)`);
  if (nthPass('EXPRL_TEST_SIGTERM', point)) process.kill(process.pid, 'SIGTERM');
  if (nthPass('EXPRL_TEST_SIGINT', point)) process.kill(process.pid, 'SIGINT');
}

let devicesLost = 0;

/**
 * EXPRL_TEST_DEVICE_LOSS="STEP" or "STEP:TIMES": once optimizer step STEP (1-based, stages I on)
 * has written its metrics line, the device is destroyed; the first TIMES passes (default 1) in
 * the process do so (a run resumed after the loss passes STEP again). Not through Gpu.destroy:
 * to the run it is a loss it did not ask for, as a driver reset would be.
 */
export function testDeviceLoss(line: StepMetrics | EvalLine, gpu: Gpu): void {
  const spec = process.env.EXPRL_TEST_DEVICE_LOSS;
  if (spec === undefined || spec === '') return;
  const [step, times = 1] = spec.split(':').map(Number);
  if (devicesLost >= times || ('eval' in line && line.eval === true) || line.stage < 1 || line.step !== step) return;
  devicesLost++;
  gpu.device.destroy();
}
