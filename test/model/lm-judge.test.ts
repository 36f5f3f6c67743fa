// Language-model judges on our own kernels: chat replies through the tokenizer's chat template
// (greedy, batched, the same reply alone or in a batch), the self-judge a run builds from the
// frozen policy (a reply without a valid score is a parse failure, never a number), and the
// built-in policy refused for want of a chat template.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { builtinTokenizer } from '../../src/model/builtin';
import { chatReplies } from '../../src/model/chat';
import { initParams } from '../../src/model/params';
import { PolicySession } from '../../src/model/session';
import { HfTokenizer } from '../../src/model/tokenizer';
import { preset, resolveConfig } from '../../src/rl/config';
import { buildRunJudge } from '../../src/rl/run-judge';
import { BPE_VOCAB_SIZE, bpeTokenizerConfig, bpeTokenizerJson } from '../support/bpe-tokenizer';
import { tinyConfig } from '../support/tiny-config';

const SHORT = {
  outcome: 'Problem {{question}} Reference {{reference}} Trace {{trace}} Score 1-5.',
  segment: 'Problem {{question}} Reference {{reference}} Step {{trace}} Score 1-5.',
  prefix: 'Problem {{question}} Reference {{reference}} So far {{trace}} Score 1-5.',
};

async function instructSession(): Promise<PolicySession> {
  const gpu = await testGpu();
  const tok = new HfTokenizer(bpeTokenizerJson(), bpeTokenizerConfig(), 'bpe/tokenizer.json');
  const c = tinyConfig({ vocabSize: BPE_VOCAB_SIZE, maxSeqLen: 320, eosTokenId: tok.eosId });
  return PolicySession.fromValues(gpu, c, initParams(c, 9, 0.5), tok);
}

describe('language-model judges', () => {
  it('replies greedily through the chat template, the same alone as in a batch', async () => {
    const s = await instructSession();
    try {
      const reply = chatReplies(s.gpu, s.model, s.tokenizer, { maxTokens: 6, what: 'the tiny instruct model' });
      const prompts = ['Is 2 + 3 = 5 right?', 'Grade this: the answer is 7, because 3 + 4 = 7.'];
      const both = await reply(prompts);
      expect(both).toHaveLength(2);
      expect(await reply([prompts[0]])).toEqual([both[0]]);
      expect(await reply([prompts[1]])).toEqual([both[1]]);
      // What was decoded is the continuation of the templated prompt: scoring it gives finite log-probs.
      const templated = s.tokenizer.applyChatTemplate!([{ role: 'user', content: prompts[0] }], { addGenerationPrompt: true });
      expect(templated.endsWith('<|im_start|>assistant\n')).toBe(true);
      const { logprobs } = await s.tokenLogprobs(templated + both[0]);
      for (const lp of logprobs) expect(Number.isFinite(lp)).toBe(true);
    } finally {
      s.destroy();
    }
  });

  it('the self-judge of a run scores with the frozen policy and never turns a bad reply into a number', async () => {
    const s = await instructSession();
    const config = resolveConfig(preset('tiny'), { policy: 'tiny/instruct', judge: { kind: 'policy', maxTokens: 8, templates: SHORT } });
    const built = await buildRunJudge(config, s);
    try {
      expect(built.judge?.name).toBe('self-judge');
      const item = { question: 'What is 2 + 3?', reference: '2 + 3 = 5\nAnswer: 5' };
      const r = await built.judge!.outcome({ ...item, trace: '2 + 3 = 5\nAnswer: 5' });
      // A random model does not write "Score: N": a parse failure with the raw reply kept.
      if (r.ok) expect([0, 0.25, 0.5, 0.75, 1]).toContain(r.value);
      else expect(r.failure.kind).toBe('parse');
      const steps = await built.judge!.process({ ...item, segments: ['2 + 3 = 5\n', 'Answer: 5'], view: 'segment' });
      expect(steps).toHaveLength(2);
    } finally {
      await built.release();
      s.destroy();
    }
  });

  it('refuses a model without a chat template, naming it', async () => {
    const gpu = await testGpu();
    const tok = builtinTokenizer();
    const c = tinyConfig({ vocabSize: tok.vocabSize, maxSeqLen: 64 });
    const s = PolicySession.fromValues(gpu, c, initParams(c, 1), tok);
    try {
      expect(() => chatReplies(s.gpu, s.model, s.tokenizer, { maxTokens: 4, what: 'the built-in policy' })).toThrow(/the built-in policy has no chat template/);
    } finally {
      s.destroy();
    }
  });
});
