/**
 * Task files from the Hugging Face Hub by dataset id, when online. `owner/name:path/in/repo.ext`
 * fetches that file at a revision; `owner/name` alone asks the Hub for the parquet files it
 * serves for the dataset's default config and `train` split, and takes the first. The bytes go
 * to `importTaskFile` like a local file's. fetch is injectable (tests serve generated files).
 */
import { importTaskFile, taskFileFormat } from './load';
import type { ImportOptions, ImportResult } from './import';

export const HUB = 'https://huggingface.co';

export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

export interface HubDatasetRef {
  id: string;
  /** Path of a file in the dataset repo; absent: the Hub's parquet export of config/split. */
  file?: string;
  revision?: string;
  config?: string;
  split?: string;
}

const ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** `owner/name[:path/to/file.ext]` as a reference; throws naming what is wrong. */
export function parseHubDataset(spec: string): HubDatasetRef {
  const [id, ...rest] = spec.split(':');
  if (!ID.test(id)) throw new Error(`Hub dataset ${JSON.stringify(spec)}: the id must look like "owner/name"`);
  if (rest.length === 0) return { id };
  const file = rest.join(':');
  if (file === '' || file.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`Hub dataset ${JSON.stringify(spec)}: ${JSON.stringify(file)} is not a plain file path`);
  return { id, file };
}

async function get(fetchFn: FetchFn, url: string, token: string | undefined, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal });
  } catch (e) {
    throw new Error(`GET ${url} failed: ${(e as Error).message} (offline? Hub datasets need the network)`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    const hint = res.status === 401 || res.status === 403 ? ' (gated or private dataset: an access token is needed)' : res.status === 404 ? ' (no such dataset, file or split)' : '';
    throw new Error(`GET ${url} failed: HTTP ${res.status}${hint}`);
  }
  return res;
}

/** The dataset file's name and bytes. */
export async function downloadHubDataset(
  ref: HubDatasetRef,
  o: { fetch?: FetchFn; endpoint?: string; token?: string; signal?: AbortSignal } = {},
): Promise<{ name: string; url: string; bytes: Uint8Array }> {
  const fetchFn = o.fetch ?? ((u, i) => fetch(u, i));
  const base = (o.endpoint ?? HUB).replace(/\/+$/, '');
  let url: string;
  if (ref.file !== undefined) {
    url = `${base}/datasets/${ref.id}/resolve/${encodeURIComponent(ref.revision ?? 'main')}/${ref.file.split('/').map(encodeURIComponent).join('/')}`;
  } else {
    const list = `${base}/api/datasets/${ref.id}/parquet/${encodeURIComponent(ref.config ?? 'default')}/${encodeURIComponent(ref.split ?? 'train')}`;
    const urls = (await (await get(fetchFn, list, o.token, o.signal)).json()) as unknown;
    if (!Array.isArray(urls) || urls.length === 0 || typeof urls[0] !== 'string') throw new Error(`${list} listed no parquet files`);
    url = urls[0];
  }
  const bytes = new Uint8Array(await (await get(fetchFn, url, o.token, o.signal)).arrayBuffer());
  const name = ref.file ?? `${ref.id.replace('/', '_')}.parquet`;
  return { name, url, bytes };
}

/** Downloads and imports; the file's format comes from its name (parquet for the Hub's export). */
export async function importHubDataset(spec: string, opts: Omit<ImportOptions, 'format'>, o: Parameters<typeof downloadHubDataset>[1] = {}): Promise<ImportResult & { url: string }> {
  const ref = parseHubDataset(spec);
  if (ref.file !== undefined) taskFileFormat(ref.file); // refuse an unknown extension before downloading
  const { name, url, bytes } = await downloadHubDataset(ref, o);
  return { ...(await importTaskFile(name, bytes, opts)), url };
}
