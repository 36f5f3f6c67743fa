// A setup in the URL hash (src/rl/config/url-state.ts): round trips through the settings table,
// and a hash is untrusted text: unknown keys, bad values, prototype keys and secrets are refused.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configFromSetup,
  decodeSetup,
  encodeSetup,
  preset,
  PRESET_NAMES,
  readSettings,
  RUN_SETTINGS,
  type Setting,
  type SettingValue,
  type Setup,
} from '../../src/rl/config';
import { num, str } from '../../src/rl/config/checks';
import { rng } from '../support/check';


const AWKWARD = ['&', '=', '#', '%', '+', ' ', '?', '/', 'ü', '\n', '%20', 'a&b=c', '__proto__'];

/** A valid value of a setting, drawn at random (text includes characters a URL must escape). */
function draw(s: Setting, r: () => number): SettingValue {
  const t = s.type;
  if (t.kind === 'enum') return t.choices[Math.floor(r() * t.choices.length)];
  if (t.kind === 'int') {
    const lo = t.min ?? (t.gt !== undefined ? t.gt + 1 : 0);
    const hi = Math.min(t.max ?? lo + 1000, lo + 1000);
    return lo + Math.floor(r() * (hi - lo + 1));
  }
  if (t.kind === 'string') {
    let v = t.nonEmpty ? 'x' : '';
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) v += AWKWARD[Math.floor(r() * AWKWARD.length)];
    return v;
  }
  if (t.kind === 'number') {
    const lo = t.gt ?? t.min ?? 0;
    const hi = t.max ?? lo + 10;
    const v = lo + r() * (hi - lo);
    return v > lo ? v : hi; // never the excluded bound
  }
  if (t.kind === 'bool') return r() < 0.5;
  throw new Error(`no generator for ${s.key} (${t.kind})`);
}

describe('URL state', () => {
  it('round-trips random setups, every key in or out, awkward characters included', () => {
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const setup: Record<string, SettingValue> = {};
      for (const s of RUN_SETTINGS) if (r() < 0.6) setup[s.key] = draw(s, r);
      const hash = encodeSetup(setup);
      expect(hash, hash).not.toMatch(/[#\s]/);
      const back = decodeSetup(`#${hash}`);
      expect(back.setup, hash).toEqual(setup);
      expect(encodeSetup(back.setup)).toBe(hash);
    }
  });

  it('reproduces a setup in which every setting differs from the preset', () => {
    const base = readSettings(preset('tiny'));
    const setup: Setup = {
      preset: 'tiny',
      method: 'exprl-outcome',
      steps: 2,
      lr: 1e-7,
      prompts: 3,
      rollouts: 5,
      'max-tokens': 33,
      temperature: 1.25,
      'kl-coef': 0,
      'stage2-steps': 3,
      model: 'builtin-base',
      seed: 17,
      judge: 'openai',
      'judge-endpoint': 'http://127.0.0.1:8000/v1?x=1&y=2',
      'judge-model': 'Qwen/Qwen3 4B #1',
      'judge-guard': false,
      'judge-require-probes': true,
      'judge-runtime': 'transformers',
      'judge-dtype': 'q4f16',
    };
    expect(Object.keys(setup)).toEqual(RUN_SETTINGS.map((s) => s.key));
    for (const [k, v] of Object.entries(setup)) if (k !== 'preset') expect(v, k).not.toEqual(base[k]);
    const back = decodeSetup(encodeSetup(setup));
    expect(back.setup).toEqual(setup);
    expect(configFromSetup(back.setup)).toEqual(configFromSetup(setup));
    expect(configFromSetup(back.setup).judge).toMatchObject({ kind: 'openai', endpoint: 'http://127.0.0.1:8000/v1?x=1&y=2', model: 'Qwen/Qwen3 4B #1' });
    // The endpoint came from the link: the page must ask before sending anything there.
    expect(back.confirm).toEqual(['judge-endpoint']);
  });

  it('writes keys in table order and only set values; reads an empty hash as an empty setup', () => {
    expect(encodeSetup({ steps: 5, preset: 'small' })).toBe('preset=small&steps=5');
    expect(encodeSetup({})).toBe('');
    expect(decodeSetup('')).toEqual({ setup: {}, confirm: [] });
    expect(decodeSetup('#')).toEqual({ setup: {}, confirm: [] });
    expect(decodeSetup('judge-endpoint=').confirm).toEqual([]);
    for (const name of PRESET_NAMES) expect(decodeSetup(encodeSetup({ preset: name, ...readSettings(preset(name)) })).setup.preset).toBe(name);
  });

  it('names the key of an unknown setting or a bad value, every one at once', () => {
    const bad = (hash: string): string => {
      try {
        decodeSetup(hash);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error(`${hash} was accepted`);
    };
    expect(bad('steps=abc')).toBe('invalid setup in the link: steps = "abc": must be a finite integer >= 1');
    expect(bad('steps=2.5')).toContain('steps = "2.5": must be a finite integer >= 1');
    expect(bad('seed=-1')).toContain('seed = "-1": must be a finite integer >= 0 and <= 4294967295');
    expect(bad('method=ppo')).toMatch(/method = "ppo": must be one of "sparse-grpo"/);
    expect(bad('preset=huge')).toContain('preset = "huge": must be one of "paper", "small", "tiny", "demo"');
    expect(bad('model=')).toContain('model = "": must be a non-empty string');
    expect(bad('epsHigh=0.1')).toMatch(/^invalid setup in the link: epsHigh = "0.1": is not a known setting \(preset, method, steps/);
    expect(bad('lr=0')).toContain('lr = "0": must be a finite number > 0 and <= 1');
    expect(bad('judge-guard=yes')).toContain('judge-guard = "yes": must be true or false');
    expect(bad('steps=1&steps=2')).toContain('steps = "2": is given twice');
    const two = bad('method=ppo&temprature=1');
    expect(two).toContain('method = "ppo"');
    expect(two).toContain('temprature = "1": is not a known setting');
  });

  it('refuses keys that reach a prototype and changes nothing', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      for (const hash of [`${key}=x`, `steps=2&${encodeURIComponent(key)}=%7B%7D`]) {
        expect(() => decodeSetup(hash), hash).toThrow(new RegExp(`${key} = "\\(not shown\\)": "${key}" is not allowed as a key`));
      }
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf(decodeSetup('steps=2').setup)).toBe(Object.prototype);
  });

  it('never writes a secret to a URL, and never reads one from it', () => {
    const table: Setting[] = [
      ...RUN_SETTINGS,
      { key: 'api-key', label: 'API key', doc: 'Bearer token of the judge server.', ...str(false), placeholder: 'KEY', fromLink: 'use', secret: true },
      { key: 'retries', label: 'retries', doc: 'Judge retries.', ...num({ int: true, min: 0, max: 20 }), placeholder: 'N', fromLink: 'use' },
    ];
    const hash = encodeSetup({ steps: 3, 'api-key': 'sk-very-secret', retries: 2 }, table);
    expect(hash).toBe('steps=3&retries=2');
    expect(decodeSetup(hash, table).setup).toEqual({ steps: 3, retries: 2 });
    let message = '';
    try {
      decodeSetup('steps=3&api-key=sk-very-secret', table);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('invalid setup in the link: api-key = "(not shown)": is a secret and is never read from a link; enter it in the page');
    expect(message).not.toContain('sk-very-secret');
    // A secret key is not offered among the known settings either.
    expect(() => decodeSetup('apikey=1', table)).toThrow(/is not a known setting \((?!.*api-key).*retries\)/);
  });
});
