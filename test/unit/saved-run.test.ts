// The page's saved run (src/worker/saved-run.ts) on an in-memory folder, no GPU or browser: its
// file layout is a CLI run folder's (the CLI's RunFolder reads what it wrote), saves replace the
// state whole, metric lines are cut to the state, and file names cannot leave the folder.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunFolder } from '../../src/cli/run-folder';
import { preset } from '../../src/rl/config';
import type { StepMetrics } from '../../src/rl/metrics';
import { RUN_STATE_FORMAT, RUN_STATE_VERSION, type FlatWeights, type RunSnapshot, type RunStateJson } from '../../src/rl/run-state';
import { SavedRun, type RunDir } from '../../src/worker/saved-run';

/** A folder in memory; `failOn` makes writes of a path throw (a page closed mid-save). */
class MemoryDir implements RunDir {
  readonly files = new Map<string, Uint8Array>();
  failOn: string | null = null;
  async read(path: string): Promise<Uint8Array | null> {
    return this.files.get(path) ?? null;
  }
  async write(path: string, bytes: Uint8Array): Promise<void> {
    if (path === this.failOn) throw new Error(`write ${path}: the page is gone`);
    this.files.set(path, bytes.slice());
  }
  async list(path: string): Promise<string[]> {
    const names = new Set<string>();
    for (const p of this.files.keys()) if (p.startsWith(`${path}/`)) names.add(p.slice(path.length + 1).split('/')[0]);
    return [...names].sort();
  }
  async remove(path: string): Promise<void> {
    for (const p of [...this.files.keys()]) if (p === path || p.startsWith(`${path}/`)) this.files.delete(p);
  }
  paths(): string[] {
    return [...this.files.keys()].sort();
  }
}

const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

function weights(seed: number): FlatWeights {
  let x = seed >>> 0 || 1;
  return [4, 9].map((len, b) =>
    Float32Array.from({ length: len }, (_, i) => {
      if (b === 0 && i === 0) return -0;
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return (x / 2 ** 32 - 0.5) * 8;
    }),
  );
}

const bits = (w: FlatWeights): number[][] => w.map((a) => [...new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength))]);

function state(metrics: number, over: Partial<RunStateJson> = {}): RunStateJson {
  return {
    format: RUN_STATE_FORMAT,
    version: RUN_STATE_VERSION,
    cursor: { stage: 1, step: metrics, globalStep: metrics, baseEval: true, finished: false },
    judgeCalls: 3 * metrics,
    unlocked: [],
    evals: [],
    lines: { metrics, rollouts: 8 * metrics },
    optimizerStep: metrics,
    base: { kind: 'stored', key: 'base' },
    reference: { kind: 'base' },
    ...over,
  };
}

function snap(s: RunStateJson, seed: number, frozen: [string, FlatWeights][] = []): RunSnapshot {
  return { state: s, policy: weights(seed), optimizer: s.optimizerStep === null ? null : { m: weights(seed + 1), v: weights(seed + 2) }, frozen: new Map(frozen) };
}

const line = (step: number): StepMetrics => ({ step, stage: 1, method: 'exprl-process', reward_mean: step / 10 }) as unknown as StepMetrics;

describe('SavedRun', () => {
  it('lays its files out as a CLI run folder, which the CLI loads bit for bit', async () => {
    const dir = new MemoryDir();
    const run = new SavedRun(dir);
    const config = preset('tiny');
    await run.begin(config, null);
    for (const k of [1, 2]) run.addMetrics(line(k));
    await run.save(snap(state(2), 7, [['base', weights(40)]]));
    expect(dir.paths()).toEqual(['metrics.jsonl', 'run.json', 'state.json', 'state/c-000001/optimizer.safetensors', 'state/c-000001/policy.safetensors', 'state/frozen-base.safetensors']);
    // The same files on disk, read by the CLI's run folder.
    const disk = await mkdtemp(join(tmpdir(), 'exprl-saved-run-'));
    tmp.push(disk);
    for (const [p, b] of dir.files) {
      await mkdir(dirname(join(disk, p)), { recursive: true });
      await writeFile(join(disk, p), b);
    }
    const cli = await new RunFolder(disk).load();
    expect(cli.state).toEqual(state(2));
    expect(bits(cli.policy)).toEqual(bits(weights(7)));
    expect(bits(cli.optimizer!.v)).toEqual(bits(weights(9)));
    expect(bits(cli.frozen.get('base')!)).toEqual(bits(weights(40)));
    expect(await new SavedRun(dir).metricLines(state(2))).toEqual([line(1), line(2)]);
    const page = await new SavedRun(dir).load();
    expect(page.config).toEqual(config);
    expect(page.metrics).toEqual([line(1), line(2)]);
    expect(bits(page.resume.policy)).toEqual(bits(cli.policy));
    expect(Object.is(page.resume.policy[0][0], -0)).toBe(true);
    expect(page.startPolicy).toBeNull();
  });

  it('keeps one checkpoint: a later save replaces it, and frozen files go when no state uses them', async () => {
    const dir = new MemoryDir();
    const run = new SavedRun(dir);
    await run.begin(preset('tiny'), null);
    run.addMetrics(line(1));
    await run.save(snap(state(1), 1, [['base', weights(40)]]));
    run.addMetrics(line(2));
    await run.save(snap(state(2), 2));
    expect(dir.paths().filter((p) => p.startsWith('state/'))).toEqual(['state/c-000002/optimizer.safetensors', 'state/c-000002/policy.safetensors', 'state/frozen-base.safetensors']);
    await run.save(snap(state(2, { base: { kind: 'policy' }, optimizerStep: null }), 3));
    expect(dir.paths().filter((p) => p.startsWith('state/'))).toEqual(['state/c-000003/policy.safetensors']);
    // A SavedRun that did not load the state numbers its folder above the one in force.
    await new SavedRun(dir).save(snap(state(0), 4));
    expect(dir.paths().filter((p) => p.startsWith('state/'))).toEqual(['state/c-000004/policy.safetensors', 'state/c-000004/optimizer.safetensors'].sort());
  });

  it('a save cut short leaves the previous state in force; the metric lines are cut to what it counts', async () => {
    const dir = new MemoryDir();
    const run = new SavedRun(dir);
    await run.begin(preset('tiny'), null);
    run.addMetrics(line(1));
    await run.save(snap(state(1), 1, [['base', weights(40)]]));
    run.addMetrics(line(2));
    run.addMetrics(line(3));
    dir.failOn = 'state.json';
    await expect(run.save(snap(state(3), 3))).rejects.toThrow('the page is gone');
    const back = await new SavedRun(dir).load();
    expect(back.state.cursor.step).toBe(1);
    expect(bits(back.resume.policy)).toEqual(bits(weights(1)));
    expect(back.metrics).toEqual([line(1)]);
    // The leftover checkpoint folder is gone after the load.
    expect(dir.paths().filter((p) => p.startsWith('state/'))).toEqual(['state/c-000001/optimizer.safetensors', 'state/c-000001/policy.safetensors', 'state/frozen-base.safetensors']);
  });

  it('refuses a state counting more metric lines than it was handed, and a metrics file shorter than the state', async () => {
    const dir = new MemoryDir();
    const run = new SavedRun(dir);
    await run.begin(preset('tiny'), null);
    run.addMetrics(line(1));
    const noFrozen = { base: null, reference: null };
    await expect(run.save(snap(state(2, noFrozen), 1))).rejects.toThrow('metrics.jsonl: the state counts 2 metric lines; the run handed over 1');
    await run.save(snap(state(1, noFrozen), 1));
    dir.files.set('metrics.jsonl', new Uint8Array());
    await expect(new SavedRun(dir).load()).rejects.toThrow('has 0 complete lines; the saved state counts 1');
  });

  it('keeps the starting policy loaded in the page, and refuses file names that would leave its folder', async () => {
    const dir = new MemoryDir();
    const files = { 'config.json': new TextEncoder().encode('{}'), 'model.safetensors': new Uint8Array([1, 2, 3]) };
    const run = new SavedRun(dir);
    await run.begin({ ...preset('tiny'), policy: 'loaded-in-page' }, files);
    await run.save(snap(state(0, { optimizerStep: null, base: { kind: 'policy' }, reference: { kind: 'base' } }), 1));
    expect((await new SavedRun(dir).load()).startPolicy).toEqual(files);
    await expect(new SavedRun(new MemoryDir()).begin(preset('tiny'), { '../x': new Uint8Array() })).rejects.toThrow('file name "../x"');
    await expect(new SavedRun(new MemoryDir()).begin(preset('tiny'), { 'a/b': new Uint8Array() })).rejects.toThrow('file name "a/b"');
  });

  it('has no head before the first save; begin and clear remove what was saved', async () => {
    const dir = new MemoryDir();
    const run = new SavedRun(dir);
    expect(await run.head()).toBeNull();
    await run.begin(preset('tiny'), { 'config.json': new Uint8Array([1]) });
    expect(await run.head()).toBeNull();
    await run.save(snap(state(0), 1, [['base', weights(2)]]));
    expect((await run.head())?.state).toEqual(state(0));
    await run.begin(preset('small'), null);
    expect(dir.paths()).toEqual(['metrics.jsonl', 'run.json']);
    await run.clear();
    expect(dir.paths()).toEqual([]);
  });
});
