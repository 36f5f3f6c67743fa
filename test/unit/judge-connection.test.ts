// The page's judge connection test (src/judge/connection-test.ts): one judge request with the
// key only when handed in; the server's answer as text, redacted of the key; a failure classified
// (CORS or no server, mixed content, key refused, ...) with hints in the user's words. And the
// engine's side of the key (src/worker/engine.ts): the errors it sends back hold no key.
import { describe, expect, it } from 'vitest';
import { classifyFailure, connectionHints, isLoopback, testJudgeConnection, type ConnectionTestInput } from '../../src/judge/connection-test';
import type { FetchLike } from '../../src/judge/http';
import { preset } from '../../src/rl/config';
import { Engine } from '../../src/worker/engine';
import type { EngineEvent } from '../../src/worker/api';

const KEY = 'sk-live-9f8e7d6c5b4a-KEY';
const PAGE = 'http://127.0.0.1:5173';

interface Seen {
  url: string;
  init: RequestInit;
}

function fakeFetch(answer: (seen: Seen) => Response | Promise<Response>): { fetch: FetchLike; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    fetch: async (url, init) => {
      const s = { url, init };
      seen.push(s);
      return answer(s);
    },
  };
}

function completion(content: string): Response {
  return new Response(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }), { status: 200, headers: { 'content-type': 'application/json' } });
}

const base = (more: Partial<ConnectionTestInput>): ConnectionTestInput => ({ endpoint: 'http://127.0.0.1:8000/v1', model: 'judge-model', maxTokens: 64, timeoutMs: 5000, pageOrigin: PAGE, ...more });

/** Every text a result holds, as the page would show it. */
const shown = (r: object): string => JSON.stringify(r);

describe('failure classification', () => {
  it('a network error to another origin is CORS (or no server); to the page\'s own origin, no server', () => {
    const network = { kind: 'network' as const, message: 'TypeError: Failed to fetch' };
    expect(classifyFailure(network, 'http://127.0.0.1:8000/v1', PAGE)).toBe('cors-or-offline');
    expect(classifyFailure(network, 'http://localhost:5173/v1', PAGE)).toBe('cors-or-offline');
    expect(classifyFailure(network, 'http://127.0.0.1:5173/judge/v1', PAGE)).toBe('offline');
    // An https page cannot call plain http elsewhere (mixed content); loopback is allowed.
    expect(classifyFailure(network, 'http://10.0.0.5:8000/v1', 'https://app.example')).toBe('mixed-content');
    expect(classifyFailure(network, 'http://127.0.0.1:8000/v1', 'https://app.example')).toBe('cors-or-offline');
    expect(classifyFailure(network, 'https://api.example/v1', 'https://app.example')).toBe('cors-or-offline');
  });

  it('HTTP answers, timeouts and redirects each have their own kind', () => {
    const e = 'http://127.0.0.1:8000/v1';
    expect([401, 403, 404, 429, 500, 503, 400, 422].map((status) => classifyFailure({ kind: 'http', status }, e, PAGE))).toEqual(['auth', 'auth', 'not-found', 'rate-limited', 'server-error', 'server-error', 'http-error', 'http-error']);
    expect(classifyFailure({ kind: 'timeout', ms: 10 }, e, PAGE)).toBe('timeout');
    expect(classifyFailure({ kind: 'redirect', status: 302 }, e, PAGE)).toBe('redirect');
    expect(classifyFailure({ kind: 'bad-reply' }, e, PAGE)).toBe('bad-reply');
  });

  it('CORS hints name the header, this page\'s origin, and what vLLM, Ollama and llama.cpp need', () => {
    const hints = connectionHints('cors-or-offline', 'http://127.0.0.1:8000/v1', PAGE).join('\n');
    expect(hints).toContain(`Access-Control-Allow-Origin: ${PAGE}`);
    expect(hints).toContain(`--allowed-origins '["${PAGE}"]'`);
    expect(hints).toContain(`OLLAMA_ORIGINS=${PAGE}`);
    expect(hints).toContain('llama-server');
    expect(hints).toContain('http://127.0.0.1:8000/v1/models');
    // A public page calling localhost: private network access is named too.
    expect(connectionHints('cors-or-offline', 'http://127.0.0.1:8000/v1', 'https://app.example').join('\n')).toContain('Access-Control-Allow-Private-Network');
    expect(hints).not.toContain('Private-Network');
    expect(connectionHints('mixed-content', 'http://10.0.0.5:8000/v1', 'https://app.example').join('\n')).toContain('mixed content');
    expect(connectionHints('auth', 'http://x/v1', PAGE, { keySent: false }).join('\n')).toContain('none was sent');
    expect(connectionHints('auth', 'http://x/v1', PAGE, { keySent: true }).join('\n')).toContain('refused the API key');
    expect(['localhost', '127.0.0.1', '[::1]', 'app.localhost'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', 'example.com', '127.0.0.1.example.com'].some(isLoopback)).toBe(false);
  });
});

describe('testJudgeConnection', () => {
  it('sends one judge request with the key in the Authorization header, and reports the reply, its score and the latency', async () => {
    let t = 1000;
    const f = fakeFetch(() => {
      t += 42;
      return completion('The steps are right.\nScore: 5');
    });
    const r = await testJudgeConnection(base({ apiKey: KEY, fetch: f.fetch, now: () => t }));
    expect(r).toMatchObject({ ok: true, status: 200, latencyMs: 42, keySent: true, reply: 'The steps are right.\nScore: 5', hints: [] });
    expect(r.score).toContain('score 5');
    expect(f.seen).toHaveLength(1);
    expect(f.seen[0].url).toBe('http://127.0.0.1:8000/v1/chat/completions');
    expect(f.seen[0].init).toMatchObject({ method: 'POST', redirect: 'manual' });
    expect((f.seen[0].init.headers as Record<string, string>).authorization).toBe(`Bearer ${KEY}`);
    const body = JSON.parse(f.seen[0].init.body as string);
    expect(body).toMatchObject({ model: 'judge-model', max_tokens: 64, temperature: 0 });
    expect(body.messages[0].content).toContain('What is 2 + 3?');
    expect(shown(r)).not.toContain(KEY);
  });

  it('sends the template it is given, and no Authorization header without a key', async () => {
    const f = fakeFetch(() => completion('no score here'));
    const r = await testJudgeConnection(base({ fetch: f.fetch, template: 'MY PROMPT {{question}} {{reference}} {{trace}}' }));
    expect((f.seen[0].init.headers as Record<string, string>).authorization).toBeUndefined();
    expect(JSON.parse(f.seen[0].init.body as string).messages[0].content).toMatch(/^MY PROMPT/);
    expect(r).toMatchObject({ ok: true, keySent: false });
    expect(r.score).toContain('no score could be read');
  });

  it("a server's answer that echoes the key is shown without it", async () => {
    const f = fakeFetch(() => new Response(`{"error":"invalid api key ${KEY}","hint":"${btoa(`user:${KEY}`)}","url":"?k=${encodeURIComponent(KEY)}"}`, { status: 401, statusText: 'Unauthorized' }));
    const r = await testJudgeConnection(base({ apiKey: KEY, fetch: f.fetch }));
    expect(r).toMatchObject({ ok: false, status: 401, problem: 'auth', keySent: true });
    expect(r.reply).toContain('invalid api key [redacted]');
    expect(shown(r)).not.toContain(KEY);
    expect(shown(r)).not.toContain(encodeURIComponent(KEY));
    const ok = await testJudgeConnection(base({ apiKey: KEY, fetch: fakeFetch(() => completion(`Your key is ${KEY}. Score: 4`)).fetch }));
    expect(ok.reply).toBe('Your key is [redacted]. Score: 4');
  });

  it('a TypeError from a cross-origin endpoint gives the CORS hints; its text holds no key', async () => {
    const f = fakeFetch(() => {
      throw new TypeError(`Failed to fetch ${KEY}`);
    });
    const r = await testJudgeConnection(base({ apiKey: KEY, fetch: f.fetch }));
    expect(r).toMatchObject({ ok: false, problem: 'cors-or-offline' });
    expect(r.message).toContain('Failed to fetch');
    expect(r.hints.join('\n')).toContain('Access-Control-Allow-Origin');
    expect(shown(r)).not.toContain(KEY);
    const same = await testJudgeConnection(base({ endpoint: `${PAGE}/v1`, fetch: f.fetch }));
    expect(same.problem).toBe('offline');
  });

  it('a timeout, a redirect and a reply that is not a chat completion are named', async () => {
    const hang: FetchLike = (_url, init) => new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    expect(await testJudgeConnection(base({ fetch: hang, timeoutMs: 20 }))).toMatchObject({ ok: false, problem: 'timeout' });
    const redirect = fakeFetch(() => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/v1' } }));
    const r = await testJudgeConnection(base({ apiKey: KEY, fetch: redirect.fetch }));
    expect(r).toMatchObject({ ok: false, problem: 'redirect' });
    expect(r.message).toContain('https://elsewhere.example/v1');
    expect(redirect.seen).toHaveLength(1);
    const html = await testJudgeConnection(base({ fetch: fakeFetch(() => new Response('<html>hello</html>', { status: 200 })).fetch }));
    expect(html).toMatchObject({ ok: false, problem: 'bad-reply', reply: '<html>hello</html>' });
  });

  it('sends nothing to an endpoint that is not an http(s) URL or holds a credential, nor with a broken prompt', async () => {
    for (const [endpoint, template] of [
      ['localhost:8000', undefined],
      ['file:///etc/passwd', undefined],
      [`http://user:${KEY}@127.0.0.1:8000/v1`, undefined],
      [`http://127.0.0.1:8000/v1?api_key=${KEY}`, undefined],
      ['http://127.0.0.1:8000/v1', 'no placeholders'],
    ] as const) {
      const f = fakeFetch(() => completion('Score: 5'));
      const r = await testJudgeConnection(base({ endpoint, template, apiKey: KEY, fetch: f.fetch }));
      expect(f.seen, endpoint).toHaveLength(0);
      expect(r.problem, endpoint).toBe(template === undefined ? 'bad-endpoint' : 'bad-template');
      expect(shown(r), endpoint).not.toContain(KEY);
    }
  });
});

describe('the engine and the key', () => {
  it("a failed run's error, event and thrown, holds no key", async () => {
    const engine = new Engine(async () => {
      throw new Error('no GPU in this test');
    }, { get: async () => null, put: async () => {} } as never);
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    await engine.setJudgeKey({ origin: 'http://127.0.0.1:8000', key: KEY });
    const config = preset('tiny');
    // A config whose refusal quotes a value that holds the key.
    (config.judge as { processView: string }).processView = `view ${KEY}`;
    const err = await engine.startRun(config, 'builtin').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message, JSON.stringify(events)).toContain("judge.processView");
    expect(err?.message).not.toContain(KEY);
    const end = events.find((e) => e.type === 'run-end');
    expect(end).toMatchObject({ type: 'run-end', summary: null });
    expect(JSON.stringify(end), JSON.stringify(end)).toContain('[redacted]');
    expect(JSON.stringify(events)).not.toContain(KEY);
  });
});
