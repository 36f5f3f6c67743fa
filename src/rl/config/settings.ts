/**
 * THE list of run settings a person sets by hand: one row per setting, read by the `exprl train`
 * options and help, the page's run panel (its inputs and their labels) and the URL hash of a
 * setup (./url-state.ts). A row that sets one config field takes that field's documentation,
 * type and check from the schema (./schema.ts), so nothing about the field is written twice;
 * defaults come from the presets (`read` of a preset's config).
 *
 * A setup is a preset plus the values of some settings; they apply in the order of this table.
 */
import { num, oneOf, U32, type Check, type Rule, type ValueType } from './checks';
import { preset, PRESET_NAMES, smallStage2, type PresetName } from './presets';
import { schemaField, type RunConfig } from './schema';
import { ConfigError, validateConfig, type ConfigIssue } from './validate';

export type SettingValue = string | number | boolean;

/** A preset and setting values, by setting key (only keys of the table). */
export type Setup = Readonly<Partial<Record<string, SettingValue>>>;

export interface Setting {
  /** One name everywhere: the CLI option `--key`, the key in the URL hash, the page input's id. */
  key: string;
  /** Short label: the page input's visible label (its accessible name) and the CLI help line. */
  label: string;
  /** The config field the setting sets, whose doc, type and check it takes; absent for settings that are not one field. */
  path?: string;
  doc: string;
  type: ValueType;
  check: Check;
  /** The value's placeholder in the CLI help, e.g. DIR. */
  placeholder: string;
  /** An example value, shown in an empty page input. */
  example?: string;
  /**
   * How a value that came from a link (URL hash, imported setup) may be used: at once, or only
   * after the user confirms it ("confirm": the judge endpoint, where requests would go).
   */
  fromLink: 'use' | 'confirm';
  /** Never written to a URL, an export or a log, and refused in a link (an API key). */
  secret?: boolean;
  /** The setting's value in a config (a preset's: the default); undefined when it has none. Absent for `preset`. */
  read?: (c: RunConfig) => SettingValue | undefined;
  /** Sets the value in a config (a fresh copy the caller owns). Absent for `preset`. */
  apply?: (c: RunConfig, v: SettingValue) => void;
}

/** A setting that is one config field: doc, type and check from the schema. */
function field(key: string, label: string, path: string, placeholder: string, read: (c: RunConfig) => SettingValue, apply: (c: RunConfig, v: SettingValue) => void, more: Partial<Setting> = {}): Setting {
  const f = schemaField(path);
  return { key, label, path, doc: f.doc, type: f.type, check: f.check, placeholder, fromLink: 'use', read, apply, ...more };
}

/** A setting that is not one field: its own doc and rule. */
function own(key: string, label: string, doc: string, rule: Rule, placeholder: string, more: Partial<Setting> = {}): Setting {
  return { key, label, doc, type: rule.type, check: rule.check, placeholder, fromLink: 'use', ...more };
}

/** The preset a setup without one starts from (the CLI's default). */
export const DEFAULT_PRESET: PresetName = 'small';

/** The first Stage II stage after Stage I (index > 0), or -1. */
function stage2Index(c: RunConfig): number {
  return c.stages.findIndex((s, i) => i > 0 && s.method === 'stage2');
}

export const RUN_SETTINGS: readonly Setting[] = [
  own(
    'preset',
    'preset',
    `The run config the setup starts from: "paper" (the paper's settings for Qwen3-4B), "small" (the shipped built-in base policy, ExpRL-Process, the rubric judge), "tiny" (the whole pipeline in a few steps) or "demo" (the page's default: the shipped base practises four one-step equations, and learns them). Default ${DEFAULT_PRESET}; the other settings change it.`,
    oneOf(PRESET_NAMES),
    'NAME',
  ),
  field('method', 'Stage I method', 'stages[0].method', 'M', (c) => c.stages[0].method, (c, v) => (c.stages[0].method = v as RunConfig['stages'][0]['method'])),
  field('steps', 'Stage I steps', 'stages[0].steps', 'N', (c) => c.stages[0].steps, (c, v) => (c.stages[0].steps = v as number)),
  // Stage I's optimisation and sampling; before Stage II steps, so a Stage II appended there takes them over.
  field('lr', 'Stage I learning rate', 'stages[0].lr', 'LR', (c) => c.stages[0].lr, (c, v) => (c.stages[0].lr = v as number)),
  field('prompts', 'prompts per step', 'stages[0].promptsPerStep', 'N', (c) => c.stages[0].promptsPerStep, (c, v) => (c.stages[0].promptsPerStep = v as number)),
  field('rollouts', 'rollouts per prompt', 'stages[0].rolloutsPerPrompt', 'G', (c) => c.stages[0].rolloutsPerPrompt, (c, v) => (c.stages[0].rolloutsPerPrompt = v as number)),
  field('max-tokens', 'max response tokens', 'stages[0].maxResponseTokens', 'N', (c) => c.stages[0].maxResponseTokens, (c, v) => (c.stages[0].maxResponseTokens = v as number)),
  field('temperature', 'sampling temperature', 'stages[0].temperature', 'T', (c) => c.stages[0].temperature, (c, v) => (c.stages[0].temperature = v as number)),
  field('kl-coef', 'KL coefficient', 'stages[0].klCoef', 'K', (c) => c.stages[0].klCoef, (c, v) => (c.stages[0].klCoef = v as number)),
  own('stage2-steps', 'Stage II steps', 'Steps of Stage II (sparse RL after Stage I). 0 drops Stage II; a config without one (the small preset) gets the small preset\'s Stage II appended.', num({ int: true, min: 0 }), 'N', {
    read: (c) => {
      const at = stage2Index(c);
      return at > 0 ? c.stages[at].steps : 0;
    },
    apply: (c, v) => {
      const n = v as number;
      const at = stage2Index(c);
      if (n === 0) c.stages = c.stages.filter((_, i) => i === 0 || i !== at);
      else if (at > 0) c.stages[at].steps = n;
      else c.stages.push(smallStage2(c.stages[0], n));
    },
  }),
  field('model', 'policy', 'policy', 'DIR', (c) => c.policy, (c, v) => (c.policy = v as string)),
  own('seed', 'run seed', 'Sets every seed of the run (seeds.init, seeds.data, seeds.sampling) to this value.', U32, 'S', {
    read: (c) => (c.seeds.init === c.seeds.data && c.seeds.data === c.seeds.sampling ? c.seeds.init : undefined),
    apply: (c, v) => (c.seeds = { init: v as number, data: v as number, sampling: v as number }),
  }),
  field('judge', 'judge', 'judge.kind', 'J', (c) => c.judge.kind, (c, v) => (c.judge.kind = v as RunConfig['judge']['kind'])),
  field('judge-endpoint', 'judge endpoint', 'judge.endpoint', 'URL', (c) => c.judge.endpoint, (c, v) => (c.judge.endpoint = v as string), {
    example: 'http://127.0.0.1:11434/v1',
    fromLink: 'confirm',
  }),
  field('judge-model', 'judge model', 'judge.model', 'NAME', (c) => c.judge.model, (c, v) => (c.judge.model = v as string), { example: 'judge model (openai: served name; local: Hub id)' }),
  field('judge-guard', 'judge guard', 'judge.guard', 'B', (c) => c.judge.guard, (c, v) => (c.judge.guard = v as boolean)),
  field('judge-require-probes', 'refuse a gameable judge', 'judge.requireProbes', 'B', (c) => c.judge.requireProbes, (c, v) => (c.judge.requireProbes = v as boolean)),
  field('judge-runtime', 'judge runtime', 'judge.runtime', 'R', (c) => c.judge.runtime, (c, v) => (c.judge.runtime = v as RunConfig['judge']['runtime'])),
  field('judge-dtype', 'judge weights', 'judge.dtype', 'D', (c) => c.judge.dtype, (c, v) => (c.judge.dtype = v as RunConfig['judge']['dtype'])),
];

export function settingByKey(key: string, table: readonly Setting[] = RUN_SETTINGS): Setting | undefined {
  return table.find((s) => s.key === key);
}

/** The values of every setting in a config (a preset's: the defaults the page shows). */
export function readSettings(c: RunConfig, table: readonly Setting[] = RUN_SETTINGS): Partial<Record<string, SettingValue>> {
  const out: Partial<Record<string, SettingValue>> = {};
  for (const s of table) {
    const v = s.read?.(c);
    if (v !== undefined) out[s.key] = v;
  }
  return out;
}

/**
 * Applies a setup's values (the preset aside) to a config, in table order; the config is
 * changed in place. A key the table does not know is an error; the values are not checked
 * here: validating the config names a bad one by its field path (`setupIssues` checks them by key).
 */
export function applySettings(c: RunConfig, setup: Setup, table: readonly Setting[] = RUN_SETTINGS): RunConfig {
  const unknown = Object.keys(setup).filter((k) => setup[k] !== undefined && settingByKey(k, table) === undefined);
  if (unknown.length > 0) throw new ConfigError(unknown.map((k) => ({ path: k, value: setup[k], message: `is not a known setting (${table.map((x) => x.key).join(', ')})` })), 'setup');
  for (const s of table) {
    const v = setup[s.key];
    if (v !== undefined && s.apply !== undefined) s.apply(c, v);
  }
  return c;
}

/** Problems of a setup's values: unknown keys, and values their setting's check refuses. */
export function setupIssues(setup: Setup, table: readonly Setting[] = RUN_SETTINGS): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [k, v] of Object.entries(setup)) {
    if (v === undefined) continue;
    const s = settingByKey(k, table);
    if (s === undefined) issues.push({ path: k, value: v, message: `is not a known setting (${table.map((x) => x.key).join(', ')})` });
    else {
      const problem = s.check(v);
      if (problem !== null) issues.push({ path: k, value: v, message: problem });
    }
  }
  return issues;
}

/** The run config of a setup: its preset (default `DEFAULT_PRESET`) with its values applied, validated. */
export function configFromSetup(setup: Setup, table: readonly Setting[] = RUN_SETTINGS): RunConfig {
  const issues = setupIssues(setup, table);
  if (issues.length > 0) throw new ConfigError(issues, 'setup');
  return validateConfig(applySettings(preset((setup.preset ?? DEFAULT_PRESET) as PresetName), setup, table));
}

/**
 * A setting's value from text (a URL hash, a page input): numbers and booleans parsed, then the
 * setting's check. Returns the value, or the problem in the schema's words.
 */
export function parseSettingValue(s: Setting, raw: string): { value: SettingValue } | { problem: string } {
  let v: SettingValue;
  const t = s.type;
  const trimmed = raw.trim();
  if (t.kind === 'int' || t.kind === 'number') {
    const also = t.also?.find((a) => typeof a === 'string' && a === trimmed);
    if (also !== undefined) v = also as string;
    else if (trimmed === '' || (t.kind === 'int' && !/^[+-]?\d+$/.test(trimmed))) return { problem: s.check(NaN) ?? `must be a${t.kind === 'int' ? 'n integer' : ' number'}` };
    else v = Number(trimmed);
  } else if (t.kind === 'bool') {
    if (trimmed !== 'true' && trimmed !== 'false') return { problem: 'must be true or false' };
    v = trimmed === 'true';
  } else if (t.kind === 'json') {
    return { problem: `is ${t.what}, which a text value cannot set` };
  } else {
    v = raw;
  }
  const problem = s.check(v);
  return problem === null ? { value: v } : { problem };
}

/** The page's and the CLI help's one-line description of a setting's values ("integer >= 1", "one of a, b"). */
export function describeValues(t: ValueType): string {
  switch (t.kind) {
    case 'int':
    case 'number': {
      const parts: string[] = [];
      if (t.gt !== undefined) parts.push(`> ${t.gt}`);
      if (t.min !== undefined) parts.push(`>= ${t.min}`);
      if (t.lt !== undefined) parts.push(`< ${t.lt}`);
      if (t.max !== undefined) parts.push(`<= ${t.max}`);
      const base = `${t.kind === 'int' ? 'integer' : 'number'}${parts.length ? ' ' + parts.join(' and ') : ''}`;
      return t.also?.length ? `${base}, or ${t.also.map((a) => JSON.stringify(a)).join(', ')}` : base;
    }
    case 'enum':
      return `one of ${t.choices.join(', ')}`;
    case 'string':
      return t.nonEmpty ? 'non-empty text' : 'text';
    case 'bool':
      return 'true or false';
    case 'json':
      return t.what;
  }
}
