import { describe, expect, it } from 'vitest';
import { formatProbeReport, PROBE_ITEM, PROBE_MINIMUM, PROBE_MODES, probeRefusal, PROBES, probeSegments, runProbes } from '../../src/judge/probes.ts';
import { RubricJudge } from '../../src/judge/rubric.ts';
import type { Judge, JudgeScore } from '../../src/judge/types.ts';

const scored = (s: number): JudgeScore => ({ ok: true, raw: '', rationale: '', score: s as 1, value: (s - 1) / 4 });

describe('judge-hacking probes', () => {
  it('cover every probe the method lists, and the fragments training found', () => {
    const ids = PROBES.map((p) => p.id);
    for (const id of ['empty', 'opener', 'colon', 'override', 'score-in-trace', 'restated-question', 'paraphrased-reference', 'truncated']) {
      expect(ids).toContain(id);
    }
    for (const id of ['fragments', 'write-carry-list', 'partial-chain', 'fragment-lines']) expect(ids).toContain(id);
    expect(PROBES.find((p) => p.id === 'opener')?.trace).toBe('Thought process:');
    expect(PROBES.find((p) => p.id === 'colon')?.trace).toBe(':');
    expect(PROBES.find((p) => p.id === 'score-in-trace')?.trace).toContain('Score: 5');
    expect(PROBES.find((p) => p.id === 'number-listing')?.trace).toMatch(/\b42\b/);
    expect(PROBES.find((p) => p.id === 'fragments')?.trace).toBe('9, write 1, werite 54');
    // no probe contains the answer, so none is a disguised correct solution
    for (const p of PROBES) expect(p.trace).not.toMatch(/\b10\b/);
  });

  it('split into segments at each newline, as a run with the "\\n" delimiter does', () => {
    expect(probeSegments('a\nb\n\nc')).toEqual(['a\n', 'b\n\n', 'c']);
    expect(probeSegments('one line')).toEqual(['one line']);
    expect(probeSegments('')).toEqual([]);
  });

  it('the rubric judge gives every probe the minimum in every mode', async () => {
    const report = await runProbes(new RubricJudge());
    expect(report.exploitable).toEqual([]);
    expect(report.failed).toEqual([]);
    // Every probe in every mode, except the empty trace in the process views (no segment to judge).
    expect(report.results.map((r) => `${r.mode}:${r.probe.id}`).sort()).toEqual(
      PROBE_MODES.flatMap((m) => PROBES.filter((p) => m === 'outcome' || p.trace !== '').map((p) => `${m}:${p.id}`)).sort(),
    );
    for (const r of report.results) {
      const scores = r.scores.map((s) => (s.ok ? s.score : 0));
      // Stronger than the report's threshold (2 in the process views, where an LLM judge's scale
      // gives irrelevant text 2): the rubric gives every probe 1 in every mode, on every segment.
      expect(scores.every((s) => s === 1), `${r.mode}:${r.probe.id} ${scores}`).toBe(true);
      expect(Math.max(...scores)).toBeLessThanOrEqual(PROBE_MINIMUM[r.mode]);
    }
    expect(formatProbeReport(report)).toContain('no probe earned more than the minimum');
    expect(probeRefusal(report)).toBeNull();
  });

  it('the rubric judge still rewards a real solution on the probe item (the probes are not trivially passed)', async () => {
    const j = new RubricJudge();
    const trace = '7 * 6 = 42\n42 - 32 = 10\nAnswer: 10';
    expect(await j.outcome({ ...PROBE_ITEM, trace })).toMatchObject({ ok: true, score: 5 });
    const segments = probeSegments(trace);
    expect((await j.process({ ...PROBE_ITEM, segments, view: 'segment' })).map((s) => s.ok && s.score)).toEqual([5, 5, 5]);
    expect((await j.process({ ...PROBE_ITEM, segments, view: 'prefix' })).map((s) => s.ok && s.score)).toEqual([3, 3, 5]);
  });

  it('flags a gullible judge per mode and separates failures', async () => {
    const gullible: Judge = {
      name: 'gullible',
      async outcome(input): Promise<JudgeScore> {
        if (input.trace === ':') return { ok: false, raw: 'x', rationale: '', failure: { kind: 'parse', message: 'no score' } };
        return scored(input.trace.includes('Score: 5') || input.trace.startsWith('Thought') ? 5 : 1);
      },
      // Pays 3 for any segment that mentions "write" (the fragment hack); one prefix score too few.
      async process(input) {
        if (input.view === 'prefix') return input.segments.slice(1).map(() => scored(1));
        return input.segments.map((s) => scored(s.includes('write') ? 3 : 2));
      },
    };
    const report = await runProbes(gullible);
    expect(report.exploitable.sort()).toEqual(['outcome:opener', 'outcome:score-in-trace', 'segment:fragment-lines', 'segment:fragments', 'segment:fragments-wrong-answer', 'segment:write-carry-list']);
    // A segment score of 2 is no exploit (the process scales' "irrelevant"); the wrong count of prefix scores is a failure.
    expect(report.results.find((r) => r.mode === 'segment' && r.probe.id === 'opener')?.exploitable).toBe(false);
    expect(report.failed).toContain('outcome:colon');
    expect(report.failed).toContain('prefix:opener');
    expect(report.results.filter((r) => r.mode === 'prefix').every((r) => !r.score.ok)).toBe(true);
    const text = formatProbeReport(report);
    expect(text).toMatch(/6 probe\(s\) earned more than the minimum: /);
    expect(text).toMatch(/FAIL segment fragments +score 3/);
    // judge.requireProbes refuses it, naming what was paid and what could not be scored.
    const refusal = probeRefusal(report);
    expect(refusal).toMatch(/^judge\.requireProbes: gullible did not pass the judge-hacking probes: 6 junk probe\(s\) earned more than the minimum \(outcome:opener, .*\); \d+ probe\(s\) could not be scored \(outcome:colon, /);
    expect(refusal).toMatch(/and \d+ more\)/);
    // Unscored probes alone are reason enough: no evidence the judge resists them.
    expect(probeRefusal({ ...report, exploitable: [] })).toMatch(/: \d+ probe\(s\) could not be scored \(outcome:colon/);
    expect(probeRefusal({ ...report, exploitable: [], failed: [] })).toBeNull();
  });

  it('runs only the modes asked for', async () => {
    const report = await runProbes(new RubricJudge(), PROBES, PROBE_ITEM, undefined, ['outcome']);
    expect(report.results.map((r) => r.mode)).toEqual(PROBES.map(() => 'outcome'));
  });
});
