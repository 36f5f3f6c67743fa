// Run bundles (src/worker/run-bundle.ts, src/worker/run-bundle-io.ts): what is written reads back
// equal (property test); prototype keys, bad zips, bad JSON and bad UTF-8 are BundleErrors naming
// the file inside the zip and its line; nothing that looks like an API key is written; a bundle
// made the saved run is what SavedRun.load resumes; results.json of an experiment reads back with
// Table 1 as results.md writes it.
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { buildResults } from '../../src/rl/experiment/results';
import { mainTable, mainTableCells } from '../../src/rl/experiment/report';
import { parseResultsFile, ResultsFileError, resultsRunLines } from '../../src/rl/experiment/results-file';
import { resolvePlan } from '../../src/rl/experiment/plans';
import { readWeights } from '../../src/rl/run-state-files';
import { BUNDLE_LIMITS, BundleError, continuable, readBundle, writeBundle, type BundleInput } from '../../src/worker/run-bundle';
import { bundleFromFolder, bundleFromSavedRun, bundleReplay, writeSavedRun } from '../../src/worker/run-bundle-io';
import { SavedRun, type RunDir } from '../../src/worker/saved-run';
import { replayFrames } from '../../src/worker/replay-file';
import { fixtureRun } from '../support/run-bundle-fixture';
import { expectPrototypeUnchanged, fuzzParams, PROTO_KEYS } from '../support/fuzz';
import { META, syntheticRuns } from './experiment-fixture';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The bundle's files with some replaced (or removed, for null), zipped again. */
function rezip(zip: Uint8Array, changes: Record<string, Uint8Array | string | null>): Uint8Array {
  const files: Record<string, Uint8Array> = unzipSync(zip);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete files[k];
    else files[k] = typeof v === 'string' ? enc(v) : v;
  }
  return zipSync(files);
}

function bundleError(f: () => unknown): BundleError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BundleError);
    return e as BundleError;
  }
  throw new Error('expected a BundleError');
}

/** A RunDir in memory. */
function memoryDir(): RunDir & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async read(p) {
      return files.get(p) ?? null;
    },
    async write(p, b) {
      files.set(p, new Uint8Array(b));
    },
    async append(p, b) {
      const old = files.get(p) ?? new Uint8Array();
      const out = new Uint8Array(old.length + b.length);
      out.set(old);
      out.set(b, old.length);
      files.set(p, out);
    },
    async list(p) {
      const names = new Set<string>();
      for (const k of files.keys()) if (k.startsWith(`${p}/`)) names.add(k.slice(p.length + 1).split('/')[0]);
      return [...names].sort();
    },
    async remove(p) {
      for (const k of [...files.keys()]) if (k === p || k.startsWith(`${p}/`)) files.delete(k);
    },
  };
}

describe('run bundle: write and read', () => {
  it('reads back what it wrote, for any texts and numbers (property)', () => {
    const text = fc.string({ maxLength: 40, unit: 'grapheme' });
    const num = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((x) => !Object.is(x, -0));
    fc.assert(
      fc.property(fc.array(fc.tuple(text, num, fc.boolean()), { minLength: 1, maxLength: 6 }), text, num, (rows, title, reward) => {
        const base = fixtureRun({ title });
        const rollouts = base.rollouts!.map((r, i) => {
          const [t, score, correct] = rows[i % rows.length];
          // + 0: half the smallest negative double is -0, which JSON writes as 0 (seed 302591603).
          return { ...r, text: t, segments: [{ text: t, score, advantage: score / 2 + 0 }], correct };
        });
        const metrics = base.metrics.map((m) => ((m as { eval?: boolean }).eval === true ? m : { ...m, reward_mean: reward }));
        const input: BundleInput = { ...base, rollouts, metrics };
        const b = readBundle(writeBundle(input));
        expect(b.manifest).toEqual({ format: 'exprl-run-bundle', version: 1, title, source: 'cli', created: input.created });
        expect(b.config).toEqual(input.config);
        expect(b.metrics).toEqual(metrics);
        expect(b.rollouts).toEqual(rollouts);
        expect(b.prompts).toEqual(input.prompts);
        expect(Object.keys(b.state).sort()).toEqual(Object.keys(input.state!).sort());
        for (const [p, bytes] of Object.entries(input.state!)) expect(b.state[p]).toEqual(bytes);
      }),
      fuzzParams(40),
    );
  });

  it('a bundle without a state is view-only; with one it can be continued', () => {
    expect(continuable(readBundle(writeBundle(fixtureRun({ withState: false }))))).toEqual({ ok: false, why: expect.stringMatching(/no run state/) });
    expect(continuable(readBundle(writeBundle(fixtureRun())))).toEqual({ ok: true });
  });

  it('plays as a replay: a frame per step and eval, the rollouts in their steps', async () => {
    const b = readBundle(writeBundle(fixtureRun()));
    const frames = await replayFrames(bundleReplay(b));
    expect(frames.filter((f) => f.step)).toHaveLength(3);
    const batches = frames.flatMap((f) => f.events.flatMap((e) => (e.type === 'run-rollouts' ? [e.batch] : [])));
    expect(batches.map((x) => x.rollouts.length)).toEqual([4, 4, 4]);
  });
});

describe('run bundle: untrusted input', () => {
  const good = writeBundle(fixtureRun());

  it('refuses prototype keys in any JSON file, naming the file, the line and the path (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROTO_KEYS), fc.constantFrom('run.json', 'bundle.json', 'metrics.jsonl', 'rollouts.jsonl', 'prompts.json', 'state.json'), (key, file) => {
        const files = unzipSync(good);
        const text = dec(files[file]);
        let changed: string;
        let line: number | undefined;
        if (file.endsWith('.jsonl')) {
          const lines = text.split('\n');
          lines[1] = lines[1].replace(/^\{/, `{"extra":{${JSON.stringify(key)}:{"polluted":true}},`);
          changed = lines.join('\n');
          line = 2;
        } else if (file === 'prompts.json') changed = text.replace(/^\[\s*\{/, `[{${JSON.stringify(key)}:1,`);
        else changed = text.replace(/^\{/, `{${JSON.stringify(key)}:{"polluted":true},`);
        expect(changed).not.toBe(text);
        const e = bundleError(() => readBundle(rezip(good, { [file]: changed })));
        expect(e.file).toBe(file);
        expect(e.line).toBe(line);
        expect(e.message).toContain(key);
        expect(e.field?.endsWith(key)).toBe(true);
        expectPrototypeUnchanged();
      }),
      fuzzParams(30),
    );
  });

  it('a file that is not a zip, or random bytes, is a BundleError naming the bundle (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const e = bundleError(() => readBundle(bytes, 'my.zip'));
        expect(e.file).toBe('my.zip');
      }),
      fuzzParams(60),
    );
    // A cut zip too.
    expect(bundleError(() => readBundle(good.subarray(0, good.length - 30), 'cut.zip')).file).toBe('cut.zip');
  });

  it('bad JSON names the file and the line', () => {
    const files = unzipSync(good);
    const lines = dec(files['metrics.jsonl']).split('\n');
    lines[2] = '{"step": 2, oops';
    const e = bundleError(() => readBundle(rezip(good, { 'metrics.jsonl': lines.join('\n') })));
    expect([e.file, e.line]).toEqual(['metrics.jsonl', 3]);
    expect(e.message).toMatch(/^metrics\.jsonl line 3: is not JSON/);
    expect(bundleError(() => readBundle(rezip(good, { 'run.json': '{"policy":' }))).file).toBe('run.json');
  });

  it('invalid UTF-8 names the file and the line', () => {
    const files = unzipSync(good);
    const raw = files['rollouts.jsonl'];
    const nl = [...raw.entries()].filter(([, b]) => b === 0x0a).map(([i]) => i);
    // Inside line 3's text: a lone continuation byte and an overlong sequence.
    const at = nl[1] + 20;
    const bad = new Uint8Array(raw);
    bad[at] = 0xc0;
    bad[at + 1] = 0x80;
    const e = bundleError(() => readBundle(rezip(good, { 'rollouts.jsonl': bad })));
    expect([e.file, e.line]).toEqual(['rollouts.jsonl', 3]);
    expect(e.message).toMatch(/UTF-8/);
    const e2 = bundleError(() => readBundle(rezip(good, { 'run.json': new Uint8Array([0x7b, 0xff, 0x7d]) })));
    expect([e2.file, e2.line]).toEqual(['run.json', undefined]);
  });

  it('a wrong field names the file, the line and the field', () => {
    const files = unzipSync(good);
    const lines = dec(files['rollouts.jsonl']).split('\n');
    lines[4] = lines[4].replace('"prompt_id":"made-up-1"', '"prompt_id":"nowhere"').replace('"prompt_id":"made-up-2"', '"prompt_id":"nowhere"');
    const e = bundleError(() => readBundle(rezip(good, { 'rollouts.jsonl': lines.join('\n') })));
    expect([e.file, e.line, e.field]).toEqual(['rollouts.jsonl', 5, 'prompt_id']);
    lines[4] = lines[4].replace('"reward":0.5', '"reward":"lots"');
    const e2 = bundleError(() => readBundle(rezip(good, { 'rollouts.jsonl': lines.join('\n') })));
    expect([e2.file, e2.line, e2.field]).toEqual(['rollouts.jsonl', 5, 'reward']);
  });

  it('refuses paths outside the layout, missing files, and sizes over the limits', () => {
    expect(bundleError(() => readBundle(rezip(good, { '../evil.sh': 'x' }))).file).toBe('../evil.sh');
    expect(bundleError(() => readBundle(rezip(good, { 'notes.txt': 'x' }))).file).toBe('notes.txt');
    expect(bundleError(() => readBundle(rezip(good, { 'metrics.jsonl': null }))).file).toBe('metrics.jsonl');
    expect(bundleError(() => readBundle(rezip(good, { 'state/c-000003/optimizer.safetensors': null }))).file).toBe('state/c-000003/optimizer.safetensors');
    expect(bundleError(() => readBundle(rezip(good, { 'state/c-000003/policy.safetensors': 'not weights' }))).file).toBe('state/c-000003/policy.safetensors');
    expect(bundleError(() => readBundle(good, 'b.zip', { ...BUNDLE_LIMITS, zipBytes: 100 })).file).toBe('b.zip');
    expect(bundleError(() => readBundle(good, 'b.zip', { ...BUNDLE_LIMITS, fileBytes: 200 })).message).toMatch(/at most 200/);
    expect(bundleError(() => readBundle(good, 'b.zip', { ...BUNDLE_LIMITS, totalBytes: 1000 })).message).toMatch(/more than 1000 bytes/);
    expect(bundleError(() => readBundle(good, 'b.zip', { ...BUNDLE_LIMITS, lines: 3 })).message).toMatch(/more than 3 lines/);
    // A zip bomb: a small zip that inflates far past the limit.
    const bomb = rezip(good, { 'rollouts.jsonl': new Uint8Array(5_000_000).fill(0x20) });
    expect(bomb.length).toBeLessThan(100_000);
    expect(bundleError(() => readBundle(bomb, 'bomb.zip', { ...BUNDLE_LIMITS, fileBytes: 1_000_000 })).file).toBe('rollouts.jsonl');
  });

  it('never writes an API key: a key field or a key-shaped value in the config is refused', () => {
    const run = fixtureRun();
    const withKey = { ...run, config: { ...run.config, judge: { ...run.config.judge, apiKey: 'abc' } } } as BundleInput;
    const e = bundleError(() => writeBundle(withKey));
    expect([e.file, e.field]).toEqual(['run.json', 'judge.apiKey']);
    const shaped = { ...run, config: { ...run.config, judge: { ...run.config.judge, endpoint: 'https://user:sk-abcdefghijklmnopqrstuv@example.com/v1' } } } as BundleInput;
    expect(bundleError(() => writeBundle(shaped)).field).toBe('judge.endpoint');
    const inMetrics = { ...run, metrics: [...run.metrics, { step: 9, stage: 1, method: 'x', api_key: 'abc' }] } as BundleInput;
    expect(bundleError(() => writeBundle(inMetrics)).field).toBe('api_key');
    // The name of the key's variable is no key.
    const env = { ...run, config: { ...run.config, judge: { ...run.config.judge, apiKeyEnv: 'OPENAI_API_KEY' } } } as BundleInput;
    expect(() => writeBundle(env)).not.toThrow();
    // Read: a bundle someone made with one is refused too.
    const zipped = rezip(writeBundle(run), { 'run.json': JSON.stringify({ ...run.config, judge: { ...run.config.judge, api_key: 'x' } }) });
    expect(bundleError(() => readBundle(zipped)).field).toBe('judge.api_key');
  });
});

describe('run bundle: the saved run', () => {
  it('continue: the bundle made the saved run is what SavedRun.load resumes; exported again it reads back equal', async () => {
    const input = fixtureRun();
    const b = readBundle(writeBundle(input));
    const dir = memoryDir();
    await dir.write('state/c-000099/policy.safetensors', new Uint8Array([1])); // an older run's leftovers go
    await writeSavedRun(dir, b);
    expect([...dir.files.keys()].some((k) => k.includes('c-000099'))).toBe(false);
    const loaded = await new SavedRun(dir).load();
    expect(loaded.config).toEqual(b.config);
    expect(loaded.metrics).toEqual(b.metrics);
    expect(loaded.resume.policy).toEqual(readWeights(input.state!['state/c-000003/policy.safetensors'], 'p', 'flat'));
    expect(loaded.resume.optimizer?.v).toEqual(readWeights(input.state!['state/c-000003/optimizer.safetensors'], 'o', 'v'));
    const again = readBundle(await bundleFromSavedRun(dir, [], 'again'));
    expect(again.metrics).toEqual(b.metrics);
    expect(again.rollouts).toEqual(b.rollouts);
    expect(again.prompts).toEqual(b.prompts);
    expect(again.state).toEqual(b.state);
    // A new run in the same place leaves none of the imported rollouts behind.
    await new SavedRun(dir).begin(b.config, null);
    expect(dir.files.has('rollouts.jsonl')).toBe(false);
  });

  it('a CLI run folder becomes a bundle; its rollouts keep the items the config draws', () => {
    const run = fixtureRun();
    const files: Record<string, Uint8Array> = { 'run.json': enc(JSON.stringify(run.config)), 'metrics.jsonl': enc(run.metrics.map((m) => JSON.stringify(m)).join('\n') + '\n'), ...run.state };
    const made = bundleFromFolder(files, 'cli-run');
    const b = readBundle(made.zip);
    expect(b.metrics).toEqual(run.metrics);
    expect(b.manifest.source).toBe('cli');
    // Made-up prompt ids are not drawn by the config: the rollouts are left out, and said so.
    const withRollouts = bundleFromFolder({ ...files, 'rollouts.jsonl': enc(run.rollouts!.map((r) => JSON.stringify(r)).join('\n')) }, 'cli-run');
    expect(withRollouts.note).toMatch(/left out/);
  });
});

describe('results.json', () => {
  const results = buildResults(resolvePlan('quick'), syntheticRuns(), META);
  const text = JSON.stringify(results);

  it('reads back; Table 1 is the one results.md writes; a series per arm × seed', () => {
    const r = parseResultsFile(text);
    const { head, rows } = mainTableCells(r);
    expect(mainTable(r)[0]).toBe(`| ${head.join(' | ')} |`);
    expect(rows.map((x) => x[0])).toEqual(results.table.map((t) => expect.stringContaining(t.arm === 'base' ? 'Base' : '')));
    const lines = resultsRunLines(r);
    expect(lines).toHaveLength(results.runs.length);
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
    const sft = lines.find((l) => l.id === results.runs.find((x) => x.arm === 'sft')!.id)!;
    const steps = sft.lines.filter((l) => (l as { eval?: boolean }).eval !== true).map((l) => (l as { step: number }).step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(sft.lines.some((l) => (l as { eval?: boolean }).eval === true)).toBe(true);
  });

  it('refuses prototype keys and wrong fields, naming the field', () => {
    for (const key of PROTO_KEYS) {
      expect(() => parseResultsFile(text.replace('"table":', `"x":{${JSON.stringify(key)}:{"polluted":1}},"table":`))).toThrow(ResultsFileError);
      expectPrototypeUnchanged();
    }
    const bad = JSON.parse(text);
    bad.runs[1].curves.I[0].reward_mean = 'high';
    try {
      parseResultsFile(JSON.stringify(bad), 'r.json');
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(ResultsFileError);
      expect((e as ResultsFileError).field).toBe('runs[1].curves.I[0].reward_mean');
    }
    expect(() => parseResultsFile('{"format":"other"}')).toThrow(/format/);
  });
});
