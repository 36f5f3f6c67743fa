// The `exprl` command end to end (gpu-node project only: it spawns `node bin/exprl.js` after
// `npm run build:cli`): init, logprobs on the saved policy and on a tiny generated model,
// generate, --help everywhere, and exit codes 0 (ok), 1 (failure), 2 (usage).
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { useExprl, type Run } from '../support/exprl-cli';
import { builtinTokenizer } from '../../src/model/builtin';
import { expectClose } from '../support/check';

// Sampled tokens' log-probs (KV-cache decode) against the training forward's for the same text.
const SAMPLE_LOGPROB_TOL = 1e-4;

const platform: string = testPlatform;




function jsonLines(out: string): Record<string, unknown>[] {
  const lines = out.split('\n').filter((l) => l !== '');
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

function expectScored(r: Run, tokens: number[]): void {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  const [j] = jsonLines(r.stdout);
  expect(Object.keys(j)).toEqual(['tokens', 'logprobs']);
  expect(j.tokens).toEqual(tokens);
  const lps = j.logprobs as number[];
  expect(lps).toHaveLength(tokens.length - 1);
  for (const lp of lps) {
    expect(Number.isFinite(lp)).toBe(true);
    expect(lp).toBeLessThanOrEqual(0);
  }
}

describe.skipIf(platform !== 'node')('exprl command', () => {
  const cli = useExprl('exprl-cli');
  const exprl = cli.run;
  it('init writes a built-in policy that logprobs and generate read', async () => {
    const dir = `${cli.root()}/policy`;
    const init = await exprl('init', '--out', dir, '--seed', '7');
    expect(init.code, init.stderr).toBe(0);
    const [saved] = jsonLines(init.stdout);
    expect(saved).toMatchObject({ out: dir, seed: 7, files: ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] });
    expect(saved.parameters as number).toBeLessThan(1_000_000);

    const again = await exprl('init', '--out', dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('pass --force to overwrite');

    const text = 'Q: 2+2=?\nA: 4';
    expectScored(await exprl('logprobs', '--model', dir, '--text', text), builtinTokenizer().encode(text));

    const args = ['generate', '--model', dir, '--prompt', 'Q: 1+1=', '--n', '3', '--max-tokens', '6', '--seed', '11', '--top-k', '40', '--top-p', '0.95'];
    const gen = await exprl(...args);
    expect(gen.code, gen.stderr).toBe(0);
    const samples = jsonLines(gen.stdout);
    expect(samples).toHaveLength(3);
    const tok = builtinTokenizer();
    for (const s of samples) {
      expect(Object.keys(s)).toEqual(['text', 'tokens', 'logprobs', 'finish']);
      const ids = s.tokens as number[];
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThanOrEqual(6);
      expect(s.text).toBe(tok.decode(ids, { skipSpecialTokens: true }));
      expect((s.logprobs as number[]).length).toBe(ids.length);
      for (const lp of s.logprobs as number[]) expect(lp).toBeLessThanOrEqual(0);
      expect(['eos', 'stop', 'length']).toContain(s.finish);
    }
    // Seeded: the same command prints the same samples.
    expect((await exprl(...args)).stdout).toBe(gen.stdout);

    // A sample's log-probs are what `logprobs` computes for the same tokens (full softmax at
    // temperature 1; top-k/top-p do not renormalise). Decode and training forward differ only
    // in float32 summation order (measured ≤ 4e-8 relative on SwiftShader).
    const first = samples[0];
    const ids = first.tokens as number[];
    const full = 'Q: 1+1=' + tok.decode(ids);
    const scored = await exprl('logprobs', '--model', dir, '--text', full);
    expect(scored.code, scored.stderr).toBe(0);
    const all = jsonLines(scored.stdout)[0].logprobs as number[];
    expectClose(all.slice(all.length - ids.length), first.logprobs as number[], SAMPLE_LOGPROB_TOL, 'generate vs logprobs');
  });

  it('logprobs reads a tiny generated model (untied, bf16, sharded)', async () => {
    const { makeTinyModel, TINY_VARIANTS } = await import('../../scripts/make-tiny-model');
    const v = TINY_VARIANTS.find((x) => x.name === 'untied-gqa-bf16-sharded');
    if (v === undefined) throw new Error('tiny variant untied-gqa-bf16-sharded is gone');
    const m = await makeTinyModel(`${cli.root()}/${v.name}`, v, 3);
    const text = 'ABC 12!';
    expectScored(await exprl('logprobs', '--model', m.dir, '--text', text), m.tokenizer.encode(text));
    const gen = await exprl('generate', '--model', m.dir, '--prompt', 'AB', '--n', '2', '--max-tokens', '4', '--temperature', '0');
    expect(gen.code, gen.stderr).toBe(0);
    const [a, b] = jsonLines(gen.stdout);
    // Greedy: both samples are the same continuation.
    expect(a.tokens).toEqual(b.tokens);
  });

  it('prints help for every command and maps mistakes to exit code 2, failures to 1', async () => {
    for (const cmd of ['info', 'init', 'logprobs', 'generate']) {
      const r = await exprl(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.stdout.startsWith(`usage: exprl ${cmd}`), cmd).toBe(true);
    }
    const top = await exprl('--help');
    expect(top.code).toBe(0);
    for (const cmd of ['info', 'init', 'logprobs', 'generate']) expect(top.stdout).toContain(`  ${cmd} `);

    const cases: [string[], string][] = [
      [['logprobs', '--model', 'x'], 'missing required option --text'],
      [['logprobs', '--model', 'x', '--text', 'a', '--txet', 'b'], 'unknown option --txet'],
      [['generate', '--model', 'x', '--prompt', 'a', '--n', '0'], '--n must be an integer ≥ 1 and ≤ 4096, got "0"'],
      [['generate', '--model', 'x', '--prompt', 'a', '--temperature', '1e-9'], '--temperature must be 0 (greedy) or ≥ 0.000001'],
      [['generate', '--model', 'x', '--prompt', 'a', '--top-p', '0'], '--top-p must be a number > 0 and ≤ 1'],
      [['init'], 'missing required option --out'],
      [['info', 'extra'], 'unexpected argument "extra"'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ];
    for (const [args, message] of cases) {
      const r = await exprl(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const missing = await exprl('logprobs', '--model', `${cli.root()}/nothing-here`, '--text', 'a');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing config.json');
  });
});
