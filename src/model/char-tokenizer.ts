/**
 * The built-in policy's tokenizer: one token per character (Unicode code point) plus the special
 * tokens <pad>, <bos>, <eos>. It is stored as a Hugging Face `tokenizer.json` that the
 * `tokenizers` library and `@huggingface/transformers` load as they are:
 *   - model WordLevel over the characters and special tokens, with no <unk> in the vocabulary, so
 *     the Rust library errors on an unknown character instead of mapping it to <unk>;
 *   - a Split pre-tokenizer on the regex `[\s\S]` (every code point, newlines included; `.`
 *     would skip them), behaviour Isolated, so each character is its own word;
 *   - the special tokens as added tokens (matched in the text before splitting, as HF does);
 *   - no normalizer and no post-processor (nothing is added implicitly: the model code decides
 *     where <bos>/<eos> go), and a Fuse decoder so decoding joins tokens without spaces.
 * `fromTokenizerJson` reads only files of this shape back; any other tokenizer is an imported
 * model's and goes through `HfTokenizer` (tokenizer.ts).
 */
import type { TokenizerFiles } from './checkpoint';
import type { TextEncodeOptions, TextTokenizer } from './tokenizer';

export const PAD_TOKEN = '<pad>';
export const BOS_TOKEN = '<bos>';
export const EOS_TOKEN = '<eos>';
export const SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN] as const;

/** Newline and printable ASCII: the built-in vocabulary (96 characters, 99 tokens). */
export const DEFAULT_CHARACTERS = '\n' + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

/** The split pattern: any code point. */
export const SPLIT_REGEX = '[\\s\\S]';

export interface EncodeOptions extends TextEncodeOptions {
  /** Match <pad>/<bos>/<eos> written in the text as their special tokens (HF's default). Default true. */
  parseSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

export class CharTokenizer implements TextTokenizer {
  /** Token string of each id. */
  readonly tokens: readonly string[];
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly ids: Map<string, number>;
  private readonly specials: ReadonlySet<number>;

  private constructor(tokens: readonly string[], pad: string, bos: string, eos: string) {
    this.tokens = tokens;
    this.ids = new Map(tokens.map((t, i) => [t, i]));
    const id = (t: string): number => {
      const i = this.ids.get(t);
      if (i === undefined) throw new Error(`character tokenizer: special token ${t} missing from the vocabulary`);
      return i;
    };
    this.padId = id(pad);
    this.bosId = id(bos);
    this.eosId = id(eos);
    this.specials = new Set([this.padId, this.bosId, this.eosId]);
  }

  /**
   * Special tokens take ids 0, 1, 2 (<pad>, <bos>, <eos>); the characters follow in the order
   * given. Each character must be one code point and appear once.
   */
  static fromCharacters(chars: string | Iterable<string> = DEFAULT_CHARACTERS): CharTokenizer {
    const list = typeof chars === 'string' ? [...chars] : [...chars];
    const seen = new Set<string>();
    for (const [i, ch] of list.entries()) {
      if ([...ch].length !== 1) throw new Error(`character tokenizer: entry ${i} (${JSON.stringify(ch)}) is not exactly one character`);
      if (seen.has(ch)) throw new Error(`character tokenizer: character ${describeChar(ch)} appears twice`);
      seen.add(ch);
    }
    return new CharTokenizer([...SPECIAL_TOKENS, ...list], PAD_TOKEN, BOS_TOKEN, EOS_TOKEN);
  }

  /** The distinct characters of a corpus, in code-point order. */
  static fromText(text: string): CharTokenizer {
    const chars = [...new Set(text)].sort((a, b) => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0));
    return CharTokenizer.fromCharacters(chars);
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  isSpecial(id: number): boolean {
    return this.specials.has(id);
  }

  /**
   * Token ids of the text; a character outside the vocabulary is an error naming it and its
   * position. This tokenizer adds no special tokens of its own, so `addSpecialTokens` changes nothing.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const parseSpecial = options.parseSpecialTokens ?? true;
    const specials = parseSpecial ? [...this.specials].map((id) => this.tokens[id]).sort((a, b) => b.length - a.length) : [];
    const out: number[] = [];
    let pos = 0; // in code points, for the error message
    let i = 0; // in UTF-16 units
    while (i < text.length) {
      const special = specials.find((s) => text.startsWith(s, i));
      if (special !== undefined) {
        out.push(this.ids.get(special) as number);
        i += special.length;
        pos += [...special].length;
        continue;
      }
      const cp = text.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      // A lone surrogate is one UTF-16 unit; fromCodePoint re-encodes it as itself.
      const id = this.ids.get(ch);
      if (id === undefined || this.specials.has(id)) {
        throw new Error(`character tokenizer: character ${describeChar(ch)} at position ${pos} is not in the vocabulary`);
      }
      out.push(id);
      i += ch.length;
      pos++;
    }
    return out;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
        throw new Error(`character tokenizer: token id ${id} at position ${i} is outside the vocabulary (0..${this.tokens.length - 1})`);
      }
      if (options.skipSpecialTokens && this.specials.has(id)) continue;
      s += this.tokens[id];
    }
    return s;
  }

  /** The `tokenizer.json` object. */
  tokenizerJson(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, i) => (vocab[t] = i));
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [...this.specials].sort((a, b) => a - b).map((id) => ({
        id,
        content: this.tokens[id],
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: SPLIT_REGEX }, behavior: 'Isolated', invert: false },
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
    };
  }

  /** The `tokenizer_config.json` object (`transformers` loads it as PreTrainedTokenizerFast). */
  tokenizerConfig(modelMaxLength?: number): Record<string, unknown> {
    const decoder: Record<string, unknown> = {};
    for (const id of [...this.specials].sort((a, b) => a - b)) {
      decoder[String(id)] = { content: this.tokens[id], lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
    }
    return {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: this.tokens[this.bosId],
      eos_token: this.tokens[this.eosId],
      pad_token: this.tokens[this.padId],
      // Otherwise transformers deletes spaces before punctuation when decoding.
      clean_up_tokenization_spaces: false,
      ...(modelMaxLength !== undefined ? { model_max_length: modelMaxLength } : {}),
      added_tokens_decoder: decoder,
    };
  }

  files(modelMaxLength?: number): TokenizerFiles {
    return { tokenizerJson: this.tokenizerJson(), tokenizerConfig: this.tokenizerConfig(modelMaxLength) };
  }

  /**
   * Reads back a tokenizer written by `tokenizerJson` (WordLevel, or BPE with no merges, which
   * tokenizes the same way). Anything else is rejected with the reason.
   */
  static fromTokenizerJson(json: unknown, config?: unknown, where = 'tokenizer.json'): CharTokenizer {
    const reject = (why: string): never => {
      throw new Error(`${where}: not the built-in character tokenizer (${why}); imported models' tokenizers are loaded through @huggingface/tokenizers`);
    };
    const obj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!obj(json)) return reject('not a JSON object');
    const model = json.model;
    if (!obj(model)) return reject('no model');
    if (model.type === 'BPE') {
      if (!Array.isArray(model.merges) || model.merges.length > 0) return reject('BPE model with merges');
      if (model.byte_fallback === true) return reject('BPE model with byte fallback');
    } else if (model.type !== 'WordLevel') {
      return reject(`model type ${JSON.stringify(model.type)}`);
    }
    if (json.normalizer !== null && json.normalizer !== undefined) return reject('has a normalizer');
    if (json.post_processor !== null && json.post_processor !== undefined) return reject('has a post-processor');
    const pre = json.pre_tokenizer;
    if (!obj(pre) || pre.type !== 'Split' || !obj(pre.pattern) || pre.pattern.Regex !== SPLIT_REGEX || pre.behavior !== 'Isolated' || pre.invert === true) {
      return reject(`pre-tokenizer is not Split on ${SPLIT_REGEX} (Isolated)`);
    }
    if (!obj(json.decoder) || json.decoder.type !== 'Fuse') return reject('decoder is not Fuse');
    if (!obj(model.vocab)) return reject('vocab is not an object');

    const entries = Object.entries(model.vocab);
    const tokens: string[] = new Array(entries.length);
    for (const [token, id] of entries) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length) return reject(`token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, ids must be 0..${entries.length - 1}`);
      if (tokens[id] !== undefined) return reject(`id ${id} is used twice`);
      tokens[id] = token;
    }

    const added = json.added_tokens;
    if (!Array.isArray(added)) return reject('added_tokens is not an array');
    const specialNames = new Set<string>();
    for (const a of added) {
      if (!obj(a) || typeof a.content !== 'string' || a.special !== true) return reject('added tokens must be special tokens');
      if (tokens[a.id as number] !== a.content) return reject(`added token ${JSON.stringify(a.content)} does not have its vocabulary id`);
      specialNames.add(a.content);
    }
    for (const [i, t] of tokens.entries()) {
      if (!specialNames.has(t) && [...t].length !== 1) return reject(`token ${i} (${JSON.stringify(t)}) is longer than one character`);
    }

    const role = (key: string, fallback: string): string => {
      const v = obj(config) ? config[key] : undefined;
      const name = typeof v === 'string' ? v : obj(v) && typeof v.content === 'string' ? v.content : v === undefined || v === null ? fallback : undefined;
      if (name === undefined || !specialNames.has(name)) return reject(`${key} ${JSON.stringify(v ?? fallback)} is not one of its special tokens`);
      return name;
    };
    const pad = role('pad_token', PAD_TOKEN);
    const bos = role('bos_token', BOS_TOKEN);
    const eos = role('eos_token', EOS_TOKEN);
    if (specialNames.size !== 3 || new Set([pad, bos, eos]).size !== 3) return reject('special tokens must be exactly distinct pad, bos and eos tokens');
    return new CharTokenizer(tokens, pad, bos, eos);
  }
}
