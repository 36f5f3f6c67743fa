/**
 * Test-only hooks of the page, armed only from the page's own origin storage: a test sets the
 * flag (sessionStorage, before the page's scripts run), a link cannot. Unset: nothing happens.
 *
 *   exprl-test-device-loss = "STEP" or "STEP:TIMES"   the engine loses its GPU device once RL step
 *                            STEP's metrics line is out, the first TIMES times (default 1), as
 *                            EXPRL_TEST_DEVICE_LOSS does for `exprl` (src/worker/device-recovery.ts)
 */
import type { EngineApi } from '../../worker/api';

export const TEST_DEVICE_LOSS_KEY = 'exprl-test-device-loss';

/** The device-loss spec the flag holds; null when unset; throws on a malformed one. */
export function deviceLossSpec(flag: string | null): { step: number; times?: number } | null {
  if (flag === null || flag === '') return null;
  const m = /^(\d+)(?::(\d+))?$/.exec(flag);
  if (m === null) throw new Error(`${TEST_DEVICE_LOSS_KEY} = "${flag}": expected STEP or STEP:TIMES`);
  return m[2] === undefined ? { step: Number(m[1]) } : { step: Number(m[1]), times: Number(m[2]) };
}

/** Arms the engine's test hooks the storage asks for. */
export async function armTestHooks(engine: object, storage: Pick<Storage, 'getItem'>): Promise<void> {
  const spec = deviceLossSpec(storage.getItem(TEST_DEVICE_LOSS_KEY));
  if (spec === null) return;
  const call = (engine as Partial<Pick<EngineApi, 'testDeviceLoss'>>).testDeviceLoss;
  if (typeof call !== 'function') throw new Error(`${TEST_DEVICE_LOSS_KEY} is set, but this engine cannot lose its device`);
  await call(spec);
}
