// Property tests of the setup in a URL hash (src/rl/config/url-state.ts, through the settings
// table): any valid setup reads back equal, over the whole range of each setting's values; any
// hash is a setup or a ConfigError naming each bad key; prototype keys are refused and
// Object.prototype stays as it was.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, decodeSetup, encodeSetup, RUN_SETTINGS, type Setting, type SettingValue } from '../../src/rl/config';
import { expectPrototypeUnchanged, fuzzParams, PROTO_KEYS } from '../support/fuzz';

/** Characters a URL must escape, and others that are easy to get wrong (well-formed UTF-16 only: a URL cannot carry a lone surrogate). */
const AWKWARD = ['&', '=', '#', '%', '+', ' ', '?', '/', ';', '\n', '\r', '\t', '%20', '%zz', 'ü', '😀', '\u2028', '\uFEFF', '__proto__'];
const textArb = fc.string({ unit: fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 12 });

/** Any value the setting's check accepts, its bounds and special values included. */
function valueArb(s: Setting): fc.Arbitrary<SettingValue> {
  const t = s.type;
  let arb: fc.Arbitrary<SettingValue>;
  switch (t.kind) {
    case 'enum':
      arb = fc.constantFrom(...t.choices);
      break;
    case 'int': {
      const lo = t.min ?? (t.gt !== undefined ? Math.floor(t.gt) + 1 : Number.MIN_SAFE_INTEGER);
      const hi = t.max ?? (t.lt !== undefined ? Math.ceil(t.lt) - 1 : Number.MAX_SAFE_INTEGER);
      // Integers past 2^53 and 1e21 (which String() writes with an exponent) pass an unbounded check too.
      const huge = t.max === undefined ? [2 ** 53, 2 ** 60, 1e21, 1e300] : [];
      arb = fc.oneof(fc.integer({ min: lo, max: hi }), fc.constantFrom(lo, hi, ...huge), ...(t.also ?? []).filter((a) => a !== null).map((a) => fc.constant(a as SettingValue)));
      break;
    }
    case 'number':
      arb = fc.oneof(fc.double({ min: t.min ?? t.gt ?? -1e300, max: t.max ?? t.lt ?? 1e300, noNaN: true }), ...(t.also ?? []).filter((a) => a !== null).map((a) => fc.constant(a as SettingValue)));
      break;
    case 'bool':
      arb = fc.boolean();
      break;
    case 'string':
      arb = textArb;
      break;
    case 'json':
      throw new Error(`${s.key}: a text value cannot set a ${t.what}`);
  }
  return arb.filter((v) => s.check(v) === null);
}

const linkable = RUN_SETTINGS.filter((s) => !s.secret);
const setupArb = fc.record(Object.fromEntries(linkable.map((s) => [s.key, valueArb(s)])), { requiredKeys: [] });

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, got a setup');
}

describe('URL state', () => {
  it('encodeSetup -> decodeSetup reads any valid setup back equal, and encodes it again the same', () => {
    fc.assert(
      fc.property(setupArb, (setup) => {
        const hash = encodeSetup(setup);
        const back = decodeSetup(`#${hash}`);
        // -0 is written "0": the same setting value.
        const plain = Object.fromEntries(Object.entries(setup).map(([k, v]) => [k, Object.is(v, -0) ? 0 : v]));
        expect(back.setup).toEqual(plain);
        expect(encodeSetup(back.setup)).toBe(hash);
        expect(back.confirm).toEqual(linkable.filter((s) => s.fromLink === 'confirm' && setup[s.key] !== undefined && setup[s.key] !== '').map((s) => s.key));
      }),
      fuzzParams(300),
    );
  });

  it('any hash is a setup of the table\'s keys with values their checks accept, or a ConfigError naming each bad key', () => {
    const keyArb = fc.oneof(fc.constantFrom(...RUN_SETTINGS.map((s) => s.key)), fc.constantFrom(...PROTO_KEYS), textArb);
    const hashArb = fc.oneof(
      textArb,
      fc.array(fc.tuple(keyArb, fc.oneof(textArb, fc.integer().map(String), fc.double().map(String), fc.constantFrom('true', 'false', 'auto', ''))), { maxLength: 5 }).map((pairs) => new URLSearchParams(pairs).toString()),
    );
    fc.assert(
      fc.property(hashArb, (hash) => {
        const keys = [...new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash).keys()];
        try {
          const { setup } = decodeSetup(hash);
          for (const [k, v] of Object.entries(setup)) {
            const s = linkable.find((x) => x.key === k);
            expect(s, k).toBeDefined();
            expect(s!.check(v)).toBeNull();
          }
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          const err = e as ConfigError;
          expect(err.issues.length).toBeGreaterThan(0);
          for (const i of err.issues) {
            expect(keys).toContain(i.path);
            expect(err.message).toContain(`${i.path} = `);
          }
        }
        expectPrototypeUnchanged();
      }),
      fuzzParams(300),
    );
  });

  it('a prototype key anywhere in a valid hash is refused, naming it, its value never shown', () => {
    fc.assert(
      fc.property(setupArb, fc.constantFrom(...PROTO_KEYS), textArb, fc.nat(), (setup, key, value, at) => {
        const pairs = [...new URLSearchParams(encodeSetup(setup))];
        pairs.splice(at % (pairs.length + 1), 0, [key, value]);
        const err = configError(() => decodeSetup(new URLSearchParams(pairs).toString()));
        expect(err.issues).toEqual([{ path: key, value: '(not shown)', message: `"${key}" is not allowed as a key (it would reach the object prototype)` }]);
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });
});
