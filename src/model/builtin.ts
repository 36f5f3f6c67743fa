/**
 * The built-in policy: a small Llama-layout decoder over the character vocabulary of
 * `CharTokenizer` (newline and printable ASCII plus <pad>, <bos>, <eos>: 99 tokens).
 *
 * Sizes: D = 96, 4 layers, 4 query heads sharing 2 key/value heads of width 24, SwiGLU width
 * 256, up to 256 positions: about 416k parameters, so a training step on a software adapter
 * takes seconds (≈ 6 FLOP per parameter per token) while the model still has room to learn
 * short arithmetic and formatting. Grouped-query attention and a tied head follow the SmolLM2
 * layout the importer targets, so the built-in policy exercises the same code paths as an
 * imported model; untying would add only 99 × 96 ≈ 9.5k parameters, so tying costs the small
 * model nothing in capacity worth having.
 */
import { CharTokenizer, DEFAULT_CHARACTERS } from './char-tokenizer';
import { validateConfig, type ModelConfig } from './config';
import { paramList } from './layout';
import { initParams } from './params';

export function builtinTokenizer(): CharTokenizer {
  return CharTokenizer.fromCharacters(DEFAULT_CHARACTERS);
}

function makeConfig(): ModelConfig {
  const tok = builtinTokenizer();
  return validateConfig({
    vocabSize: tok.vocabSize,
    dModel: 96,
    nLayers: 4,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 24,
    dFF: 256,
    ropeTheta: 10000,
    normEps: 1e-5,
    tiedEmbeddings: true,
    maxSeqLen: 256,
    bosTokenId: tok.bosId,
    eosTokenId: tok.eosId,
  });
}

export const BUILTIN_CONFIG: Readonly<ModelConfig> = Object.freeze(makeConfig());

/** Number of scalar parameters of a config (a tied head counted once). */
export function parameterCount(config: ModelConfig): number {
  return paramList(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

export interface BuiltinPolicy {
  config: ModelConfig;
  /** Seeded initial weights, by Hugging Face tensor name. */
  params: Map<string, Float32Array>;
  tokenizer: CharTokenizer;
}

/** A freshly initialised built-in policy; the same seed gives the same weights on every machine. */
export function createBuiltinPolicy(seed: number): BuiltinPolicy {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`built-in policy: seed must be an integer in [0, 2^32), got ${seed}`);
  const config = { ...BUILTIN_CONFIG };
  return { config, params: initParams(config, seed), tokenizer: builtinTokenizer() };
}
