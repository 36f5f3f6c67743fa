/**
 * A policy loaded onto a Gpu with its tokenizer: the pieces the `exprl` command (and tests) use
 * to score text. Loading reads a Hugging Face folder (`loadCheckpoint`), uploads the float32
 * weights into the flat parameter buffers, and reads the tokenizer: the built-in character
 * tokenizer when the file is one, else the model's own Hugging Face tokenizer (`HfTokenizer`).
 */
import type { Gpu } from '../gpu/runtime';
import { CharTokenizer } from './char-tokenizer';
import { loadCheckpoint, type CheckpointFiles, type LoadProgress } from './checkpoint';
import type { ModelConfig } from './config';
import { generate, type GenerateOptions, type Generation } from './decode';
import { createActivations, destroyActivations, forwardTrain, setBatch } from './forward';
import { createParams, destroyParams, uploadParams, type ModelParams } from './params';
import { HfTokenizer, type TextTokenizer } from './tokenizer';

export interface TokenLogprobs {
  /** Token ids exactly as the tokenizer produces them (special tokens only where it adds them itself). */
  tokens: number[];
  /** logprobs[i] = log p(tokens[i + 1] | tokens[0..i]) at temperature 1; one fewer than tokens. */
  logprobs: number[];
}

export interface ScoreOptions {
  temperature?: number;
  /** Also read back the logits [n − 1, vocab] (tests compare them with the reference). */
  withLogits?: boolean;
}

export interface IdScores {
  logprobs: Float32Array;
  logits?: Float32Array;
}

export interface SampleOptions {
  /** Samples of the one prompt (each its own sequence, so each draws its own random numbers). */
  n: number;
  /** 0 = greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  maxTokens: number;
  /** Stop a sample once its text contains one of these. */
  stopStrings?: string[];
}

export interface Sample {
  /** The response's text, special tokens (the closing <eos>) left out. */
  text: string;
  /** The response's ids, a closing <eos> included. */
  tokens: number[];
  /** log p of each response token under the full softmax at the temperature (1 when greedy), as training computes it. */
  logprobs: number[];
  finish: 'eos' | 'stop' | 'length';
}

export class PolicySession {
  private constructor(
    readonly gpu: Gpu,
    readonly model: ModelParams,
    readonly tokenizer: TextTokenizer,
    /** Things the load accepted but the user may want to know. */
    readonly warnings: readonly string[],
  ) {}

  get config(): ModelConfig {
    return this.model.config;
  }

  /** Uploads weights that are already in memory (a freshly initialised policy, a test's values). */
  static fromValues(gpu: Gpu, config: ModelConfig, values: ReadonlyMap<string, Float32Array>, tokenizer: TextTokenizer, warnings: readonly string[] = []): PolicySession {
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary holds ${config.vocabSize}`);
    }
    const model = createParams(gpu, config);
    try {
      uploadParams(gpu, model, values);
    } catch (e) {
      destroyParams(model);
      throw e;
    }
    return new PolicySession(gpu, model, tokenizer, warnings);
  }

  /** Loads a checkpoint folder (a Node path or any `CheckpointFiles`) onto the Gpu. */
  static async load(gpu: Gpu, from: string | CheckpointFiles, onProgress?: (p: LoadProgress) => void): Promise<PolicySession> {
    const where = typeof from === 'string' ? from : from.where;
    const ckpt = await loadCheckpoint(from, onProgress);
    if (ckpt.tokenizer === undefined) throw new Error(`${where}: no tokenizer.json; the model cannot read text without one`);
    const tokenizer = readTokenizer(ckpt.tokenizer.tokenizerJson, ckpt.tokenizer.tokenizerConfig, `${where}/tokenizer.json`);
    return PolicySession.fromValues(gpu, ckpt.config, ckpt.params, tokenizer, ckpt.warnings.filter((w) => w !== 'no tokenizer.json'));
  }

  /**
   * Runs the training forward over ids[0..n−2] with targets ids[1..n−1] and reads back
   * log p(ids[i + 1] | ids[0..i]) for each i (and the logits when asked).
   */
  async scoreIds(ids: readonly number[], options: ScoreOptions = {}): Promise<IdScores> {
    const c = this.config;
    const rows = ids.length - 1;
    if (rows < 1) return { logprobs: new Float32Array(0), ...(options.withLogits ? { logits: new Float32Array(0) } : {}) };
    if (rows > c.maxSeqLen) throw new Error(`the text is ${ids.length} tokens long; this model scores at most ${c.maxSeqLen + 1} (max_position_embeddings ${c.maxSeqLen}, plus the last token)`);
    for (const [i, id] of ids.entries()) {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new Error(`token ${i} (id ${id}) is outside the model's vocabulary [0, ${c.vocabSize})`);
    }
    const acts = createActivations(this.gpu, c, 1, rows);
    try {
      setBatch(this.gpu, acts, { batch: 1, seqLen: rows, tokens: Uint32Array.from(ids.slice(0, rows)), targets: Uint32Array.from(ids.slice(1)) });
      forwardTrain(this.gpu, this.model, acts, { temperature: options.temperature ?? 1 });
      const logprobs = await this.gpu.readF32(acts.logp);
      const logits = options.withLogits ? await this.gpu.readF32(acts.logits) : undefined;
      return logits === undefined ? { logprobs } : { logprobs, logits };
    } finally {
      // The readbacks above waited for the work, so the buffers are free to go.
      destroyActivations(acts);
    }
  }

  /** The text's tokens and each token's log-prob given the ones before it, at temperature 1. */
  async tokenLogprobs(text: string): Promise<TokenLogprobs> {
    const tokens = this.tokenizer.encode(text);
    const { logprobs } = await this.scoreIds(tokens);
    return { tokens, logprobs: Array.from(logprobs) };
  }

  /**
   * Continues the prompt n times with the KV-cache decoder, stopping at the tokenizer's <eos>, a
   * stop string, maxTokens or the model's maxSeqLen. The prompt is encoded as the tokenizer
   * encodes text (no <bos> added unless the tokenizer adds one itself).
   */
  async sample(prompt: string, o: SampleOptions): Promise<Sample[]> {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) throw new Error('the prompt is empty; give at least one character (or <bos>) to condition on');
    if (ids.length >= this.config.maxSeqLen) throw new Error(`the prompt is ${ids.length} tokens long; this model takes at most ${this.config.maxSeqLen} in all, so nothing is left for a response`);
    const g = await this.generateIds(
      Array.from({ length: o.n }, () => ids.slice()),
      { temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, maxTokens: o.maxTokens, stopStrings: o.stopStrings },
    );
    return g.tokens.map((tokens, s) => ({ text: this.responseText(tokens), tokens, logprobs: g.logprobs[s], finish: g.finish[s] }));
  }

  /** A response's text: its ids decoded with special tokens (the closing <eos>) left out. */
  responseText(ids: readonly number[]): string {
    return this.tokenizer.decode(ids, { skipSpecialTokens: true });
  }

  /**
   * Continues token prompts with the KV-cache decoder, stopping at the tokenizer's <eos>, a
   * stop string (matched on responseText), the length limit or the model's maxSeqLen.
   */
  generateIds(prompts: number[][], o: Omit<GenerateOptions, 'eosTokenId' | 'decodeText'>): Promise<Generation> {
    return generate(this.gpu, this.model, prompts, { ...o, eosTokenId: this.tokenizer.eosId, decodeText: (t) => this.responseText(t) });
  }

  destroy(): void {
    destroyParams(this.model);
  }
}

/**
 * The tokenizer of a folder: the built-in character tokenizer when the file is one (it encodes
 * exactly as the Hugging Face library would, and is much simpler), else the model's own tokenizer.
 */
export function readTokenizer(json: Record<string, unknown>, config: Record<string, unknown> | undefined, where: string): TextTokenizer {
  try {
    return CharTokenizer.fromTokenizerJson(json, config, where);
  } catch {
    // Not ours: an imported model's tokenizer.
  }
  try {
    return new HfTokenizer(json, config, where);
  } catch (e) {
    const model = json.model as Record<string, unknown> | undefined;
    const kind = model !== null && typeof model === 'object' && typeof model.type === 'string' ? ` (a ${model.type} tokenizer)` : '';
    const message = (e as Error).message;
    throw new Error(message.startsWith(where) ? message : `${where}${kind}: @huggingface/tokenizers cannot load it: ${message}`);
  }
}
