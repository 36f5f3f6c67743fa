/**
 * A tiny instruct model in an architecture our kernels do not run (model_type "gpt2", ONNX
 * weights), as the files of a Hugging Face repo laid out the way transformers.js reads them:
 * config.json, tokenizer files with a chat template, onnx/model.onnx.
 *
 * The model is a bigram table, logits[b, t] = W[input_ids[b, t]], so greedy decoding is fixed by
 * the last token alone. The chat template ends the generation prompt with <|im_start|>, which no
 * judge prompt contains; from there the table spells `reply` and then <|im_end|> (eos). Every
 * other token goes straight to eos: a prompt that did not go through the chat template gets an
 * empty reply.
 */
import { BPE_IDS, BPE_VOCAB_SIZE, bpeTokenizerConfig, bpeTokenizerJson, byteSymbols } from './bpe-tokenizer';
import { ONNX_FLOAT, ONNX_INT64, onnxModel } from './onnx-writer';

export const ONNX_JUDGE_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>' }}{% endif %}";

/** Token ids of a reply written one byte per token (each byte must occur once). */
function replyIds(reply: string): number[] {
  const b = [...new TextEncoder().encode(reply)];
  if (new Set(b).size !== b.length) throw new Error(`bigram reply ${JSON.stringify(reply)} repeats a byte`);
  return b; // byte-level ids: id = byte value
}

export function bigramOnnx(reply: string): Uint8Array {
  const V = BPE_VOCAB_SIZE;
  const next = new Array<number>(V).fill(BPE_IDS.imEnd);
  const ids = replyIds(reply);
  let prev: number = BPE_IDS.imStart;
  for (const id of ids) {
    next[prev] = id;
    prev = id;
  }
  const table = new Float32Array(V * V);
  for (let a = 0; a < V; a++) table[a * V + next[a]] = 10;
  return onnxModel({
    name: 'bigram',
    nodes: [{ opType: 'Gather', inputs: ['table', 'input_ids'], outputs: ['logits'], ints: { axis: 0 } }],
    initializers: [{ name: 'table', dims: [V, V], data: table }],
    inputs: [
      { name: 'input_ids', elemType: ONNX_INT64, shape: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', elemType: ONNX_INT64, shape: ['batch_size', 'total_sequence_length'] },
    ],
    outputs: [{ name: 'logits', elemType: ONNX_FLOAT, shape: ['batch_size', 'sequence_length', V] }],
  });
}

/** The repo's files by path. `reply` is what the model answers every chat prompt with; `maxLength` its context in tokens. */
export function onnxJudgeRepo(reply = 'Score: 4', maxLength = 8192): Map<string, Uint8Array> {
  const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
  if (byteSymbols().length !== 256) throw new Error('byte-level tokenizer expected');
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: BPE_VOCAB_SIZE,
    n_embd: 4,
    n_head: 1,
    n_layer: 1,
    n_positions: maxLength,
    bos_token_id: BPE_IDS.imStart,
    eos_token_id: BPE_IDS.imEnd,
    pad_token_id: BPE_IDS.imEnd,
  };
  const tokenizerConfig = { ...bpeTokenizerConfig(), chat_template: ONNX_JUDGE_TEMPLATE, model_max_length: maxLength };
  return new Map([
    ['config.json', enc(config)],
    ['tokenizer.json', enc(bpeTokenizerJson())],
    ['tokenizer_config.json', enc(tokenizerConfig)],
    ['onnx/model.onnx', bigramOnnx(reply)],
  ]);
}
