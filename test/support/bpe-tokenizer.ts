/**
 * A small but real byte-level BPE tokenizer (GPT-2 / Qwen style) written out as Hugging Face
 * files, for tests of imported tokenizers: ids 0..255 are the byte-level symbols of bytes
 * 0..255 (id = byte value), then three merges, then the ChatML special tokens.
 */

/** GPT-2's byte-to-symbol map: printable Latin-1 bytes stand for themselves, the rest are shifted past 255. */
export function byteSymbols(): string[] {
  const keep = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + shifted++));
  return out;
}

/** Ids of the merged tokens and the special tokens. */
export const BPE_IDS = { Gt: 256, he: 257, Gthe: 258, imStart: 259, imEnd: 260 } as const;
export const BPE_VOCAB_SIZE = 261;

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function bpeTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteSymbols().forEach((s, b) => (vocab[s] = b));
  vocab['Ġt'] = BPE_IDS.Gt;
  vocab['he'] = BPE_IDS.he;
  vocab['Ġthe'] = BPE_IDS.Gthe;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(BPE_IDS.imStart, '<|im_start|>'), special(BPE_IDS.imEnd, '<|im_end|>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: ['Ġ t', 'h e', 'Ġt he'] },
  };
}

export function bpeTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'Qwen2Tokenizer',
    bos_token: null,
    eos_token: '<|im_end|>',
    pad_token: '<|im_end|>',
    clean_up_tokenization_spaces: false,
    chat_template: CHATML_TEMPLATE,
  };
}
