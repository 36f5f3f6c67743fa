// collectRollouts (src/rl/rollouts.ts) on a scripted session, no GPU: a response cut at the
// maximum length earns 0, and with cutCorrectReward (PipelineRL's Stage II) 1 when its answer is
// correct, in sparse methods only; the judge mode comes from the method table.
import { describe, expect, it } from 'vitest';
import { callFailure } from '../../src/judge/parse';
import { RubricJudge } from '../../src/judge/rubric';
import type { Generation } from '../../src/model/decode';
import type { PolicySession } from '../../src/model/session';
import { collectRollouts, type CollectOptions } from '../../src/rl/rollouts';
import { arithChain } from '../../src/tasks/families';
import { answerLine } from '../../src/tasks/types';

const item = arithChain.generate(1, 3, 0);

/** A session over char codes whose samples are the given texts, each with how it finished. */
function scripted(samples: Array<[string, Generation['finish'][number]]>): PolicySession {
  const encode = (s: string): number[] => Array.from(s, (ch) => ch.charCodeAt(0));
  return {
    tokenizer: { encode },
    config: { maxSeqLen: 10_000 },
    responseText: (ids: readonly number[]) => String.fromCharCode(...ids),
    generateIds: async (prompts: number[][]): Promise<Generation> => {
      expect(prompts).toHaveLength(samples.length);
      const tokens = samples.map(([text]) => encode(text));
      return { tokens, logprobs: tokens.map((t) => t.map(() => -1)), finish: samples.map(([, f]) => f) };
    },
  } as unknown as PolicySession;
}

function options(o: Partial<CollectOptions>): CollectOptions {
  return { rolloutsPerPrompt: 4, temperature: 1, seed: 1, maxTokens: 64, method: 'stage2', view: 'segment', delimiter: '\n', maxSegments: null, ...o };
}

describe('collectRollouts on a scripted session', () => {
  const right = `work\n${answerLine(item.answer)}`;
  const wrong = `work\n${answerLine(Number(item.answer) + 1)}`;
  const samples: Array<[string, Generation['finish'][number]]> = [
    [right, 'length'], // cut, correct
    [wrong, 'length'], // cut, wrong
    [right, 'eos'],
    [wrong, 'eos'],
  ];

  it('gives a cut response reward 0 by default, correct or not', async () => {
    const recs = await collectRollouts(scripted(samples), [item], options({}));
    expect(recs.map((r) => [r.cut, r.correct, r.reward])).toEqual([
      [true, true, 0],
      [true, false, 0],
      [false, true, 1],
      [false, false, 0],
    ]);
  });

  it('with cutCorrectReward a cut response with a correct answer earns 1, and its advantage follows', async () => {
    for (const method of ['stage2', 'sparse-grpo'] as const) {
      const recs = await collectRollouts(scripted(samples), [item], options({ method, cutCorrectReward: true }));
      expect(recs.map((r) => [r.cut, r.correct, r.reward]), method).toEqual([
        [true, true, 1],
        [true, false, 0],
        [false, true, 1],
        [false, false, 0],
      ]);
      // Stage II: A = r − group mean (0.5); sparse GRPO divides by the std as well: both positive for a paid cut.
      expect(recs[0].advantages[0], method).toBeGreaterThan(0);
      expect(recs[0].advantages[0], method).toBe(recs[2].advantages[0]);
      expect(recs[1].advantages[0], method).toBeLessThan(0);
    }
  });

  it('refuses cutCorrectReward with a judged method, and a judged method without a judge', async () => {
    await expect(collectRollouts(scripted(samples), [item], options({ method: 'exprl-outcome', cutCorrectReward: true, judge: { name: 'x' } as never }))).rejects.toThrow(/sparse methods only/);
    await expect(collectRollouts(scripted(samples), [item], options({ method: 'exprl-process' }))).rejects.toThrow(/needs a judge/);
  });

  it("keeps the judge's reason for each segment, a failure's message included; a cut or sparse rollout has none", async () => {
    const judge = new RubricJudge();
    const recs = await collectRollouts(scripted(samples), [item], options({ method: 'exprl-process', judge, judgeMode: 'process' }));
    expect(recs.map((r) => r.judgeReasons === undefined)).toEqual([true, true, false, false]);
    for (const r of recs.filter((x) => x.judgeReasons !== undefined)) {
      expect(r.judgeReasons).toHaveLength(r.segments.length);
      for (const reason of r.judgeReasons ?? []) expect(reason).toMatch(/\S/);
    }
    expect(recs[2].judgeReasons?.at(-1)).toMatch(/final answer|checkpoint/);
    const failing = { name: 'failing', outcome: async () => callFailure('HTTP 503'), process: async (input: { segments: readonly string[] }) => input.segments.map(() => callFailure('HTTP 503')) };
    const masked = await collectRollouts(scripted(samples), [item], options({ method: 'exprl-process', judge: failing, judgeMode: 'process' }));
    expect(masked[2].masked).toBe(true);
    expect(masked[2].judgeReasons?.[0]).toBe('call failure: HTTP 503');
    const sparse = await collectRollouts(scripted(samples), [item], options({}));
    expect(sparse.every((r) => r.judgeReasons === undefined)).toBe(true);
  });
});
