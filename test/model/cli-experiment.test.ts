// `exprl experiment --plan quick` end to end (gpu-node project only: spawns `node bin/exprl.js`
// after `npm run build:cli`). The first call is killed (SIGKILL) at its 9th checkpoint, in the
// middle of sft-s1; the second resumes that run and makes the rest; the third finds every run
// finished and only writes the results again. Then: every arm × seed folder finished, results.json
// with every arm × seed × stage and its pass@k, results.md with the table, SVG plots; another plan
// into the same folder is refused.
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { ARMS } from '../../src/rl/experiment/plans';
import type { ExperimentResults } from '../../src/rl/experiment/results';
import { useExprl } from '../support/exprl-cli';

const platform: string = testPlatform;

describe.skipIf(platform !== 'node')('exprl experiment', () => {
  const cli = useExprl('exprl-cli-experiment');

  it('runs the quick plan, resumes it after a kill, skips it when done, and writes the results', async () => {
    const { readFile, readdir } = await import('node:fs/promises');
    const out = `${cli.root()}/quick`;
    const ids = [1, 2].flatMap((s) => ARMS.map((a) => `${a}-s${s}`));

    // base-s1 saves 4 checkpoints (after the base eval, its step, its eval, the end); sft-s1 one
    // before Stage I, one per step, one after its eval: its 5th is after its Stage II step.
    const killed = await cli.runWith({ ms: 600_000, env: { EXPRL_TEST_KILL: 'checkpoint:9' } }, 'experiment', '--plan', 'quick', '--out', out);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(killed.stderr).toContain('base-s1: finished');

    const t0 = Date.now();
    const r = await cli.runWithin(600_000, 'experiment', '--plan', 'quick', '--seeds', '2', '--out', out);
    const firstS = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('14 runs in');
    expect(r.stderr).toContain('1 finished (skipped), 1 to resume, 12 to start');
    expect(r.stderr).toContain('sft-s1: resuming at stage 2, step 1');
    expect(r.stderr).toMatch(/\[\d+\/38\] exprl-process s2 · Stage I step 2\/2 · reward \d\.\d{3} · correct \d\.\d{3} · [\d.]+ s\/step · ETA \S+/);
    expect(JSON.parse(r.stdout.trim())).toEqual({ status: 'finished', out, runs: 14, finished: 14, results: `${out}/results.json` });

    expect((await readdir(`${out}/runs`)).sort()).toEqual([...ids].sort());
    const metrics: Record<string, string> = {};
    for (const id of ids) {
      const state = JSON.parse(await readFile(`${out}/runs/${id}/state.json`, 'utf8'));
      expect(state.state.cursor.finished, id).toBe(true);
      metrics[id] = await readFile(`${out}/runs/${id}/metrics.jsonl`, 'utf8');
    }
    // The resumed run made each step and eval once.
    const sft = metrics['sft-s1'].trim().split('\n').map((l) => JSON.parse(l));
    expect(sft.map((m) => [m.step, m.stage, m.eval === true])).toEqual([[1, 1, false], [2, 1, false], [2, 1, true], [3, 2, false], [3, 2, true]]);

    const results = JSON.parse(await readFile(`${out}/results.json`, 'utf8')) as ExperimentResults;
    expect(results).toMatchObject({ format: 'exprl-experiment-results', plan: 'quick', seeds: [1, 2], arms: [...ARMS], package_version: expect.any(String) });
    expect(results.adapters.length).toBeGreaterThan(0);
    expect(results.wall_s).toBeGreaterThan(0);
    // Every session that ran steps says which build ran them: this one.
    expect(results.session_commits?.length).toBeGreaterThan(0);
    for (const c of results.session_commits ?? []) expect(c).toBe(results.commit);
    expect(results.runs.map((x) => x.id)).toEqual(ids);
    for (const run of results.runs) {
      expect(run.status, run.id).toBe('finished');
      const stages = run.arm === 'base' ? ['base', 'II'] : ['I', 'II'];
      for (const st of stages) {
        const e = run.eval[st as 'I'] as unknown as Record<string, unknown>;
        expect(typeof e['pass@1'], `${run.id} ${st}`).toBe('number');
        expect(typeof e['pass@4'], `${run.id} ${st}`).toBe('number');
      }
      expect(run.curves.II, run.id).toHaveLength(1);
      if (run.arm !== 'base') expect(run.curves.I, run.id).toHaveLength(2);
      expect(run.config.tasks.evalSplit).toBe('test');
    }
    expect(results.table.map((row) => row.arm)).toEqual([...ARMS]);
    for (const row of results.table) for (const st of ['I', 'II'] as const) expect(row.cells[st]['pass@1'].n, `${row.arm} ${st}`).toBe(2);

    const md = await readFile(`${out}/results.md`, 'utf8');
    expect(md).toContain('| Arm | pass@1 after Stage I | pass@4 after Stage I | pass@1 after Stage II | pass@4 after Stage II |');
    expect(md).toContain('## What was held equal');
    const plots = (await readdir(`${out}/plots`)).sort();
    expect(plots).toEqual(['correct_frac.svg', 'kl.svg', 'pass1.svg', 'reward_mean.svg', 'unlocked.svg']);
    for (const p of plots) {
      const svg = await readFile(`${out}/plots/${p}`, 'utf8');
      expect(svg.startsWith('<svg'), p).toBe(true);
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    }

    // Again: nothing to run, the same lines, the results written again.
    const t1 = Date.now();
    const again = await cli.runWithin(120_000, 'experiment', '--plan', 'quick', '--out', out);
    const againS = (Date.now() - t1) / 1000;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('14 finished (skipped), 0 to resume, 0 to start');
    expect(again.stderr).not.toContain('Stage I step');
    expect(againS).toBeLessThan(60);
    for (const id of ids) expect(await readFile(`${out}/runs/${id}/metrics.jsonl`, 'utf8'), id).toBe(metrics[id]);
    console.log(`exprl experiment --plan quick: ${firstS.toFixed(0)} s after the kill (13 of 14 runs), ${againS.toFixed(1)} s when all were finished`);

    const other = await cli.run('experiment', '--plan', 'replication', '--out', out);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('holds an experiment of the plan "quick", not "replication"');
  }, 1_500_000);
});
