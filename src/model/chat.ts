/**
 * Greedy chat replies from a model on the Gpu: each prompt becomes one user turn through the
 * tokenizer's chat template (with the generation prompt), all prompts decode as one batch, and
 * each reply stops at <eos> or the length limit. This is the generation function handed to
 * judges that are language models (the self-judge, an instruct model in its own slot).
 */
import type { Gpu } from '../gpu/runtime';
import { generate } from './decode';
import type { ModelParams } from './params';
import type { TextTokenizer } from './tokenizer';

export interface ChatReplyOptions {
  /** Reply tokens at most. */
  maxTokens: number;
  /** Names the model in errors ("the frozen policy", a Hub id). */
  what: string;
}

/** Throws, naming the model, when its tokenizer has no chat template. */
export function chatReplies(gpu: Gpu, model: ModelParams, tok: TextTokenizer, o: ChatReplyOptions): (prompts: readonly string[]) => Promise<string[]> {
  const apply = tok.applyChatTemplate?.bind(tok);
  if (apply === undefined) {
    throw new Error(`${o.what} has no chat template (tokenizer_config.json "chat_template"), so it cannot be prompted as a judge; a language-model judge needs an instruct model`);
  }
  const limit = model.config.maxSeqLen;
  return async (prompts) => {
    const ids = prompts.map((p, i) => {
      const text = apply([{ role: 'user', content: p }], { addGenerationPrompt: true });
      const t = tok.encode(text);
      if (t.length >= limit) throw new Error(`judge prompt ${i} is ${t.length} tokens; ${o.what} takes ${limit} in all`);
      return t;
    });
    if (ids.length === 0) return [];
    const g = await generate(gpu, model, ids, { temperature: 0, seed: 0, maxTokens: o.maxTokens, eosTokenId: tok.eosId });
    return g.tokens.map((t) => tok.decode(t, { skipSpecialTokens: true }));
  };
}
