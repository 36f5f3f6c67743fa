// Replays (src/worker/replay-file.ts, replay-engine.ts): the files of a recorded run are checked
// (every error names the file and the line), become a live run's events in its order (a step's
// rollouts, its metrics line, its progress), and the replay engine plays them through Start,
// Pause, Step, Resume and Stop as the run panel drives a live engine. The shipped replay reads.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RubricJudge } from '../../src/judge/rubric';
import { preset, type RunConfig } from '../../src/rl/config';
import { arithChain } from '../../src/tasks/families';
import type { EngineEvent } from '../../src/worker/api';
import { ReplayEngine } from '../../src/worker/replay-engine';
import { fileText, parseReplay, REPLAY_FILES, REPLAY_FORMAT, REPLAY_VERSION, replayFrames, type ReplayHeader } from '../../src/worker/replay-file';

const items = [arithChain.generate(2, 7, 0), arithChain.generate(2, 7, 1)];

function config(): RunConfig {
  const c = preset('tiny');
  c.stages = [{ ...c.stages[0], method: 'exprl-process', steps: 2 }];
  return c;
}

const header = (o: Partial<ReplayHeader> = {}): string =>
  JSON.stringify({ format: REPLAY_FORMAT, version: REPLAY_VERSION, name: 't', title: 'T', about: 'a test run', config: config(), prompts: items, ...o });

const evalLine = (step: number, stage: number) => ({ step, stage, method: 'exprl-process', eval: true, n: 4, 'pass@1': 0.25, 'mean@n': 0.25, prompts: 2, behaviours: {} });
const stepLine = (step: number) => ({ step, stage: 1, method: 'exprl-process', reward_mean: step / 10, judge_calls: 4 });
const metricsText = [evalLine(0, 0), stepLine(1), stepLine(2), evalLine(2, 1)].map((l) => JSON.stringify(l)).join('\n');

/** A rollout line as rolloutJsonLine writes it: the item's first reference step, then a wrong one. */
function rollout(step: number, item: (typeof items)[number], o: Record<string, unknown> = {}): Record<string, unknown> {
  const segs = [`${item.steps[0]}\n`, '1 + 1 = 3\n'];
  return {
    stage: 1, step, method: 'exprl-process', prompt_id: item.id, text: segs.join(''),
    segments: segs.map((t, k) => ({ text: t, score: k === 0 ? 1 : 0, advantage: 0.5 - k })),
    reward: 0.5, correct: false, answered: false, cut: false, masked: false, tokens: 9, judge_calls: 2, judge_failures: 0, ...o,
  };
}
const rolloutsText = [1, 2].flatMap((s) => [rollout(s, items[1]), rollout(s, items[0]), rollout(s, items[1])]).map((l) => JSON.stringify(l)).join('\n');

const texts = (o: Partial<{ header: string; metrics: string; rollouts: string }> = {}) => ({ header: header(), metrics: metricsText, rollouts: rolloutsText, ...o });

describe('replay files', () => {
  it('reads a replay and orders its events as a live run sends them', async () => {
    const frames = await replayFrames(parseReplay(texts()));
    expect(frames.map((f) => [f.step, f.events.map((e) => e.type)])).toEqual([
      [false, ['run-progress', 'run-metrics']],
      [true, ['run-rollouts', 'run-metrics', 'run-progress']],
      [true, ['run-rollouts', 'run-metrics', 'run-progress']],
      [false, ['run-progress', 'run-metrics']],
    ]);
    const batch = (frames[1].events[0] as Extract<EngineEvent, { type: 'run-rollouts' }>).batch;
    // Prompts in the order the lines first name them; each rollout points at its own.
    expect(batch.prompts.map((p) => p.id)).toEqual([items[1].id, items[0].id]);
    expect(batch.rollouts.map((r) => r.group)).toEqual([0, 1, 0]);
    expect(batch.prompts[1]).toMatchObject({ question: items[0].question, reference: items[0].reference, checkpoints: items[0].checkpoints });
    expect(batch.rollouts[1].reached[0]).toBe(true);
    const progress = frames.filter((f) => f.step).map((f) => (f.events[2] as Extract<EngineEvent, { type: 'run-progress' }>).progress);
    expect(progress.map((p) => [p.phase, p.stage, p.done, p.total])).toEqual([['train', 1, 1, 2], ['train', 1, 2, 2]]);
  });

  it('gives a rubric-judged run the reasons the rubric gave it', async () => {
    const frames = await replayFrames(parseReplay(texts()));
    const r = (frames[1].events[0] as Extract<EngineEvent, { type: 'run-rollouts' }>).batch.rollouts[1];
    const segs = r.segments.map((s) => s.text);
    const want = await new RubricJudge().process({ ...items[0], segments: segs, view: 'segment' });
    expect(r.segments.map((s) => s.reason)).toEqual(want.map((w) => (w.ok ? w.rationale : '')));
    expect(r.segments[0].reason).toMatch(/checkpoint/);
    // A sparse run asked no judge: no reasons.
    const sparse = config();
    sparse.stages[0].method = 'sparse-grpo';
    const f2 = await replayFrames(parseReplay(texts({ header: header({ config: sparse }) })));
    expect((f2[1].events[0] as Extract<EngineEvent, { type: 'run-rollouts' }>).batch.rollouts[1].segments.every((s) => s.reason === undefined)).toBe(true);
  });

  it('names the file and the line of what it refuses', () => {
    const lines = rolloutsText.split('\n');
    const withLine = (k: number, v: string) => lines.map((l, i) => (i === k ? v : l)).join('\n');
    const bad = (o: Parameters<typeof texts>[0]) => () => parseReplay(texts(o));
    expect(bad({ metrics: `${JSON.stringify(stepLine(1))}\n{oops` })).toThrow(/^metrics\.jsonl line 2: not JSON/);
    expect(bad({ metrics: `${JSON.stringify(stepLine(1))}\n[1]` })).toThrow(/^metrics\.jsonl line 2: not a JSON object/);
    expect(bad({ metrics: JSON.stringify({ ...stepLine(1), step: 'one' }) })).toThrow(/^metrics\.jsonl line 1: "step" must be an integer/);
    expect(bad({ rollouts: withLine(2, JSON.stringify(rollout(1, items[0], { text: 7 }))) })).toThrow(/^rollouts\.jsonl\.gz line 3: "text" must be a string/);
    expect(bad({ rollouts: withLine(1, JSON.stringify(rollout(1, items[0], { segments: [{ text: 'x', score: 'high', advantage: 0 }] }))) })).toThrow(/^rollouts\.jsonl\.gz line 2 segment 0: "score" must be a number or null/);
    expect(bad({ rollouts: withLine(4, JSON.stringify(rollout(1, items[0], { prompt_id: 'arith-chain:nope' }))) })).toThrow(/^rollouts\.jsonl\.gz line 5: prompt "arith-chain:nope" is not among the prompts of replay\.json/);
    expect(bad({ rollouts: withLine(5, JSON.stringify(rollout(9, items[0]))) })).toThrow(/^rollouts\.jsonl\.gz line 6: stage 1 step 9 has no step line in metrics\.jsonl/);
    expect(bad({ header: header({ version: 2 }) })).toThrow(/^replay\.json: version 2/);
    expect(bad({ header: header({ config: { ...config(), stages: 'none' } as unknown as RunConfig }) })).toThrow(/^replay\.json: its "config" is not a valid run config/);
    expect(bad({ header: header({ prompts: [{ ...items[0], question: null }] as never }) })).toThrow(/^replay\.json prompts\[0\]: "question" must be a string/);
    expect(bad({ metrics: '' })).toThrow(/^metrics\.jsonl: no lines/);
    // Names given by the caller (the page passes each file's URL path).
    expect(() => parseReplay(texts({ metrics: '{' }), { header: '/r/x/replay.json', metrics: '/r/x/metrics.jsonl', rollouts: '/r/x/rollouts.jsonl.gz' })).toThrow(/^\/r\/x\/metrics\.jsonl line 1/);
  });

  it('reads gzipped and plain text, and names a file that is neither', async () => {
    const text = 'ä line\n';
    expect(await fileText(gzipSync(Buffer.from(text)), 'f.gz')).toBe(text);
    expect(await fileText(new TextEncoder().encode(text), 'f')).toBe(text);
    await expect(fileText(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 'r.gz')).rejects.toThrow(/^r\.gz: not a readable gzip file/);
    await expect(fileText(new Uint8Array([0xff, 0xfe, 0x00]), 'm.jsonl')).rejects.toThrow(/^m\.jsonl: not UTF-8 text/);
  });
});

describe('replay engine', () => {
  async function engine(): Promise<{ engine: ReplayEngine; events: EngineEvent[] }> {
    const e = await ReplayEngine.create(parseReplay(texts()), 0);
    const events: EngineEvent[] = [];
    e.onEvent((x) => events.push(x));
    return { engine: e, events };
  }
  const types = (events: EngineEvent[]) => events.map((e) => (e.type === 'run-metrics' ? `m${e.line.step}${(e.line as { eval?: true }).eval ? 'e' : ''}` : e.type));

  it('plays every frame between run-start and run-end, with the recorded config', async () => {
    const { engine: e, events } = await engine();
    const summary = await e.startRun(preset('paper'), 'builtin');
    expect(summary).toEqual({ status: 'finished', steps: 2, judgeCalls: 8 });
    expect(types(events)).toEqual(['run-start', 'run-progress', 'm0e', 'run-rollouts', 'm1', 'run-progress', 'run-rollouts', 'm2', 'run-progress', 'run-progress', 'm2e', 'run-end']);
    expect(events[0]).toMatchObject({ type: 'run-start', resumedAt: null, config: { stages: [{ method: 'exprl-process', steps: 2 }] } });
    expect(events.at(-1)).toEqual({ type: 'run-end', summary });
    expect(await e.savedRun()).toBeNull();
  });

  it('steps, pauses, resumes (the lines so far again, as a live resume) and stops', async () => {
    const { engine: e, events } = await engine();
    expect(await e.startRun(preset('tiny'), 'builtin', { pauseAfter: 1 })).toMatchObject({ status: 'paused', steps: 1 });
    expect(types(events)).toEqual(['run-start', 'run-progress', 'm0e', 'run-rollouts', 'm1', 'run-progress', 'run-end']);
    expect(await e.savedRun()).toMatchObject({ cursor: { stage: 1, step: 1, globalStep: 1, baseEval: true, finished: false }, lines: 2, judgeCalls: 4 });
    events.length = 0;
    expect(await e.resumeRun({ pauseAfter: 1 })).toMatchObject({ status: 'paused', steps: 1 });
    expect(types(events)).toEqual(['run-start', 'm0e', 'm1', 'run-rollouts', 'm2', 'run-progress', 'run-end']);
    expect(events[0]).toMatchObject({ resumedAt: { stage: 1, step: 1 } });
    await e.stopRun();
    expect(await e.savedRun()).toBeNull();
    await expect(e.resumeRun()).rejects.toThrow(/no paused replay/);
  });

  it('pauses and stops while playing', async () => {
    const e = await ReplayEngine.create(parseReplay(texts()), 60_000);
    const events: EngineEvent[] = [];
    e.onEvent((x) => events.push(x));
    const playing = e.startRun(preset('tiny'), 'builtin');
    await e.pauseRun(); // wakes the wait after the first step
    expect(await playing).toMatchObject({ status: 'paused', steps: 1 });
    const again = e.resumeRun();
    await e.stopRun();
    expect(await again).toMatchObject({ status: 'stopped' });
    expect(events.at(-1)).toMatchObject({ type: 'run-end', summary: { status: 'stopped' } });
  });

  it('refuses what needs a GPU', async () => {
    const { engine: e } = await engine();
    await expect(e.init()).rejects.toThrow(/not available in a replay/);
    await expect(e.sample()).rejects.toThrow(/not available in a replay/);
    await expect(e.createBuiltinPolicy()).rejects.toThrow(/not available in a replay/);
  });
});

describe('shipped replays', () => {
  const root = 'public/replays';
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as { replays: { name: string }[] };
  it('lists every replay folder', () => {
    const folders = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(index.replays.map((r) => r.name).sort()).toEqual(folders.sort());
  });
  for (const { name } of index.replays) {
    it(`${name} reads and plays: every step with its rollouts`, async () => {
      const dir = join(root, name);
      const read = async (f: string) => fileText(readFileSync(join(dir, f)), f);
      const replay = parseReplay({ header: await read(REPLAY_FILES.header), metrics: await read(REPLAY_FILES.metrics), rollouts: await read(REPLAY_FILES.rollouts) });
      const frames = await replayFrames(replay);
      const stepFrames = frames.filter((f) => f.step);
      expect(stepFrames.length).toBeGreaterThan(0);
      for (const f of stepFrames.filter((x) => (x.events[1] as { line?: { stage: number } }).line?.stage !== 0)) expect(f.events[0].type).toBe('run-rollouts');
    });
  }
});
