/**
 * Greedy chat replies from a model our kernels do not run (any architecture transformers.js
 * supports), through @huggingface/transformers: onnxruntime-web on WebGPU in the browser,
 * onnxruntime-node on the CPU in Node. This is the generation function handed to a "local" judge
 * whose runtime is transformers.js; it mirrors `chatReplies` (one user turn per prompt through the
 * chat template, one batch, greedy, stop at eos or the length limit).
 *
 * The library is imported on first use, so the page and the CLI load it only for such a judge.
 * onnxruntime-web's wasm files are served by the app itself (./transformers-wasm.ts), never from
 * the CDN transformers.js defaults to: the app works offline. Hub files go through the injected
 * fetch (tests serve a fake Hub); downloads report progress in the shape `downloadModel` uses.
 */
import type { DownloadProgress, FetchFn } from './hub';
import { HUB_ENDPOINT, hubFileUrl } from './hub';
import type { TransformersDtype } from './transformers-dtypes';
import { ORT_WASM_PATHS } from './transformers-wasm';

export interface TransformersChatOptions {
  /** A Hub id ("owner/name"), or with `localFolder` a folder name inside it (Node). */
  modelId: string;
  maxTokens: number;
  dtype: TransformersDtype;
  revision?: string;
  /** Fetch for Hub files (default: global fetch). Other URLs (the wasm files) use global fetch. */
  fetchFn?: FetchFn;
  endpoint?: string;
  /** Node: load `modelId` from this folder's parent instead of the Hub (no download). */
  localFolder?: { parent: string; name: string };
  /** Node: where downloaded files are kept (onnxruntime-node loads models from files). */
  cacheDir?: string;
  onProgress?: (p: DownloadProgress) => void;
}

export interface TransformersChat {
  /** Replies to the prompts, in order; rejects with the signal's reason when it aborts (decoding stops at the next token). */
  generate(prompts: readonly string[], signal?: AbortSignal): Promise<string[]>;
  /** What runs it, for notes: "transformers.js 4.3.1, webgpu, q4f16". */
  runtime: string;
  release(): Promise<void>;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

type Lib = typeof import('@huggingface/transformers');
type ProgressInfo = { status: string; file?: string; loaded?: number; total?: number };

/** transformers.js's global settings; set before every load, since a page may load several models. */
function configure(lib: Lib, o: TransformersChatOptions): void {
  const env = lib.env;
  const endpoint = (o.endpoint ?? HUB_ENDPOINT).replace(/\/+$/, '');
  env.remoteHost = `${endpoint}/`;
  env.allowRemoteModels = o.localFolder === undefined;
  env.allowLocalModels = o.localFolder !== undefined;
  if (o.localFolder !== undefined) env.localModelPath = o.localFolder.parent.endsWith('/') ? o.localFolder.parent : `${o.localFolder.parent}/`;
  if (o.cacheDir !== undefined) env.cacheDir = o.cacheDir;
  const hubFetch = o.fetchFn ?? ((url: string, init?: RequestInit) => fetch(url, init));
  env.fetch = (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    return url.startsWith(`${endpoint}/`) ? hubFetch(url, init) : fetch(url, init);
  };
  const wasm = env.backends.onnx.wasm;
  if (!isNode && wasm !== undefined) {
    const here = typeof location !== 'undefined' ? location.href : undefined;
    wasm.wasmPaths = { mjs: new URL(ORT_WASM_PATHS.mjs, here).href, wasm: new URL(ORT_WASM_PATHS.wasm, here).href };
  }
}

/** Maps transformers.js's per-file events onto DownloadProgress (bytes over all files, files done/known). */
function progressAdapter(o: TransformersChatOptions): (info: ProgressInfo) => void {
  const loadedByFile = new Map<string, number>();
  const done = new Set<string>();
  return (info) => {
    const file = info.file;
    if (o.onProgress === undefined || file === undefined) return;
    // "initiate" comes for optional files too (generation_config.json), which may not exist:
    // a file counts from "download" on, sent once the server answered with it.
    if (info.status === 'download' && !loadedByFile.has(file)) loadedByFile.set(file, 0);
    else if (info.status === 'progress' && typeof info.loaded === 'number') loadedByFile.set(file, info.loaded);
    else if (info.status === 'done' && loadedByFile.has(file)) done.add(file);
    else return;
    let loadedAll = 0;
    for (const n of loadedByFile.values()) loadedAll += n;
    o.onProgress({
      file,
      url: o.localFolder === undefined ? hubFileUrl(o.modelId, file, o.revision, o.endpoint) : `${o.localFolder.parent}/${o.localFolder.name}/${file}`,
      loaded: loadedByFile.get(file) ?? 0,
      total: typeof info.total === 'number' && info.total > 0 ? info.total : undefined,
      loadedAll,
      filesDone: done.size,
      filesKnown: loadedByFile.size,
    });
  };
}

export async function openTransformersChat(o: TransformersChatOptions): Promise<TransformersChat> {
  const lib: Lib = await import('@huggingface/transformers');
  configure(lib, o);
  const id = o.localFolder?.name ?? o.modelId;
  const what = `the judge model ${o.modelId}`;
  const device = isNode ? 'cpu' : 'webgpu';
  const common = { revision: o.revision ?? 'main', progress_callback: progressAdapter(o) };
  let tokenizer: Awaited<ReturnType<Lib['AutoTokenizer']['from_pretrained']>>;
  let model: Awaited<ReturnType<Lib['AutoModelForCausalLM']['from_pretrained']>>;
  try {
    tokenizer = await lib.AutoTokenizer.from_pretrained(id, common);
    model = await lib.AutoModelForCausalLM.from_pretrained(id, { ...common, device, ...(o.dtype === 'auto' ? {} : { dtype: o.dtype }) });
  } catch (e) {
    throw new Error(`transformers.js could not load ${what}: ${(e as Error).message}`);
  }
  if (typeof tokenizer.chat_template !== 'string' || tokenizer.chat_template.length === 0) {
    await model.dispose();
    throw new Error(`${what} has no chat template (tokenizer_config.json "chat_template"), so it cannot be prompted as a judge; a language-model judge needs an instruct model`);
  }

  /** Ends every row once the signal aborts (transformers.js checks its criteria after each token). */
  class AbortCriterion extends lib.StoppingCriteria {
    constructor(private readonly signal: AbortSignal) {
      super();
    }
    override _call(inputIds: number[][]): boolean[] {
      return inputIds.map(() => this.signal.aborted);
    }
  }

  const generate = async (prompts: readonly string[], signal?: AbortSignal): Promise<string[]> => {
    if (prompts.length === 0) return [];
    signal?.throwIfAborted();
    const texts = prompts.map((p) => tokenizer.apply_chat_template([{ role: 'user', content: p }], { tokenize: false, add_generation_prompt: true }) as string);
    // A prompt past the model's length would otherwise fail as an opaque batching error.
    const limit = tokenizer.model_max_length;
    if (typeof limit === 'number' && limit < 1e9) {
      texts.forEach((t, i) => {
        const n = tokenizer.encode(t, { add_special_tokens: false }).length;
        if (n > limit) throw new Error(`judge prompt ${i} is ${n} tokens; ${what} takes ${limit} (tokenizer_config.json model_max_length)`);
      });
    }
    tokenizer.padding_side = 'left';
    const inputs = tokenizer(texts, { padding: true, add_special_tokens: false });
    const stopping = new lib.StoppingCriteriaList();
    if (signal !== undefined) stopping.push(new AbortCriterion(signal));
    const out = (await model.generate({ ...inputs, max_new_tokens: o.maxTokens, do_sample: false, stopping_criteria: stopping })) as InstanceType<Lib['Tensor']>;
    signal?.throwIfAborted();
    const promptLength = (inputs.input_ids as InstanceType<Lib['Tensor']>).dims[1];
    return tokenizer.batch_decode(out.slice(null, [promptLength, out.dims[1]]), { skip_special_tokens: true });
  };
  return {
    generate,
    runtime: `transformers.js ${lib.env.version}, ${device}, ${o.dtype === 'auto' ? 'default weights' : o.dtype}`,
    release: async () => {
      await model.dispose();
    },
  };
}
