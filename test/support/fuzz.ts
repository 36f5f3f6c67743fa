/**
 * Shared pieces of the property (fuzz) tests in test/unit/fuzz-*.test.ts: seeded fast-check runs,
 * JSON that holds prototype keys as own keys (as JSON.parse makes them), and a check that
 * Object.prototype is untouched.
 *
 * Seeds follow check.ts: a fresh one per run, so every run tries new inputs. fast-check prints
 * the seed and the counterexample path when a property fails; EXPRL_FUZZ_SEED=<seed> replays it.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { freshSeed } from './check';

/** fast-check parameters: the seed (fresh, or EXPRL_FUZZ_SEED to replay a failure) and the run count. */
export function fuzzParams(numRuns: number): { seed: number; numRuns: number } {
  const fixed = process.env.EXPRL_FUZZ_SEED;
  return { seed: fixed !== undefined && fixed !== '' ? Number(fixed) : freshSeed(), numRuns };
}

/** Keys that reach an object's prototype when assigned; every parser must refuse or ignore them. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** A key: usually an ordinary name, sometimes one of PROTO_KEYS. */
export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS) },
);

/**
 * JSON text whose objects may hold PROTO_KEYS at any depth. Built as text and parsed, so
 * "__proto__" is an own key exactly as in a file read from disk (an object literal or
 * assignment would set the prototype instead).
 */
export const jsonTextWithProtoKeys: fc.Arbitrary<string> = fc
  .letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('null', 'true', 'false', '0', '1.5', '"x"', '{"polluted": true}'),
      fc.array(tie('value'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
      fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 4 }).map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    ),
  }))
  .value.map((t) => t as string);

/** An object parsed from text, with one PROTO_KEY placed at the end of a random path of ordinary keys. */
export const objectWithProtoKeyAt: fc.Arbitrary<{ value: Record<string, unknown>; path: string[] }> = fc
  .record({
    path: fc.array(fc.stringMatching(/^[a-z]{1,5}$/), { maxLength: 3 }),
    key: fc.constantFrom(...PROTO_KEYS),
    inner: jsonTextWithProtoKeys,
  })
  .map(({ path, key, inner }) => {
    let text = `{${JSON.stringify(key)}:${inner}}`;
    for (let i = path.length - 1; i >= 0; i--) text = `{${JSON.stringify(path[i])}:${text}}`;
    return { value: JSON.parse(text) as Record<string, unknown>, path: [...path, key] };
  });

/** The property names and descriptors of Object.prototype, to compare before and after. */
function prototypeShape(): string {
  const p = Object.prototype as unknown as Record<string, unknown>;
  return Object.getOwnPropertyNames(p)
    .sort()
    .map((k) => {
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      return `${k}:${typeof d.value}:${String(d.writable)}:${String(d.enumerable)}`;
    })
    .join('|');
}

const PRISTINE = prototypeShape();

/** Fails when anything was added to, or changed on, Object.prototype (a polluted key shows on {}). */
export function expectPrototypeUnchanged(): void {
  expect(prototypeShape()).toBe(PRISTINE);
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}
