// The page's saved run (src/worker/saved-run.ts) on an in-memory folder, no GPU or browser: its
// file layout is a CLI run folder's (the CLI's RunFolder reads what it wrote), saves replace the
// state whole, metric lines are cut to the state, and file names cannot leave the folder. Its
// rollouts.jsonl holds the CLI's lines, appended step by step; a load cuts it as `exprl train
// --resume` cuts the CLI's (cutLines, compared on disk over random histories of steps, steps cut
// short, deferred evals and reloads), and the rollout browser's views rebuilt from it equal the
// live ones.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cutLines, RunFolder } from '../../src/cli/run-folder';
import { preset, type RunConfig } from '../../src/rl/config';
import type { EvalLine } from '../../src/rl/evaluate';
import type { StepMetrics } from '../../src/rl/metrics';
import { rolloutJsonLine, type RolloutRecord } from '../../src/rl/rollouts';
import type { RolloutBatch } from '../../src/rl/run';
import { RUN_STATE_FORMAT, RUN_STATE_VERSION, type FlatWeights, type RunSnapshot, type RunStateJson } from '../../src/rl/run-state';
import type { TaskItem } from '../../src/tasks/types';
import { rolloutBatchViews } from '../../src/worker/replay-file';
import { runItems } from '../../src/worker/run-bundle-io';
import { rolloutBatchView } from '../../src/worker/run-view';
import { SavedRun } from '../../src/worker/saved-run';
import { MemoryRunDir } from '../support/memory-run-dir';

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
    const dir = new MemoryRunDir();
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
    const dir = new MemoryRunDir();
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
    const dir = new MemoryRunDir();
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
    const dir = new MemoryRunDir();
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
    const dir = new MemoryRunDir();
    const files = { 'config.json': new TextEncoder().encode('{}'), 'model.safetensors': new Uint8Array([1, 2, 3]) };
    const run = new SavedRun(dir);
    await run.begin({ ...preset('tiny'), policy: 'loaded-in-page' }, files);
    await run.save(snap(state(0, { optimizerStep: null, base: { kind: 'policy' }, reference: { kind: 'base' } }), 1));
    expect((await new SavedRun(dir).load()).startPolicy).toEqual(files);
    await expect(new SavedRun(new MemoryRunDir()).begin(preset('tiny'), { '../x': new Uint8Array() })).rejects.toThrow('file name "../x"');
    await expect(new SavedRun(new MemoryRunDir()).begin(preset('tiny'), { 'a/b': new Uint8Array() })).rejects.toThrow('file name "a/b"');
  });

  it('has no head before the first save; begin and clear remove what was saved', async () => {
    const dir = new MemoryRunDir();
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

// ---- rollouts ------------------------------------------------------------------------------------

/** A Stage I config without a judge (sparse-grpo): a rebuilt view has no judge reasons to add, as the live one. */
function sparseConfig(): RunConfig {
  const c = preset('tiny');
  c.stages = [{ ...c.stages[0], method: 'sparse-grpo' }];
  return c;
}

const ITEMS: TaskItem[] = [...runItems(sparseConfig()).values()];

/** The step's rollouts as the run hands them over: `perItem` rollouts for each of `items.length` prompts of the pool. */
function batch(step: number, prompts: number, perItem: number, tag = ''): RolloutBatch {
  const items = Array.from({ length: prompts }, (_, g) => ITEMS[(step * prompts + g) % ITEMS.length]);
  const records = items.flatMap((it, g) =>
    Array.from({ length: perItem }, (_, k) => {
      const cut = k === 2;
      return {
        itemId: it.id,
        group: g,
        text: `${tag}try ${step}.${k} "quoted" é\n${k === 0 ? `Answer: ${it.answer}` : 'Answer: 0'}`,
        segments: [{ text: `${tag}try ${step}.${k}`, score: k === 1 ? null : 0.25 * k, advantage: k - 0.5 }],
        reward: k === 1 ? null : 0.25 * k,
        correct: k === 0,
        answered: !cut,
        cut,
        masked: k === 1,
        response: new Array(3 + k).fill(7),
        judgeCalls: k,
        judgeFailures: k === 1 ? 1 : 0,
        ...(k === 1 ? { judgeError: 'judge said nothing' } : {}),
      } as unknown as RolloutRecord;
    }),
  );
  return { stage: 1, step, method: 'sparse-grpo', items, records };
}

const cliLines = (b: RolloutBatch): string => b.records.map((r) => rolloutJsonLine(r, { stage: b.stage, step: b.step, method: b.method }) + '\n').join('');
const fileText = (dir: MemoryRunDir, path: string): string | null => {
  const b = dir.files.get(path);
  return b === undefined ? null : new TextDecoder().decode(b);
};

describe('SavedRun rollouts', () => {
  it("keeps each step's rollouts as the CLI writes rollouts.jsonl, and the items they name; a load reads them back and the views equal the live ones", async () => {
    const dir = new MemoryRunDir();
    const run = new SavedRun(dir);
    const config = sparseConfig();
    await run.begin(config, null);
    const steps = [batch(1, 2, 3), batch(2, 2, 3), batch(3, 3, 2)];
    const noFrozen = { base: null, reference: null };
    let count = 0;
    for (const b of steps) {
      await run.addRollouts(b);
      count += b.records.length;
      run.addMetrics(line(b.step));
      await run.save(snap(state(b.step, { ...noFrozen, lines: { metrics: b.step, rollouts: count } }), b.step));
    }
    expect(fileText(dir, 'rollouts.jsonl')).toBe(steps.map(cliLines).join(''));
    // The CLI's fields the view does not read are kept (a bundle carries them on).
    expect(JSON.parse(fileText(dir, 'rollouts.jsonl')!.split('\n')[0])).toMatchObject({ stage: 1, step: 1, method: 'sparse-grpo', tokens: 3, judge_calls: 0, answered: true });
    const named = new Set(steps.flatMap((b) => b.records.map((r) => r.itemId)));
    const prompts = JSON.parse(fileText(dir, 'prompts.json')!) as TaskItem[];
    expect(prompts.map((p) => p.id).sort()).toEqual([...named].sort());
    expect(prompts).toEqual(prompts.map((p) => ITEMS.find((it) => it.id === p.id)));

    const back = await new SavedRun(dir).load();
    expect(back.rollouts.map((r) => `${r.stage}:${r.step}:${r.prompt_id}:${r.text}`)).toEqual(steps.flatMap((b) => b.records.map((r) => `1:${b.step}:${r.itemId}:${r.text}`)));
    expect(await rolloutBatchViews(back.config, back.prompts, back.rollouts)).toEqual(steps.map(rolloutBatchView));
    // An export reads the same without loading.
    const head = (await new SavedRun(dir).head())!;
    expect(await new SavedRun(dir).rollouts(head.state, await new SavedRun(dir).metricLines(head.state))).toEqual({ lines: back.rollouts, prompts: back.prompts });
    // Begin and clear remove them.
    await new SavedRun(dir).begin(config, null);
    expect(fileText(dir, 'rollouts.jsonl')).toBeNull();
    expect(fileText(dir, 'prompts.json')).toBeNull();
  });

  it('a step cut short (its lines written, no checkpoint counts them) is cut on load, so the step made again is kept once', async () => {
    const dir = new MemoryRunDir();
    const run = new SavedRun(dir);
    await run.begin(sparseConfig(), null);
    const noFrozen = { base: null, reference: null };
    await run.addRollouts(batch(1, 2, 2));
    run.addMetrics(line(1));
    await run.save(snap(state(1, { ...noFrozen, lines: { metrics: 1, rollouts: 4 } }), 1));
    await run.addRollouts(batch(2, 2, 2, 'first '));
    // The page is closed before step 2's metric line.
    const resumed = new SavedRun(dir);
    const back = await resumed.load();
    expect(back.rollouts).toHaveLength(4);
    expect(fileText(dir, 'rollouts.jsonl')).toBe(cliLines(batch(1, 2, 2)));
    await resumed.addRollouts(batch(2, 2, 2, 'again '));
    resumed.addMetrics(line(2));
    await resumed.save(snap(state(2, { ...noFrozen, lines: { metrics: 2, rollouts: 8 } }), 2));
    const again = await new SavedRun(dir).load();
    expect(again.rollouts.map((r) => r.text.split(' ')[0])).toEqual(['try', 'try', 'try', 'try', 'again', 'again', 'again', 'again']);
    // A page closed mid-append leaves the file as it was: the append is whole or not at all.
    dir.failOn = 'rollouts.jsonl';
    await expect(new SavedRun(dir).addRollouts(batch(3, 1, 1))).rejects.toThrow('the page is gone');
    expect((await new SavedRun(dir).load()).rollouts).toHaveLength(8);
  });

  it('a run imported with some of its rollouts (or saved before the page kept them) keeps those it has, and adds its new steps', async () => {
    const dir = new MemoryRunDir();
    const run = new SavedRun(dir);
    await run.begin(sparseConfig(), null);
    const noFrozen = { base: null, reference: null };
    for (const k of [1, 2, 3]) {
      await run.addRollouts(batch(k, 1, 2));
      run.addMetrics(line(k));
    }
    await run.save(snap(state(3, { ...noFrozen, lines: { metrics: 3, rollouts: 6 } }), 3));
    // Step 2's lines went missing: the state counts 6 lines, the file holds 4.
    const kept = fileText(dir, 'rollouts.jsonl')!.split('\n').filter((l, i) => i < 2 || (i >= 4 && l !== ''));
    dir.files.set('rollouts.jsonl', new TextEncoder().encode(kept.map((l) => l + '\n').join('')));
    const resumed = new SavedRun(dir);
    expect((await resumed.load()).rollouts.map((r) => r.step)).toEqual([1, 1, 3, 3]);
    await resumed.addRollouts(batch(4, 1, 2));
    resumed.addMetrics(line(4));
    await resumed.save(snap(state(4, { ...noFrozen, lines: { metrics: 4, rollouts: 8 } }), 4));
    expect((await new SavedRun(dir).load()).rollouts.map((r) => r.step)).toEqual([1, 1, 3, 3, 4, 4]);
    // Step 5 cut short: its lines go on load, though the file holds fewer lines than the state counts.
    await new SavedRun(dir).addRollouts(batch(5, 1, 2));
    expect((await new SavedRun(dir).load()).rollouts.map((r) => r.step)).toEqual([1, 1, 3, 3, 4, 4]);
    expect(fileText(dir, 'rollouts.jsonl')!.split('\n')).toHaveLength(7);
    // None at all: the run resumes with none.
    dir.files.delete('rollouts.jsonl');
    dir.files.delete('prompts.json');
    expect((await new SavedRun(dir).load()).rollouts).toEqual([]);
  });

  it('refuses a rollout line it cannot read or one naming an item prompts.json lacks, naming the file and line', async () => {
    const dir = new MemoryRunDir();
    const run = new SavedRun(dir);
    await run.begin(sparseConfig(), null);
    await run.addRollouts(batch(1, 1, 2));
    run.addMetrics(line(1));
    await run.save(snap(state(1, { base: null, reference: null, lines: { metrics: 1, rollouts: 2 } }), 1));
    const good = fileText(dir, 'rollouts.jsonl')!;
    dir.files.set('rollouts.jsonl', new TextEncoder().encode(good.replace(/"correct":true/, '"correct":"yes"')));
    await expect(new SavedRun(dir).load()).rejects.toThrow(/saved run: rollouts\.jsonl line 1: "correct" must be true or false/);
    dir.files.set('rollouts.jsonl', new TextEncoder().encode(good));
    dir.files.set('prompts.json', new TextEncoder().encode('[]\n'));
    await expect(new SavedRun(dir).load()).rejects.toThrow(/rollouts\.jsonl line 1: prompt ".*" is not among the items of prompts\.json/);
  });

  it('a load cuts rollouts.jsonl exactly as the CLI cuts its own on resume, over any history of steps, cut steps, deferred evals and reloads (property)', async () => {
    const disk = await mkdtemp(join(tmpdir(), 'exprl-saved-rollouts-'));
    tmp.push(disk);
    let runNo = 0;
    // Each op: a step (and whether a checkpoint follows it), a step cut short by a reload, a deferred
    // eval made mid-step then a pause (a checkpoint counting the eval but not the step), a reload.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('step' as const), save: fc.boolean(), prompts: fc.integer({ min: 1, max: 3 }), perItem: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('cut' as const), prompts: fc.integer({ min: 1, max: 3 }), perItem: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('eval-pause' as const), prompts: fc.integer({ min: 1, max: 2 }), perItem: fc.integer({ min: 1, max: 2 }) }),
      fc.constant({ kind: 'reload' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const dir = new MemoryRunDir();
        let run = new SavedRun(dir);
        await run.begin(sparseConfig(), null);
        const noFrozen = { base: null, reference: null };
        // The run's counters as src/rl/run.ts keeps them: lines handed over, and those committed.
        let step = 0;
        let made = { metrics: 0, rollouts: 0 };
        let committed = { ...made };
        let evals = 0;
        let saves = 0;
        /** What the state in force commits: each step's lines (the model). */
        let savedSteps: { step: number; texts: string[] }[] = [];
        let madeSteps: { step: number; texts: string[] }[] = [];
        const save = async (): Promise<void> => {
          const s = state(step, { ...noFrozen, lines: { ...committed } });
          s.cursor = { ...s.cursor, step, globalStep: step };
          await run.save(snap(s, ++saves));
          savedSteps = madeSteps.map((m) => ({ ...m }));
        };
        const reload = async (): Promise<void> => {
          const head = (await new SavedRun(dir).head())!;
          // The CLI's cut of the same file.
          const file = join(disk, `r-${runNo++}.jsonl`);
          await writeFile(file, dir.files.get('rollouts.jsonl') ?? new Uint8Array());
          await cutLines(file, head.state.lines.rollouts);
          run = new SavedRun(dir);
          const back = await run.load();
          expect(fileText(dir, 'rollouts.jsonl') ?? '').toBe(await readFile(file, 'utf8'));
          expect(back.rollouts.map((r) => JSON.stringify(r))).toEqual(savedSteps.flatMap((m) => m.texts));
          // Where the state stands: the run goes on from there.
          step = head.state.cursor.globalStep;
          made = { ...head.state.lines };
          committed = { ...made };
          madeSteps = savedSteps.map((m) => ({ ...m }));
          evals = back.metrics.filter((m) => (m as EvalLine).eval === true).length;
        };
        const rollouts = async (prompts: number, perItem: number): Promise<string[]> => {
          const b = batch(step + 1, prompts, perItem, `run ${runNo} `);
          await run.addRollouts(b);
          made.rollouts += b.records.length;
          return cliLines(b).split('\n').slice(0, -1);
        };
        const stepLine = (texts: string[]): void => {
          step++;
          run.addMetrics(line(step));
          made.metrics++;
          madeSteps.push({ step, texts });
          committed = { ...made };
        };
        for (const o of ops) {
          if (o.kind === 'step') {
            stepLine(await rollouts(o.prompts, o.perItem));
            if (o.save) await save();
          } else if (o.kind === 'cut') {
            if (saves === 0) await save();
            await rollouts(o.prompts, o.perItem);
            await reload();
          } else if (o.kind === 'eval-pause') {
            await rollouts(o.prompts, o.perItem);
            run.addMetrics({ step, stage: 0, method: 'sparse-grpo', eval: true, n: ++evals } as unknown as EvalLine);
            made.metrics++;
            committed = { ...committed, metrics: made.metrics };
            await save();
            await reload();
          } else {
            if (saves === 0) await save();
            await reload();
          }
        }
        if (saves === 0) await save();
        await reload();
      }),
      { numRuns: 60 },
    );
  });
});
