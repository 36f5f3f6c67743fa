// The judge that is a language model run by the app (src/judge/generated.ts): prompts made in
// the same tick reach the generation function as one batch, replies are parsed like any judge's,
// and a generation that throws is a call failure with its reason, never a score.
import { describe, expect, it } from 'vitest';
import { judgeFromSettings } from '../../src/judge/from-config';
import { GeneratingJudge } from '../../src/judge/generated';
import { DEFAULT_TEMPLATES } from '../../src/judge/prompts';

/** The config's judge.timeoutMs and judge.breakerAfter (the judge has no defaults of its own). */
const limits = { timeoutMs: 5000, breakerAfter: 100 };

const item = { question: 'What is 2 + 3?', reference: '2 + 3 = 5\nAnswer: 5' };

describe('GeneratingJudge', () => {
  it('batches the segments of a process call and parses each reply', async () => {
    const batches: string[][] = [];
    const judge = new GeneratingJudge({
      ...limits,
      name: 'test',
      generate: async (prompts) => {
        batches.push([...prompts]);
        return prompts.map((p, i) => `The step is fine.\nScore: ${p.includes('2 + 3 = 5') && i === 0 ? 5 : 2}`);
      },
    });
    const scores = await judge.process({ ...item, segments: ['2 + 3 = 5\n', 'so the answer is 7\n'], view: 'segment' });
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(2);
    expect(batches[0][1]).toContain('so the answer is 7');
    expect(scores.map((s) => (s.ok ? [s.score, s.value, s.rationale] : null))).toEqual([
      [5, 1, 'The step is fine.'],
      [2, 0.25, 'The step is fine.'],
    ]);
  });

  it('splits large batches and keeps their order', async () => {
    const sizes: number[] = [];
    const judge = new GeneratingJudge({ ...limits, name: 'test', maxBatch: 3, generate: async (p) => (sizes.push(p.length), p.map((_, i) => `Score: ${1 + (i % 5)}`)) });
    const segments = Array.from({ length: 7 }, (_, i) => `step ${i}\n`);
    const scores = await judge.process({ ...item, segments, view: 'prefix' });
    expect(sizes).toEqual([3, 3, 1]);
    expect(scores.map((s) => (s.ok ? s.score : 0))).toEqual([1, 2, 3, 1, 2, 3, 1]);
  });

  it('turns a failed generation into call failures and an unreadable reply into a parse failure', async () => {
    const down = new GeneratingJudge({ ...limits, name: 'self-judge', generate: async () => Promise.reject(new Error('out of GPU memory')) });
    const r = await down.outcome({ ...item, trace: 'Answer: 5' });
    expect(r).toMatchObject({ ok: false, failure: { kind: 'call', message: 'self-judge: generation failed: out of GPU memory' } });
    const vague = new GeneratingJudge({ ...limits, name: 'x', generate: async (p) => p.map(() => 'Looks good to me.') });
    expect(await vague.outcome({ ...item, trace: 'Answer: 5' })).toMatchObject({ ok: false, failure: { kind: 'parse' } });
  });

  it('is what judge.kind "policy" and "local" build when handed a generation function, and refused without one', async () => {
    const base = { kind: 'policy', endpoint: '', model: '', parse: 'last' as const, normalisation: 'linear' as const, retries: 0, ...limits, templates: DEFAULT_TEMPLATES };
    expect(() => judgeFromSettings(base)).toThrow(/judge.kind "policy" is a language model run by the app/);
    const j = judgeFromSettings({ ...base, kind: 'local', model: 'some/instruct' }, { generate: async (p) => p.map(() => 'Score: 4') });
    expect(j.name).toBe('local:some/instruct');
    expect(await j.outcome({ ...item, trace: 'Answer: 5' })).toMatchObject({ ok: true, score: 4, value: 0.75 });
    expect(() => new GeneratingJudge({ ...limits, name: 'x', generate: async () => [], templates: { outcome: 'no placeholders' } })).toThrow(/judge template refused/);
  });

  it('fails a batch that outlasts judge.timeoutMs at the limit, asks the generation to stop, and starts no other batch until it has', async () => {
    let release: () => void = () => {};
    let sawAbort = false;
    let calls = 0;
    const slow = new GeneratingJudge({
      name: 'self-judge',
      timeoutMs: 30,
      breakerAfter: 100,
      generate: async (p, signal) => {
        calls++;
        if (calls > 1) return p.map(() => 'Score: 5');
        signal?.addEventListener('abort', () => (sawAbort = true));
        await new Promise<void>((r) => (release = r)); // ignores the signal until released
        return p.map(() => 'Score: 5');
      },
    });
    const t0 = performance.now();
    const r = await slow.outcome({ ...item, trace: 'Answer: 5' });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ ok: false, failure: { kind: 'call' } });
    if (!r.ok) expect(r.failure.message).toMatch(/generation took longer than judge.timeoutMs \(30 ms\)/);
    expect(r).not.toHaveProperty('score');
    expect(sawAbort).toBe(true);
    // The first generation still runs: the next call fails at once instead of sharing the model.
    const busy = await slow.outcome({ ...item, trace: 'Answer: 6' });
    expect(busy).toMatchObject({ ok: false, failure: { kind: 'call' } });
    if (!busy.ok) expect(busy.failure.message).toMatch(/still running past judge.timeoutMs/);
    expect(calls).toBe(1);
    release();
    await new Promise((r) => setTimeout(r, 5));
    expect(await slow.outcome({ ...item, trace: 'Answer: 7' })).toMatchObject({ ok: true, score: 5 });
  });

  it('stops calling after judge.breakerAfter failed calls in a row, and says why', async () => {
    let calls = 0;
    let down = true;
    const judge = new GeneratingJudge({
      name: 'local:m',
      timeoutMs: 1000,
      breakerAfter: 3,
      generate: async (p) => {
        calls++;
        if (down) throw new Error('device lost');
        return p.map(() => 'Score: 4');
      },
    });
    await judge.outcome({ ...item, trace: 'a' });
    down = false;
    await judge.outcome({ ...item, trace: 'b' }); // a success ends the run of failures
    down = true;
    for (const t of ['c', 'd']) await judge.outcome({ ...item, trace: t });
    expect(judge.tripped()).toBeNull();
    await judge.outcome({ ...item, trace: 'e' });
    expect(judge.tripped()).toMatch(/local:m failed 3 calls in a row \(judge.breakerAfter 3\).*device lost/);
    down = false;
    const after = await judge.outcome({ ...item, trace: 'f' });
    expect(after).toMatchObject({ ok: false, failure: { kind: 'call' } });
    expect(calls).toBe(5);
  });
});
