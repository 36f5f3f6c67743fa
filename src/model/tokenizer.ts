/**
 * The tokenizer the model layer talks to. Two implementations: the built-in `CharTokenizer`
 * (char-tokenizer.ts) and `HfTokenizer`, an imported model's own Hugging Face tokenizer run by
 * `@huggingface/tokenizers` (the tokenizer code of transformers.js), with the chat template of
 * its tokenizer_config.json rendered by `@huggingface/jinja`.
 *
 * Contract shared by both:
 *   - encode never drops or replaces text silently: text the tokenizer can only map to its
 *     unknown token (or, for a model without one, to nothing) is an error naming the character
 *     and its position;
 *   - special tokens appear only where written in the text or where the tokenizer itself adds
 *     them (its post-processor, e.g. Llama's <|begin_of_text|>); the built-in one adds none.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenizerFiles } from './checkpoint';

export interface TextEncodeOptions {
  /**
   * Let the tokenizer's post-processor add its special tokens (HF's `add_special_tokens`,
   * default true). False for text continuing a sequence, such as a response after its prompt.
   */
  addSpecialTokens?: boolean;
}

export interface TextDecodeOptions {
  skipSpecialTokens?: boolean;
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Append the opening of the assistant's turn (HF's `add_generation_prompt`). */
  addGenerationPrompt?: boolean;
}

export interface TextTokenizer {
  /** One more than the largest token id. */
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  encode(text: string, options?: TextEncodeOptions): number[];
  decode(ids: ArrayLike<number>, options?: TextDecodeOptions): string;
  /** The files to save with the model. */
  files(modelMaxLength?: number): TokenizerFiles;
  /** The conversation as the model's chat template writes it; absent when the tokenizer has none. */
  applyChatTemplate?(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A special token named in tokenizer_config.json: a string or an AddedToken-like object. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** The chat template source: a string, or the named-list form ([{name, template}]) whose "default" is used. */
function chatTemplateSource(config: Json | undefined, where: string): string | undefined {
  const t = config?.chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'string') return t;
  const named = Array.isArray(t)
    ? t.filter(isObj).map((e) => [e.name, e.template] as const)
    : isObj(t)
      ? Object.entries(t)
      : [];
  const found = named.find(([name]) => name === 'default');
  if (found === undefined || typeof found[1] !== 'string') {
    const names = named.map(([n]) => JSON.stringify(n)).join(', ');
    throw new Error(`${where}: chat_template has named templates (${names || 'none'}) but no "default" one`);
  }
  return found[1];
}

/**
 * An imported model's tokenizer. The JSON it was read from is kept as given and saved back
 * unchanged; the library works on its own copy.
 */
export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  private readonly tk: Tokenizer;
  private readonly unkId: number | undefined;
  private readonly unkToken: string | undefined;
  private readonly template: Template | undefined;
  private readonly templateVars: Json;

  constructor(
    private readonly tokenizerJson: Json,
    private readonly tokenizerConfig: Json | undefined,
    private readonly where = 'tokenizer.json',
  ) {
    const config = structuredClone(tokenizerConfig ?? {});
    // The library cleans up spaces before punctuation on decode unless told otherwise, which
    // breaks decode(encode(x)) == x; follow the file when it says, else keep the text as is.
    config.clean_up_tokenization_spaces = tokenizerConfig?.clean_up_tokenization_spaces === true;
    this.tk = new Tokenizer(structuredClone(tokenizerJson), config);
    const model = this.tk.model;
    if (model === null) throw new Error(`${where}: no tokenizer model`);
    // A BPE model with neither an unknown token nor byte fallback drops what it cannot encode.
    // A sentinel that is not in the vocabulary makes such pieces visible as ids that do not
    // exist, which encode then reports.
    if (model.unk_token === undefined || model.unk_token === null) {
      const jsonModel = tokenizerJson.model as Json | undefined;
      const unk = typeof jsonModel?.unk_token === 'string' ? jsonModel.unk_token : tokenName(tokenizerConfig?.unk_token);
      const unkId = unk === undefined ? undefined : this.tk.token_to_id(unk);
      if (unk !== undefined && unkId !== undefined) {
        this.unkToken = unk;
        this.unkId = unkId;
      } else {
        model.unk_token = '\u0000<not in the vocabulary>';
      }
    } else {
      this.unkToken = model.unk_token;
      this.unkId = model.unk_token_id ?? this.tk.token_to_id(model.unk_token);
    }

    let maxId = -1;
    for (const id of this.tk.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    const special = (key: string): number | undefined => {
      const name = tokenName(tokenizerConfig?.[key]);
      return name === undefined ? undefined : this.tk.token_to_id(name);
    };
    this.bosId = special('bos_token');
    this.eosId = special('eos_token');
    this.padId = special('pad_token');

    const source = chatTemplateSource(tokenizerConfig, where);
    try {
      this.template = source === undefined ? undefined : new Template(source);
    } catch (e) {
      throw new Error(`${where}: the chat template does not parse: ${(e as Error).message}`);
    }
    this.templateVars = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
      const name = tokenName(tokenizerConfig?.[key]);
      if (name !== undefined) this.templateVars[key] = name;
    }
  }

  private rawIds(text: string, addSpecialTokens: boolean): Array<number | undefined> {
    return this.tk.encode(text, { add_special_tokens: addSpecialTokens }).ids as Array<number | undefined>;
  }

  /** Whether the text alone encodes to an id that does not exist or to the unknown token. */
  private cannotEncode(text: string): boolean {
    return this.rawIds(text, false).some((id) => id === undefined || id === this.unkId);
  }

  encode(text: string, options: TextEncodeOptions = {}): number[] {
    const ids = this.rawIds(text, options.addSpecialTokens ?? true);
    const missing = ids.filter((id) => id === undefined).length;
    const unks = this.unkId === undefined ? 0 : ids.filter((id) => id === this.unkId).length;
    // The unknown token written in the text is encoded as itself, not a replacement.
    const literal = this.unkToken === undefined || this.unkToken === '' ? 0 : text.split(this.unkToken).length - 1;
    if (missing === 0 && unks <= literal) return ids as number[];

    // Find the culprit: the first character that the tokenizer cannot encode on its own.
    let pos = 0;
    for (let i = 0; i < text.length; ) {
      if (this.unkToken && text.startsWith(this.unkToken, i)) {
        i += this.unkToken.length;
        pos += [...this.unkToken].length;
        continue;
      }
      const ch = String.fromCodePoint(text.codePointAt(i) as number);
      if (this.cannotEncode(ch)) {
        throw new Error(`${this.where}: character ${describeChar(ch)} at position ${pos} cannot be encoded by this tokenizer (it would become ${this.unkToken ?? 'nothing'})`);
      }
      i += ch.length;
      pos++;
    }
    // Each character encodes alone but not in context (a word-level vocabulary, say).
    const first = ids.findIndex((id) => id === undefined || id === this.unkId);
    throw new Error(`${this.where}: the text cannot be encoded by this tokenizer: token ${first} of its encoding would be ${this.unkToken ?? 'dropped'}`);
  }

  decode(ids: ArrayLike<number>, options: TextDecodeOptions = {}): string {
    const list = Array.from(ids);
    for (const [i, id] of list.entries()) {
      if (!Number.isInteger(id) || id < 0 || this.tk.id_to_token(id) === undefined) {
        throw new Error(`${this.where}: token id ${id} at position ${i} is not in the vocabulary`);
      }
    }
    // The library refuses an empty list.
    if (list.length === 0) return '';
    return this.tk.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The files as they were read; the model length of a saved model does not override the file's. */
  files(): TokenizerFiles {
    return this.tokenizerConfig === undefined ? { tokenizerJson: this.tokenizerJson } : { tokenizerJson: this.tokenizerJson, tokenizerConfig: this.tokenizerConfig };
  }

  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (this.template === undefined) {
      throw new Error(`${this.where}: this model has no chat template (no chat_template in tokenizer_config.json); give the prompt as plain text`);
    }
    try {
      return this.template.render({
        ...this.templateVars,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: options.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new Error(`${this.where}: the chat template failed: ${(e as Error).message}`);
    }
  }
}
