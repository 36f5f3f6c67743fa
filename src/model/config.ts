/**
 * Model configuration: a Llama-layout decoder (Hugging Face `LlamaForCausalLM`), every size from
 * here. `fromHfConfig` / `toHfConfig` map to and from `config.json`, naming the field that is
 * missing or wrong.
 */

export interface ModelConfig {
  vocabSize: number;
  /** Hidden size D. */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention when fewer than nHeads; must divide it). */
  nKvHeads: number;
  headDim: number;
  /** SwiGLU inner width F. */
  dFF: number;
  ropeTheta: number;
  normEps: number;
  /** LM head shares the token embedding matrix. */
  tiedEmbeddings: boolean;
  /** Longest sequence (prompt + response) the model is used with. */
  maxSeqLen: number;
  bosTokenId?: number;
  eosTokenId?: number;
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`model config: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`model config: ${field} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

/** Throws with the field's name when the configuration cannot describe a working model. */
export function validateConfig(c: ModelConfig): ModelConfig {
  for (const f of ['vocabSize', 'dModel', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'dFF', 'maxSeqLen'] as const) positiveInt(c[f], f);
  positiveNumber(c.ropeTheta, 'ropeTheta');
  positiveNumber(c.normEps, 'normEps');
  if (c.nHeads % c.nKvHeads !== 0) throw new Error(`model config: nHeads (${c.nHeads}) must be a multiple of nKvHeads (${c.nKvHeads})`);
  if (c.headDim % 2 !== 0) throw new Error(`model config: headDim (${c.headDim}) must be even for rotary embeddings`);
  if (typeof c.tiedEmbeddings !== 'boolean') throw new Error('model config: tiedEmbeddings must be true or false');
  return c;
}

/** Reads a Hugging Face `config.json` object of a Llama-layout model. */
export function fromHfConfig(json: Record<string, unknown>, where = 'config.json'): ModelConfig {
  const arch = json.architectures;
  if (Array.isArray(arch) && arch.length > 0 && !arch.includes('LlamaForCausalLM')) {
    throw new Error(`${where}: architecture ${JSON.stringify(arch)} is not supported (only LlamaForCausalLM)`);
  }
  if (json.model_type !== undefined && json.model_type !== 'llama') {
    throw new Error(`${where}: model_type "${String(json.model_type)}" is not supported (only "llama")`);
  }
  const need = (k: string): unknown => {
    if (json[k] === undefined) throw new Error(`${where}: missing field ${k}`);
    return json[k];
  };
  const dModel = positiveInt(need('hidden_size'), `${where}: hidden_size`);
  const nHeads = positiveInt(need('num_attention_heads'), `${where}: num_attention_heads`);
  const scaling = json.rope_scaling;
  if (scaling !== undefined && scaling !== null) throw new Error(`${where}: rope_scaling is not supported`);
  const eos = json.eos_token_id;
  return validateConfig({
    vocabSize: positiveInt(need('vocab_size'), `${where}: vocab_size`),
    dModel,
    nLayers: positiveInt(need('num_hidden_layers'), `${where}: num_hidden_layers`),
    nHeads,
    nKvHeads: positiveInt(json.num_key_value_heads ?? nHeads, `${where}: num_key_value_heads`),
    headDim: positiveInt(json.head_dim ?? dModel / nHeads, `${where}: head_dim`),
    dFF: positiveInt(need('intermediate_size'), `${where}: intermediate_size`),
    ropeTheta: positiveNumber(json.rope_theta ?? 10000, `${where}: rope_theta`),
    normEps: positiveNumber(json.rms_norm_eps ?? 1e-6, `${where}: rms_norm_eps`),
    // transformers' LlamaConfig defaults tie_word_embeddings to false and config.json omits defaults.
    tiedEmbeddings: json.tie_word_embeddings === true,
    maxSeqLen: positiveInt(json.max_position_embeddings ?? 2048, `${where}: max_position_embeddings`),
    bosTokenId: typeof json.bos_token_id === 'number' ? json.bos_token_id : undefined,
    eosTokenId: typeof eos === 'number' ? eos : Array.isArray(eos) && typeof eos[0] === 'number' ? eos[0] : undefined,
  });
}

/** The `config.json` object Hugging Face `transformers` loads as `LlamaForCausalLM`. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.dModel,
    intermediate_size: c.dFF,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    hidden_act: 'silu',
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: c.tiedEmbeddings,
    torch_dtype: 'float32',
    ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== undefined ? { eos_token_id: c.eosTokenId } : {}),
  };
}
