/**
 * A stand-in for the Hugging Face Hub serving repos' files at `main`: GET streams a file in
 * chunks of `chunk` bytes with its Content-Length, HEAD answers the same headers without a body,
 * a file or repo it does not hold is a 404. `override` replaces the response for a file name
 * (status codes, broken lengths). Every request is logged with its method and Authorization.
 */
import type { FetchFn } from '../../src/model/hub';

export interface FakeHub {
  fetchFn: FetchFn;
  requests: Array<{ url: string; method: string; auth: string | null }>;
}

export function fakeHub(
  repos: Record<string, ReadonlyMap<string, Uint8Array>>,
  o: { chunk?: number; override?: (file: string) => Response | undefined } = {},
): FakeHub {
  const chunk = o.chunk ?? 1000;
  const requests: FakeHub['requests'] = [];
  const fetchFn: FetchFn = async (url, init) => {
    const method = init?.method ?? 'GET';
    requests.push({ url, method, auth: new Headers(init?.headers).get('authorization') });
    const m = /^https:\/\/huggingface\.co\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url);
    const files = m === null ? undefined : repos[m[1]];
    if (m === null || files === undefined) return new Response('no such repo', { status: 404, statusText: 'Not Found' });
    const name = decodeURIComponent(m[2]);
    const replaced = o.override?.(name);
    if (replaced !== undefined) return replaced;
    const data = files.get(name);
    if (data === undefined) return new Response('Entry not found', { status: 404, statusText: 'Not Found' });
    const headers = { 'content-length': String(data.length) };
    if (method === 'HEAD') return new Response(null, { status: 200, headers });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < data.length; i += chunk) c.enqueue(data.slice(i, i + chunk));
        c.close();
      },
    });
    return new Response(body, { status: 200, headers });
  };
  return { fetchFn, requests };
}
