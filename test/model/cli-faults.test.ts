// `exprl train` when something fails mid-run (gpu-node project only: spawns `node bin/exprl.js`
// after `npm run build:cli`). Faults come from the test-only hooks of src/cli/test-hooks.ts:
// - a device loss the run did not ask for (EXPRL_TEST_DEVICE_LOSS) is survived: a fresh device,
//   the run resumed from its last checkpoint, said on stderr, and the files end as an
//   uninterrupted run's (timings aside), final weights byte for byte;
// - a device lost again and again ends the run after 3 losses with an error that says how to
//   resume, and the resumed run ends as the uninterrupted one;
// - an exception mid-step (EXPRL_TEST_THROW) leaves the last checkpoint in force and says how to
//   resume; the resumed run ends as the uninterrupted one;
// - a sampling batch too large for one GPU buffer is refused before the GPU is asked, naming the
//   buffer and the settings to lower.
// Every run is SMALL_RUN_CONFIG (test/support/run-files.ts), whose comment lists its checkpoints.
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { parseRunState } from '../../src/rl/run-state';
import { useExprl, type Run } from '../support/exprl-cli';
import { expectSameRun, SMALL_RUN_CONFIG } from '../support/run-files';

const platform: string = testPlatform;

/** One child process may take this long (a whole run takes ~30 s alone on SwiftShader). */
const RUN_MS = 300_000;

function summary(r: Run): Record<string, unknown> {
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  const s = JSON.parse(lines[0]) as Record<string, unknown>;
  delete s.out;
  return s;
}

/** The cursor of the state in force, as [stage, step]. */
async function stateAt(out: string): Promise<[number, number]> {
  const { readFile } = await import('node:fs/promises');
  const wrap = JSON.parse(await readFile(`${out}/state.json`, 'utf8')) as { state: unknown };
  const { cursor } = parseRunState(wrap.state, `${out}/state.json`);
  return [cursor.stage, cursor.step];
}

describe.skipIf(platform !== 'node')('exprl train: faults mid-run', () => {
  const cli = useExprl('exprl-cli-faults');
  const config = (): string => `${cli.root()}/run-config.json`;
  const ref = (): string => `${cli.root()}/reference`;
  let refSummary: Record<string, unknown> | null = null;

  /** Resumes `out` with no fault: it finishes as the uninterrupted run did. */
  async function resumeToTheEnd(out: string): Promise<void> {
    const r = await cli.runWithin(RUN_MS, 'train', '--resume', out);
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r)).toEqual(refSummary);
    await expectSameRun(out, ref());
  }

  it('an uninterrupted run (the reference)', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(config(), JSON.stringify(SMALL_RUN_CONFIG, null, 2));
    const r = await cli.runWithin(RUN_MS, 'train', '--config', config(), '--out', ref());
    expect(r.code, r.stderr).toBe(0);
    refSummary = summary(r);
    expect(refSummary).toMatchObject({ status: 'finished', steps: 4 });
  }, 600_000);

  it('survives a device loss after step 2: resumes from the checkpoint of step 1 on a fresh device, same files', async () => {
    expect(refSummary, 'the reference run finished').not.toBeNull();
    const out = `${cli.root()}/lost-once`;
    // Step 2's metrics line is written, then the device goes; its checkpoint cannot be read from the GPU.
    const r = await cli.runWith({ ms: RUN_MS, env: { EXPRL_TEST_DEVICE_LOSS: '2' } }, 'train', '--config', config(), '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('exprl train: the GPU device was lost (destroyed: device was destroyed); recreating it and resuming from the last checkpoint (loss 1; the run gives up at 3)');
    expect(r.stderr).toContain(`exprl train: resuming ${out} at stage 1, step 1 (1 optimizer steps done)`);
    expect(r.stderr.match(/the GPU device was lost/g)).toHaveLength(1);
    expect(summary(r)).toEqual(refSummary);
    await expectSameRun(out, ref());
  }, 600_000);

  it('gives up at the third loss, saying how to resume; resumed, it ends as the uninterrupted run', async () => {
    expect(refSummary, 'the reference run finished').not.toBeNull();
    const out = `${cli.root()}/lost-thrice`;
    const r = await cli.runWith({ ms: RUN_MS, env: { EXPRL_TEST_DEVICE_LOSS: '2:3' } }, 'train', '--config', config(), '--out', out);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.match(/recreating it and resuming from the last checkpoint/g)).toHaveLength(2);
    expect(r.stderr).toContain('exprl train: the GPU device was lost 3 times (the last: destroyed: device was destroyed); giving up');
    expect(r.stderr).toContain(`the last checkpoint (stage 1, step 1) is intact; continue with: exprl train --resume ${out}`);
    expect(r.stdout).toBe('');
    expect(await stateAt(out)).toEqual([1, 1]);
    await resumeToTheEnd(out);
  }, 900_000);

  it('an exception mid-step leaves the last checkpoint in force and says how to resume; resumed, same files', async () => {
    expect(refSummary, 'the reference run finished').not.toBeNull();
    const out = `${cli.root()}/thrown`;
    // Stage I step 2: its rollouts are written, its update is not made.
    const r = await cli.runWith({ ms: RUN_MS, env: { EXPRL_TEST_THROW: 'rollouts:2' } }, 'train', '--config', config(), '--out', out);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('exprl train: test fault injected at rollouts (EXPRL_TEST_THROW)');
    expect(r.stderr).toContain(`the last checkpoint (stage 1, step 1) is intact; continue with: exprl train --resume ${out}`);
    expect(r.stdout).toBe('');
    expect(await stateAt(out)).toEqual([1, 1]);
    await resumeToTheEnd(out);
  }, 900_000);

  it('a sampling batch over the GPU buffer cap names the buffer and the settings to lower', async ({ skip }) => {
    const info = await cli.run('info');
    expect(info.code, info.stderr).toBe(0);
    const { limits } = (JSON.parse(info.stdout) as { adapter: { limits: Record<string, number> } }).adapter;
    const cap = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
    // With --max-tokens 256 every sequence's KV cache spans the built-in model's 255 positions:
    // a layer's k-cache takes sequences × 2 heads × 255 × 24 floats.
    const rollouts = Math.ceil((1.2 * cap) / (2 * 255 * 24 * 4) / 64);
    // An adapter whose buffers hold more than this test should ask the host to prepare.
    if (rollouts > 1024) skip();
    const out = `${cli.root()}/too-big`;
    const r = await cli.runWithin(RUN_MS, 'train', '--preset', 'tiny', '--prompts', '64', '--rollouts', String(rollouts), '--max-tokens', '256', '--stage2-steps', '0', '--out', out);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`exprl train: the GPU buffer "k-cache-0" \\[${64 * rollouts}, 2, 255, 24\\] needs [\\d.]+ MiB, more than this device's max\\w+ \\([\\d.]+ MiB\\)`));
    expect(r.stderr).toContain(`lower rollouts per prompt (stages[0].rolloutsPerPrompt = ${rollouts}), prompts per step (stages[0].promptsPerStep = 64)`);
    expect(r.stderr).toContain('Start a new run with the lower setting (a resumed run keeps its config).');
    expect(r.stderr).not.toContain('--resume');
  }, 600_000);
});
