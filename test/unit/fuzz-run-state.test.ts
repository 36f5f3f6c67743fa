// Property tests of the run state (src/rl/run-state.ts parseRunState, src/rl/run-state-files.ts
// state.json and weights files, and src/cli/run-folder.ts that stores them on disk): what is saved
// reads back equal; a wrong field is a RunStateError naming the file and the field; prototype keys
// anywhere are refused, naming their path, and Object.prototype stays as it was.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunFolder } from '../../src/cli/run-folder';
import { parseRunState, RUN_STATE_FORMAT, RUN_STATE_VERSION, RunStateError, type FlatWeights, type RunStateJson } from '../../src/rl/run-state';
import { parseStateFile, readWeights, stateFileText, weightsFile } from '../../src/rl/run-state-files';
import { nodeTempPath, removeNodePath } from '../support/node-temp';
import { expectPrototypeUnchanged, fuzzParams, objectWithProtoKeyAt } from '../support/fuzz';

const count = fc.nat({ max: 1_000_000 });
const frozenArb = fc.option(
  fc.oneof(fc.constant({ kind: 'policy' as const }), fc.constant({ kind: 'base' as const }), fc.stringMatching(/^[a-z0-9-]{1,8}$/).map((key) => ({ kind: 'stored' as const, key }))),
);
/** Eval lines are kept as they are: any JSON objects (without prototype keys). */
const evalLine = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), fc.constant(null), fc.string()), { maxKeys: 4 });

const stateArb: fc.Arbitrary<RunStateJson> = fc.record({
  format: fc.constant(RUN_STATE_FORMAT),
  version: fc.constant(RUN_STATE_VERSION),
  cursor: fc.record({ stage: count, step: count, globalStep: count, baseEval: fc.boolean(), finished: fc.boolean() }),
  judgeCalls: count,
  unlocked: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
  evals: fc.array(evalLine, { maxLength: 3 }) as unknown as fc.Arbitrary<RunStateJson['evals']>,
  lines: fc.record({ metrics: count, rollouts: count }),
  optimizerStep: fc.option(count),
  base: frozenArb,
  reference: frozenArb,
});

const WHERE = 'run/state.json: state';

function runStateError(f: () => unknown): RunStateError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RunStateError);
    return e as RunStateError;
  }
  throw new Error('expected a RunStateError, got a state');
}

describe('run state', () => {
  it('serialised and parsed, a state reads back equal', () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        expect(parseRunState(JSON.parse(JSON.stringify(state)), WHERE)).toEqual(state);
      }),
      fuzzParams(200),
    );
  });

  /** Values of the wrong kind for each field; the field's name must be in the error. */
  const WRONG: Record<string, fc.Arbitrary<unknown>> = {
    format: fc.constantFrom('exprl', '', 1, null),
    version: fc.constantFrom(0, 2, '1', null),
    cursor: fc.constantFrom(null, [], { stage: -1, step: 0, globalStep: 0, baseEval: true, finished: false }, { stage: 0, step: 0.5, globalStep: 0, baseEval: true, finished: false }, { stage: 0, step: 0, globalStep: 0, baseEval: 1, finished: false }),
    judgeCalls: fc.constantFrom(-1, 1.5, '3', null, 2 ** 60),
    unlocked: fc.constantFrom(null, 'a', [1], [null]),
    evals: fc.constantFrom(null, {}, [1], [[]]),
    lines: fc.constantFrom(null, { metrics: 1 }, { metrics: -1, rollouts: 0 }, [1, 2]),
    optimizerStep: fc.constantFrom(-1, 0.5, 'x', {}),
    base: fc.constantFrom({}, { kind: 'stored' }, { kind: 'stored', key: '../x' }, { kind: 'stored', key: 'A' }, 'policy'),
    reference: fc.constantFrom({ kind: 'other' }, { kind: 'stored', key: '' }, 3),
  };

  it('a field of the wrong kind is a RunStateError naming the file and the field', () => {
    fc.assert(
      fc.property(stateArb, fc.constantFrom(...Object.keys(WRONG)).chain((field) => fc.tuple(fc.constant(field), WRONG[field])), (state, [field, value]) => {
        const broken = { ...JSON.parse(JSON.stringify(state)), [field]: value } as Record<string, unknown>;
        const err = runStateError(() => parseRunState(broken, WHERE));
        expect(err.message.startsWith(`${WHERE}: `)).toBe(true);
        expect(err.message).toContain(field);
      }),
      fuzzParams(200),
    );
  });

  it('anything that is not a state object is a RunStateError naming the file, never another exception', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const err = runStateError(() => parseRunState(value, WHERE));
        expect(err.message.startsWith(`${WHERE}: `)).toBe(true);
      }),
      fuzzParams(200),
    );
  });

  it('prototype keys anywhere in a state file are refused, naming their path; Object.prototype is unchanged', () => {
    fc.assert(
      fc.property(stateArb, objectWithProtoKeyAt, fc.constantFrom('top', 'evals', 'cursor', 'lines', 'base'), (state, proto, where) => {
        const host = where === 'top' ? '' : where === 'evals' ? 'evals[0]' : where;
        // Put first in its object, a key the state also has would be overwritten by the state's own.
        fc.pre(!['format', 'version', 'cursor', 'judgeCalls', 'unlocked', 'evals', 'lines', 'optimizerStep', 'base', 'reference', 'stage', 'step', 'globalStep', 'baseEval', 'finished', 'metrics', 'rollouts', 'kind', 'key', 'zzzzzz'].includes(proto.path[0]));
        const s = JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
        if (where === 'evals') s.evals = [{ zzzzzz: 1 }, ...(s.evals as unknown[])];
        if (where === 'base') s.base = { kind: 'policy' };
        const inner = JSON.stringify(proto.value).slice(1, -1);
        const json = JSON.stringify(s);
        // The keys go first in the host object (every host here is non-empty, hence the comma).
        const text = where === 'top' ? `{${inner},${json.slice(1)}` : json.replace(where === 'evals' ? '"evals":[{' : `"${where}":{`, (m) => `${m}${inner},`);
        const err = runStateError(() => parseRunState(JSON.parse(text), WHERE));
        const path = host === '' ? proto.path.join('.') : `${host}.${proto.path.join('.')}`;
        expect(err.message).toBe(`${WHERE}: ${path}: "${proto.path.at(-1)}" is not allowed as a key (it would reach the object prototype)`);
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });

  it('state.json: stateFileText -> parseStateFile reads back equal; any other text is a RunStateError naming the file', () => {
    const folderArb = fc.integer({ min: 0, max: 999_999 }).map((n) => `state/c-${String(n).padStart(6, '0')}`);
    fc.assert(
      fc.property(folderArb, stateArb, fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))), (folder, state, junk) => {
        expect(parseStateFile(stateFileText(folder, state), 'run/state.json')).toEqual({ folder, state });
        try {
          parseStateFile(junk, 'run/state.json');
        } catch (e) {
          expect(e).toBeInstanceOf(RunStateError);
          expect((e as Error).message.startsWith('run/state.json: ')).toBe(true);
        }
      }),
      fuzzParams(150),
    );
  });

  it('weights files: weightsFile -> readWeights gives back each group bit for bit; a missing group is an error naming the file', () => {
    const bufs = fc.array(fc.float32Array({ minLength: 1, maxLength: 16 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(bufs, bufs, (m, v) => {
        const bytes = weightsFile({ m, v });
        const bits = (ws: FlatWeights) => ws.map((w) => [...new Uint32Array(w.buffer, w.byteOffset, w.length)]);
        expect(bits(readWeights(bytes, 'run/optimizer.safetensors', 'm'))).toEqual(bits(m));
        expect(bits(readWeights(bytes, 'run/optimizer.safetensors', 'v'))).toEqual(bits(v));
        expect(() => readWeights(bytes, 'run/optimizer.safetensors', 'flat')).toThrow(new RunStateError('run/optimizer.safetensors', 'holds no flat.0 tensor'));
      }),
      fuzzParams(100),
    );
  });

  it('a run folder saves and loads a snapshot (state.json and safetensors weights) equal, bit for bit', async () => {
    const weights = fc.array(fc.float32Array({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(stateArb, weights, fc.option(fc.tuple(weights, weights)), async (state, policy, moments) => {
        const dir = nodeTempPath('fuzz-run-state')!;
        try {
          const optimizer = moments === null ? null : { m: moments[0], v: moments[1] };
          const s: RunStateJson = { ...state, optimizerStep: optimizer === null ? null : (state.optimizerStep ?? 0) };
          const frozen = new Map<string, FlatWeights>();
          for (const f of [s.base, s.reference]) if (f?.kind === 'stored' && !frozen.has(f.key)) frozen.set(f.key, policy.map((p) => p.map((x) => x / 2)));
          await new RunFolder(dir).save({ state: s, policy, optimizer, frozen });
          const back = await new RunFolder(dir).load();
          expect(back.state).toEqual(s);
          const bits = (ws: FlatWeights) => ws.map((w) => [...new Uint32Array(w.buffer, w.byteOffset, w.length)]);
          expect(bits(back.policy)).toEqual(bits(policy));
          expect(back.optimizer === null ? null : [bits(back.optimizer.m), bits(back.optimizer.v)]).toEqual(optimizer === null ? null : [bits(optimizer.m), bits(optimizer.v)]);
          expect([...back.frozen.keys()].sort()).toEqual([...frozen.keys()].sort());
          for (const [k, w] of frozen) expect(bits(back.frozen.get(k)!)).toEqual(bits(w));
        } finally {
          await removeNodePath(dir);
        }
      }),
      fuzzParams(25),
    );
  });
});
