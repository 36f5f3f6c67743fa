// The run folder's state on disk (src/cli/run-folder.ts) in a temporary folder, no GPU: save and
// load round trips, frozen files stored once and removed when unused, leftovers of a killed save
// removed, cutLines, and parseRunState's errors naming the field.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutLines, RunFolder, STATE_FILE } from '../../src/cli/run-folder';
import { parseRunState, RUN_STATE_FORMAT, RUN_STATE_VERSION, RunStateError, type FlatWeights, type FrozenSource, type RunSnapshot, type RunStateJson } from '../../src/rl/run-state';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'exprl-run-folder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh empty folder for one test. */
async function folder(): Promise<string> {
  const dir = join(root, `f${++n}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function bits(w: FlatWeights): Uint32Array[] {
  return w.map((a) => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
}

/** Flat buffers of sizes 5, 3 and 7 with awkward values (-0, subnormals, extremes, random bits). */
function weights(seed: number): FlatWeights {
  const special = [-0, 1.4e-45, -1.17549435e-38, 3.4028234e38, 1 / 3, -2.5];
  let x = seed >>> 0 || 1;
  return [5, 3, 7].map((len, b) =>
    Float32Array.from({ length: len }, (_, i) => {
      if (b === 0 && i < special.length) return special[i];
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return (x / 2 ** 32 - 0.5) * 10;
    }),
  );
}

function state(over: Partial<RunStateJson> = {}): RunStateJson {
  return {
    format: RUN_STATE_FORMAT,
    version: RUN_STATE_VERSION,
    cursor: { stage: 1, step: 2, globalStep: 2, baseEval: true, finished: false },
    judgeCalls: 17,
    unlocked: ['arith-chain/3/12', 'gcd/2/5'],
    evals: [],
    lines: { metrics: 4, rollouts: 8 },
    optimizerStep: 2,
    base: { kind: 'stored', key: 'base' },
    reference: { kind: 'base' },
    ...over,
  };
}

function snapshot(s: RunStateJson, seed: number, frozen: [string, FlatWeights][] = []): RunSnapshot {
  return {
    state: s,
    policy: weights(seed),
    optimizer: s.optimizerStep === null ? null : { m: weights(seed + 1), v: weights(seed + 2) },
    frozen: new Map(frozen),
  };
}

async function inForce(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as { folder: string }).folder;
}

const listState = async (dir: string): Promise<string[]> => (await readdir(join(dir, 'state'))).sort();

describe('RunFolder', () => {
  it('loads back what it saved: the state, and the weights and optimizer moments bit for bit', async () => {
    const dir = await folder();
    const f = new RunFolder(dir);
    expect(await f.hasState()).toBe(false);
    const s = state();
    await f.save(snapshot(s, 11, [['base', weights(99)]]));
    expect(await f.hasState()).toBe(true);
    const got = await new RunFolder(dir).load();
    expect(got.state).toEqual(s);
    expect(bits(got.policy)).toEqual(bits(weights(11)));
    expect(got.optimizer).not.toBeNull();
    expect(bits(got.optimizer!.m)).toEqual(bits(weights(12)));
    expect(bits(got.optimizer!.v)).toEqual(bits(weights(13)));
    expect([...got.frozen.keys()]).toEqual(['base']);
    expect(bits(got.frozen.get('base')!)).toEqual(bits(weights(99)));
    expect(Object.is(got.policy[0][0], -0)).toBe(true);
  });

  it('stores no optimizer between stages (optimizerStep null) and loads none', async () => {
    const dir = await folder();
    await new RunFolder(dir).save(snapshot(state({ optimizerStep: null, base: null, reference: null }), 5));
    expect(await readdir(join(dir, await inForce(dir)))).toEqual(['policy.safetensors']);
    const got = await new RunFolder(dir).load();
    expect(got.optimizer).toBeNull();
    expect(got.frozen.size).toBe(0);
    expect(bits(got.policy)).toEqual(bits(weights(5)));
  });

  it('writes a frozen policy once, keeps it while a state refers to it and removes it after', async () => {
    const dir = await folder();
    const f = new RunFolder(dir);
    await f.save(snapshot(state(), 1, [['base', weights(50)]]));
    const baseFile = join(dir, 'state', 'frozen-base.safetensors');
    const written = (await stat(baseFile)).mtimeMs;
    // Later saves hand no frozen weights: the file stays as it was, and one checkpoint folder.
    await f.save(snapshot(state(), 2));
    await f.save(snapshot(state(), 3));
    expect(await listState(dir)).toEqual(['c-000003', 'frozen-base.safetensors']);
    expect((await stat(baseFile)).mtimeMs).toBe(written);
    // Stage II: its own reference, stored; the base stays.
    const stage2 = state({ cursor: { stage: 2, step: 0, globalStep: 3, baseEval: true, finished: false }, reference: { kind: 'stored', key: 'reference-stage-2' } });
    await f.save(snapshot(stage2, 4, [['reference-stage-2', weights(60)]]));
    expect(await listState(dir)).toEqual(['c-000004', 'frozen-base.safetensors', 'frozen-reference-stage-2.safetensors']);
    const loaded = await new RunFolder(dir).load();
    expect(bits(loaded.frozen.get('base')!)).toEqual(bits(weights(50)));
    expect(bits(loaded.frozen.get('reference-stage-2')!)).toEqual(bits(weights(60)));
    // No reference any more (an SFT stage), then a base rebuilt from the policy: both files go.
    await f.save(snapshot(state({ reference: null }), 5));
    expect(await listState(dir)).toEqual(['c-000005', 'frozen-base.safetensors']);
    await f.save(snapshot(state({ base: { kind: 'policy' }, reference: { kind: 'base' } }), 6));
    expect(await listState(dir)).toEqual(['c-000006']);
    const last = await new RunFolder(dir).load();
    expect(last.frozen.size).toBe(0);
    expect(last.state.base).toEqual({ kind: 'policy' });
  });

  it('removes on load what a killed save left (a half-written checkpoint folder, a frozen .tmp)', async () => {
    const dir = await folder();
    const f = new RunFolder(dir);
    await f.save(snapshot(state(), 1, [['base', weights(50)]]));
    const kept = await inForce(dir);
    // What a kill between the policy file and state.json leaves behind.
    await mkdir(join(dir, 'state', 'c-000002'));
    await writeFile(join(dir, 'state', 'c-000002', 'policy.safetensors'), 'partial');
    await writeFile(join(dir, 'state', 'frozen-reference-stage-2.safetensors.tmp'), 'partial');
    await writeFile(join(dir, `${STATE_FILE}.tmp`), '{"folder": "state/c-0000');
    const got = await new RunFolder(dir).load();
    expect(bits(got.policy)).toEqual(bits(weights(1)));
    expect(await listState(dir)).toEqual([kept.slice('state/'.length), 'frozen-base.safetensors']);
    expect(await inForce(dir)).toBe(kept);
  });

  it('never writes over the checkpoint in force, even from a RunFolder that did not load it', async () => {
    const dir = await folder();
    await new RunFolder(dir).save(snapshot(state(), 1, [['base', weights(50)]]));
    expect(await inForce(dir)).toBe('state/c-000001');
    // A second RunFolder on the same run (a resume's store) numbers its folders above the one there.
    const other = new RunFolder(dir);
    await other.save(snapshot(state(), 2));
    expect(await inForce(dir)).toBe('state/c-000002');
    // Above a leftover of a killed save too.
    await mkdir(join(dir, 'state', 'c-000007'));
    await new RunFolder(dir).save(snapshot(state(), 3));
    expect(await inForce(dir)).toBe('state/c-000008');
    expect(await listState(dir)).toEqual(['c-000008', 'frozen-base.safetensors']);
    expect(bits((await new RunFolder(dir).load()).policy)).toEqual(bits(weights(3)));
  });

  it('names the file when state.json or a weight file is not what it should be', async () => {
    const dir = await folder();
    await writeFile(join(dir, STATE_FILE), '{"folder": "state/c-00');
    await expect(new RunFolder(dir).load()).rejects.toThrow(`${join(dir, STATE_FILE)}: cannot be read as JSON`);
    await writeFile(join(dir, STATE_FILE), JSON.stringify({ folder: '../elsewhere', state: state() }));
    await expect(new RunFolder(dir).load()).rejects.toThrow('must hold {"folder": "state/c-NNNNNN"');
    await writeFile(join(dir, STATE_FILE), JSON.stringify({ folder: 'state/c-000001', state: { ...state(), judgeCalls: -1 } }));
    await expect(new RunFolder(dir).load()).rejects.toThrow('judgeCalls must be a count');
    // A checkpoint whose optimizer file is missing.
    await new RunFolder(dir).save(snapshot(state({ optimizerStep: null }), 1, [['base', weights(50)]]));
    const wrap = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as { folder: string; state: RunStateJson };
    await writeFile(join(dir, STATE_FILE), JSON.stringify({ folder: wrap.folder, state: { ...wrap.state, optimizerStep: 3 } }));
    await expect(new RunFolder(dir).load()).rejects.toThrow('optimizer.safetensors');
  });
});

describe('cutLines', () => {
  async function cut(text: string | null, lines: number): Promise<string | null> {
    const file = join(await folder(), 'metrics.jsonl');
    if (text !== null) await writeFile(file, text);
    await cutLines(file, lines);
    return readFile(file, 'utf8').catch(() => null);
  }

  it('keeps the first N lines, each to its newline, and drops the rest (a partial last line too)', async () => {
    expect(await cut('a\nb\nc\n', 2)).toBe('a\nb\n');
    expect(await cut('a\nb\nc\n', 3)).toBe('a\nb\nc\n');
    expect(await cut('a\nb\n{"x": 1', 2)).toBe('a\nb\n');
    expect(await cut('a\nb\n', 0)).toBe('');
    expect(await cut('{"t": "é→ü"}\n{"t": "ß"}\n', 1)).toBe('{"t": "é→ü"}\n');
    expect(await cut('\n\nx\n', 2)).toBe('\n\n');
  });

  it('takes a missing file as empty: cut to 0 lines it stays missing', async () => {
    expect(await cut(null, 0)).toBeNull();
  });

  it('refuses a file with fewer complete lines than the state counts, naming the file', async () => {
    const dir = await folder();
    const file = join(dir, 'rollouts.jsonl');
    await writeFile(file, 'a\nb\nc');
    await expect(cutLines(file, 3)).rejects.toThrow(RunStateError);
    await expect(cutLines(file, 3)).rejects.toThrow(`${file}: has 2 complete lines; the saved state counts 3`);
    expect(await readFile(file, 'utf8')).toBe('a\nb\nc');
    await expect(cutLines(join(dir, 'missing.jsonl'), 1)).rejects.toThrow(`${join(dir, 'missing.jsonl')}: is missing`);
  });
});

describe('parseRunState', () => {
  it('takes a valid state back as it was', () => {
    const s = state({ evals: [{ step: 0, stage: 0, method: 'exprl-process', eval: true, n: 2, 'pass@1': 0, prompts: 1 } as never] });
    expect(parseRunState(JSON.parse(JSON.stringify(s)), 'x')).toEqual(s);
    for (const src of [null, { kind: 'policy' }, { kind: 'base' }, { kind: 'stored', key: 'reference-stage-2' }] as (FrozenSource | null)[]) {
      expect(parseRunState(state({ base: src, reference: src }), 'x').base).toEqual(src);
    }
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['format', { format: 'other' }, 'format must be'],
    ['version', { version: 2 }, 'version 2 is not supported'],
    ['cursor', { cursor: { stage: 1, step: -1, globalStep: 0, baseEval: true, finished: false } }, 'cursor must be'],
    ['cursor.baseEval', { cursor: { stage: 1, step: 0, globalStep: 0, baseEval: 'yes', finished: false } }, 'cursor must be'],
    ['judgeCalls', { judgeCalls: 1.5 }, 'judgeCalls must be a count'],
    ['unlocked', { unlocked: [1, 2] }, 'unlocked must be a list'],
    ['evals', { evals: {} }, 'evals must be a list'],
    ['lines', { lines: { metrics: 3 } }, 'lines must be {metrics, rollouts} counts'],
    ['optimizerStep', { optimizerStep: '4' }, 'optimizerStep must be a count or null'],
    ['base', { base: { kind: 'stored', key: '../x' } }, 'base must be null'],
    ['reference', { reference: { kind: 'teacher' } }, 'reference must be null'],
  ];
  for (const [field, change, message] of bad) {
    it(`names the file and the field: ${field}`, () => {
      const value = { ...state(), ...change };
      expect(() => parseRunState(value, 'run/state.json')).toThrow(RunStateError);
      expect(() => parseRunState(value, 'run/state.json')).toThrow(`run/state.json: ${message}`);
    });
  }

  it('refuses what is not an object', () => {
    for (const v of [null, [], 'state', 3]) expect(() => parseRunState(v, 'f')).toThrow('f: must be a JSON object');
  });
});
