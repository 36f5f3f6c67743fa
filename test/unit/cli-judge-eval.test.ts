// Pure parts of `exprl judge` and `exprl eval`: the task SPEC grammar, --k, the eval line, the
// judge built from a run config, and their error messages.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { builtinTasks, evalLine, parseKs, parseTaskSpec } from '../../src/cli/eval-spec';
import { rolloutPrompt } from '../../src/rl/stage-data';
import { parseCheckpoints, referenceCheckpoints, runConfigFromJson, runJudge } from '../../src/cli/judge';
import { judgeFromSettings } from '../../src/judge/from-config';
import { HttpJudge } from '../../src/judge/http';
import { RubricJudge } from '../../src/judge/rubric';
import { preset } from '../../src/rl/config';
import { FAMILY_NAMES } from '../../src/tasks/families/index';
import { inSplit, splitOf } from '../../src/tasks/splits';
import { ANSWER_INSTRUCTION } from '../../src/tasks/types';

describe('task SPEC', () => {
  it('reads families, split and difficulties', () => {
    expect(parseTaskSpec('arith-chain:eval:d=3')).toEqual({ kind: 'builtin', families: ['arith-chain'], split: 'eval', difficulties: [3] });
    expect(parseTaskSpec('all')).toEqual({ kind: 'builtin', families: [...FAMILY_NAMES], split: 'eval', difficulties: undefined });
    expect(parseTaskSpec('gcd+long-addition:rl')).toEqual({ kind: 'builtin', families: ['gcd', 'long-addition'], split: 'rl', difficulties: undefined });
    expect(parseTaskSpec('gcd:d=2-5')).toMatchObject({ split: 'eval', difficulties: [2, 3, 4, 5] });
    expect(parseTaskSpec('all:mid:d=1,4,10')).toMatchObject({ split: 'mid', difficulties: [1, 4, 10] });
  });

  it('takes a name ending in .jsonl, .json or .csv as a dataset file', () => {
    expect(parseTaskSpec('data/x.jsonl')).toEqual({ kind: 'file', path: 'data/x.jsonl', format: 'jsonl' });
    expect(parseTaskSpec('rows.JSON')).toEqual({ kind: 'file', path: 'rows.JSON', format: 'json' });
    expect(parseTaskSpec('/tmp/a:b.csv')).toEqual({ kind: 'file', path: '/tmp/a:b.csv', format: 'csv' });
  });

  it.each([
    ['', 'empty'],
    ['nosuch', 'unknown family "nosuch"'],
    ['gcd+gcd', 'a family is named twice'],
    ['gcd:hard', '"hard" is neither a split'],
    ['gcd:eval:d=0', 'difficulty 0 is outside 1..10'],
    ['gcd:d=11', 'difficulty 11 is outside 1..10'],
    ['gcd:d=5-2', 'difficulty range 5-2 is empty'],
    ['gcd:d=x', 'difficulty "x" is not an integer'],
    ['gcd:d=1:d=2', 'difficulties given twice'],
    ['gcd:d=2:eval', '"eval" is neither a split'],
    ['gcd:eval:d=1:x', 'too many ":" parts'],
  ])('refuses %j with a usage error naming --tasks', (spec, why) => {
    expect(() => parseTaskSpec(spec)).toThrow(UsageError);
    expect(() => parseTaskSpec(spec)).toThrow(`--tasks ${JSON.stringify(spec)}: ${why}`);
  });

  it('draws the requested count of the split, family and difficulty', () => {
    const spec = parseTaskSpec('arith-chain+gcd:eval:d=2');
    if (spec.kind !== 'builtin') throw new Error('expected built-in');
    const items = builtinTasks(spec, 6, 3);
    expect(items).toHaveLength(6);
    expect(new Set(items.map((i) => i.family))).toEqual(new Set(['arith-chain', 'gcd']));
    for (const it of items) {
      expect(it.difficulty).toBe(2);
      expect(splitOf(it.family, it.question)).toBe('eval');
    }
    expect(builtinTasks(spec, 6, 3)).toEqual(items);
  });

  it('takes the dev and test halves of eval', () => {
    const spec = parseTaskSpec('gcd:test:d=2');
    if (spec.kind !== 'builtin') throw new Error('expected built-in');
    expect(spec.split).toBe('test');
    for (const it of builtinTasks(spec, 4, 3)) expect([splitOf(it.family, it.question), inSplit(it.family, it.question, 'test')]).toEqual(['eval', true]);
  });
});

describe('--k and the eval line', () => {
  it('parses, sorts and de-duplicates k', () => {
    expect(parseKs('4,1, 2,4', 4)).toEqual([1, 2, 4]);
  });

  it('refuses k > n naming both options, and bad lists', () => {
    expect(() => parseKs('1,3', 2)).toThrow('--k 3 is greater than --n 2');
    expect(() => parseKs('1,3', 2)).toThrow(UsageError);
    for (const bad of ['0', '1,,2', 'a', '1.5', '-1']) expect(() => parseKs(bad, 8), bad).toThrow('--k must be a comma-separated list of integers ≥ 1');
  });

  it('builds the prompt from the question and the answer instruction', () => {
    expect(rolloutPrompt('What is 2+2?')).toBe(`What is 2+2?\n\n${ANSWER_INSTRUCTION}\n`);
  });

  it('sound@n is null where the rubric cannot grade a task (an imported family)', () => {
    const line = evalLine([{ family: 'linear-equation', correct: [true, false], sound: [true, false] }, { family: 'imported', correct: [true, true], sound: [null, null] }], [1]);
    expect(line['sound@n']).toBeNull();
    expect((line.families as Record<string, Record<string, unknown>>)['linear-equation']['sound@n']).toBe(0.5);
  });

  it('reports pass@1, unbiased pass@k, mean@n and sound@n overall and per family', () => {
    // a: 1 of 4 correct -> pass@2 = 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5; b: 3 of 4 -> 1; c: 0 of 4 -> 0.
    const line = evalLine(
      [
        { family: 'a', correct: [true, false, false, false], sound: [true, false, false, false] },
        { family: 'b', correct: [true, true, false, true], sound: [false, true, false, false] },
        { family: 'a', correct: [false, false, false, false], sound: [false, false, false, false] },
      ],
      [2, 4],
    );
    expect(line).toEqual({
      eval: true,
      prompts: 3,
      n: 4,
      'pass@1': (0.25 + 0.75 + 0) / 3,
      'pass@2': (0.5 + 1 + 0) / 3,
      'pass@4': 2 / 3,
      'mean@n': (0.25 + 0.75 + 0) / 3,
      'sound@n': 2 / 12,
      families: {
        a: { prompts: 2, n: 4, 'pass@1': 0.125, 'pass@2': 0.25, 'pass@4': 0.5, 'mean@n': 0.125, 'sound@n': 1 / 8 },
        b: { prompts: 1, n: 4, 'pass@1': 0.75, 'pass@2': 1, 'pass@4': 1, 'mean@n': 0.75, 'sound@n': 1 / 4 },
      },
    });
  });
});

describe('judge from a run config', () => {
  it('fills a partial config from the small preset and validates it', () => {
    const c = runConfigFromJson('{"judge": {"kind": "openai", "endpoint": "http://h/v1", "model": "m"}}');
    expect(c.judge).toEqual({ ...preset('small').judge, kind: 'openai', endpoint: 'http://h/v1', model: 'm' });
    expect(() => runConfigFromJson('{"judge": {"kind": "openai"}}')).toThrow('judge.endpoint = "": is required when judge.kind is "openai"');
    expect(() => runConfigFromJson('{"judge": {"kind": "gpt"}}')).toThrow('judge.kind = "gpt"');
    expect(() => runConfigFromJson('{"judge": ', 'cfg.json')).toThrow('cfg.json is not valid JSON');
    expect(() => runConfigFromJson('[1]', 'cfg.json')).toThrow('cfg.json must hold a JSON object');
  });

  it('builds the rubric and HTTP judges and refuses policy and none', () => {
    const base = preset('small').judge;
    expect(judgeFromSettings(base)).toBeInstanceOf(RubricJudge);
    const http = judgeFromSettings({ ...base, kind: 'openai', endpoint: 'http://h/v1', model: 'qwen' });
    expect(http).toBeInstanceOf(HttpJudge);
    expect(http.name).toBe('http:qwen');
    expect(() => judgeFromSettings({ ...base, kind: 'openai', endpoint: '' })).toThrow('judge.endpoint is required');
    expect(() => judgeFromSettings({ ...base, kind: 'policy' })).toThrow('judge.kind "policy" is a language model run by the app');
    expect(() => judgeFromSettings({ ...base, kind: 'none' })).toThrow('judge.kind "none" names no judge');
  });

  it('sends the config\'s endpoint, model and retries to the HTTP judge, and reports failures without a score', async () => {
    const config = runConfigFromJson('{"judge": {"kind": "openai", "endpoint": "http://judge.test/v1", "model": "qwen", "retries": 1, "parse": "last"}}');
    const urls: string[] = [];
    const bodies: { model: string }[] = [];
    const reply = (content: string) => new Response(JSON.stringify({ choices: [{ message: { content } }] }), { status: 200, headers: { 'content-type': 'application/json' } });
    const ok = await runJudge(
      config,
      { question: 'Q', reference: 'R', response: 'resp', mode: 'outcome' },
      {
        fetch: async (url, init) => {
          urls.push(url);
          bodies.push(JSON.parse(init.body as string) as { model: string });
          return reply('fine\nScore: 2\nScore: 4');
        },
      },
    );
    expect(urls).toEqual(['http://judge.test/v1/chat/completions']);
    expect(bodies[0].model).toBe('qwen');
    expect(ok).toMatchObject({ judge: 'http:qwen', mode: 'outcome', ok: true, score: 4, value: 0.75 });

    let calls = 0;
    const failed = await runJudge(
      config,
      { question: 'Q', reference: 'R', response: 'resp2', mode: 'outcome' },
      {
        fetch: async () => {
          calls++;
          return new Response('busy', { status: 500 });
        },
      },
    );
    expect(calls).toBe(2); // the first try and judge.retries = 1 retry
    expect(failed.ok).toBe(false);
    expect(failed).not.toHaveProperty('score');
    expect(failed).not.toHaveProperty('value');
  }, 20_000);

  it('scores with the rubric: the reference itself 5, a wrong bare answer 1, per segment in process mode', async () => {
    const config = runConfigFromJson('{}');
    const reference = '15 + 5 = 20\n20 + 6 = 26\n26 - 12 = 14\nAnswer: 14';
    const req = { question: 'Start with 15, add 5, add 6, subtract 12. What is the result?', reference };
    expect(referenceCheckpoints(reference, '\n')).toEqual(['20', '26', '14']);
    expect(await runJudge(config, { ...req, response: reference, mode: 'outcome' })).toMatchObject({ ok: true, score: 5, value: 1 });
    expect(await runJudge(config, { ...req, response: 'Answer: 99', mode: 'outcome' })).toMatchObject({ ok: true, score: 1, value: 0 });
    // Checkpoints given by hand win over the reference's: with an extra one missed, no 5.
    const partial = await runJudge(config, { ...req, response: reference, mode: 'outcome', checkpoints: ['20', '26', '7', '14'] });
    expect(partial).toMatchObject({ ok: true, score: 4 });
    const proc = await runJudge(config, { ...req, response: '15 + 5 = 20\n20 + 6 = 27\nAnswer: 14', mode: 'process' });
    if (proc.mode !== 'process') throw new Error('expected process output');
    expect(proc.view).toBe('segment');
    expect(proc.segments.map((s) => [s.text, s.ok && s.score])).toEqual([
      ['15 + 5 = 20\n', 5],
      ['20 + 6 = 27\n', 1],
      ['Answer: 14', 5],
    ]);
    await expect(runJudge(config, { ...req, response: '', mode: 'process' })).rejects.toThrow('the response is empty');
  });

  it('parses --checkpoints', () => {
    expect(parseCheckpoints(undefined)).toBeUndefined();
    expect(parseCheckpoints(' 20, 26 ,14')).toEqual(['20', '26', '14']);
    expect(() => parseCheckpoints('1,,2')).toThrow(UsageError);
  });
});
