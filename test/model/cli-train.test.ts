// `exprl train` end to end (gpu-node project only: spawns `node bin/exprl.js` after
// `npm run build:cli`): the tiny preset writes run.json, metrics.jsonl, rollouts.jsonl and a
// checkpoint that loads again; usage mistakes exit 2 before any work.
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { preset, resolveConfig } from '../../src/rl/config';
import { STEP_METRIC_KEYS } from '../../src/rl/metrics';
import { useExprl } from '../support/exprl-cli';

const platform: string = testPlatform;

describe.skipIf(platform !== 'node')('exprl train', () => {
  const cli = useExprl('exprl-cli-train');

  it('runs the tiny preset with ExpRL-Process and writes the run folder', async () => {
    const { readFile, readdir } = await import('node:fs/promises');
    const out = `${cli.root()}/run`;
    const r = await cli.runWithin(600_000, 'train', '--preset', 'tiny', '--seed', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('stage 1 exprl-process: 8 to 80 judge calls per step (one per segment)');
    expect(r.stderr).toContain('judge-hacking probes against rubric');
    expect(r.stderr).toContain('no probe earned more than the minimum');
    const probes = JSON.parse(await readFile(`${out}/judge-probes.json`, 'utf8')) as { probe: string; exploitable: boolean }[];
    expect(probes.length).toBeGreaterThan(5);
    expect(probes.every((p) => !p.exploitable)).toBe(true);
    const summary = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'finished', out, steps: 4 });

    const run = JSON.parse(await readFile(`${out}/run.json`, 'utf8'));
    expect(run).toEqual(resolveConfig('tiny', { seeds: { init: 2, data: 2, sampling: 2 } }));

    const metrics = (await readFile(`${out}/metrics.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const steps = metrics.filter((m) => m.eval !== true);
    expect(steps.map((m) => [m.stage, m.method])).toEqual([[0, 'sft'], [0, 'sft'], [1, 'exprl-process'], [1, 'exprl-process'], [1, 'exprl-process'], [2, 'stage2']]);
    for (const m of steps) expect(Object.keys(m)).toEqual(STEP_METRIC_KEYS);
    expect(metrics.filter((m) => m.eval === true).map((m) => m.step)).toEqual([0, 4]);

    const rollouts = (await readFile(`${out}/rollouts.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const c = preset('tiny');
    expect(rollouts).toHaveLength(3 * c.stages[0].promptsPerStep * c.stages[0].rolloutsPerPrompt + c.stages[1].promptsPerStep * c.stages[1].rolloutsPerPrompt);
    for (const l of rollouts) {
      expect(typeof l.prompt_id).toBe('string');
      expect(typeof l.text).toBe('string');
      expect(typeof l.correct).toBe('boolean');
      expect(typeof l.masked).toBe('boolean');
      for (const s of l.segments) expect(Object.keys(s)).toEqual(['text', 'score', 'advantage']);
      if (l.stage === 1 && !l.masked) expect(l.segments.map((s: { text: string }) => s.text).join('')).toBe(l.text);
    }

    expect((await readdir(out)).sort()).toEqual(['checkpoint', 'judge-probes.json', 'metrics.jsonl', 'rollouts.jsonl', 'run.json', 'state', 'state.json']);
    expect((await readdir(`${out}/checkpoint`)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const again = await cli.run('logprobs', '--model', `${out}/checkpoint`, '--text', 'Answer: 4');
    expect(again.code, again.stderr).toBe(0);

    const clash = await cli.run('train', '--preset', 'tiny', '--out', out);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`already holds a run (run.json); continue it with --resume ${out}, or pass --force`);
  }, 900_000);

  it('skips and counts steps whose gradient norm is NaN, and pauses after 3 in a row', async () => {
    const { readFile } = await import('node:fs/promises');
    const out = `${cli.root()}/nan`;
    // Steps 2, 3 and 4 get NaN advantages (test-only hook); the tiny preset's Stage I has 3 steps.
    const r = await cli.runWith({ ms: 600_000, env: { EXPRL_TEST_NAN: '2:3' } }, 'train', '--preset', 'tiny', '--steps', '6', '--stage2-steps', '0', '--seed', '3', '--out', out);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('stage 1 step 2: the gradient norm was NaN or infinite, so the optimizer step was skipped');
    expect(r.stderr).toContain('paused: stage 1 step 4: 3 steps in a row skipped for a NaN or infinite gradient norm');
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ status: 'paused', steps: 4 });
    const steps = (await readFile(`${out}/metrics.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.eval !== true && m.stage === 1);
    expect(steps.map((m) => [m.step, m.skipped, m.grad_norm === null])).toEqual([[1, 0, false], [2, 1, true], [3, 1, true], [4, 1, true]]);
    const state = JSON.parse(await readFile(`${out}/state.json`, 'utf8'));
    expect(state.state.cursor).toMatchObject({ stage: 1, step: 4, globalStep: 4 });
  });

  it('refuses usage mistakes with exit code 2', async () => {
    const both = await cli.run('train', '--preset', 'tiny', '--config', 'x.json');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --preset or --config, not both');
    const method = await cli.run('train', '--preset', 'tiny', '--method', 'ppo');
    expect(method.code).toBe(2);
    expect(method.stderr).toContain('--method');
    // Config errors are usage errors too, and nothing is written before them.
    const selfJudge = await cli.run('train', '--preset', 'tiny', '--judge', 'policy', '--out', `${cli.root()}/x`);
    expect(selfJudge.code).toBe(2);
    expect(selfJudge.stderr).toContain('the self-judge needs an instruct model with a chat template');
    const noPolicy = await cli.run('train', '--preset', 'tiny', '--model', `${cli.root()}/no-such-model`, '--out', `${cli.root()}/y`);
    expect(noPolicy.code).toBe(2);
    expect(noPolicy.stderr).toContain(`policy "${cli.root()}/no-such-model" is neither`);
    const notUrl = await cli.run('train', '--preset', 'tiny', '--judge', 'openai', '--judge-endpoint', 'localhost:8000/v1', '--judge-model', 'm', '--out', `${cli.root()}/z`);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('judge.endpoint = "localhost:8000/v1": is not an http:// or https:// URL');
    const { existsSync } = await import('node:fs');
    for (const d of ['x', 'y', 'z']) expect(existsSync(`${cli.root()}/${d}`), d).toBe(false);
  });
});
