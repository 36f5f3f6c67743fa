// Imported models' tokenizers (src/model/tokenizer.ts: HfTokenizer over @huggingface/tokenizers):
// ids of a hand-built byte-level BPE tokenizer against hand-computed ones, exact round trips,
// special tokens, the chat template, and unencodable text being an error rather than <unk> or
// nothing.
import { describe, expect, it } from 'vitest';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { readTokenizer } from '../../src/model/session';
import { HfTokenizer } from '../../src/model/tokenizer';
import { BPE_IDS, BPE_VOCAB_SIZE, bpeTokenizerConfig, bpeTokenizerJson, CHATML_TEMPLATE } from '../support/bpe-tokenizer';

const bytes = (s: string): number[] => [...new TextEncoder().encode(s)];

/** A word-level tokenizer over single characters (split like the built-in one) with an unknown token. */
function wordLevel(withUnkInConfig: boolean): HfTokenizer {
  const json = {
    version: '1.0',
    added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, a: 1, b: 2, ' ': 3 }, unk_token: '[UNK]' },
  };
  return new HfTokenizer(json, withUnkInConfig ? { unk_token: '[UNK]' } : {}, 'wl/tokenizer.json');
}

describe('HfTokenizer (byte-level BPE)', () => {
  const tok = new HfTokenizer(bpeTokenizerJson(), bpeTokenizerConfig(), 'bpe/tokenizer.json');

  it('encodes to the hand-computed ids', () => {
    expect(tok.vocabSize).toBe(BPE_VOCAB_SIZE);
    // "the" → t + (h e); " theme" → ((Ġ t) he) + m + e.
    expect(tok.encode('the theme')).toEqual([116, BPE_IDS.he, BPE_IDS.Gthe, 109, 101]);
    expect(tok.encode(' t')).toEqual([BPE_IDS.Gt]);
    expect(tok.encode('')).toEqual([]);
    expect(tok.eosId).toBe(BPE_IDS.imEnd);
    expect(tok.padId).toBe(BPE_IDS.imEnd);
    expect(tok.bosId).toBeUndefined();
  });

  it('decodes its encodings back to the text, ASCII and not', () => {
    for (const text of ['the theme', 'Hello, world!  Two  spaces.\n\tTab', 'héllo wörld — 日本語 🙂 ∑', ' leading and trailing ']) {
      const ids = tok.encode(text);
      expect(tok.decode(ids), text).toBe(text);
      for (const id of ids) expect(id).toBeLessThan(BPE_VOCAB_SIZE);
    }
    // Every byte-level symbol is in the vocabulary: a non-ASCII character is its UTF-8 bytes.
    expect(tok.encode('é')).toEqual(bytes('é'));
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([BPE_VOCAB_SIZE])).toThrow(`token id ${BPE_VOCAB_SIZE} at position 0 is not in the vocabulary`);
  });

  it('matches special tokens written in the text and adds none itself', () => {
    const ids = tok.encode('<|im_start|>user\nhi<|im_end|>');
    expect(ids).toEqual([BPE_IDS.imStart, ...bytes('user'), 10, ...bytes('hi'), BPE_IDS.imEnd]);
    expect(tok.decode(ids)).toBe('<|im_start|>user\nhi<|im_end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nhi');
    expect(tok.encode('hi', { addSpecialTokens: false })).toEqual(tok.encode('hi'));
  });

  it('renders the ChatML chat template, with and without the generation prompt', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is 2+2?' },
    ];
    const expected = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n';
    expect(tok.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(expected + '<|im_start|>assistant\n');
    expect(tok.applyChatTemplate(messages)).toBe(expected);
    const ids = tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }));
    expect(ids.filter((id) => id === BPE_IDS.imStart).length).toBe(3);
    expect(ids.filter((id) => id === BPE_IDS.imEnd).length).toBe(2);
  });

  it('takes the "default" of named chat templates, sees the special tokens, and says when there is none', () => {
    const named = new HfTokenizer(bpeTokenizerJson(), {
      ...bpeTokenizerConfig(),
      chat_template: [
        { name: 'tool_use', template: 'tools' },
        { name: 'default', template: '{{ messages[0].content }}{{ eos_token }}' },
      ],
    });
    expect(named.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('x<|im_end|>');
    const { chat_template: _, ...noTemplate } = bpeTokenizerConfig();
    const none = new HfTokenizer(bpeTokenizerJson(), noTemplate, 'm/tokenizer.json');
    expect(() => none.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow('m/tokenizer.json: this model has no chat template');
    expect(() => new HfTokenizer(bpeTokenizerJson(), { chat_template: [{ name: 'tool_use', template: 't' }] }, 'n')).toThrow('no "default" one');
    expect(CHATML_TEMPLATE).toContain('add_generation_prompt');
  });

  it('saves back exactly the files it was read from', () => {
    const json = bpeTokenizerJson();
    const config = bpeTokenizerConfig();
    const t = new HfTokenizer(json, config);
    t.encode('the theme');
    const files = t.files();
    expect(JSON.stringify(files.tokenizerJson)).toBe(JSON.stringify(bpeTokenizerJson()));
    expect(JSON.stringify(files.tokenizerConfig)).toBe(JSON.stringify(bpeTokenizerConfig()));
    expect(new HfTokenizer(json, undefined).files()).toEqual({ tokenizerJson: bpeTokenizerJson() });
  });

  it('adds special tokens only where its post-processor does', () => {
    const json = bpeTokenizerJson();
    const withBos = {
      ...json,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|im_start|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<|im_start|>': { id: '<|im_start|>', ids: [BPE_IDS.imStart], tokens: ['<|im_start|>'] } },
      },
    };
    const t = new HfTokenizer(withBos, bpeTokenizerConfig());
    expect(t.encode('hi')).toEqual([BPE_IDS.imStart, ...bytes('hi')]);
    expect(t.encode('hi', { addSpecialTokens: false })).toEqual(bytes('hi'));
  });

  it('is what readTokenizer gives for a file that is not the character tokenizer, and errors name the file', () => {
    expect(readTokenizer(bpeTokenizerJson(), bpeTokenizerConfig(), 'x/tokenizer.json')).toBeInstanceOf(HfTokenizer);
    const char = CharTokenizer.fromCharacters('abc');
    expect(readTokenizer(char.tokenizerJson(), char.tokenizerConfig(), 'c/tokenizer.json')).toBeInstanceOf(CharTokenizer);
    expect(() => readTokenizer({ ...bpeTokenizerJson(), model: { type: 'Bogus' } }, undefined, 'y/tokenizer.json')).toThrow(
      /^y\/tokenizer\.json \(a Bogus tokenizer\): @huggingface\/tokenizers cannot load it: .*Bogus/,
    );
  });
});

describe('HfTokenizer: text it cannot encode', () => {
  it('throws on a character a word-level tokenizer would turn into its unknown token', () => {
    for (const withUnk of [true, false]) {
      const tok = wordLevel(withUnk);
      expect(tok.encode('ab ba')).toEqual([1, 2, 3, 2, 1]);
      expect(() => tok.encode('ab cb'), `unk in config: ${withUnk}`).toThrow('wl/tokenizer.json: character "c" (U+0063) at position 3 cannot be encoded by this tokenizer');
      expect(() => tok.encode('a😀')).toThrow('character "😀" (U+1F600) at position 1');
    }
    // The unknown token written as such is that token, not a replacement.
    expect(wordLevel(true).encode('a[UNK]b')).toEqual([1, 0, 2]);
    expect(() => wordLevel(true).encode('a[UNK]bé')).toThrow('character "é" (U+00E9) at position 7');
  });

  it('throws where a BPE model without an unknown token or byte fallback would drop the character', () => {
    const json = bpeTokenizerJson();
    const model = json.model as { vocab: Record<string, number> };
    const small = { ...json, added_tokens: [], model: { ...model, vocab: { a: 0, b: 1, c: 2 }, merges: [] }, pre_tokenizer: null, post_processor: null, decoder: { type: 'Fuse' } };
    const tok = new HfTokenizer(small, {}, 's/tokenizer.json');
    expect(tok.encode('abc')).toEqual([0, 1, 2]);
    expect(() => tok.encode('abzc')).toThrow('s/tokenizer.json: character "z" (U+007A) at position 2 cannot be encoded by this tokenizer');
  });
});
