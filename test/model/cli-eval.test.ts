// `exprl eval` and `exprl judge` end to end (gpu-node project only: spawns `node bin/exprl.js`
// after `npm run build:cli`). Small on purpose: SwiftShader samples slowly.
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { useExprl, type Run } from '../support/exprl-cli';
import { onnxJudgeRepo } from '../support/onnx-judge-repo';

const platform: string = testPlatform;




function oneJson(r: Run): Record<string, unknown> {
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

const QUESTION = 'Start with 15, add 5, add 6, subtract 12. What is the result?';
const REFERENCE = '15 + 5 = 20\n20 + 6 = 26\n26 - 12 = 14\nAnswer: 14';

describe.skipIf(platform !== 'node')('exprl eval and judge', () => {
  const cli = useExprl('exprl-cli-eval');
  const exprl = cli.run;
  it('eval prints pass@1, pass@k and mean@n of an initialised policy', async () => {
    const dir = `${cli.root()}/policy`;
    const init = await exprl('init', '--out', dir, '--seed', '3');
    expect(init.code, init.stderr).toBe(0);
    const r = await exprl('eval', '--model', dir, '--tasks', 'arith-chain:eval:d=1', '--n', '2', '--k', '1,2', '--limit', '2', '--max-tokens', '8');
    expect(r.code, r.stderr).toBe(0);
    const line = oneJson(r);
    expect(Object.keys(line)).toEqual(['eval', 'prompts', 'n', 'pass@1', 'pass@2', 'mean@n', 'sound@n', 'families']);
    expect(line).toMatchObject({ eval: true, prompts: 2, n: 2 });
    for (const key of ['pass@1', 'pass@2', 'mean@n']) {
      const v = line[key] as number;
      expect(v, key).toBeGreaterThanOrEqual(0);
      expect(v, key).toBeLessThanOrEqual(1);
    }
    expect(line['pass@2'] as number).toBeGreaterThanOrEqual(line['pass@1'] as number);
    expect(Object.keys(line.families as object)).toEqual(['arith-chain']);

    const tooBig = await exprl('eval', '--model', dir, '--tasks', 'arith-chain', '--n', '2', '--k', '1,4');
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('--k 4 is greater than --n 2');
    const badSpec = await exprl('eval', '--model', dir, '--tasks', 'arith:eval', '--n', '2', '--k', '1');
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toContain('unknown family "arith"');
  }, 120_000);

  it('judge scores a correct response 5 and a wrong one 1 with the rubric; a failed call exits 1', async () => {
    const { writeFile } = await import('node:fs/promises');
    const rubric = `${cli.root()}/rubric.json`;
    const unreachable = `${cli.root()}/openai.json`;
    await writeFile(rubric, JSON.stringify({ judge: { kind: 'rubric' } }));
    // Port 9 (discard) has no listener here: the connection is refused at once, no retries.
    await writeFile(unreachable, JSON.stringify({ judge: { kind: 'openai', endpoint: 'http://127.0.0.1:9/v1', model: 'm', retries: 0 } }));
    await writeFile(`${cli.root()}/good.txt`, `${REFERENCE}\n`);
    await writeFile(`${cli.root()}/wrong.txt`, '15 + 5 = 21\nAnswer: 99\n');
    const judge = (config: string, response: string, ...more: string[]) =>
      exprl('judge', '--config', config, '--question', QUESTION, '--reference', REFERENCE, '--response', `${cli.root()}/${response}`, ...more);

    const good = await judge(rubric, 'good.txt');
    expect(good.code, good.stderr).toBe(0);
    expect(oneJson(good)).toMatchObject({ judge: 'rubric', mode: 'outcome', ok: true, score: 5, value: 1 });
    const wrong = await judge(rubric, 'wrong.txt');
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(oneJson(wrong)).toMatchObject({ ok: true, score: 1, value: 0 });
    const proc = await judge(rubric, 'good.txt', '--mode', 'process', '--view', 'prefix');
    expect(proc.code, proc.stderr).toBe(0);
    const p = oneJson(proc);
    expect(p).toMatchObject({ mode: 'process', view: 'prefix', ok: true });
    // Prefix k is the outcome rule on steps 1..k: 1 + floor(4 m / 4) with m of 3 checkpoints (a
    // last line "= 14" is no declared answer), then 5 once "Answer: 14" ends the prefix.
    expect((p.segments as { score: number }[]).map((s) => s.score)).toEqual([2, 3, 4, 5]);

    const failed = await judge(unreachable, 'good.txt');
    expect(failed.code).toBe(1);
    const f = oneJson(failed);
    expect(f).toMatchObject({ ok: false, failure: { kind: 'call' } });
    expect(f).not.toHaveProperty('score');

    const missing = await judge(rubric, 'nope.txt');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.txt');
  }, 120_000);

  it('judge runs a local judge model our kernels cannot run, from a folder, through transformers.js', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const dir = `${cli.root()}/onnx-judge`;
    for (const [file, bytes] of onnxJudgeRepo('Score: 4')) {
      await mkdir(`${dir}/${file}`.replace(/\/[^/]+$/, ''), { recursive: true });
      await writeFile(`${dir}/${file}`, bytes);
    }
    const config = `${cli.root()}/local.json`;
    await writeFile(config, JSON.stringify({ judge: { kind: 'local', model: dir, maxTokens: 8, dtype: 'fp32' } }));
    await writeFile(`${cli.root()}/steps.txt`, `${REFERENCE}\n`);
    const judge = (cfg: string, ...more: string[]) => exprl('judge', '--config', cfg, '--question', QUESTION, '--reference', REFERENCE, '--response', `${cli.root()}/steps.txt`, ...more);

    const outcome = await judge(config);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stderr).toMatch(/runs on transformers\.js \S+, cpu, fp32: our kernels cannot run it \(config\.json: architecture \["GPT2LMHeadModel"\]/);
    expect(oneJson(outcome)).toMatchObject({ judge: `local:${dir}`, mode: 'outcome', ok: true, score: 4, value: 0.75, raw: 'Score: 4' });
    const proc = await judge(config, '--mode', 'process');
    expect(proc.code, proc.stderr).toBe(0);
    expect((oneJson(proc).segments as { score: number }[]).map((x) => x.score)).toEqual([4, 4, 4, 4]);
    // Our kernels asked for by name, or weights the folder does not hold: refused with the reason.
    const kernels = `${cli.root()}/kernels.json`;
    await writeFile(kernels, JSON.stringify({ judge: { kind: 'local', model: dir, runtime: 'kernels' } }));
    const refused = await judge(kernels);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`exprl judge: ${dir}/config.json: architecture ["GPT2LMHeadModel"] is not supported (only LlamaForCausalLM)`);
    const q4 = `${cli.root()}/q4.json`;
    await writeFile(q4, JSON.stringify({ judge: { kind: 'local', model: dir, dtype: 'q4' } }));
    const noWeights = await judge(q4);
    expect(noWeights.code).toBe(1);
    expect(noWeights.stderr).toMatch(new RegExp(`transformers\\.js could not load the judge model ${dir}: .*onnx/model_q4\\.onnx`));
  }, 120_000);
});
