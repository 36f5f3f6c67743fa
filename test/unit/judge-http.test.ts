// Against a real HTTP server on 127.0.0.1 (node:http): every behaviour the judge must survive.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { corsHints, HttpJudge, type HttpJudgeOptions, parseRetryAfter } from '../../src/judge/http.ts';

type Behaviour =
  | { kind: 'good'; content: string; delayMs?: number }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' }
  | { kind: 'malformed' };

let server: Server;
let baseUrl = '';
/** Behaviours served in order; when empty, a good "Score: 3" answer. */
let script: Behaviour[] = [];
let bodies: Record<string, unknown>[] = [];
let inFlight = 0;
let maxInFlight = 0;
// Requests of an earlier test may still be sleeping in the server when the next test starts (a
// timed-out request, say); they must not count in (or take away from) the next test's in-flight.
let generation = 0;

function reply(res: ServerResponse, content: string) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  bodies.push(JSON.parse(raw) as Record<string, unknown>);
  const b: Behaviour = script.shift() ?? { kind: 'good', content: 'fine\nScore: 3' };
  const mine = generation;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    if (b.kind === 'good') {
      if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
      if (!res.destroyed) reply(res, b.content);
    } else if (b.kind === 'status') {
      const h: Record<string, string> = { 'content-type': 'application/json' };
      if (b.retryAfter !== undefined) h['retry-after'] = b.retryAfter;
      res.writeHead(b.status, h);
      res.end(b.body ?? '{"error":"nope"}');
    } else if (b.kind === 'reset') {
      req.socket.destroy();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices": [ this is not json');
    }
  } finally {
    if (mine === generation) inFlight--;
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  generation++;
  script = [];
  bodies = [];
  inFlight = 0;
  maxInFlight = 0;
});

const item = { question: 'What is 2+3?', reference: '2 + 3 = 5', trace: 'It is 5.' };

function judge(extra: Partial<HttpJudgeOptions> = {}) {
  const waits: number[] = [];
  const j = new HttpJudge({
    baseUrl,
    model: 'test-model',
    timeoutMs: 2000,
    retries: 3,
    backoffMs: 10,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...extra,
  });
  return { j, waits };
}

describe('HttpJudge against a local server', () => {
  it('sends a greedy chat completion with the fenced prompt and parses a good answer', async () => {
    script = [{ kind: 'good', content: 'Matches the reference.\nScore: 5' }];
    const { j } = judge();
    const r = await j.outcome(item);
    expect(r).toMatchObject({ ok: true, score: 5, value: 1, rationale: 'Matches the reference.' });
    expect(bodies).toHaveLength(1);
    const body = bodies[0] as { model: string; temperature: number; messages: { content: string }[]; response_format?: unknown };
    expect(body.model).toBe('test-model');
    expect(body.temperature).toBe(0);
    expect(body.response_format).toBeUndefined();
    expect(body.messages[0].content).toContain('```untrusted\nIt is 5.\n```');
    expect(j.stats()).toMatchObject({ calls: 1, requests: 1, failures: 0, parseFailures: 0 });
  });

  it('retries 429 honouring Retry-After in seconds and as an HTTP date', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    script = [
      { kind: 'status', status: 429, retryAfter: '2' },
      { kind: 'status', status: 429, retryAfter: new Date(now + 3000).toUTCString() },
      { kind: 'good', content: 'Score: 4' },
    ];
    const { j, waits } = judge({ now: () => now });
    const r = await j.outcome(item);
    expect(r).toMatchObject({ ok: true, score: 4 });
    expect(waits).toEqual([2000, 3000]);
    expect(j.stats()).toMatchObject({ requests: 3, retries: 2, failures: 0 });
  });

  it('retries 500 and a reset connection with exponential backoff', async () => {
    script = [{ kind: 'status', status: 500 }, { kind: 'reset' }, { kind: 'status', status: 503 }, { kind: 'good', content: 'Score: 2' }];
    const { j, waits } = judge();
    const r = await j.outcome(item);
    expect(r).toMatchObject({ ok: true, score: 2 });
    expect(waits).toEqual([10, 20, 40]);
  });

  it('gives up after the retries with a call failure, never a number', async () => {
    script = [0, 1, 2].map(() => ({ kind: 'status', status: 500 }) as Behaviour);
    const { j } = judge({ retries: 2 });
    const r = await j.outcome(item);
    expect(r.ok).toBe(false);
    expect(r).not.toHaveProperty('score');
    if (!r.ok) {
      expect(r.failure.kind).toBe('call');
      expect(r.failure.message).toContain('HTTP 500');
    }
    expect(j.stats()).toMatchObject({ calls: 1, requests: 3, failures: 1 });
  });

  it('does not retry a 400 or malformed JSON', async () => {
    script = [{ kind: 'status', status: 400 }];
    const { j } = judge();
    expect((await j.outcome(item)).ok).toBe(false);
    script = [{ kind: 'malformed' }];
    const r = await j.outcome({ ...item, trace: 'other' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failure.message).toMatch(/malformed JSON/);
    expect(j.stats()).toMatchObject({ requests: 2, failures: 2, retries: 0 });
  });

  it('times out a slow answer (AbortController) and retries it', async () => {
    script = [{ kind: 'good', content: 'Score: 5', delayMs: 400 }, { kind: 'good', content: 'Score: 4' }];
    const { j } = judge({ timeoutMs: 100 });
    const r = await j.outcome(item);
    expect(r).toMatchObject({ ok: true, score: 4 });
    expect(j.stats().retries).toBe(1);
    const { j: j2 } = judge({ timeoutMs: 100, retries: 0 });
    script = [{ kind: 'good', content: 'Score: 5', delayMs: 400 }];
    const r2 = await j2.outcome(item);
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.failure.message).toMatch(/timed out after 100 ms/);
  });

  it('waits for a slow but timely answer', async () => {
    script = [{ kind: 'good', content: 'Score: 5', delayMs: 80 }];
    const { j } = judge({ timeoutMs: 1000 });
    expect(await j.outcome(item)).toMatchObject({ ok: true, score: 5 });
    expect(j.stats().latencyMsMean).toBeGreaterThanOrEqual(70);
  });

  it('bounds concurrency', async () => {
    script = Array.from({ length: 6 }, () => ({ kind: 'good', content: 'Score: 3', delayMs: 100 }) as Behaviour);
    const { j } = judge({ concurrency: 2 });
    const rs = await j.process({ ...item, segments: ['a\n', 'b\n', 'c\n', 'd\n', 'e\n', 'f'], view: 'segment' });
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(maxInFlight).toBe(2);
  });

  it('caches by the exact request body', async () => {
    const { j } = judge();
    await j.outcome(item);
    await j.outcome(item);
    await j.outcome({ ...item, trace: 'It is 6.' });
    expect(bodies).toHaveLength(2);
    expect(j.stats()).toMatchObject({ calls: 3, cacheHits: 1, requests: 2 });
    const { j: off } = judge({ cache: false });
    await off.outcome(item);
    await off.outcome(item);
    expect(bodies).toHaveLength(4);
  });

  it('counts parse failures and keeps the raw text', async () => {
    script = [{ kind: 'good', content: 'I like it.\nScore: 7' }];
    const { j } = judge();
    const r = await j.outcome(item);
    expect(r).toMatchObject({ ok: false, raw: 'I like it.\nScore: 7', failure: { kind: 'parse' } });
    expect(j.stats()).toMatchObject({ parseFailures: 1, failures: 0 });
  });

  it('structured output: sends json_schema and parses the JSON', async () => {
    script = [{ kind: 'good', content: '{"rationale":"right","score":4}' }];
    const { j } = judge({ structured: true });
    expect(await j.outcome(item)).toMatchObject({ ok: true, score: 4, rationale: 'right' });
    const rf = (bodies[0] as { response_format: { type: string; json_schema: { schema: { required: string[] } } } }).response_format;
    expect(rf.type).toBe('json_schema');
    expect(rf.json_schema.schema.required).toEqual(['rationale', 'score']);
  });

  it('structured output falls back to text when the server rejects it, and stays there', async () => {
    script = [
      { kind: 'status', status: 400, body: '{"error":"response_format json_schema is not supported"}' },
      { kind: 'good', content: 'ok\nScore: 2' },
      { kind: 'good', content: 'ok\nScore: 3' },
    ];
    const { j } = judge({ structured: true });
    expect(await j.outcome(item)).toMatchObject({ ok: true, score: 2 });
    expect(await j.outcome({ ...item, trace: 'other' })).toMatchObject({ ok: true, score: 3 });
    expect(bodies.map((b) => 'response_format' in b)).toEqual([true, false, false]);
    expect(j.stats()).toMatchObject({ structuredFallback: true, failures: 0 });
  });

  it('prefix view sends the reasoning so far', async () => {
    const { j } = judge();
    await j.process({ ...item, segments: ['alpha\n', 'beta'], view: 'prefix' });
    const contents = bodies.map((b) => (b as { messages: { content: string }[] }).messages[0].content);
    expect(contents.some((c) => c.includes('```untrusted\nalpha\nbeta\n```'))).toBe(true);
    expect(contents.some((c) => c.includes('```untrusted\nalpha\n\n```'))).toBe(true);
  });

  it('connection test: works, and explains a network/CORS failure per server', async () => {
    const { j } = judge();
    script = [{ kind: 'good', content: 'OK' }];
    expect(await j.testConnection()).toMatchObject({ ok: true, hints: [] });
    // a port with nothing listening on 127.0.0.1
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = new HttpJudge({ baseUrl: `http://127.0.0.1:${deadPort}/v1`, model: 'm', timeoutMs: 1000 });
    const rep = await dead.testConnection();
    expect(rep.ok).toBe(false);
    const text = rep.hints.join('\n');
    for (const w of ['OLLAMA_ORIGINS', '--allowed-origins', 'llama-server', 'LM Studio', 'OpenAI', 'key']) expect(text).toContain(w);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores junk', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
  it('corsHints names every known server', () => {
    expect(corsHints('http://x').length).toBeGreaterThanOrEqual(6);
  });
});
