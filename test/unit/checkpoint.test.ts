import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel, tinyParams, tinyTokenizer, TINY_VARIANTS, type TinyModel } from '../../scripts/make-tiny-model';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { blobFiles, loadCheckpoint, memoryFiles, memoryWriter, saveCheckpoint, type LoadProgress } from '../../src/model/checkpoint';
import type { ModelConfig } from '../../src/model/config';
import { paramList } from '../../src/model/layout';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from '../../src/model/safetensors';
import { freshSeed } from '../support/check';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'exprl-checkpoint-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function expectSameParams(got: Map<string, Float32Array>, want: Map<string, Float32Array>, what: string): void {
  expect([...got.keys()], what).toEqual([...want.keys()]);
  for (const [name, w] of want) expect(bitsOf(got.get(name) as Float32Array), `${what}: ${name}`).toEqual(bitsOf(w));
}

const small: ModelConfig = TINY_VARIANTS[0].config;

/** A saved checkpoint in memory, whose weight file a test can replace. */
async function savedInMemory(config: ModelConfig, seed: number): Promise<Map<string, Uint8Array>> {
  const w = memoryWriter('mem');
  await saveCheckpoint(w, config, tinyParams(config, seed), tinyTokenizer(config.vocabSize).files());
  return w.files;
}

/** The weight file rewritten from a list of (name, shape, data, dtype), starting from the real tensors. */
function rewriteWeights(files: Map<string, Uint8Array>, edit: (ts: TensorToWrite[]) => TensorToWrite[]): void {
  const f = parseSafetensors(files.get('model.safetensors') as Uint8Array);
  const ts: TensorToWrite[] = f.header.tensors.map((t) => ({ name: t.name, shape: t.shape, data: f.float32(t.name) }));
  files.set('model.safetensors', writeSafetensors(edit(ts), { format: 'pt' }));
}

describe('checkpoints', () => {
  for (const variant of TINY_VARIANTS) {
    it(`tiny model ${variant.name}: written by the script, loaded back bit-exactly`, async () => {
      const seed = freshSeed();
      const model: TinyModel = await makeTinyModel(join(root, variant.name), variant, seed);
      const sharded = variant.maxShardBytes !== undefined;
      const names = await readdir(model.dir);
      expect(names.includes('model.safetensors.index.json'), `seed ${seed}`).toBe(sharded);
      expect(names.filter((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)).length > 1).toBe(sharded);
      expect(names.some((n) => n.endsWith('.partial'))).toBe(false);
      const progress: LoadProgress[] = [];
      const loaded = await loadCheckpoint(model.dir, (p) => progress.push(p));
      expect(loaded.config, `seed ${seed}`).toEqual(variant.config);
      expectSameParams(loaded.params, model.params, `${variant.name} seed ${seed}`);
      expect(loaded.params.has('lm_head.weight')).toBe(!variant.config.tiedEmbeddings);
      expect([...loaded.storedDtypes]).toEqual([variant.dtype]);
      expect(loaded.warnings).toEqual([]);
      expect(progress.length).toBe(paramList(variant.config).length);
      expect(progress[progress.length - 1]).toMatchObject({ done: progress.length, total: progress.length });
      const tok = CharTokenizer.fromTokenizerJson(loaded.tokenizer?.tokenizerJson, loaded.tokenizer?.tokenizerConfig);
      expect(tok.tokens).toEqual(model.tokenizer.tokens);
      expect(tok.vocabSize).toBe(variant.config.vocabSize);
      const hf = JSON.parse(await readFile(join(model.dir, 'config.json'), 'utf8'));
      expect(hf).toMatchObject({ architectures: ['LlamaForCausalLM'], torch_dtype: variant.dtype === 'F32' ? 'float32' : 'bfloat16', tie_word_embeddings: variant.config.tiedEmbeddings });
      if (sharded) {
        const index = JSON.parse(await readFile(join(model.dir, 'model.safetensors.index.json'), 'utf8'));
        expect(Object.keys(index.weight_map).sort()).toEqual(paramList(variant.config).map((p) => p.name).sort());
        expect(index.metadata.total_size).toBe(paramList(variant.config).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0) * (variant.dtype === 'F32' ? 4 : 2));
      }
    });
  }

  it('round trip in float32 keeps every bit (-0, subnormals), through memory and File objects', async () => {
    const seed = freshSeed();
    const params = tinyParams(small, seed);
    const emb = params.get('model.embed_tokens.weight') as Float32Array;
    bitsOf(emb).set([0x80000000, 0x00000001, 0x807fffff]);
    const w = memoryWriter();
    await saveCheckpoint(w, small, params, tinyTokenizer(small.vocabSize).files());
    for (const src of [memoryFiles(w.files), blobFiles([...w.files].map(([n, b]) => new File([b as Uint8Array<ArrayBuffer>], n)))]) {
      const loaded = await loadCheckpoint(src);
      expectSameParams(loaded.params, params, `seed ${seed}`);
      expect(loaded.config).toEqual(small);
    }
  });

  it('a tensor holding NaN or ±Infinity is written bit for bit, and refused at load, naming it', async () => {
    for (const [bits, shown] of [[0x7fc01234, 'NaN'], [0xff800000, '-Infinity'], [0x7f800000, 'Infinity']] as const) {
      const params = tinyParams(small, 7);
      const up = params.get('model.layers.0.mlp.up_proj.weight') as Float32Array;
      bitsOf(up)[5] = bits;
      bitsOf(up)[9] = bits;
      const w = memoryWriter('mem');
      await saveCheckpoint(w, small, params, tinyTokenizer(small.vocabSize).files());
      const file = parseSafetensors(w.files.get('model.safetensors') as Uint8Array);
      expect(bitsOf(file.float32('model.layers.0.mlp.up_proj.weight'))[5]).toBe(bits); // the file keeps the payload
      await expect(loadCheckpoint(memoryFiles(w.files))).rejects.toThrow(`model.safetensors: tensor "model.layers.0.mlp.up_proj.weight" holds 2 non-finite values (the first, ${shown}, at flat index 5)`);
    }
  });

  it('re-saving a folder in another layout removes the old weight files', async () => {
    const dir = join(root, 'resave');
    const sharded = TINY_VARIANTS[1];
    await makeTinyModel(dir, sharded, 1);
    await saveCheckpoint(dir, sharded.config, tinyParams(sharded.config, 2), tinyTokenizer(sharded.config.vocabSize).files());
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expectSameParams((await loadCheckpoint(dir)).params, tinyParams(sharded.config, 2), 'resaved');
    await makeTinyModel(dir, sharded, 3);
    expect(await readdir(dir)).not.toContain('model.safetensors');
  });

  it('reads F16 weights, widening them exactly', async () => {
    const files = await savedInMemory(small, 5);
    rewriteWeights(files, (ts) => ts.map((t) => ({ ...t, dtype: 'F16' })));
    const loaded = await loadCheckpoint(memoryFiles(files));
    expect([...loaded.storedDtypes]).toEqual(['F16']);
    const want = parseSafetensors(files.get('model.safetensors') as Uint8Array).float32('model.norm.weight');
    expect(bitsOf(loaded.params.get('model.norm.weight') as Float32Array)).toEqual(bitsOf(want));
  });

  it('accepts a tied model file that also holds lm_head equal to the embedding, and rotary buffers, with warnings', async () => {
    const files = await savedInMemory(small, 6);
    rewriteWeights(files, (ts) => [
      ...ts,
      { name: 'lm_head.weight', shape: [small.vocabSize, small.dModel], data: ts[0].data },
      { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', shape: [2], data: new Float32Array([1, 0.01]) },
    ]);
    const loaded = await loadCheckpoint(memoryFiles(files));
    expect(loaded.params.has('lm_head.weight')).toBe(false);
    expect(loaded.warnings.join('\n')).toMatch(/ignored tensor "model\.layers\.0\.self_attn\.rotary_emb\.inv_freq"/);
    expect(loaded.warnings.join('\n')).toMatch(/ignored tensor "lm_head\.weight" \(equal to model\.embed_tokens\.weight/);
  });

  describe('load errors name the tensor or file', () => {
    const failing = async (edit: (files: Map<string, Uint8Array>) => void, want: RegExp, config: ModelConfig = small): Promise<void> => {
      const files = await savedInMemory(config, 7);
      edit(files);
      await expect(loadCheckpoint(memoryFiles(files, 'ckpt'))).rejects.toThrow(want);
    };
    it('missing tensor', () => failing((f) => rewriteWeights(f, (ts) => ts.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight')), /ckpt: missing tensor "model\.layers\.1\.mlp\.up_proj\.weight" \(expected shape \[37, 24\]\)/));
    it('wrong shape', () => failing((f) => rewriteWeights(f, (ts) => ts.map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [4, 6] } : t))), /ckpt\/model\.safetensors: tensor "model\.norm\.weight": expected shape \[24\], got \[4, 6\]/));
    it('transposed linear weight', () => failing((f) => rewriteWeights(f, (ts) => ts.map((t) => (t.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...t, shape: [24, 8] } : t))), /k_proj\.weight": expected shape \[8, 24\], got \[24, 8\]/));
    it('wrong dtype', () =>
      failing((f) => {
        const bytes = (f.get('model.safetensors') as Uint8Array).slice();
        // Same size, different dtype: patch the header's bytes in place.
        const key = '"model.norm.weight":{"dtype":"';
        const at = new TextDecoder('latin1').decode(bytes).indexOf(key) + key.length;
        bytes[at] = 'I'.charCodeAt(0);
        f.set('model.safetensors', bytes);
      }, /tensor "model\.norm\.weight": expected dtype F32, F16, BF16, got I32/));
    it('tensor the model does not use', () => failing((f) => rewriteWeights(f, (ts) => [...ts, { name: 'model.layers.0.self_attn.q_proj.bias', shape: [24], data: new Float32Array(24) }]), /tensors the model does not use: "model\.layers\.0\.self_attn\.q_proj\.bias"/));
    it('tied lm_head different from the embedding', () =>
      failing((f) => rewriteWeights(f, (ts) => [...ts, { name: 'lm_head.weight', shape: [small.vocabSize, small.dModel], data: new Float32Array(small.vocabSize * small.dModel) }]), /tensor "lm_head\.weight" differs from "model\.embed_tokens\.weight" but config\.json says tie_word_embeddings: true/));
    it('untied model without lm_head', () => failing((f) => rewriteWeights(f, (ts) => ts.filter((t) => t.name !== 'lm_head.weight')), /missing tensor "lm_head\.weight"/, { ...small, tiedEmbeddings: false }));
    it('truncated weight file', () => failing((f) => f.set('model.safetensors', (f.get('model.safetensors') as Uint8Array).subarray(0, 5000)), /ckpt\/model\.safetensors: tensor ".*": data_offsets .* run past the end of the data.*truncated/));
    it('no weights', () => failing((f) => f.delete('model.safetensors'), /ckpt: no model\.safetensors and no model\.safetensors\.index\.json/));
    it('no config', () => failing((f) => f.delete('config.json'), /ckpt: missing config\.json/));
    it('config of another architecture', () => failing((f) => f.set('config.json', new TextEncoder().encode(JSON.stringify({ architectures: ['GPT2LMHeadModel'] }))), /ckpt\/config\.json: architecture \["GPT2LMHeadModel"\] is not supported/));
    it('config not JSON', () => failing((f) => f.set('config.json', new TextEncoder().encode('{')), /ckpt\/config\.json: not valid JSON/));
    it('config that disagrees with the weights', () =>
      failing((f) => {
        const hf = JSON.parse(new TextDecoder().decode(f.get('config.json')));
        f.set('config.json', new TextEncoder().encode(JSON.stringify({ ...hf, intermediate_size: 36 })));
      }, /tensor "model\.layers\.0\.mlp\.gate_proj\.weight": expected shape \[36, 24\], got \[37, 24\]/));
  });

  describe('sharded load errors', () => {
    const variant = TINY_VARIANTS[1];
    const sharded = async (): Promise<Map<string, Uint8Array>> => {
      const w = memoryWriter();
      await saveCheckpoint(w, variant.config, tinyParams(variant.config, 8), tinyTokenizer(variant.config.vocabSize).files(), { dtype: 'BF16', maxShardBytes: variant.maxShardBytes });
      return w.files;
    };
    const index = (f: Map<string, Uint8Array>): { weight_map: Record<string, string> } => JSON.parse(new TextDecoder().decode(f.get('model.safetensors.index.json')));
    const setIndex = (f: Map<string, Uint8Array>, v: unknown): void => void f.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(v)));

    it('a shard the index lists is missing', async () => {
      const f = await sharded();
      f.delete('model-00002-of-00006.safetensors');
      await expect(loadCheckpoint(memoryFiles(f, 'sh'))).rejects.toThrow(/sh: missing weight file model-00002-of-00006\.safetensors \(listed in model\.safetensors\.index\.json\)/);
    });
    it('a tensor in a shard the index does not list there', async () => {
      const f = await sharded();
      const idx = index(f);
      delete idx.weight_map['model.norm.weight'];
      setIndex(f, idx);
      await expect(loadCheckpoint(memoryFiles(f, 'sh'))).rejects.toThrow(/tensor "model\.norm\.weight" is not listed for this file in model\.safetensors\.index\.json/);
    });
    it('an index entry not in its shard', async () => {
      const f = await sharded();
      const idx = index(f);
      idx.weight_map['model.extra.weight'] = 'model-00001-of-00006.safetensors';
      setIndex(f, idx);
      await expect(loadCheckpoint(memoryFiles(f, 'sh'))).rejects.toThrow(/sh\/model-00001-of-00006\.safetensors: tensor "model\.extra\.weight" listed in model\.safetensors\.index\.json is not in the file/);
    });
    it('a shard name outside the folder', async () => {
      const f = await sharded();
      setIndex(f, { weight_map: { 'model.norm.weight': '../model.safetensors' } });
      await expect(loadCheckpoint(memoryFiles(f, 'sh'))).rejects.toThrow(/tensor "model\.norm\.weight" maps to "\.\.\/model\.safetensors", not a \.safetensors file name/);
    });
  });

  it('refuses to save parameters that do not match the config', async () => {
    const tok = tinyTokenizer(small.vocabSize).files();
    const w = memoryWriter();
    const missing = tinyParams(small, 1);
    missing.delete('model.norm.weight');
    await expect(saveCheckpoint(w, small, missing, tok)).rejects.toThrow(/missing tensor "model\.norm\.weight" \(shape \[24\]\)/);
    const extra = tinyParams(small, 1).set('lm_head.weight', new Float32Array(small.vocabSize * small.dModel));
    await expect(saveCheckpoint(w, small, extra, tok)).rejects.toThrow(/tensor "lm_head\.weight" is not a parameter of this config/);
    const wrong = tinyParams(small, 1).set('model.norm.weight', new Float32Array(23));
    await expect(saveCheckpoint(w, small, wrong, tok)).rejects.toThrow(/tensor "model\.norm\.weight" has 23 values, shape \[24\] needs 24/);
    await expect(saveCheckpoint(w, { ...small, nKvHeads: 4 }, tinyParams(small, 1), tok)).rejects.toThrow(/nHeads \(6\) must be a multiple of nKvHeads \(4\)/);
    expect(w.files.size).toBe(0);
  });

  it('loads a folder written by hand (Node folder source)', async () => {
    const dir = join(root, 'by-hand');
    const files = await savedInMemory(small, 9);
    await rm(dir, { recursive: true, force: true });
    await saveCheckpoint(dir, small, tinyParams(small, 9), tinyTokenizer(small.vocabSize).files());
    await writeFile(join(dir, 'model.safetensors'), (files.get('model.safetensors') as Uint8Array).subarray(0, 100));
    await expect(loadCheckpoint(dir)).rejects.toThrow(new RegExp(`${dir}/model\\.safetensors: .*truncated`));
    await rm(join(dir, 'tokenizer.json'));
    await writeFile(join(dir, 'model.safetensors'), files.get('model.safetensors') as Uint8Array);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.tokenizer).toBeUndefined();
    expect(loaded.warnings).toEqual(['no tokenizer.json']);
  });
});
