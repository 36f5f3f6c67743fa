/**
 * Test-only fault injection for the `exprl` command: EXPRL_TEST_KILL="POINT:N" makes the process
 * kill itself with SIGKILL the N-th time it passes POINT (1-based), so a test can stop a run at
 * an exact place (mid-checkpoint-write included) and check that a resume loses nothing. Points:
 * "checkpoint-write" (policy written, the rest of the checkpoint not), "rollouts" (a step's
 * rollouts appended, its update not made), "checkpoint" (a checkpoint complete). Unset: no effect.
 * EXPRL_TEST_NAN poisons steps (testPoisonStep).
 */
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

export function testKillPoint(point: string): void {
  const spec = process.env.EXPRL_TEST_KILL;
  if (spec === undefined || spec === '') return;
  const [name, n] = spec.split(':');
  if (name !== point) return;
  const count = (passes.get(point) ?? 0) + 1;
  passes.set(point, count);
  if (count === Number(n)) process.kill(process.pid, 'SIGKILL');
}
