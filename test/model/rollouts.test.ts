// Rollout collection (src/rl/rollouts.ts) on a small character-level policy: record shapes, the
// outcome advantages' group normalisation, the process delta rule on the recorded segment scores,
// masking on judge failures, reward 0 for cut responses, and seeded reproducibility.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { callFailure, directScore } from '../../src/judge/parse';
import { RubricJudge } from '../../src/judge/rubric';
import type { Judge, JudgeScore, Likert, OutcomeInput, ProcessInput } from '../../src/judge/types';
import { builtinTokenizer } from '../../src/model/builtin';
import type { ModelConfig } from '../../src/model/config';
import { initParams } from '../../src/model/params';
import { PolicySession } from '../../src/model/session';
import { grpoAdvantages, processDeltaValues } from '../../src/rl/advantages';
import { packPolicyBatch } from '../../src/rl/policy-step';
import { collectRollouts, rolloutJsonLine, toPolicyRollout, type CollectOptions, type RolloutRecord } from '../../src/rl/rollouts';
import { arithChain } from '../../src/tasks/families';
import type { TaskItem } from '../../src/tasks/types';

// Advantages are float64 arithmetic on the same numbers; only rounding separates them.
const ADV_TOL = 1e-9;
const MAX_TOKENS = 24;
const G = 8;

const print = (s: string): void => {
  if (globalThis.process?.env?.EXPRL_PRINT_ERRORS) console.log(s);
};

/** A one-layer policy over the built-in character vocabulary: fast to decode on a software adapter. */
function smallConfig(vocabSize: number, eosId: number | undefined): ModelConfig {
  return { vocabSize, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 8, dFF: 24, ropeTheta: 10000, normEps: 1e-5, tiedEmbeddings: true, maxSeqLen: 128, eosTokenId: eosId };
}

async function session(): Promise<PolicySession> {
  const gpu = await testGpu();
  const tok = builtinTokenizer();
  const c = smallConfig(tok.vocabSize, tok.eosId);
  return PolicySession.fromValues(gpu, c, initParams(c, 7, 0.5), tok);
}

const items: TaskItem[] = [0, 1].map((i) => arithChain.generate(1, 11, i));

// Lowercase letters end a response early (a stop string), so groups mix finished and cut responses.
const STOPS = [...'abcdef'];

/** Scores that vary with the text, so groups are rarely all equal. */
class LengthJudge implements Judge {
  readonly name = 'length';
  async outcome(input: OutcomeInput): Promise<JudgeScore> {
    return directScore((1 + (input.trace.length % 5)) as Likert, 'length');
  }
  async process(input: ProcessInput): Promise<JudgeScore[]> {
    return input.segments.map((s, k) => directScore((1 + ((s.length + k) % 5)) as Likert, 'length'));
  }
}

class FailingJudge implements Judge {
  readonly name = 'failing';
  constructor(private readonly throws: boolean) {}
  async outcome(): Promise<JudgeScore> {
    if (this.throws) throw new Error('unreachable endpoint');
    return callFailure('gave up after retries');
  }
  async process(input: ProcessInput): Promise<JudgeScore[]> {
    if (this.throws) throw new Error('unreachable endpoint');
    return input.segments.map(() => callFailure('gave up after retries'));
  }
}

function options(o: Partial<CollectOptions>): CollectOptions {
  return {
    rolloutsPerPrompt: G,
    temperature: 1,
    seed: 1234,
    maxTokens: MAX_TOKENS,
    method: 'exprl-outcome',
    judge: new LengthJudge(),
    judgeMode: 'outcome',
    view: 'segment',
    delimiter: ' ',
    maxSegments: 10,
    stopStrings: STOPS,
    ...o,
  };
}

function checkShapes(recs: readonly RolloutRecord[]): void {
  expect(recs.length).toBe(items.length * G);
  recs.forEach((r, i) => {
    const at = `rollout ${i}`;
    expect(r.itemId, at).toBe(items[Math.floor(i / G)].id);
    expect(r.prompt.length, at).toBeGreaterThan(0);
    expect(r.response.length, at).toBeLessThanOrEqual(MAX_TOKENS);
    expect(r.logpOld.length, at).toBe(r.response.length);
    expect(r.advantages.length, at).toBe(r.response.length);
    expect(r.tokenSegment.length, at).toBe(r.response.length);
    for (const lp of r.logpOld) expect(Number.isFinite(lp) && lp <= 0, `${at}: logp ${lp}`).toBe(true);
    expect(r.lossMask, at).toBe(!r.masked);
    expect(r.cut, at).toBe(r.response.length === MAX_TOKENS && !STOPS.some((s) => r.text.endsWith(s)));
    if (r.cut) {
      expect(r.reward, at).toBe(0);
      expect(r.masked, at).toBe(false);
      expect(r.judgeCalls, at).toBe(0);
    }
    expect(JSON.parse(rolloutJsonLine(r)).segments, at).toEqual(r.segments);
  });
  // They pack as the policy step's rows.
  const packed = packPolicyBatch(recs.map(toPolicyRollout), recs.length, 128);
  expect(packed.counted).toBe(recs.filter((r) => r.lossMask).reduce((n, r) => n + r.response.length, 0));
}

describe('collectRollouts', () => {
  it('outcome: group-normalised advantages on every token, cut responses at reward 0', async () => {
    const s = await session();
    try {
      const recs = await collectRollouts(s, items, options({}));
      checkShapes(recs);
      print(recs.map((r) => `${JSON.stringify(r.text)} cut=${r.cut} reward=${r.reward}`).join('\n'));
      expect(recs.some((r) => r.cut), 'some responses cut').toBe(true);
      expect(recs.some((r) => !r.cut), 'some responses finished').toBe(true);
      let varied = 0;
      for (let g = 0; g < items.length; g++) {
        const group = recs.slice(g * G, (g + 1) * G);
        const rewards = group.map((r) => r.reward as number);
        for (const r of group) {
          expect(r.masked).toBe(false);
          expect(r.judgeCalls).toBe(r.cut ? 0 : 1);
          expect(r.segments).toHaveLength(1);
          expect(r.segments[0].text).toBe(r.text);
          expect(r.segments[0].score).toBe(r.reward);
        }
        const want = grpoAdvantages(rewards).advantages;
        group.forEach((r, i) => {
          for (const a of r.advantages) expect(Math.abs(a - want[i])).toBeLessThan(ADV_TOL);
          expect(Math.abs(r.segments[0].advantage - want[i])).toBeLessThan(ADV_TOL);
        });
        if (new Set(rewards).size > 1) {
          varied++;
          expect(Math.abs(want.reduce((a, b) => a + b, 0))).toBeLessThan(1e-9);
        }
      }
      expect(varied, 'at least one group with unequal rewards').toBeGreaterThan(0);
    } finally {
      s.destroy();
    }
  });

  it('process: per-segment delta values of the recorded scores, on the tokens of each segment', async () => {
    const s = await session();
    try {
      for (const judge of [new LengthJudge(), new RubricJudge()]) {
        // The most frequent character of the responses as the delimiter, so traces have several steps.
        const plain = await collectRollouts(s, items, options({ method: 'sparse-grpo', judge: undefined, judgeMode: undefined }));
        const counts = new Map<string, number>();
        for (const r of plain) for (const ch of r.text) if (!STOPS.includes(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
        const delimiter = [...counts].sort((a, b) => b[1] - a[1])[0][0];
        const recs = await collectRollouts(s, items, options({ method: 'exprl-process', judge, judgeMode: 'process', delimiter }));
        checkShapes(recs);
        expect(recs.map((r) => r.text)).toEqual(plain.map((r) => r.text));
        expect(recs.some((r) => r.segments.length >= 2), `a trace with several segments (delimiter ${JSON.stringify(delimiter)})`).toBe(true);
        for (const r of recs) {
          expect(r.segments.map((x) => x.text).join('')).toBe(r.text);
          const scores = r.segments.map((x) => x.score as number);
          if (r.cut) expect(scores.every((x) => x === 0)).toBe(true);
          else expect(r.judgeCalls).toBe(r.segments.length);
          const want = processDeltaValues(scores);
          r.segments.forEach((x, k) => expect(Math.abs(x.advantage - want[k])).toBeLessThan(ADV_TOL));
          r.tokenSegment.forEach((k, t) => expect(r.advantages[t]).toBe(k < 0 ? 0 : r.segments[k].advantage));
          expect(Math.abs((r.reward as number) - (scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : 0))).toBeLessThan(ADV_TOL);
        }
      }
    } finally {
      s.destroy();
    }
  });

  it('a judge that always fails masks every judged rollout and counts the failures', async () => {
    const s = await session();
    try {
      for (const [method, mode] of [['exprl-outcome', 'outcome'], ['exprl-process', 'process']] as const) {
        for (const throws of [false, true]) {
          const recs = await collectRollouts(s, items, options({ method, judgeMode: mode, judge: new FailingJudge(throws) }));
          checkShapes(recs);
          const judged = recs.filter((r) => !r.cut && r.text.length > 0);
          expect(judged.length).toBeGreaterThan(0);
          for (const r of judged) {
            expect(r.masked).toBe(true);
            expect(r.lossMask).toBe(false);
            expect(r.reward).toBeNull();
            expect(r.judgeFailures).toBeGreaterThan(0);
            expect(r.segments.every((x) => x.score === null && x.advantage === 0)).toBe(true);
            expect(r.advantages.every((a) => a === 0)).toBe(true);
          }
        }
      }
    } finally {
      s.destroy();
    }
  });

  it('seeded collection is reproducible', async () => {
    const s = await session();
    try {
      const a = await collectRollouts(s, items, options({}));
      const b = await collectRollouts(s, items, options({}));
      const c = await collectRollouts(s, items, options({ seed: 99 }));
      expect(b.map((r) => r.response)).toEqual(a.map((r) => r.response));
      expect(b.map((r) => Array.from(r.logpOld))).toEqual(a.map((r) => Array.from(r.logpOld)));
      expect(b.map((r) => Array.from(r.advantages))).toEqual(a.map((r) => Array.from(r.advantages)));
      expect(c.map((r) => r.response)).not.toEqual(a.map((r) => r.response));
    } finally {
      s.destroy();
    }
  });
});
