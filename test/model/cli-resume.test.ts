// `exprl train --resume` end to end (gpu-node project only: spawns `node bin/exprl.js` after
// `npm run build:cli`). A run killed with SIGKILL at several points (EXPRL_TEST_KILL, see
// src/cli/test-hooks.ts), mid-checkpoint-write included, and resumed until it finishes writes the
// same metrics.jsonl and rollouts.jsonl as an uninterrupted run (timing keys aside) and the same
// final weights, bit for bit. So does one stopped by SIGTERM and SIGINT (it saves and exits 1).
//
// The run is small on purpose (each one is a child process on a software GPU): SMALL_RUN_CONFIG
// (test/support/run-files.ts), whose comment lists its checkpoints in order.
// "rollouts" passes: 1-3 the Stage I steps, 4 the Stage II step.
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { parseRunState, type RunStateJson } from '../../src/rl/run-state';
import { useExprl, type Run } from '../support/exprl-cli';
import { expectSameRun, SMALL_RUN_CONFIG, untimedLines } from '../support/run-files';

const platform: string = testPlatform;

const CONFIG = SMALL_RUN_CONFIG;
/** rollouts.jsonl lines per RL step. */
const R = 2;

/** One child process may take this long (a whole run takes ~30 s alone on SwiftShader). */
const RUN_MS = 300_000;

async function lineCount(file: string): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(file, 'utf8')).split('\n').length - 1;
}

/** state.json as a kill left it: it parses, and the checkpoint folder it names is there. */
async function stateAfterKill(out: string, what: string): Promise<{ folder: string; state: RunStateJson }> {
  const { readFile, readdir } = await import('node:fs/promises');
  const wrap = JSON.parse(await readFile(`${out}/state.json`, 'utf8')) as { folder: string; state: unknown };
  const state = parseRunState(wrap.state, `${what}: state.json`);
  const files = await readdir(`${out}/${wrap.folder}`);
  expect(files, what).toContain('policy.safetensors');
  if (state.optimizerStep !== null) expect(files, what).toContain('optimizer.safetensors');
  return { folder: wrap.folder, state };
}

function summary(r: Run): Record<string, unknown> {
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  const s = JSON.parse(lines[0]) as Record<string, unknown>;
  delete s.out;
  return s;
}

describe.skipIf(platform !== 'node')('exprl train --resume', () => {
  const cli = useExprl('exprl-cli-resume');
  const config = (): string => `${cli.root()}/run-config.json`;
  const ref = (): string => `${cli.root()}/reference`;
  let refSummary: Record<string, unknown> | null = null;

  it('an uninterrupted run; resumed once finished, it does nothing and exits 0', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(config(), JSON.stringify(CONFIG, null, 2));
    const r = await cli.runWithin(RUN_MS, 'train', '--config', config(), '--out', ref());
    expect(r.code, r.stderr).toBe(0);
    refSummary = summary(r);
    expect(refSummary).toMatchObject({ status: 'finished', steps: 4 });
    const metrics = (await untimedLines(`${ref()}/metrics.jsonl`)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(metrics.map((m) => [m.stage, m.step, m.eval === true])).toEqual([
      [0, 1, false], [0, 2, false], [0, 0, true], [1, 1, false], [1, 2, false], [1, 2, true], [1, 3, false], [2, 4, false], [2, 4, true],
    ]);
    expect(await lineCount(`${ref()}/rollouts.jsonl`)).toBe(4 * R);
    const { state } = await stateAfterKill(ref(), 'reference');
    expect(state.cursor.finished).toBe(true);

    const files = ['metrics.jsonl', 'rollouts.jsonl', 'checkpoint/model.safetensors', 'state.json'];
    const before = await Promise.all(files.map((f) => readFile(`${ref()}/${f}`)));
    const again = await cli.runWithin(RUN_MS, 'train', '--resume', ref());
    expect(again.code, again.stderr).toBe(0);
    expect(summary(again)).toEqual(refSummary);
    const after = await Promise.all(files.map((f) => readFile(`${ref()}/${f}`)));
    files.forEach((f, i) => expect(after[i].equals(before[i]), `${f} unchanged`).toBe(true));
  }, 900_000);

  it('refuses flags that change the config, and a folder that holds no run, with exit code 2', async () => {
    const steps = await cli.run('train', '--resume', ref(), '--steps', '5');
    expect(steps.code, steps.stderr).toBe(2);
    expect(steps.stderr).toContain('--steps would change it');
    const seed = await cli.run('train', '--resume', ref(), '--seed', '3');
    expect(seed.code, seed.stderr).toBe(2);
    expect(seed.stderr).toContain('--seed would change it');
    const { mkdir } = await import('node:fs/promises');
    const empty = `${cli.root()}/not-a-run`;
    await mkdir(empty, { recursive: true });
    const none = await cli.run('train', '--resume', empty);
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toContain(`${empty}/run.json cannot be read`);
  });

  // One run killed again and again, each resume counting its passes from 1, so that its kills
  // land in Stage 0, at the base eval, inside Stage I and Stage II and in the last checkpoint:
  // `at` is the cursor of the checkpoint a kill leaves in force, `ahead` the lines the files
  // hold past it (made again, identically, on resume). One chain of processes costs one run's
  // work plus a process start per kill; a chain per kill point would cost a whole run each.
  const kills: { kill: string; at: [number, number]; ahead: { metrics: number; rollouts: number }; why: string }[] = [
    { kill: 'checkpoint:1', at: [0, 1], ahead: { metrics: 0, rollouts: 0 }, why: 'Stage 0 step 1 checkpointed' },
    { kill: 'checkpoint-write:1', at: [0, 1], ahead: { metrics: 1, rollouts: 0 }, why: "a resume's first checkpoint (Stage 0 step 2) half-written: the one in force must survive" },
    { kill: 'checkpoint-write:2', at: [0, 2], ahead: { metrics: 1, rollouts: 0 }, why: 'the checkpoint after the base eval half-written' },
    { kill: 'rollouts:2', at: [1, 1], ahead: { metrics: 0, rollouts: R }, why: 'Stage I step 2: rollouts written, no update' },
    { kill: 'checkpoint-write:3', at: [1, 2], ahead: { metrics: 1, rollouts: R }, why: "Stage I's last step (3) half-checkpointed, after the eval at step 2" },
    { kill: 'rollouts:2', at: [1, 3], ahead: { metrics: 0, rollouts: R }, why: "Stage II's step: rollouts written, no update" },
    { kill: 'checkpoint-write:3', at: [2, 1], ahead: { metrics: 0, rollouts: 0 }, why: 'the last checkpoint (finished) half-written' },
  ];
  it(`killed ${kills.length} times with SIGKILL and resumed each time: the same files as the uninterrupted run`, async () => {
    expect(refSummary, 'the reference run finished').not.toBeNull();
    const { readdir } = await import('node:fs/promises');
    const out = `${cli.root()}/killed`;
    for (const [i, k] of kills.entries()) {
      const what = `run ${i + 1} killed at ${k.kill} (${k.why})`;
      const args = i === 0 ? ['train', '--config', config(), '--out', out] : ['train', '--resume', out];
      const r = await cli.runWith({ ms: RUN_MS, env: { EXPRL_TEST_KILL: k.kill } }, ...args);
      expect(r.signal, `${what}: exit code ${r.code}, ${r.stderr}`).toBe('SIGKILL');
      expect(r.stdout, what).toBe('');
      if (i > 0) expect(r.stderr, what).toContain(`exprl train: resuming ${out} at stage `);
      const { folder, state } = await stateAfterKill(out, what);
      expect([state.cursor.stage, state.cursor.step], what).toEqual(k.at);
      expect(state.cursor.finished, what).toBe(false);
      const ahead = { metrics: (await lineCount(`${out}/metrics.jsonl`)) - state.lines.metrics, rollouts: (await lineCount(`${out}/rollouts.jsonl`)) - state.lines.rollouts };
      expect(ahead, `${what}: lines past the state in force`).toEqual(k.ahead);
      if (k.kill.startsWith('checkpoint-write:')) {
        // The half-written checkpoint: a policy and nothing else, next to the one in force.
        const folders = (await readdir(`${out}/state`)).filter((n) => n.startsWith('c-'));
        expect(folders.length, `${what}: ${folders.join(', ')}`).toBe(2);
        const partial = folders.find((n) => `state/${n}` !== folder)!;
        expect(await readdir(`${out}/state/${partial}`), what).toEqual(['policy.safetensors']);
      }
    }
    const last = await cli.runWithin(RUN_MS, 'train', '--resume', out);
    expect(last.code, last.stderr).toBe(0);
    expect(summary(last)).toEqual(refSummary);
    await expectSameRun(out, ref());
  }, 900_000);

  // The signals a user sends (kill, Ctrl-C), each inside an RL step (rollouts written, update
  // under way: EXPRL_TEST_SIGTERM / EXPRL_TEST_SIGINT): the run ends that step, saves, says how to
  // go on and exits 1; resumed, it is the uninterrupted run.
  it('stopped by SIGTERM, then by SIGINT: state saved, exit 1 with the resume command; resumed, the same files as the uninterrupted run', async () => {
    expect(refSummary, 'the reference run finished').not.toBeNull();
    const out = `${cli.root()}/signalled`;
    const cases = [
      { signal: 'SIGTERM', args: ['train', '--config', config(), '--out', out] },
      { signal: 'SIGINT', args: ['train', '--resume', out] },
    ];
    for (const { signal, args } of cases) {
      const r = await cli.runWith({ ms: RUN_MS, env: { [`EXPRL_TEST_${signal}`]: 'rollouts:2' } }, ...args);
      expect(r.signal, `${signal}: ${r.stderr}`).toBeNull();
      expect(r.code, `${signal}: ${r.stderr}`).toBe(1);
      const s = summary(r);
      expect(s.status, signal).toBe('paused');
      expect(String(s.reason), signal).toContain(`interrupted (${signal}); the run state is saved: exprl train --resume ${out}`);
      const { state } = await stateAfterKill(out, `after ${signal}`);
      expect(state.cursor.finished, signal).toBe(false);
      // The step under way was finished and saved: nothing past the state in force.
      expect((await lineCount(`${out}/metrics.jsonl`)) - state.lines.metrics, signal).toBe(0);
      expect((await lineCount(`${out}/rollouts.jsonl`)) - state.lines.rollouts, signal).toBe(0);
    }
    const last = await cli.runWithin(RUN_MS, 'train', '--resume', out);
    expect(last.code, last.stderr).toBe(0);
    expect(summary(last)).toEqual(refSummary);
    await expectSameRun(out, ref());
  }, 900_000);
});
