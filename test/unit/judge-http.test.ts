// Against a real HTTP server on 127.0.0.1 (node:http) that injects faults: every behaviour the
// judge must survive (slow replies past judge.timeoutMs, 429 with and without Retry-After,
// 500/503, reset connections, truncated and malformed JSON, empty choices, replies without a
// score, redirects), and a check that no number ever comes from a failed call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rng } from '../support/check';
import { corsHints, HttpJudge, type HttpJudgeOptions, parseRetryAfter } from '../../src/judge/http.ts';

type Behaviour =
  | { kind: 'good'; content: string; delayMs?: number }
  /** Headers and half the body at once, the rest after delayMs. */
  | { kind: 'slow-body'; content: string; delayMs: number }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string; location?: string }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'truncated' }
  | { kind: 'empty-choices' };

let server: Server;
let baseUrl = '';
/** Behaviours served in order; when empty, a good "Score: 3" answer. */
let script: Behaviour[] = [];
/** Behaviours for the prompt holding "call-N", in order; they win over `script`. */
let byCall = new Map<number, Behaviour[]>();
let bodies: Record<string, unknown>[] = [];
let requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
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
  requests.push({ url: req.url ?? '', headers: req.headers, body: raw });
  bodies.push(JSON.parse(raw) as Record<string, unknown>);
  const call = /call-(\d+)/.exec(raw);
  const own = call === null ? undefined : byCall.get(Number(call[1]));
  const b: Behaviour = (own !== undefined ? own.shift() : script.shift()) ?? { kind: 'good', content: 'fine\nScore: 3' };
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
      if (b.location !== undefined) h.location = b.location;
      res.writeHead(b.status, h);
      res.end(b.body ?? '{"error":"nope"}');
    } else if (b.kind === 'reset') {
      req.socket.destroy();
    } else if (b.kind === 'slow-body') {
      const text = JSON.stringify({ choices: [{ message: { role: 'assistant', content: b.content } }] });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(text.slice(0, 10));
      await new Promise((r) => setTimeout(r, b.delayMs));
      if (!res.destroyed) res.end(text.slice(10));
    } else if (b.kind === 'truncated') {
      const text = JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'fine\nScore: 5' } }] });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text.slice(0, text.length - 9));
    } else if (b.kind === 'empty-choices') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices": []}');
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
  byCall = new Map();
  bodies = [];
  requests = [];
  inFlight = 0;
  maxInFlight = 0;
});

/**
 * The timeout for tests that need a good reply to beat it: 1.5 s, so that a
 * loaded CI machine (the browser projects run beside this one) still answers
 * in time. A 400 ms timeout once failed a good reply there.
 */
const TIMELY_MS = 1500;

const item = { question: 'What is 2+3?', reference: '2 + 3 = 5', trace: 'It is 5.' };

function judge(extra: Partial<HttpJudgeOptions> = {}) {
  const waits: number[] = [];
  const j = new HttpJudge({
    baseUrl,
    model: 'test-model',
    timeoutMs: 2000,
    retries: 3,
    breakerAfter: 100,
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

  it('does not retry a 400', async () => {
    script = [{ kind: 'status', status: 400 }];
    const { j } = judge();
    expect((await j.outcome(item)).ok).toBe(false);
    expect(j.stats()).toMatchObject({ requests: 1, failures: 1, retries: 0 });
  });

  it('retries a 200 reply with malformed or truncated JSON, no choices, or no score, and takes the good answer after them', async () => {
    script = [{ kind: 'malformed' }, { kind: 'truncated' }, { kind: 'empty-choices' }, { kind: 'good', content: 'I cannot say.' }, { kind: 'good', content: 'ok\nScore: 2' }];
    const { j, waits } = judge({ retries: 4 });
    expect(await j.outcome(item)).toMatchObject({ ok: true, score: 2, value: 0.25 });
    expect(waits).toEqual([10, 20, 40, 80]);
    expect(j.stats()).toMatchObject({ requests: 5, retries: 4, failures: 0, parseFailures: 0 });
  });

  it('gives up on malformed 200 replies after the retries, with a failure and no number', async () => {
    for (const [fault, message] of [
      ['malformed', /malformed or truncated JSON/],
      ['truncated', /malformed or truncated JSON/],
      ['empty-choices', /no choices/],
    ] as const) {
      script = [{ kind: fault }, { kind: fault }, { kind: fault }];
      const { j } = judge({ retries: 2 });
      const r = await j.outcome({ ...item, trace: fault });
      expect(r, fault).toMatchObject({ ok: false, failure: { kind: 'call' } });
      expect(r).not.toHaveProperty('score');
      expect(r).not.toHaveProperty('value');
      if (!r.ok) expect(r.failure.message).toMatch(message);
      expect(j.stats()).toMatchObject({ requests: 3, retries: 2, failures: 1 });
    }
    script = [{ kind: 'good', content: 'no verdict' }, { kind: 'good', content: 'still none' }];
    const { j } = judge({ retries: 1 });
    const r = await j.outcome({ ...item, trace: 'no score' });
    expect(r).toMatchObject({ ok: false, raw: 'still none', failure: { kind: 'parse' } });
    expect(j.stats()).toMatchObject({ requests: 2, retries: 1, parseFailures: 1 });
    // A reply without a score is not remembered: the same prompt is asked again.
    await j.outcome({ ...item, trace: 'no score' });
    expect(j.stats().requests).toBe(3);
  });

  it('retries 429 without Retry-After on the backoff, and 503', async () => {
    script = [{ kind: 'status', status: 429 }, { kind: 'status', status: 503 }, { kind: 'good', content: 'Score: 5' }];
    const { j, waits } = judge();
    expect(await j.outcome(item)).toMatchObject({ ok: true, score: 5 });
    expect(waits).toEqual([10, 20]);
  });

  it('times out a reply whose body stalls past judge.timeoutMs', async () => {
    script = [{ kind: 'slow-body', content: 'Score: 5', delayMs: 8000 }, { kind: 'good', content: 'Score: 1' }];
    const { j } = judge({ timeoutMs: TIMELY_MS });
    const t0 = performance.now();
    expect(await j.outcome(item)).toMatchObject({ ok: true, score: 1 });
    expect(performance.now() - t0).toBeLessThan(6000);
    expect(j.stats().retries).toBe(1);
  });

  it('times out a slow answer (AbortController) and retries it', async () => {
    script = [{ kind: 'good', content: 'Score: 5', delayMs: 6000 }, { kind: 'good', content: 'Score: 4' }];
    const { j } = judge({ timeoutMs: TIMELY_MS });
    const r = await j.outcome(item);
    expect(r).toMatchObject({ ok: true, score: 4 });
    expect(j.stats().retries).toBe(1);
    const { j: j2 } = judge({ timeoutMs: TIMELY_MS, retries: 0 });
    script = [{ kind: 'good', content: 'Score: 5', delayMs: 6000 }];
    const r2 = await j2.outcome(item);
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.failure.message).toMatch(/timed out after 1500 ms \(judge.timeoutMs\)/);
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
    const { j } = judge({ retries: 0 });
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
    const dead = new HttpJudge({ baseUrl: `http://127.0.0.1:${deadPort}/v1`, model: 'm', timeoutMs: 1000, retries: 0, breakerAfter: 1 });
    const rep = await dead.testConnection();
    expect(rep.ok).toBe(false);
    const text = rep.hints.join('\n');
    for (const w of ['OLLAMA_ORIGINS', '--allowed-origins', 'llama-server', 'LM Studio', 'OpenAI', 'key']) expect(text).toContain(w);
  });
});


describe('HttpJudge against the fault server: rewards after retries', () => {
  const faults: Behaviour[] = [
    { kind: 'status', status: 429, retryAfter: '0' },
    { kind: 'status', status: 429 },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503 },
    { kind: 'reset' },
    { kind: 'malformed' },
    { kind: 'truncated' },
    { kind: 'empty-choices' },
    { kind: 'good', content: 'Looks right, no verdict.' },
  ];
  // Slow replies are mixed in by the next test: here the limit is far away, so that on a loaded
  // machine (server and judge share one event loop) a timely reply never times out.

  it('every score is the one a good reply within the retries gave; a call that got none has no number', async () => {
    for (const seed of [1, 2, 3]) {
      const next = rng(seed);
      const retries = 2;
      const calls = 24;
      const expected: (number | null)[] = [];
      const attempts: number[] = [];
      byCall = new Map();
      for (let c = 0; c < calls; c++) {
        const plan: Behaviour[] = [];
        let got: number | null = null;
        for (let attempt = 0; attempt <= retries && got === null; attempt++) {
          if (next() < 0.45) {
            const score = 1 + Math.floor(next() * 5);
            plan.push({ kind: 'good', content: `call ${c}\nScore: ${score}` });
            got = score;
          } else {
            plan.push(faults[Math.floor(next() * faults.length)]);
          }
        }
        // What the server would serve past the retries: a good answer the judge must never see.
        attempts.push(plan.length);
        plan.push({ kind: 'good', content: 'too late\nScore: 5' });
        byCall.set(c, plan);
        expected.push(got);
      }
      const { j } = judge({ retries, timeoutMs: 20_000, concurrency: 8, cache: false });
      const results = await Promise.all(Array.from({ length: calls }, (_, c) => j.outcome({ ...item, trace: `call-${c}` })));
      results.forEach((r, c) => {
        const want = expected[c];
        if (want === null) {
          expect(r.ok, `seed ${seed} call ${c}`).toBe(false);
          expect(r).not.toHaveProperty('score');
          expect(r).not.toHaveProperty('value');
        } else {
          expect(r, `seed ${seed} call ${c} ${JSON.stringify(r)}`).toMatchObject({ ok: true, score: want, value: (want - 1) / 4 });
        }
      });
      // Each call made exactly its attempts, never more than 1 + retries.
      const perCall = new Map<number, number>();
      for (const q of requests) {
        const m = /call-(\d+)/.exec(q.body);
        if (m) perCall.set(Number(m[1]), (perCall.get(Number(m[1])) ?? 0) + 1);
      }
      for (let c = 0; c < calls; c++) expect(perCall.get(c), `seed ${seed} call ${c}`).toBe(attempts[c]);
      requests = [];
    }
  });

  it('slow replies past judge.timeoutMs count as failed attempts: the score is the next good reply, or none', async () => {
    const slow: Behaviour[] = [
      { kind: 'good', content: 'late\nScore: 5', delayMs: 9000 },
      { kind: 'slow-body', content: 'late\nScore: 5', delayMs: 9000 },
    ];
    byCall = new Map([
      [0, [slow[0], { kind: 'good', content: 'Score: 2' }]],
      [1, [slow[1], slow[0], { kind: 'good', content: 'Score: 4' }]],
      [2, [slow[0], slow[1], slow[0], { kind: 'good', content: 'too late\nScore: 5' }]],
      [3, [slow[1], { kind: 'status', status: 503 }, { kind: 'good', content: 'Score: 1' }]],
    ]);
    const { j } = judge({ retries: 2, timeoutMs: TIMELY_MS, cache: false });
    const t0 = performance.now();
    const rs = await Promise.all([0, 1, 2, 3].map((c) => j.outcome({ ...item, trace: `call-${c}` })));
    // Three timed-out attempts take 3 x 1.5 s; a late reply would take 9 s.
    expect(performance.now() - t0).toBeLessThan(8000);
    expect(rs[0]).toMatchObject({ ok: true, score: 2 });
    expect(rs[1]).toMatchObject({ ok: true, score: 4 });
    expect(rs[2]).toMatchObject({ ok: false, failure: { kind: 'call' } });
    expect(rs[2]).not.toHaveProperty('score');
    if (!rs[2].ok) expect(rs[2].failure.message).toMatch(/timed out after 1500 ms/);
    expect(rs[3]).toMatchObject({ ok: true, score: 1 });
  });

  it('opens its circuit after judge.breakerAfter failed calls in a row: later calls fail at once, with the reason', async () => {
    script = Array.from({ length: 20 }, () => ({ kind: 'status', status: 503 }) as Behaviour);
    const { j } = judge({ retries: 1, breakerAfter: 2, concurrency: 1 });
    expect(j.tripped()).toBeNull();
    for (const t of ['a', 'b']) expect((await j.outcome({ ...item, trace: t })).ok).toBe(false);
    expect(requests).toHaveLength(4);
    const reason = j.tripped();
    expect(reason).toMatch(new RegExp(`at ${baseUrl.replace('/v1', '').replace(/\./g, '\\.')} failed 2 calls in a row \\(judge.breakerAfter 2\\).*HTTP 503`));
    const r = await j.outcome({ ...item, trace: 'c' });
    expect(r).toMatchObject({ ok: false, failure: { kind: 'call', message: reason } });
    expect(requests).toHaveLength(4);
  });

  it('a success ends a run of failures', async () => {
    script = [{ kind: 'status', status: 500 }, { kind: 'good', content: 'Score: 3' }, { kind: 'status', status: 500 }];
    const { j } = judge({ retries: 0, breakerAfter: 2, concurrency: 1 });
    for (const t of ['a', 'b', 'c']) await j.outcome({ ...item, trace: t });
    expect(j.tripped()).toBeNull();
  });

  it('keeps the endpoint\'s query (an api-version) and appends the path before it', async () => {
    const { j } = judge({ baseUrl: `${baseUrl}/?api-version=2024-06-01` });
    expect(await j.outcome(item)).toMatchObject({ ok: true });
    expect(requests[0].url).toBe('/v1/chat/completions?api-version=2024-06-01');
  });

  it('refuses an endpoint holding a credential without showing it', () => {
    for (const url of ['http://user:s3cr3t-pass@127.0.0.1:1/v1', 'http://127.0.0.1:1/v1?api_key=s3cr3t-pass', 'http://127.0.0.1:1/v1?token=s3cr3t-pass']) {
      let message = '';
      try {
        judge({ baseUrl: url });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, url).toMatch(/holds .*judge.apiKeyEnv/);
      expect(message).not.toContain('s3cr3t');
    }
  });
});

describe('HttpJudge and its API key', () => {
  const key = 'sk-live_Zq9/+x=Yk3 é%41';
  const spellings = (k: string): string[] => {
    const bytes = new TextEncoder().encode(k);
    const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
    return [k, encodeURIComponent(k), JSON.stringify(k).slice(1, -1), b64(bytes), b64(new TextEncoder().encode(`user:${k}`))];
  };

  it('sends the key only as a Bearer Authorization header, to the endpoint\'s origin', async () => {
    const { j } = judge({ apiKey: key });
    expect(await j.outcome(item)).toMatchObject({ ok: true });
    expect(requests).toHaveLength(1);
    expect(requests[0].headers.authorization).toBe(`Bearer ${key}`);
    for (const sp of spellings(key)) {
      expect(requests[0].body).not.toContain(sp);
      expect(requests[0].url).not.toContain(sp);
    }
    expect(j.origin).toBe(new URL(baseUrl).origin);
  });

  it('does not follow a redirect (to another origin the key would go along)', async () => {
    const other: { hits: number } = { hits: 0 };
    const elsewhere = createServer((_req, res) => {
      other.hits++;
      res.end('{}');
    });
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', r));
    const there = `http://localhost:${(elsewhere.address() as AddressInfo).port}/v1/chat/completions`;
    try {
      for (const status of [301, 302, 307, 308]) {
        script = [{ kind: 'status', status, location: there }];
        const { j } = judge({ apiKey: key, retries: 3 });
        const r = await j.outcome({ ...item, trace: String(status) });
        expect(r).toMatchObject({ ok: false, failure: { kind: 'call' } });
        if (!r.ok) expect(r.failure.message).toMatch(/redirects .*not followed/);
      }
      expect(other.hits).toBe(0);
      expect(requests).toHaveLength(4);
    } finally {
      await new Promise((r) => elsewhere.close(r));
    }
  });

  it('redacts the key, in every spelling, from replies, rationales and failures a server echoes it in', async () => {
    const echo = spellings(key).join(' | ');
    const basic = `Authorization: Basic ${Buffer.from(`me:${key}`).toString('base64')}`;
    script = [
      { kind: 'status', status: 401, body: `{"error": "bad key ${echo} ${basic} https://me:${encodeURIComponent(key)}@x.test/"}` },
      { kind: 'good', content: `Your key is ${echo}; ${basic}.\nScore: 4` },
      { kind: 'status', status: 500, body: echo },
      { kind: 'status', status: 500, body: basic },
    ];
    const { j } = judge({ apiKey: key, retries: 0 });
    const outs = [await j.outcome({ ...item, trace: 'a' }), await j.outcome({ ...item, trace: 'b' }), await j.outcome({ ...item, trace: 'c' }), await j.outcome({ ...item, trace: 'd' })];
    expect(outs[1]).toMatchObject({ ok: true, score: 4 });
    script = [{ kind: 'good', content: `OK ${echo}` }];
    const conn = await j.testConnection();
    const text = JSON.stringify([outs, conn]);
    expect(text).toContain('[redacted]');
    for (const sp of spellings(key)) expect(text).not.toContain(sp);
    for (const sp of spellings(key)) expect(text).not.toContain(JSON.stringify(sp).slice(1, -1));
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
