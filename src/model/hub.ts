/**
 * Downloading a checkpoint from the Hugging Face Hub by model id: config.json, then
 * model.safetensors or (when the Hub has none) the shard index and every shard it lists, then the
 * tokenizer files. Files come back in memory, ready for `loadCheckpoint(memoryFiles(...))`.
 *
 * `fetch` is injected, so the browser (with its cache), Node and tests (a fake server) share this
 * code. Progress counts bytes as they stream in; Content-Length gives the total when the server
 * sends one, and a body shorter or longer than it is an error (a cut connection would otherwise
 * look like a truncated checkpoint much later).
 */
import { CONFIG_FILE, parseWeightMap, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './checkpoint';

export const HUB_ENDPOINT = 'https://huggingface.co';

export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

export interface DownloadProgress {
  file: string;
  url: string;
  /** Bytes of this file received so far. */
  loaded: number;
  /** From Content-Length, when the server sent it. */
  total: number | undefined;
  /** Bytes received over all files of the download so far. */
  loadedAll: number;
  /** Files finished, and files known to be needed so far (grows when the index lists shards). */
  filesDone: number;
  filesKnown: number;
}

export interface DownloadOptions {
  revision?: string;
  endpoint?: string;
  /** Access token for gated or private models (sent as a Bearer token). */
  token?: string;
  signal?: AbortSignal;
}

const ID_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkModelId(modelId: string): void {
  const parts = modelId.split('/');
  if (parts.length > 2 || !parts.every((p) => ID_PART.test(p) && !p.includes('..'))) {
    throw new Error(`Hub model id ${JSON.stringify(modelId)} must look like "owner/name" (letters, digits, '.', '_', '-')`);
  }
}

/** A failed Hub request, naming the URL and status (and what a 401/403 from the Hub means). */
function httpFailure(method: string, url: string, res: Response): Error {
  const hint = res.status === 401 || res.status === 403 ? ' (gated or private model: an access token is needed)' : '';
  return new Error(`${method} ${url} failed: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${hint}`);
}

/** The download URL of one file of a model at a revision (branch, tag or commit). */
export function hubFileUrl(modelId: string, file: string, revision = 'main', endpoint = HUB_ENDPOINT): string {
  checkModelId(modelId);
  if (file === '' || file.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`Hub file name ${JSON.stringify(file)} is not a plain relative path`);
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${modelId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

export interface DownloadedModel {
  modelId: string;
  revision: string;
  /** File name → contents. */
  files: Map<string, Uint8Array>;
}

/**
 * Fetches every file a Llama-layout checkpoint needs. tokenizer.json is required (the model
 * cannot be used without it); tokenizer_config.json is optional (the chat template and special
 * tokens live there when it exists).
 */
export async function downloadModel(
  modelId: string,
  fetchFn: FetchFn = (url, init) => fetch(url, init),
  onProgress?: (p: DownloadProgress) => void,
  options: DownloadOptions = {},
): Promise<DownloadedModel> {
  const revision = options.revision ?? 'main';
  const endpoint = options.endpoint ?? HUB_ENDPOINT;
  checkModelId(modelId);
  const files = new Map<string, Uint8Array>();
  let loadedAll = 0;
  let filesDone = 0;
  let filesKnown = 3; // config, weights (or index), tokenizer

  /** The file's bytes, or undefined on 404 when `optional`. */
  const get = async (file: string, optional: boolean): Promise<Uint8Array | undefined> => {
    const url = hubFileUrl(modelId, file, revision, endpoint);
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    let res: Response;
    try {
      res = await fetchFn(url, { headers, signal: options.signal });
    } catch (e) {
      throw new Error(`GET ${url} failed: ${(e as Error).message}`);
    }
    if (res.status === 404 && optional) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw httpFailure('GET', url, res);
    }
    const lengthHeader = res.headers.get('content-length');
    // With a content coding the header counts the compressed bytes, not those fetch hands over.
    const encoding = res.headers.get('content-encoding');
    const total = lengthHeader !== null && (encoding === null || encoding === 'identity') ? Number(lengthHeader) : undefined;
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    const report = (): void => onProgress?.({ file, url, loaded, total, loadedAll, filesDone, filesKnown });
    report();
    if (res.body === null) {
      const all = new Uint8Array(await res.arrayBuffer());
      chunks.push(all);
      loaded = all.length;
      loadedAll += all.length;
      report();
    } else {
      const reader = res.body.getReader();
      for (;;) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } catch (e) {
          throw new Error(`GET ${url}: download broke off after ${loaded} bytes (${(e as Error).message})`);
        }
        if (step.done) break;
        chunks.push(step.value);
        loaded += step.value.length;
        loadedAll += step.value.length;
        if (total !== undefined && loaded > total) {
          await reader.cancel();
          throw new Error(`GET ${url}: received more than the ${total} bytes of Content-Length`);
        }
        report();
      }
    }
    if (total !== undefined && Number.isFinite(total) && loaded !== total) {
      throw new Error(`GET ${url}: received ${loaded} of ${total} bytes (Content-Length): download cut short`);
    }
    const out = chunks.length === 1 ? chunks[0] : new Uint8Array(loaded);
    if (chunks.length !== 1) {
      let pos = 0;
      for (const c of chunks) {
        out.set(c, pos);
        pos += c.length;
      }
    }
    files.set(file, out);
    filesDone++;
    report();
    return out;
  };

  await get(CONFIG_FILE, false);
  const single = await get(WEIGHTS_FILE, true);
  if (single === undefined) {
    const indexBytes = await get(WEIGHTS_INDEX_FILE, true);
    if (indexBytes === undefined) throw new Error(`Hub model ${modelId}@${revision}: neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} exists (only safetensors checkpoints are supported)`);
    const where = hubFileUrl(modelId, WEIGHTS_INDEX_FILE, revision, endpoint);
    let index: unknown;
    try {
      index = JSON.parse(new TextDecoder().decode(indexBytes));
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (index === null || typeof index !== 'object' || Array.isArray(index)) throw new Error(`${where}: must be a JSON object`);
    const shards = [...new Set(parseWeightMap(index as Record<string, unknown>, where).values())].sort();
    filesKnown += shards.length;
    for (const shard of shards) await get(shard, false);
  }
  await get(TOKENIZER_FILE, false);
  filesKnown++;
  await get(TOKENIZER_CONFIG_FILE, true);
  return { modelId, revision, files };
}

/** What a "local" judge's runtime choice needs to know of a Hub model before downloading it. */
export interface ModelProbe {
  /** config.json, parsed. */
  config: Record<string, unknown>;
  /** model.safetensors or its shard index exists. */
  safetensors: boolean;
}

/** config.json (GET) and whether safetensors weights exist (HEAD), without downloading them. */
export async function probeHubModel(modelId: string, fetchFn: FetchFn = (url, init) => fetch(url, init), options: DownloadOptions = {}): Promise<ModelProbe> {
  const revision = options.revision ?? 'main';
  const endpoint = options.endpoint ?? HUB_ENDPOINT;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const request = async (file: string, method: 'GET' | 'HEAD'): Promise<Response> => {
    const url = hubFileUrl(modelId, file, revision, endpoint);
    try {
      return await fetchFn(url, { method, headers, signal: options.signal });
    } catch (e) {
      throw new Error(`${method} ${url} failed: ${(e as Error).message}`);
    }
  };
  const res = await request(CONFIG_FILE, 'GET');
  const where = hubFileUrl(modelId, CONFIG_FILE, revision, endpoint);
  if (!res.ok) {
    await res.body?.cancel();
    throw httpFailure('GET', where, res);
  }
  let config: unknown;
  try {
    config = JSON.parse(await res.text());
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error(`${where}: must be a JSON object`);
  let safetensors = false;
  for (const file of [WEIGHTS_FILE, WEIGHTS_INDEX_FILE]) {
    const head = await request(file, 'HEAD');
    await head.body?.cancel();
    if (head.ok) safetensors = true;
    else if (head.status !== 404) throw httpFailure('HEAD', hubFileUrl(modelId, file, revision, endpoint), head);
    if (safetensors) break;
  }
  return { config: config as Record<string, unknown>, safetensors };
}
