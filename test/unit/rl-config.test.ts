// The run-config schema, presets, validation and merging (src/rl/config/): presets validate, the paper's numbers are visible,
// bad values are rejected with the field path and value, overrides merge deeply.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configIssues,
  effectiveEpsHigh,
  fieldDocs,
  mergeConfig,
  PAPER_STAGE_I,
  preset,
  PRESET_NAMES,
  resolveConfig,
  SMALL_PRETRAIN,
  smallStage2,
  validateConfig,
  type RunConfig,
} from '../../src/rl/config';

function issuesOf(mutate: (c: RunConfig) => void): { path: string; value: unknown; message: string }[] {
  const c = preset('small');
  mutate(c);
  return configIssues(c);
}

describe('presets', () => {
  it('every preset validates', () => {
    for (const name of PRESET_NAMES) {
      expect(configIssues(preset(name)), name).toEqual([]);
      expect(() => resolveConfig(name)).not.toThrow();
    }
  });

  it('paper carries the method doc\'s Stage I and Stage II settings', () => {
    const p = preset('paper');
    expect(p.stages.map((s) => s.method)).toEqual(['exprl-process', 'stage2']);
    const [s1, s2] = p.stages;
    expect([s1.lr, s1.weightDecay, s1.gradClip, s1.temperature, s1.promptsPerStep, s1.rolloutsPerPrompt]).toEqual([1e-6, 0.01, 1.0, 0.8, 36, 16]);
    expect([s1.steps, s1.maxResponseTokens, s1.epsLow, s1.epsHigh, s1.dualClip, s1.klCoef, s1.entropyCoef]).toEqual([230, 16384, 0.2, 0.26, 3, 0.001, 0]);
    expect([s1.lossAggregation, s1.cutCorrectReward]).toEqual(['token-mean', false]);
    // Stage II as PipelineRL runs it: 16 prompts × 32, epsilon 4, no dual clip, sum / samples, a cut correct answer earns 1.
    expect([s2.rolloutsPerPrompt, s2.promptsPerStep, s2.lr, s2.gradClip, s2.steps, s2.entropyCoef, s2.klCoef]).toEqual([32, 16, 1e-6, 0.3, 720, 1e-4, 0]);
    expect([s2.epsLow, s2.epsHigh, s2.dualClip, s2.lossAggregation, s2.cutCorrectReward, s2.miniBatches]).toEqual([4, 4, 0, 'sample-sum', true, 1]);
    // No segment cap, judge replies up to 2048 tokens.
    expect([p.judge.maxSegments, p.judge.maxTokens]).toEqual([null, 2048]);
    // The baselines: SFT lr 1e-6, batch 32, 600 steps; self-distillation lr 1e-7, 32 × 16, no KL, no clip.
    const sft = PAPER_STAGE_I.sft;
    expect([sft.method, sft.lr, sft.promptsPerStep, sft.steps, sft.klCoef]).toEqual(['sft', 1e-6, 32, 600, 0]);
    const sd = PAPER_STAGE_I['self-distill'];
    expect([sd.method, sd.lr, sd.promptsPerStep, sd.rolloutsPerPrompt, sd.miniBatches, sd.epochs, sd.klCoef, sd.epsLow, sd.epsHigh, sd.dualClip]).toEqual(['self-distill', 1e-7, 32, 16, 1, 1, 0, 4, 4, 0]);
    for (const st of Object.values(PAPER_STAGE_I)) expect(configIssues({ ...p, stages: [st] }), st.method).toEqual([]);
    // Mini-batches of 18 / 36 / 16 prompts.
    expect(PAPER_STAGE_I['exprl-outcome'].promptsPerStep / PAPER_STAGE_I['exprl-outcome'].miniBatches).toBe(18);
    expect(PAPER_STAGE_I['exprl-process'].promptsPerStep / PAPER_STAGE_I['exprl-process'].miniBatches).toBe(36);
    expect(PAPER_STAGE_I['sparse-grpo'].promptsPerStep / PAPER_STAGE_I['sparse-grpo'].miniBatches).toBe(16);
    expect([PAPER_STAGE_I['exprl-outcome'].rolloutsPerPrompt, PAPER_STAGE_I['exprl-outcome'].epsHigh]).toEqual([10, 0.28]);
    expect(p.eval).toMatchObject({ n: 16, k: [1, 4, 16], temperature: 0.8, topP: 0.95, topK: 20 });
  });

  it('small uses the built-in policy, ExpRL-Process and the rubric judge; tiny is a few steps', () => {
    const s = preset('small');
    expect([s.policy, s.stages[0].method, s.stages[0].split, s.judge.kind, s.judge.delimiter, s.judge.parse]).toEqual(['builtin-base', 'exprl-process', 'mid', 'rubric', '\n', 'last']);
    expect(s.stages[0].lr).toBeGreaterThanOrEqual(3e-4);
    expect(s.pretrain).toEqual(SMALL_PRETRAIN);
    const t = preset('tiny');
    // The whole pipeline: a fresh policy, Stage 0, Stage I, Stage II.
    expect([t.policy, t.pretrain.steps > 0, t.stages.map((x) => [x.method, x.split])]).toEqual(['builtin', true, [['exprl-process', 'mid'], ['stage2', 'rl']]]);
    expect(t.stages[0].steps).toBeLessThanOrEqual(5);
    expect(t.eval.k.every((k) => k <= t.eval.n)).toBe(true);
    expect(smallStage2(s.stages[0], 7)).toMatchObject({ method: 'stage2', split: 'rl', steps: 7, klCoef: 0, entropyCoef: 1e-4, lr: s.stages[0].lr });
    // The small presets keep the token mean, the dual clip, reward 0 for every cut response and a segment cap.
    for (const c of [s, t]) {
      for (const st of c.stages) expect([st.lossAggregation, st.cutCorrectReward, st.epsLow, st.dualClip]).toEqual(['token-mean', false, 0.2, 3]);
      expect(c.judge.maxSegments).toBe(10);
    }
  });

  it('presets are fresh copies', () => {
    const a = preset('small');
    a.stages[0].lr = 123;
    expect(preset('small').stages[0].lr).not.toBe(123);
  });

  it('epsHigh "auto" resolves by method', () => {
    expect(effectiveEpsHigh({ method: 'exprl-outcome', epsHigh: 'auto' })).toBe(0.28);
    expect(effectiveEpsHigh({ method: 'exprl-process', epsHigh: 'auto' })).toBe(0.26);
    expect(effectiveEpsHigh({ method: 'sparse-grpo', epsHigh: 'auto' })).toBe(0.26);
    expect(effectiveEpsHigh({ method: 'sparse-grpo', epsHigh: 0.3 })).toBe(0.3);
  });

  it('documents every field of the config and no other', () => {
    const docs = new Map(fieldDocs().map((d) => [d.path, d.doc]));
    const paths: string[] = [];
    const c = preset('paper');
    paths.push('policy', 'checkpointEvery');
    for (const k of Object.keys(c.stages[0])) paths.push(`stages[].${k}`);
    for (const g of ['tasks', 'pretrain', 'judge', 'seeds', 'eval'] as const) for (const k of Object.keys(c[g])) paths.push(`${g}.${k}`);
    expect([...docs.keys()].sort()).toEqual(paths.sort());
    for (const [p, d] of docs) expect(d.length, p).toBeGreaterThan(10);
  });
});

describe('validation', () => {
  it('checks checkpointEvery: a count of steps, 0 for stage ends and pauses only', () => {
    expect(issuesOf((c) => (c.checkpointEvery = 0))).toEqual([]);
    expect(issuesOf((c) => (c.checkpointEvery = 1.5))).toEqual([{ path: 'checkpointEvery', value: 1.5, message: 'must be a finite integer >= 0' }]);
    expect(issuesOf((c) => delete (c as Partial<RunConfig>).checkpointEvery)).toEqual([{ path: 'checkpointEvery', value: undefined, message: 'is missing' }]);
  });

  it('names the field path and the bad value', () => {
    expect(issuesOf((c) => (c.stages[0].lr = -1))).toEqual([{ path: 'stages[0].lr', value: -1, message: 'must be a finite number > 0 and <= 1' }]);
    expect(issuesOf((c) => (c.stages[0].rolloutsPerPrompt = 2.5))[0]).toMatchObject({ path: 'stages[0].rolloutsPerPrompt', value: 2.5 });
    expect(issuesOf((c) => (c.judge.parse = 'middle' as never))[0]).toMatchObject({ path: 'judge.parse', value: 'middle', message: 'must be one of "last", "first"' });
    expect(issuesOf((c) => (c.stages[0].method = 'ppo' as never))[0]).toMatchObject({ path: 'stages[0].method', value: 'ppo' });
    expect(issuesOf((c) => (c.stages[0].epsHigh = 'big' as never))[0]).toMatchObject({ path: 'stages[0].epsHigh', message: 'must be a finite number >= 0 or "auto"' });
    expect(issuesOf((c) => (c.stages[0].temperature = NaN))[0]).toMatchObject({ path: 'stages[0].temperature' });
    expect(issuesOf((c) => (c.judge.maxMaskedShare = 1.5))[0]).toMatchObject({ path: 'judge.maxMaskedShare', value: 1.5 });
    expect(issuesOf((c) => (c.judge.callCap = 0))[0]).toMatchObject({ path: 'judge.callCap', value: 0 });
    expect(issuesOf((c) => (c.judge.delimiter = ''))[0]).toMatchObject({ path: 'judge.delimiter', value: '' });
    expect(issuesOf((c) => (c.judge.runtime = 'gpu' as never))[0]).toMatchObject({ path: 'judge.runtime', value: 'gpu', message: 'must be one of "auto", "kernels", "transformers"' });
    expect(issuesOf((c) => (c.judge.dtype = 'int3' as never))[0]).toMatchObject({ path: 'judge.dtype', value: 'int3', message: expect.stringContaining('"q4f16"') });
    expect(issuesOf((c) => (c.seeds.sampling = -3))[0]).toMatchObject({ path: 'seeds.sampling', value: -3 });
    expect(issuesOf((c) => (c.tasks.families = ['arith-chain', 'calculus']))).toEqual([{ path: 'tasks.families[1]', value: 'calculus', message: expect.stringMatching(/^is not a built-in family/) }]);
    expect(issuesOf((c) => (c.tasks.difficulties.mid = [0, 3]))[0]).toMatchObject({ path: 'tasks.difficulties', message: 'mid must be a non-empty list of integers in 1..10' });
    expect(issuesOf((c) => (c.stages[0].split = 'eval' as never))[0]).toMatchObject({ path: 'stages[0].split', value: 'eval' });
    expect(issuesOf((c) => (c.pretrain.steps = -1))[0]).toMatchObject({ path: 'pretrain.steps', value: -1 });
    expect(issuesOf((c) => (c.judge.templates.segment = 'Score {{trace}}'))[0]).toMatchObject({ path: 'judge.templates', message: expect.stringContaining('segment: missing placeholder {{question}}') });
    expect(issuesOf((c) => (c.stages[0].epsLow = -0.1))[0]).toMatchObject({ path: 'stages[0].epsLow', value: -0.1 });
    expect(issuesOf((c) => (c.stages[0].dualClip = 0.5))).toEqual([{ path: 'stages[0].dualClip', value: 0.5, message: 'must be 0 (off) or a finite number > 1' }]);
    expect(issuesOf((c) => (c.stages[0].lossAggregation = 'sample-mean' as never))[0]).toMatchObject({ path: 'stages[0].lossAggregation', message: 'must be one of "token-mean", "sample-sum"' });
    expect(issuesOf((c) => (c.stages[0].cutCorrectReward = 1 as never))[0]).toMatchObject({ path: 'stages[0].cutCorrectReward', message: 'must be true or false' });
    expect(issuesOf((c) => (c.judge.maxSegments = 0))[0]).toMatchObject({ path: 'judge.maxSegments', message: 'must be a positive integer or null' });
  });

  it('takes PipelineRL\'s settings: epsilon 4 (no clip below), no dual clip, no segment cap', () => {
    expect(issuesOf((c) => Object.assign(c.stages[0], { epsLow: 4, epsHigh: 4, dualClip: 0, lossAggregation: 'sample-sum' }))).toEqual([]);
    expect(issuesOf((c) => (c.judge.maxSegments = null))).toEqual([]);
  });

  it('pays a cut correct answer only in sparse-reward methods', () => {
    expect(issuesOf((c) => Object.assign(c.stages[0], { method: 'stage2', cutCorrectReward: true }))).toEqual([]);
    expect(issuesOf((c) => Object.assign(c.stages[0], { method: 'sparse-grpo', cutCorrectReward: true }))).toEqual([]);
    expect(issuesOf((c) => (c.stages[0].cutCorrectReward = true))).toEqual([
      { path: 'stages[0].cutCorrectReward', value: true, message: 'applies to sparse-reward methods only (sparse-grpo, stage2), not exprl-process' },
    ]);
  });

  it('rejects unknown and missing fields', () => {
    expect(issuesOf((c) => ((c.judge as unknown as Record<string, unknown>).temprature = 0))).toEqual([{ path: 'judge.temprature', value: '(not shown)', message: 'is not a known field' }]);
    expect(issuesOf((c) => delete (c.eval as Partial<RunConfig['eval']>).n)[0]).toMatchObject({ path: 'eval.n', message: 'is missing' });
    expect(issuesOf((c) => ((c as unknown as Record<string, unknown>).lr = 1))[0]).toMatchObject({ path: 'lr' });
    expect(issuesOf((c) => (c.stages = []))[0]).toMatchObject({ path: 'stages' });
  });

  it('checks relations between fields', () => {
    expect(issuesOf((c) => (c.eval.k = [1, 32]))).toEqual([{ path: 'eval.k[1]', value: 32, message: 'must be <= eval.n (16)' }]);
    expect(issuesOf((c) => (c.stages[0].miniBatches = 3))).toEqual([{ path: 'stages[0].miniBatches', value: 3, message: 'must divide promptsPerStep (4)' }]);
    expect(issuesOf((c) => (c.judge.kind = 'none'))[0]).toMatchObject({ path: 'judge.kind', value: 'none' });
    expect(issuesOf((c) => (c.judge.kind = 'openai'))[0]).toMatchObject({ path: 'judge.endpoint' });
    for (const bad of ['localhost:8000/v1', 'ftp://host/v1', 'not a url']) {
      expect(issuesOf((c) => Object.assign(c.judge, { kind: 'openai', endpoint: bad, model: 'm' }))[0], bad).toMatchObject({ path: 'judge.endpoint', message: 'is not an http:// or https:// URL' });
    }
    expect(issuesOf((c) => Object.assign(c.judge, { kind: 'openai', endpoint: 'http://127.0.0.1:8000/v1', model: 'm' }))).toEqual([]);
    expect(issuesOf((c) => { c.judge.kind = 'none'; c.stages[0].method = 'sparse-grpo'; })).toEqual([]);
    expect(issuesOf((c) => (c.judge.kind = 'local'))).toEqual([{ path: 'judge.model', value: '', message: expect.stringContaining('required when judge.kind is "local"') }]);
    // The self-judge needs an instruct model; the built-in policy is refused with the reason.
    expect(issuesOf((c) => (c.judge.kind = 'policy'))).toEqual([{ path: 'judge.kind', value: 'policy', message: expect.stringContaining('needs an instruct model with a chat template') }]);
    expect(issuesOf((c) => { c.judge.kind = 'policy'; c.policy = 'HuggingFaceTB/SmolLM2-360M-Instruct'; })).toEqual([]);
  });

  it('throws a ConfigError whose message names path and value', () => {
    const c = preset('tiny');
    c.stages[0].lr = -1;
    expect(() => validateConfig(c)).toThrow(ConfigError);
    expect(() => validateConfig(c)).toThrow(/stages\[0\]\.lr = -1: must be a finite number > 0/);
    expect(() => validateConfig(null)).toThrow(/\(config\) = null: must be an object/);
  });
});

describe('merging overrides', () => {
  it('merges deeply onto the preset without touching it', () => {
    const base = preset('small');
    const c = resolveConfig(base, { stages: [{ lr: 1e-3 }], judge: { delimiter: '###' }, eval: { k: [1, 2] } });
    expect(c.stages[0].lr).toBe(1e-3);
    expect(c.stages[0].rolloutsPerPrompt).toBe(8); // untouched fields stay
    expect(c.judge.delimiter).toBe('###');
    expect(c.judge.kind).toBe('rubric');
    expect(c.eval.k).toEqual([1, 2]); // lists other than stages are replaced
    expect(base.stages[0].lr).toBe(3e-4);
    expect(base.judge.delimiter).toBe('\n');
  });

  it('merges stages by index; a new stage starts from the last one', () => {
    const c = resolveConfig('paper', { stages: [{}, { steps: 10 }] });
    expect(c.stages[0]).toEqual(preset('paper').stages[0]);
    expect(c.stages[1].steps).toBe(10);
    expect(c.stages[1].method).toBe('stage2');
    const two = resolveConfig('small', { stages: [{}, { method: 'stage2', entropyCoef: 1e-4 }] });
    expect(two.stages).toHaveLength(2);
    expect(two.stages[1]).toMatchObject({ method: 'stage2', lr: 3e-4, entropyCoef: 1e-4 });
  });

  it('validates the merged result, naming the overridden field', () => {
    expect(() => resolveConfig('small', { stages: [{ lr: 0 }] })).toThrow(/stages\[0\]\.lr = 0/);
    expect(() => resolveConfig('small', { judge: { view: 'prefix' } as never })).toThrow(/judge\.view = "\(not shown\)": is not a known field/);
    expect(() => mergeConfig(preset('small'), { judge: 'rubric' as never })).toThrow(/judge = "rubric": must be an object/);
    expect(() => resolveConfig('huge' as never)).toThrow(/preset = "huge"/);
  });

  it('refuses keys that reach the prototype (a JSON "__proto__" is an own key), naming where, and changes nothing', () => {
    const cases: [string, RegExp][] = [
      ['{"__proto__": {"polluted": 1}}', /__proto__ = .*not allowed/],
      ['{"judge": {"__proto__": {"polluted": 1}}}', /judge\.__proto__ = .*not allowed/],
      ['{"stages": [{"__proto__": {"polluted": 1}}]}', /stages\[0\]\.__proto__ = .*not allowed/],
      ['{"eval": {"constructor": {"prototype": {"polluted": 1}}}}', /eval\.constructor = .*not allowed/],
      ['{"tasks": {"prototype": 1}}', /tasks\.prototype = .*not allowed/],
    ];
    for (const [json, message] of cases) {
      expect(() => resolveConfig('small', JSON.parse(json)), json).toThrow(ConfigError);
      expect(() => resolveConfig('small', JSON.parse(json)), json).toThrow(message);
      expect(({} as Record<string, unknown>).polluted, json).toBeUndefined();
    }
    expect(Object.getPrototypeOf(preset('small').judge)).toBe(Object.prototype);
  });
});

describe('judge limits and the API key in a config', () => {
  const key = 'sk-proj-Q7x_9zP3kLm2';

  it('every preset takes judge.timeoutMs, judge.breakerAfter and judge.apiKeyEnv from the config, with no default variable', () => {
    for (const name of PRESET_NAMES) {
      const j = preset(name).judge;
      expect(j.timeoutMs, name).toBe(60_000);
      expect(j.breakerAfter, name).toBeGreaterThanOrEqual(1);
      expect(j.apiKeyEnv, name).toBe('');
    }
    expect(issuesOf((c) => (c.judge.timeoutMs = 0))[0]).toMatchObject({ path: 'judge.timeoutMs' });
    expect(issuesOf((c) => (c.judge.breakerAfter = 0))[0]).toMatchObject({ path: 'judge.breakerAfter' });
    expect(issuesOf((c) => (c.judge.apiKeyEnv = 'MY_JUDGE_KEY'))).toEqual([]);
  });

  it('never shows a key put where none belongs: an unknown field, judge.apiKeyEnv, or the endpoint URL', () => {
    const attempts: Record<string, unknown>[] = [
      { judge: { apiKey: key } },
      { judge: { api_key: key } },
      { apiKey: key },
      { judge: { apiKeyEnv: key } },
      { judge: { kind: 'openai', model: 'm', endpoint: `https://user:${key}@judge.example/v1` } },
      { judge: { kind: 'openai', model: 'm', endpoint: `https://judge.example/v1?api_key=${encodeURIComponent(key)}` } },
      { judge: { kind: 'openai', model: 'm', endpoint: `https://judge.example/v1?key=${key}&api-version=1` } },
    ];
    for (const a of attempts) {
      let message = '';
      try {
        resolveConfig('small', a as never);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        message = (e as Error).message;
      }
      expect(message, JSON.stringify(a)).not.toBe('');
      expect(message).not.toContain(key);
      expect(message).not.toContain(encodeURIComponent(key));
      expect(message).not.toContain(Buffer.from(key).toString('base64').slice(0, 12));
    }
    expect(() => resolveConfig('small', attempts[0] as never)).toThrow(/judge\.apiKey = "\(not shown\)": .*judge\.apiKeyEnv/);
    expect(() => resolveConfig('small', attempts[4] as never)).toThrow(/judge\.endpoint = "https:\/\/\[redacted\]@judge\.example\/v1": holds user information/);
    expect(() => resolveConfig('small', attempts[6] as never)).toThrow(/holds the query parameter "key"/);
    // A query that is no credential stays allowed.
    expect(resolveConfig('small', { judge: { kind: 'openai', model: 'm', endpoint: 'https://judge.example/v1?api-version=2024-06-01' } }).judge.endpoint).toContain('api-version');
  });
});
