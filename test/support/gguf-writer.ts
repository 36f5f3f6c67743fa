/**
 * A small GGUF writer for test models, written from the format's description in ggml's
 * `gguf.h` (version 3): the magic "GGUF", the version, the tensor and key/value counts, the
 * key/value pairs, one info record per tensor, then the tensor data, each tensor at an offset
 * aligned to `general.alignment` (32 by default) from the start of the aligned data section.
 * Everything little-endian; strings are a u64 byte length and UTF-8 bytes without a terminator.
 * Only float32 tensors and the value types a llama.cpp model's metadata needs; not a general
 * serializer.
 *
 * `llamaGguf` maps a Hugging Face Llama-layout checkpoint (our parameter names) to llama.cpp's
 * `llama` architecture: its metadata keys, its tensor names, and the row order llama.cpp expects
 * of q_proj and k_proj (see `permuteRotaryRows`).
 */
import type { ModelConfig } from '../../src/model/config';

/** The value types of `gguf_type` that these files use, with their codes. */
const TYPE = { uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9 } as const;

/** ggml_type of a float32 tensor. */
const GGML_TYPE_F32 = 0;

const ALIGNMENT = 32;

export type GgufValue =
  | { type: 'uint32' | 'int32' | 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'int32[]' | 'float32[]'; value: readonly number[] };

export interface GgufTensor {
  name: string;
  /** Row-major shape as PyTorch writes it ([out, in] for a linear weight); GGUF stores it reversed (ne0 innermost). */
  shape: readonly number[];
  data: Float32Array;
}

/** Appends little-endian values to a growing byte list. */
class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;

  raw(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  private num(size: number, set: (v: DataView) => void): void {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    this.raw(b);
  }

  u32(v: number): void {
    this.num(4, (d) => d.setUint32(0, v, true));
  }
  i32(v: number): void {
    this.num(4, (d) => d.setInt32(0, v, true));
  }
  u64(v: number): void {
    this.num(8, (d) => d.setBigUint64(0, BigInt(v), true));
  }
  f32(v: number): void {
    this.num(4, (d) => d.setFloat32(0, v, true));
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.raw(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.raw(new Uint8Array(pad));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case 'uint32':
      out.u32(TYPE.uint32);
      out.u32(v.value);
      return;
    case 'int32':
      out.u32(TYPE.int32);
      out.i32(v.value);
      return;
    case 'float32':
      out.u32(TYPE.float32);
      out.f32(v.value);
      return;
    case 'bool':
      out.u32(TYPE.bool);
      out.raw(Uint8Array.of(v.value ? 1 : 0));
      return;
    case 'string':
      out.u32(TYPE.string);
      out.string(v.value);
      return;
    case 'string[]':
      out.u32(TYPE.array);
      out.u32(TYPE.string);
      out.u64(v.value.length);
      for (const s of v.value) out.string(s);
      return;
    case 'int32[]':
      out.u32(TYPE.array);
      out.u32(TYPE.int32);
      out.u64(v.value.length);
      for (const x of v.value) out.i32(x);
      return;
    case 'float32[]':
      out.u32(TYPE.array);
      out.u32(TYPE.float32);
      out.u64(v.value.length);
      for (const x of v.value) out.f32(x);
      return;
  }
}

/** The bytes of a GGUF v3 file holding these metadata entries (in order) and float32 tensors. */
export function writeGguf(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): Uint8Array {
  const out = new Bytes();
  out.raw(new TextEncoder().encode('GGUF'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`gguf: tensor ${t.name} has shape [${t.shape.join(', ')}] (${n} elements) but ${t.data.length} values`);
    out.string(t.name);
    out.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) out.u64(d);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offset += Math.ceil((n * 4) / ALIGNMENT) * ALIGNMENT;
  }
  out.padTo(ALIGNMENT);
  for (const t of tensors) {
    // A copy, so a view into a larger buffer writes only its own bytes, in little-endian order.
    const le = new Uint8Array(t.data.length * 4);
    const view = new DataView(le.buffer);
    for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i], true);
    out.raw(le);
    out.padTo(ALIGNMENT);
  }
  return out.bytes();
}

/**
 * Hugging Face rotates the pairs (i, i + hd/2) of each head ("rotate_half"); llama.cpp's `llama`
 * architecture rotates adjacent pairs (2i, 2i + 1). The same attention comes out when each head's
 * rows are reordered so HF row h·hd + half·(hd/2) + i lands at h·hd + 2i + half, which is how
 * llama.cpp's converter writes q_proj and k_proj.
 */
export function permuteRotaryRows(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const hd = rows / heads;
  if (!Number.isInteger(hd) || hd % 2 !== 0) throw new Error(`gguf: ${rows} rows do not split into ${heads} heads of even size`);
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < hd / 2; i++) {
        const from = h * hd + half * (hd / 2) + i;
        const to = h * hd + 2 * i + half;
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

export interface LlamaGgufOptions {
  /** The vocabulary's token strings, in id order (as many as config.vocabSize). */
  tokens: readonly string[];
  /** Token ids that are control tokens (pad, bos, eos). */
  controlIds: readonly number[];
  /** false writes q_proj and k_proj in Hugging Face row order: a wrong file, for controls. */
  permuteQK?: boolean;
}

/**
 * GPT-2's byte-level alphabet: each UTF-8 byte of a token as one code point (printable bytes as
 * themselves, the others shifted above 255, so a space is "Ġ" and a newline "Ċ").
 */
export function byteLevel(text: string): string {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  const shifted = new Map<number, number>();
  for (let b = 0, n = 0; b < 256; b++) if (!printable(b)) shifted.set(b, 256 + n++);
  return String.fromCodePoint(...[...new TextEncoder().encode(text)].map((b) => shifted.get(b) ?? b));
}

/**
 * A `llama`-architecture GGUF of a Llama-layout model given under our (Hugging Face) parameter
 * names. The vocabulary is there so llama.cpp accepts the file, not to tokenize with: a byte-level
 * BPE ("gpt2") list of the given strings with no merges. Not SentencePiece: llama.cpp's SPM
 * tokenizer aborts the process on a byte its vocabulary lacks (node-llama-cpp tokenizes text of
 * its own at load), where the BPE one drops the byte.
 */
export function llamaGguf(c: ModelConfig, params: ReadonlyMap<string, Float32Array>, o: LlamaGgufOptions): Uint8Array {
  if (o.tokens.length !== c.vocabSize) throw new Error(`gguf: ${o.tokens.length} token strings for a vocabulary of ${c.vocabSize}`);
  const get = (name: string): Float32Array => {
    const p = params.get(name);
    if (p === undefined) throw new Error(`gguf: no parameter ${name}`);
    return p;
  };
  const permute = o.permuteQK ?? true;
  const D = c.dModel;
  const meta = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'exprl-oracle-test' }],
    ['llama.context_length', { type: 'uint32', value: c.maxSeqLen }],
    ['llama.embedding_length', { type: 'uint32', value: D }],
    ['llama.block_count', { type: 'uint32', value: c.nLayers }],
    ['llama.feed_forward_length', { type: 'uint32', value: c.dFF }],
    ['llama.attention.head_count', { type: 'uint32', value: c.nHeads }],
    ['llama.attention.head_count_kv', { type: 'uint32', value: c.nKvHeads }],
    // Head size need not be D / heads, so it is stated; llama.cpp rotates the whole head.
    ['llama.attention.key_length', { type: 'uint32', value: c.headDim }],
    ['llama.attention.value_length', { type: 'uint32', value: c.headDim }],
    ['llama.rope.dimension_count', { type: 'uint32', value: c.headDim }],
    ['llama.rope.freq_base', { type: 'float32', value: c.ropeTheta }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'float32', value: c.normEps }],
    ['llama.vocab_size', { type: 'uint32', value: c.vocabSize }],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'default' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: o.tokens.map((t, i) => (o.controlIds.includes(i) ? t : byteLevel(t))) }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: [] }],
    // token_type: 1 normal, 3 control.
    ['tokenizer.ggml.token_type', { type: 'int32[]', value: o.tokens.map((_, i) => (o.controlIds.includes(i) ? 3 : 1)) }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
  ]);
  if (c.bosTokenId !== undefined) meta.set('tokenizer.ggml.bos_token_id', { type: 'uint32', value: c.bosTokenId });
  if (c.eosTokenId !== undefined) meta.set('tokenizer.ggml.eos_token_id', { type: 'uint32', value: c.eosTokenId });

  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const tensors: GgufTensor[] = [{ name: 'token_embd.weight', shape: [c.vocabSize, D], data: get('model.embed_tokens.weight') }];
  for (let l = 0; l < c.nLayers; l++) {
    const hf = `model.layers.${l}`;
    const wq = get(`${hf}.self_attn.q_proj.weight`);
    const wk = get(`${hf}.self_attn.k_proj.weight`);
    tensors.push(
      { name: `blk.${l}.attn_norm.weight`, shape: [D], data: get(`${hf}.input_layernorm.weight`) },
      { name: `blk.${l}.attn_q.weight`, shape: [q, D], data: permute ? permuteRotaryRows(wq, c.nHeads, D) : wq },
      { name: `blk.${l}.attn_k.weight`, shape: [kv, D], data: permute ? permuteRotaryRows(wk, c.nKvHeads, D) : wk },
      { name: `blk.${l}.attn_v.weight`, shape: [kv, D], data: get(`${hf}.self_attn.v_proj.weight`) },
      { name: `blk.${l}.attn_output.weight`, shape: [D, q], data: get(`${hf}.self_attn.o_proj.weight`) },
      { name: `blk.${l}.ffn_norm.weight`, shape: [D], data: get(`${hf}.post_attention_layernorm.weight`) },
      { name: `blk.${l}.ffn_gate.weight`, shape: [c.dFF, D], data: get(`${hf}.mlp.gate_proj.weight`) },
      { name: `blk.${l}.ffn_up.weight`, shape: [c.dFF, D], data: get(`${hf}.mlp.up_proj.weight`) },
      { name: `blk.${l}.ffn_down.weight`, shape: [D, c.dFF], data: get(`${hf}.mlp.down_proj.weight`) },
    );
  }
  tensors.push({ name: 'output_norm.weight', shape: [D], data: get('model.norm.weight') });
  // Tied models have no output.weight: llama.cpp then reads the head from token_embd.
  if (!c.tiedEmbeddings) tensors.push({ name: 'output.weight', shape: [c.vocabSize, D], data: get('lm_head.weight') });
  return writeGguf(meta, tensors);
}
