// Property tests of the run config (src/rl/config/: merge, validate, checks): a wrong value is a
// ConfigError naming its field path; keys that reach a prototype are refused at any depth,
// naming their path, and Object.prototype stays as it was; merging is predictable (a config
// merged onto a preset gives that config; the base is never changed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, mergeConfig, preset, PRESET_NAMES, resolveConfig, validateConfig, type DeepPartial, type RunConfig } from '../../src/rl/config';
import { num, oneOf, orValue, str } from '../../src/rl/config/checks';
import { expectPrototypeUnchanged, fuzzParams, jsonTextWithProtoKeys, objectWithProtoKeyAt, PROTO_KEYS } from '../support/fuzz';

/** A field path as the config's errors write it: "judge.endpoint", "stages[0].lr". */
type Path = (string | number)[];
const show = (p: Path): string => p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s === '' ? k : `${s}.${k}`), '');

/** Every leaf of a config (lists are leaves, except `stages`), with its path. */
function leaves(v: unknown, path: Path = []): Path[] {
  if (Array.isArray(v) && path.length === 1 && path[0] === 'stages') return v.flatMap((s, i) => leaves(s, [...path, i]));
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  return [path];
}

/** An override that sets `value` at `path` (a stage index n gets n earlier empty stage overrides). */
function overrideAt(path: Path, value: unknown): Record<string, unknown> {
  let out: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) {
    const k = path[i];
    out = typeof k === 'number' ? [...Array.from({ length: k }, () => ({})), out] : { [k]: out };
  }
  return out as Record<string, unknown>;
}

const presetArb = fc.constantFrom(...PRESET_NAMES);
const leafArb = presetArb.chain((name) => fc.record({ name: fc.constant(name), path: fc.constantFrom(...leaves(preset(name))) }));

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, got a valid config');
}

describe('run config: errors name the field', () => {
  it('an object where a value or list belongs is refused, naming that field or the field holding it', () => {
    fc.assert(
      fc.property(leafArb, fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), ({ name, path }, value) => {
        const err = configError(() => resolveConfig(name, overrideAt(path, value) as DeepPartial<RunConfig>));
        const named = err.issues.map((i) => i.path);
        // The leaf itself, the custom-checked object holding it (judge.templates, tasks.difficulties),
        // or a prototype key inside the value (jsonValue makes "__proto__" keys too).
        const want = [show(path), show(path.slice(0, -1))];
        expect(named.some((p) => want.includes(p) || p.startsWith(`${show(path)}.`)), `${err.message}\nwanted one of ${want.join(', ')}`).toBe(true);
        for (const i of err.issues) expect(err.message).toContain(`${i.path} = `);
      }),
      fuzzParams(200),
    );
  });

  it('any JSON value at any field gives a valid config or a ConfigError naming fields (never another exception)', () => {
    fc.assert(
      fc.property(leafArb, fc.jsonValue({ maxDepth: 2 }), ({ name, path }, value) => {
        let issues: { path: string }[] = [];
        try {
          resolveConfig(name, overrideAt(path, value) as DeepPartial<RunConfig>);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          issues = (e as ConfigError).issues;
          expect(issues.length).toBeGreaterThan(0);
          for (const i of issues) expect((e as Error).message).toContain(`${i.path} = `);
        }
      }),
      fuzzParams(300),
    );
  });
});

describe('run config: field checks (checks.ts)', () => {
  it('num accepts exactly the finite numbers (safe integers) within its bounds, and says so in the same words it describes', () => {
    const bound = fc.option(fc.integer({ min: -100, max: 100 }), { freq: 2 });
    fc.assert(
      fc.property(fc.record({ int: fc.boolean(), min: bound, max: bound, gt: bound, lt: bound }), fc.oneof(fc.double(), fc.integer({ min: -120, max: 120 }), fc.jsonValue({ maxDepth: 1 })), (b, v) => {
        const opts = Object.fromEntries(Object.entries(b).filter(([, x]) => x !== null)) as Parameters<typeof num>[0];
        const rule = num(opts);
        const ok =
          typeof v === 'number' && Number.isFinite(v) && (!opts.int || Number.isSafeInteger(v)) &&
          (opts.min === undefined || v >= opts.min) && (opts.max === undefined || v <= opts.max) && (opts.gt === undefined || v > opts.gt) && (opts.lt === undefined || v < opts.lt);
        const problem = rule.check(v);
        expect(problem === null).toBe(ok);
        if (problem !== null) expect(problem).toMatch(opts.int ? /^must be a finite integer/ : /^must be a finite number/);
        // orValue adds one more accepted value, and nothing else.
        const or = orValue(rule, 'auto', 'must be a number or "auto"');
        expect(or.check('auto')).toBeNull();
        expect(or.check(v) === null).toBe(ok);
      }),
      fuzzParams(300),
    );
  });

  it('oneOf and str accept exactly their values, whatever the value', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 4 }), fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('__proto__', 'constructor', 'toString')), fc.boolean(), (choices, v, nonEmpty) => {
        expect(oneOf(choices).check(v) === null).toBe(typeof v === 'string' && choices.includes(v));
        expect(str(nonEmpty).check(v) === null).toBe(typeof v === 'string' && (!nonEmpty || v !== ''));
      }),
      fuzzParams(300),
    );
  });
});

describe('run config: prototype keys', () => {
  /** Where an override may put a key: known objects, leaves, unknown names, stages. */
  const hostArb = presetArb.chain((name) =>
    fc.record({
      name: fc.constant(name),
      at: fc.oneof(fc.constantFrom<Path>([], ['judge'], ['judge', 'templates'], ['tasks', 'difficulties'], ['stages', 0], ['eval']), fc.constantFrom(...leaves(preset(name)))),
      proto: objectWithProtoKeyAt,
    }),
  );

  it('are refused wherever they sit in an override, naming their path; Object.prototype is unchanged', () => {
    fc.assert(
      fc.property(hostArb, ({ name, at, proto }) => {
        const err = configError(() => resolveConfig(name, overrideAt(at, proto.value) as DeepPartial<RunConfig>));
        const where = show([...at, ...proto.path]);
        expect(err.issues).toContainEqual({ path: where, value: '(not shown)', message: `"${proto.path.at(-1)}" is not allowed as a key (it would reach the object prototype)` });
        expectPrototypeUnchanged();
      }),
      fuzzParams(200),
    );
  });

  it('are refused by validation of a whole config read from JSON (a saved run, a page import); Object.prototype is unchanged', () => {
    fc.assert(
      fc.property(presetArb, fc.constantFrom<Path>([], ['judge'], ['judge', 'templates'], ['tasks'], ['tasks', 'difficulties'], ['stages', 0], ['eval'], ['seeds'], ['pretrain']), fc.constantFrom(...PROTO_KEYS), jsonTextWithProtoKeys, (name, at, key, inner) => {
        const config = JSON.parse(JSON.stringify(preset(name))) as Record<string, unknown>;
        // The key's own value is any JSON, itself perhaps holding more prototype keys.
        const host = at.reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, config);
        const text = JSON.stringify(config).replace(JSON.stringify(host), () => `${JSON.stringify(host).slice(0, -1)},${JSON.stringify(key)}:${inner}}`);
        const err = configError(() => validateConfig(JSON.parse(text)));
        // "judge.__proto__ = ...: is not a known field", or "judge.templates = ...: has unknown template "__proto__"".
        expect(err.message).toMatch(new RegExp(`${escape(show([...at, key]))} = |${escape(show(at))} = .*"${key}"`));
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });
});

describe('run config: merging', () => {
  it('a preset merged onto another gives that preset; the base is not changed', () => {
    fc.assert(
      fc.property(presetArb, presetArb, (a, b) => {
        const base = preset(a);
        const before = structuredClone(base);
        expect(mergeConfig(base, preset(b) as DeepPartial<RunConfig>)).toEqual(preset(b));
        expect(mergeConfig(base, {})).toEqual(base);
        expect(mergeConfig(base, undefined)).toEqual(base);
        expect(base).toEqual(before);
      }),
      fuzzParams(20),
    );
  });

  it('an override of some leaves sets exactly those leaves (a stages override sets the stage count), and survives a JSON round trip', () => {
    fc.assert(
      fc.property(presetArb, presetArb, fc.infiniteStream(fc.boolean()), (a, b, picks) => {
        const from = preset(b);
        // Leaves outside stages, and stage 0's (a stage override index past 0 would need the earlier ones).
        const chosen = leaves(from).filter((p) => (p[0] !== 'stages' || p[1] === 0) && picks.next().value);
        let override: Record<string, unknown> = {};
        const want = preset(a) as unknown as Record<string, unknown>;
        for (const p of chosen) {
          const v = p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], from);
          override = deepMerge(override, overrideAt(p, v));
          setAt(want, p, structuredClone(v));
        }
        // A stages override gives the stage list its length (here one stage).
        if (override.stages !== undefined) want.stages = (want.stages as unknown[]).slice(0, 1);
        const merged = mergeConfig(preset(a), JSON.parse(JSON.stringify(override)) as DeepPartial<RunConfig>);
        expect(merged).toEqual(want);
        expect(JSON.parse(JSON.stringify(merged))).toEqual(merged);
      }),
      fuzzParams(100),
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const x = out[k];
    if (Array.isArray(x) && Array.isArray(v)) out[k] = v.map((e, i) => (i < x.length ? deepMerge(x[i] as Record<string, unknown>, e as Record<string, unknown>) : e));
    else if (x && typeof x === 'object' && v && typeof v === 'object' && !Array.isArray(v)) out[k] = deepMerge(x as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

function setAt(o: Record<string, unknown>, p: Path, v: unknown): void {
  let cur = o as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[p[p.length - 1]] = v;
}
