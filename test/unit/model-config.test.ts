// Model configuration and parameter layout: the config.json mapping (and its errors, which name the
// field) and the packing of Hugging Face tensors into aligned flat buffers.
import { describe, expect, it } from 'vitest';
import { fromHfConfig, toHfConfig, validateConfig, type ModelConfig } from '../../src/model/config';
import { layoutParams, PARAM_ALIGN_ELEMENTS, paramList } from '../../src/model/layout';
import { tinyConfig } from '../support/tiny-config';

const tiny: ModelConfig = tinyConfig({ tiedEmbeddings: false, normEps: 1e-6, maxSeqLen: 64, eosTokenId: 2 });

describe('model config', () => {
  it('round-trips through config.json', () => {
    expect(fromHfConfig(toHfConfig(tiny))).toEqual(tiny);
  });

  it('reads a SmolLM2-style config with Hugging Face defaults', () => {
    const c = fromHfConfig({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: 49152,
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      rope_theta: 100000,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
      max_position_embeddings: 8192,
      eos_token_id: [2, 0],
    });
    expect(c.headDim).toBe(64);
    expect(c.tiedEmbeddings).toBe(true);
    expect(c.eosTokenId).toBe(2);
    // An omitted tie_word_embeddings means untied, as in transformers' LlamaConfig.
    const untied = fromHfConfig({ vocab_size: 5, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2 });
    expect(untied.tiedEmbeddings).toBe(false);
    expect(untied.nKvHeads).toBe(2);
  });

  it('names the field that is missing or wrong', () => {
    expect(() => fromHfConfig({ hidden_size: 4 }, 'm/config.json')).toThrow(/m\/config.json: missing field num_attention_heads/);
    expect(() => fromHfConfig({ architectures: ['GPT2LMHeadModel'] })).toThrow(/GPT2LMHeadModel.*not supported/);
    expect(() => fromHfConfig({ ...toHfConfig(tiny), rope_scaling: { type: 'linear' } })).toThrow(/rope_scaling/);
    expect(() => validateConfig({ ...tiny, nKvHeads: 3 })).toThrow(/nHeads \(4\) must be a multiple of nKvHeads \(3\)/);
    expect(() => validateConfig({ ...tiny, headDim: 5 })).toThrow(/headDim \(5\) must be even/);
    expect(() => validateConfig({ ...tiny, dFF: 0 })).toThrow(/dFF must be a positive integer/);
  });
});

describe('parameter layout', () => {
  it('lists every Hugging Face tensor with its shape', () => {
    const names = paramList(tiny).map((p) => p.name);
    expect(names[0]).toBe('model.embed_tokens.weight');
    expect(names).toContain('model.layers.1.self_attn.k_proj.weight');
    expect(names.at(-1)).toBe('lm_head.weight');
    expect(paramList({ ...tiny, tiedEmbeddings: true }).map((p) => p.name)).not.toContain('lm_head.weight');
    expect(paramList(tiny).find((p) => p.name === 'model.layers.0.self_attn.q_proj.weight')?.shape).toEqual([16, 10]);
    expect(paramList(tiny).find((p) => p.name === 'model.layers.0.self_attn.o_proj.weight')?.shape).toEqual([10, 16]);
  });

  it('packs aligned, non-overlapping views and splits only at the binding limit', () => {
    const one = layoutParams(tiny, 1 << 20);
    expect(one.bufferSizes.length).toBe(1);
    expect(one.count).toBe(one.params.reduce((s, p) => s + p.size, 0));
    let end = 0;
    for (const p of one.params) {
      expect(p.offset % PARAM_ALIGN_ELEMENTS).toBe(0);
      expect(p.offset).toBeGreaterThanOrEqual(end);
      end = p.offset + p.size;
    }
    const split = layoutParams(tiny, 256);
    expect(split.bufferSizes.length).toBeGreaterThan(1);
    for (const size of split.bufferSizes) expect(size).toBeLessThanOrEqual(256);
    expect(() => layoutParams(tiny, 64)).toThrow(/model.embed_tokens.weight \[13, 10\] has 130 elements, more than one binding holds \(64\)/);
  });
});
