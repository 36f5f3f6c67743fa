// The run settings table (src/rl/config/settings.ts): one row per setting, its doc and type from
// the schema, driving the `exprl train` options and help; and the schema's types agree with its checks.
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandHelp, parseArgs, type ParsedOptions } from '../../src/cli/args';
import { settingOption } from '../../src/cli/setting-options';
import { TRAIN, trainConfig } from '../../src/cli/train';
import {
  applySettings,
  ConfigError,
  configFromSetup,
  describeValues,
  fieldDocs,
  parseSettingValue,
  preset,
  PRESET_NAMES,
  readSettings,
  RUN_SETTINGS,
  schemaFields,
  setupIssues,
  validateConfig,
  type ValueType,
} from '../../src/rl/config';

function options(argv: string[]): ParsedOptions {
  const r = parseArgs(TRAIN, argv);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

/** What a value type admits, read from the type alone (the data the help and the page use). */
function typeAdmits(t: ValueType, v: unknown): boolean | undefined {
  switch (t.kind) {
    case 'int':
    case 'number':
      if (t.also?.includes(v as never)) return true;
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      if (t.kind === 'int' && !Number.isSafeInteger(v)) return false;
      return !((t.gt !== undefined && !(v > t.gt)) || (t.min !== undefined && v < t.min) || (t.lt !== undefined && !(v < t.lt)) || (t.max !== undefined && v > t.max));
    case 'enum':
      return typeof v === 'string' && t.choices.includes(v);
    case 'string':
      return typeof v === 'string' && (!t.nonEmpty || v !== '');
    case 'bool':
      return typeof v === 'boolean';
    case 'json':
      return undefined; // described in words only
  }
}

describe('schema types', () => {
  it('say what each field\'s check accepts, at the bounds and beyond', () => {
    const probes: unknown[] = [null, undefined, -1, -0.5, 0, 1e-9, 0.5, 1, 1.5, 2, 3, 10, 10.5, 511, 512, 513, 32768, 32769, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 1e300, NaN, Infinity, 'auto', '', 'x', true, false];
    let compared = 0;
    for (const { path, field } of schemaFields()) {
      const extra = field.type.kind === 'enum' ? field.type.choices : [];
      for (const v of [...probes, ...extra]) {
        const admits = typeAdmits(field.type, v);
        if (admits === undefined) continue;
        expect(admits, `${path} ${String(v)}`).toBe(field.check(v) === null);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});

describe('the settings table', () => {
  it('has one row per key, a label each, and the schema\'s doc and check for the field it sets', () => {
    const keys = RUN_SETTINGS.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(RUN_SETTINGS.map((s) => s.label)).size).toBe(keys.length);
    const docs = new Map(fieldDocs().map((d) => [d.path, d.doc]));
    for (const s of RUN_SETTINGS) {
      expect(s.label.length, s.key).toBeGreaterThan(2);
      expect(s.doc.length, s.key).toBeGreaterThan(20);
      if (s.path !== undefined) expect(s.doc, s.key).toBe(docs.get(s.path.replace(/^stages\[\d+\]/, 'stages[]')));
    }
    expect(RUN_SETTINGS.find((s) => s.key === 'steps')).toMatchObject({ path: 'stages[0].steps', type: { kind: 'int', min: 1 } });
    expect(RUN_SETTINGS.find((s) => s.key === 'judge-endpoint')).toMatchObject({ fromLink: 'confirm' });
  });

  it('reads every preset\'s values, which pass their checks and apply back to the same config', () => {
    for (const name of PRESET_NAMES) {
      const values = readSettings(preset(name));
      expect(values.method, name).toBe(preset(name).stages[0].method);
      expect(setupIssues(values), name).toEqual([]);
      const c = applySettings(preset(name), values);
      expect(c, name).toEqual(preset(name));
    }
    expect(readSettings(preset('tiny'))).toMatchObject({ method: 'exprl-process', steps: 3, 'stage2-steps': 1, model: 'builtin', seed: 1, judge: 'rubric', 'judge-runtime': 'auto' });
    expect(readSettings(preset('small'))['stage2-steps']).toBe(0);
  });

  it('builds a config from a setup: Stage II dropped, appended or resized; seeds set together', () => {
    const small = configFromSetup({ preset: 'small', 'stage2-steps': 5, seed: 9, method: 'exprl-outcome' });
    expect(small.stages.map((s) => [s.method, s.steps])).toEqual([['exprl-outcome', 200], ['stage2', 5]]);
    expect(small.seeds).toEqual({ init: 9, data: 9, sampling: 9 });
    expect(configFromSetup({ preset: 'tiny', 'stage2-steps': 0 }).stages.map((s) => s.method)).toEqual(['exprl-process']);
    expect(configFromSetup({ preset: 'paper', 'stage2-steps': 7 }).stages[1].steps).toBe(7);
    expect(configFromSetup({})).toEqual(preset('small'));
    // A Stage II appended by the setup takes over Stage I's learning rate, temperature and length.
    const appended = configFromSetup({ lr: 1e-3, temperature: 1.1, 'max-tokens': 64, 'stage2-steps': 2, 'judge-guard': false });
    expect(appended.stages[1]).toMatchObject({ method: 'stage2', lr: 1e-3, temperature: 1.1, maxResponseTokens: 64 });
    expect(appended.judge.guard).toBe(false);
  });

  it('names a bad setting by its key', () => {
    expect(() => configFromSetup({ steps: 0 })).toThrow(ConfigError);
    expect(() => configFromSetup({ steps: 0 })).toThrow('invalid setup: steps = 0: must be a finite integer >= 1');
    expect(() => configFromSetup({ preset: 'huge' })).toThrow('preset = "huge": must be one of "paper", "small", "tiny", "demo"');
    expect(() => configFromSetup({ epsHigh: 1 })).toThrow(/epsHigh = 1: is not a known setting \(preset, method, /);
    expect(() => configFromSetup({ 'judge-guard': 'yes' })).toThrow('judge-guard = "yes": must be true or false');
    expect(() => applySettings(preset('small'), { temprature: 1 })).toThrow(/temprature = 1: is not a known setting/);
    // Relations between fields are the config's: a judge that needs an endpoint.
    expect(() => configFromSetup({ judge: 'openai' })).toThrow(/judge\.endpoint = "": is required/);
  });

  it('parses text values by type, with the schema\'s words for a bad one', () => {
    const steps = RUN_SETTINGS.find((s) => s.key === 'steps')!;
    expect(parseSettingValue(steps, ' 12 ')).toEqual({ value: 12 });
    expect(parseSettingValue(steps, '1.5')).toEqual({ problem: 'must be a finite integer >= 1' });
    expect(parseSettingValue(steps, '')).toEqual({ problem: 'must be a finite integer >= 1' });
    expect(parseSettingValue(steps, '0')).toEqual({ problem: 'must be a finite integer >= 1' });
    const method = RUN_SETTINGS.find((s) => s.key === 'method')!;
    expect(parseSettingValue(method, 'ppo')).toEqual({ problem: expect.stringMatching(/^must be one of "sparse-grpo"/) });
    const endpoint = RUN_SETTINGS.find((s) => s.key === 'judge-endpoint')!;
    expect(parseSettingValue(endpoint, ' http://x/v1 ')).toEqual({ value: ' http://x/v1 ' });
    expect(describeValues(steps.type)).toBe('integer >= 1');
    expect(describeValues(method.type)).toMatch(/^one of sparse-grpo, exprl-outcome/);
  });
});

describe('exprl train options come from the table', () => {
  it('has an option per setting with its label, doc, choices and range', () => {
    for (const s of RUN_SETTINGS) expect(TRAIN.options[s.key], s.key).toEqual(settingOption(s));
    expect(Object.keys(TRAIN.options)).toEqual(['preset', 'config', ...RUN_SETTINGS.slice(1).map((s) => s.key), 'out', 'force', 'resume', 'judge-api-key-env', 'pretrain-only']);
    expect(TRAIN.options.seed).toMatchObject({ kind: 'int', min: 0, max: 0xffffffff, value: 'S' });
    expect(TRAIN.options['stage2-steps']).toMatchObject({ kind: 'int', min: 0 });
    const help = commandHelp(TRAIN);
    expect(help).toMatch(/--steps N +Stage I steps \(≥ 1\)\n +Optimizer steps \(batches of prompts\) in this stage\./);
    expect(help).toContain('--judge-endpoint URL   judge endpoint');
    for (const line of help.split('\n')) if (/^ {25}\S/.test(line)) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('keeps the usage errors of before', () => {
    expect(() => options(['--steps', '0'])).toThrow('--steps must be an integer ≥ 1, got "0"');
    expect(() => options(['--method', 'ppo'])).toThrow('--method must be one of sparse-grpo, exprl-outcome, exprl-process, sft, self-distill, stage2, got "ppo"');
    expect(() => options(['--seed', '-1'])).toThrow('--seed must be an integer ≥ 0 and ≤ 4294967295, got "-1"');
    expect(() => options(['--judge-dtype', 'int3'])).toThrow(/--judge-dtype must be one of auto, fp32/);
  });

  it('gives the config the options describe', async () => {
    const c = await trainConfig(options(['--preset', 'tiny', '--method', 'sparse-grpo', '--steps', '2', '--stage2-steps', '0', '--seed', '4', '--model', 'builtin-base']));
    expect(c.stages.map((s) => [s.method, s.steps])).toEqual([['sparse-grpo', 2]]);
    expect([c.seeds, c.policy]).toEqual([{ init: 4, data: 4, sampling: 4 }, 'builtin-base']);
    expect(await trainConfig(options([]))).toEqual(validateConfig(preset('small')));
    const j = await trainConfig(options(['--judge', 'openai', '--judge-endpoint', 'http://127.0.0.1:8000/v1', '--judge-model', 'm']));
    expect([j.judge.kind, j.judge.endpoint, j.judge.model]).toEqual(['openai', 'http://127.0.0.1:8000/v1', 'm']);
    const more = await trainConfig(options(['--preset', 'tiny', '--lr', '1e-3', '--rollouts', '6', '--judge-guard', 'false']));
    expect([more.stages[0].lr, more.stages[0].rolloutsPerPrompt, more.judge.guard]).toEqual([1e-3, 6, false]);
    expect(() => options(['--lr', '0'])).toThrow('--lr must be a number > 0 and ≤ 1, got "0"');
    expect(() => options(['--judge-guard', 'yes'])).toThrow('--judge-guard must be one of true, false, got "yes"');
    // A bad value the option parser lets through is named by its config field, as before.
    await expect(trainConfig(options(['--model', '']))).rejects.toThrow('invalid run config: policy = "": must be a non-empty string');
  });

  it('names the --config file with the fields it got wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'exprl-config-'));
    try {
      const file = join(dir, 'bad.json');
      await writeFile(file, JSON.stringify({ stages: [{ lr: -1 }], judge: { bogus: 1 } }));
      await expect(trainConfig(options(['--config', file]))).rejects.toThrow(`invalid run config in ${file}: stages[0].lr = -1: must be a finite number > 0 and <= 1; judge.bogus = "(not shown)": is not a known field`);
      await writeFile(file, '{"stages": [');
      await expect(trainConfig(options(['--config', file]))).rejects.toThrow(`${file} is not valid JSON: `);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
