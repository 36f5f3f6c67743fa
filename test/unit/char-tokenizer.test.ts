import { describe, expect, it } from 'vitest';
import { CharTokenizer, DEFAULT_CHARACTERS, SPLIT_REGEX } from '../../src/model/char-tokenizer';

// Tests poke at arbitrary fields of the JSON files; a loose type keeps them readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const tok = CharTokenizer.fromCharacters();

/** A JSON round trip, as the file on disk sees it. */
function viaFile<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('character tokenizer', () => {
  it('built-in vocabulary: <pad>, <bos>, <eos> then newline and printable ASCII', () => {
    expect(DEFAULT_CHARACTERS.length).toBe(96);
    expect(tok.vocabSize).toBe(99);
    expect([tok.padId, tok.bosId, tok.eosId]).toEqual([0, 1, 2]);
    expect(tok.tokens.slice(0, 5)).toEqual(['<pad>', '<bos>', '<eos>', '\n', ' ']);
  });

  it('encodes and decodes every character, newlines and tabs of the vocabulary included', () => {
    const text = 'Hello, world!\n  1 + 2 = 3 ~ {x} "q" \\ <a>';
    const ids = tok.encode(text);
    expect(ids.length).toBe(text.length);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode(tok.encode(DEFAULT_CHARACTERS))).toBe(DEFAULT_CHARACTERS);
    expect(tok.encode('')).toEqual([]);
  });

  it('an unknown character is an error naming it and its position (in characters)', () => {
    expect(() => tok.encode('héllo')).toThrow(/character "é" \(U\+00E9\) at position 1 is not in the vocabulary/);
    // The emoji is one character (two UTF-16 units): the tab after it is at position 3.
    expect(() => tok.encode('a😀b\tc')).toThrow(/"😀" \(U\+1F600\) at position 1/);
    expect(() => tok.encode('ab\tc')).toThrow(/"\\t" \(U\+0009\) at position 2/);
    expect(() => tok.encode('x\ud800y')).toThrow(/U\+D800\) at position 1/);
  });

  it('special tokens written in the text are matched as HF does, unless asked not to', () => {
    expect(tok.encode('<bos>ab<eos>')).toEqual([1, ...tok.encode('ab'), 2]);
    expect(tok.encode('<eos', {})).toEqual(tok.encode('<', {}).concat(tok.encode('eos')));
    const literal = tok.encode('<eos>', { parseSpecialTokens: false });
    expect(literal.length).toBe(5);
    expect(tok.decode(literal)).toBe('<eos>');
    expect(tok.decode([1, ...tok.encode('hi'), 2, 0])).toBe('<bos>hi<eos><pad>');
    expect(tok.decode([1, ...tok.encode('hi'), 2, 0], { skipSpecialTokens: true })).toBe('hi');
    expect(tok.isSpecial(2) && !tok.isSpecial(3)).toBe(true);
  });

  it('decoding an id outside the vocabulary is an error naming it and its position', () => {
    expect(() => tok.decode([3, 99])).toThrow(/token id 99 at position 1 is outside the vocabulary \(0\.\.98\)/);
    expect(() => tok.decode([-1])).toThrow(/token id -1 at position 0/);
    expect(() => tok.decode([1.5])).toThrow(/token id 1.5/);
  });

  it('tokenizer.json is a WordLevel model split per character with a Fuse decoder', () => {
    const json = viaFile(tok.tokenizerJson()) as Json;
    expect(json.model.type).toBe('WordLevel');
    expect(Object.keys(json.model.vocab).length).toBe(99);
    expect(json.model.vocab['<eos>']).toBe(2);
    expect(json.model.vocab['\n']).toBe(3);
    expect(json.model.vocab['<unk>']).toBeUndefined();
    expect(json.pre_tokenizer).toEqual({ type: 'Split', pattern: { Regex: SPLIT_REGEX }, behavior: 'Isolated', invert: false });
    expect(json.decoder).toEqual({ type: 'Fuse' });
    expect(json.normalizer).toBeNull();
    expect(json.post_processor).toBeNull();
    expect(json.added_tokens.map((t: { id: number; content: string; special: boolean }) => [t.id, t.content, t.special])).toEqual([[0, '<pad>', true], [1, '<bos>', true], [2, '<eos>', true]]);
    // The split pattern isolates every code point, newlines and astral characters included
    // (as JavaScript ports run it, with the unicode flag).
    const text = 'a\nb 😀\r\n';
    expect(text.match(new RegExp(json.pre_tokenizer.pattern.Regex, 'gu'))).toEqual([...text]);
    const cfg = viaFile(tok.tokenizerConfig(128)) as Json;
    expect(cfg).toMatchObject({ tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', model_max_length: 128, clean_up_tokenization_spaces: false });
    expect(cfg.added_tokens_decoder['2'].content).toBe('<eos>');
    expect(tok.files().tokenizerConfig).not.toHaveProperty('model_max_length');
  });

  it('reads its own file back to the same tokenizer', () => {
    const custom = CharTokenizer.fromText('the cat\nsat; 0123 😀');
    for (const t of [tok, custom]) {
      const back = CharTokenizer.fromTokenizerJson(viaFile(t.tokenizerJson()), viaFile(t.tokenizerConfig()));
      expect(back.tokens).toEqual(t.tokens);
      expect([back.padId, back.bosId, back.eosId]).toEqual([t.padId, t.bosId, t.eosId]);
      expect(back.encode('sat 0')).toEqual(t.encode('sat 0'));
      if (t === custom) expect(back.decode(back.encode('😀'))).toBe('😀');
    }
    expect(custom.tokens.slice(3, 6)).toEqual(['\n', ' ', '0']);
    // Without tokenizer_config.json the roles come from the token names; token objects are accepted too.
    expect(CharTokenizer.fromTokenizerJson(viaFile(tok.tokenizerJson())).eosId).toBe(2);
    expect(CharTokenizer.fromTokenizerJson(viaFile(tok.tokenizerJson()), { eos_token: { content: '<eos>' } }).eosId).toBe(2);
    // BPE with no merges tokenizes the same way, so it is accepted.
    const bpe = viaFile(tok.tokenizerJson()) as Json;
    bpe.model = { type: 'BPE', vocab: bpe.model.vocab, merges: [], dropout: null, unk_token: null };
    expect(CharTokenizer.fromTokenizerJson(bpe).vocabSize).toBe(99);
  });

  it('rejects tokenizers that are not this character tokenizer, saying why', () => {
    const mutate = (f: (j: Json) => void, config?: unknown): (() => CharTokenizer) => {
      const j = viaFile(tok.tokenizerJson()) as Json;
      f(j);
      return () => CharTokenizer.fromTokenizerJson(j, config, 'x/tokenizer.json');
    };
    const not = /x\/tokenizer\.json: not the built-in character tokenizer .*@huggingface\/tokenizers/;
    expect(mutate((j) => (j.model = { type: 'BPE', vocab: j.model.vocab, merges: ['a b'] }))).toThrow(/BPE model with merges/);
    expect(mutate((j) => (j.model.type = 'Unigram'))).toThrow(/model type "Unigram"/);
    expect(mutate((j) => (j.pre_tokenizer = { type: 'ByteLevel' }))).toThrow(/pre-tokenizer is not Split/);
    expect(mutate((j) => (j.normalizer = { type: 'NFC' }))).toThrow(/has a normalizer/);
    expect(mutate((j) => (j.post_processor = { type: 'TemplateProcessing' }))).toThrow(/has a post-processor/);
    expect(mutate((j) => (j.decoder = { type: 'ByteLevel' }))).toThrow(/decoder is not Fuse/);
    expect(mutate((j) => (j.model.vocab.ab = 99))).toThrow(/longer than one character/);
    expect(mutate((j) => (j.model.vocab.a = 3))).toThrow(/id 3 is used twice/);
    expect(mutate((j) => (j.model.vocab.a = 1000))).toThrow(/ids must be 0\.\.98/);
    expect(mutate((j) => (j.added_tokens = j.added_tokens.slice(1)))).toThrow(/token 0 \("<pad>"\) is longer than one character/);
    expect(mutate(() => undefined, { eos_token: 'a' })).toThrow(/eos_token "a"/);
    expect(mutate((j) => (j.added_tokens[0].special = false))).toThrow(/special tokens/);
    expect(() => CharTokenizer.fromTokenizerJson([], undefined)).toThrow(/not a JSON object/);
    expect(mutate((j) => (j.model.type = 'WordPiece'))).toThrow(not);
  });

  it('refuses a vocabulary with repeated or multi-character entries', () => {
    expect(() => CharTokenizer.fromCharacters('abca')).toThrow(/"a" \(U\+0061\) appears twice/);
    expect(() => CharTokenizer.fromCharacters(['a', 'bc'])).toThrow(/entry 1 \("bc"\) is not exactly one character/);
  });
});
