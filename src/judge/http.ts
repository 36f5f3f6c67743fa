// A judge served by any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, Ollama,
// llama.cpp's llama-server, LM Studio, OpenAI). Pure fetch: works in the browser, a worker and
// Node; fetch is injectable for tests.
//
// Limits come from the run config (judge.timeoutMs, judge.retries, judge.breakerAfter): the class
// has no defaults of its own for them. The API key goes only in the Authorization header, only to
// baseUrl's origin (redirects are refused, not followed), and every text the judge hands back
// (replies, rationales, failure messages) is redacted of it.
import { CircuitBreaker } from './breaker.ts';
import { callFailure, scoreFromReply } from './parse.ts';
import { checkTemplates, judgePrompt, STRUCTURED_SUFFIX, type TemplateKind } from './prompts.ts';
import type { Judge, JudgeItem, JudgeScore, Normalisation, OutcomeInput, ProcessInput, ScorePick } from './types.ts';
import { processTexts } from './types.ts';
import { Redactor, redactUrl, urlCredential } from './redact.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpJudgeOptions {
  /** Base URL that ends before /chat/completions, e.g. http://127.0.0.1:11434/v1 */
  baseUrl: string;
  model: string;
  /** Sent as "Authorization: Bearer <key>"; never shown. */
  apiKey?: string;
  fetch?: FetchLike;
  /** Ask for {"rationale", "score"} through response_format json_schema. */
  structured?: boolean;
  pick?: ScorePick;
  normalisation?: Normalisation;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per-request limit in ms, the body included (judge.timeoutMs). */
  timeoutMs: number;
  /**
   * Extra attempts after the first (judge.retries), for 429, 5xx, network errors, timeouts, and
   * 200 replies with no readable score (truncated or invalid JSON, no choices, no score).
   */
  retries: number;
  /** Calls in a row that fail after their retries before the judge stops calling (judge.breakerAfter). */
  breakerAfter: number;
  /** First backoff in ms, doubled per attempt (default 500), capped at maxBackoffMs (30 000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Upper bound on a server's Retry-After, in ms (default 60 000). */
  maxRetryAfterMs?: number;
  maxTokens?: number;
  templates?: Partial<Record<TemplateKind, string>>;
  /** false turns the cache off. */
  cache?: boolean;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface JudgeStats {
  /** Logical judge calls (one per score asked for), cache hits included. */
  calls: number;
  cacheHits: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  /** Calls that still failed after their retries. */
  failures: number;
  parseFailures: number;
  /** Latency of calls answered by the server (not cache hits), ms. */
  latencyMsTotal: number;
  latencyMsMean: number;
  /** True once the server refused response_format and the judge fell back to text. */
  structuredFallback: boolean;
}

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Retry-After as ms: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const JSON_SCHEMA = {
  type: 'json_schema',
  json_schema: {
    name: 'judge_score',
    strict: true,
    schema: {
      type: 'object',
      properties: { rationale: { type: 'string' }, score: { type: 'integer', minimum: 1, maximum: 5 } },
      required: ['rationale', 'score'],
      additionalProperties: false,
    },
  },
} as const;

class CallError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number | null,
  ) {
    super(message);
  }
}

/** The reply's text, or why the reply holds none (an OpenAI-compatible chat completion). */
function replyContent(text: string): { content: string } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: `the server answered 200 with malformed or truncated JSON: ${JSON.stringify(text.slice(0, 200))}` };
  }
  const choices = (json as { choices?: unknown })?.choices;
  if (!Array.isArray(choices) || choices.length === 0) return { problem: 'the server answered 200 with no choices' };
  const content = (choices[0] as { message?: { content?: unknown } })?.message?.content;
  if (typeof content !== 'string') return { problem: 'the server reply has no choices[0].message.content string' };
  return { content };
}

export class HttpJudge implements Judge {
  readonly name: string;
  private readonly fetchFn: FetchLike;
  private readonly sem: Semaphore;
  private readonly cache = new Map<string, Promise<string>>();
  private structuredOk: boolean;
  private s: JudgeStats = HttpJudge.emptyStats();
  private readonly endpoint: URL;
  private readonly redactor: Redactor;
  private readonly breaker: CircuitBreaker;

  constructor(private readonly o: HttpJudgeOptions) {
    this.name = `http:${o.model}`;
    const credential = urlCredential(o.baseUrl);
    if (credential !== null) {
      throw new Error(`the judge endpoint ${redactUrl(o.baseUrl)} holds ${credential}; a key goes in an environment variable named by judge.apiKeyEnv`);
    }
    try {
      this.endpoint = new URL(o.baseUrl);
    } catch {
      throw new Error(`the judge endpoint ${JSON.stringify(redactUrl(o.baseUrl))} is not a URL`);
    }
    for (const [what, v] of [['timeoutMs', o.timeoutMs], ['retries', o.retries]] as const) {
      if (!Number.isInteger(v) || v < (what === 'retries' ? 0 : 1)) throw new Error(`HttpJudge: ${what} must be an integer >= ${what === 'retries' ? 0 : 1}, got ${v}`);
    }
    this.redactor = new Redactor(o.apiKey === undefined ? [] : [o.apiKey]);
    this.breaker = new CircuitBreaker(o.breakerAfter, `at ${this.endpoint.origin}`);
    this.fetchFn = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sem = new Semaphore(Math.max(1, o.concurrency ?? 4));
    this.structuredOk = o.structured ?? false;
    checkTemplates(o.templates);
  }

  /** The origin requests (and the key) go to. */
  get origin(): string {
    return this.endpoint.origin;
  }

  tripped(): string | null {
    return this.breaker.open();
  }

  /** A text with the key (every spelling) and any credential shape removed. */
  redact(text: string): string {
    return this.redactor.text(text);
  }

  private static emptyStats(): JudgeStats {
    return {
      calls: 0,
      cacheHits: 0,
      requests: 0,
      retries: 0,
      failures: 0,
      parseFailures: 0,
      latencyMsTotal: 0,
      latencyMsMean: 0,
      structuredFallback: false,
    };
  }

  stats(): JudgeStats {
    const answered = this.s.calls - this.s.cacheHits - this.s.failures;
    return { ...this.s, latencyMsMean: answered > 0 ? this.s.latencyMsTotal / answered : 0 };
  }

  resetStats(): void {
    const fallback = this.s.structuredFallback;
    this.s = HttpJudge.emptyStats();
    this.s.structuredFallback = fallback;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private sleep(ms: number): Promise<void> {
    return this.o.sleep ? this.o.sleep(ms) : new Promise((r) => setTimeout(r, ms));
  }

  /** baseUrl's path with `path` appended; its query (an api-version, say) is kept. */
  private url(path: string): string {
    const u = new URL(this.endpoint.href);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
    return u.href;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (this.o.apiKey) h.authorization = `Bearer ${this.o.apiKey}`;
    return h;
  }

  /** The exact request body for a prompt (also the cache key). */
  requestBody(prompt: string, structured: boolean): string {
    const body: Record<string, unknown> = {
      model: this.o.model,
      messages: [{ role: 'user', content: structured ? prompt + STRUCTURED_SUFFIX : prompt }],
      temperature: 0,
    };
    if (this.o.maxTokens !== undefined) body.max_tokens = this.o.maxTokens;
    if (structured) body.response_format = JSON_SCHEMA;
    return JSON.stringify(body);
  }

  /** One HTTP request with its own timeout; throws CallError. */
  private async request(body: string, signal?: AbortSignal): Promise<string> {
    const ctrl = new AbortController();
    const timeoutMs = this.o.timeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, timeoutMs);
    const onAbort = () => ctrl.abort();
    signal?.addEventListener('abort', onAbort);
    this.s.requests++;
    try {
      let res: Response;
      let text: string;
      try {
        // A redirect is not followed: it could carry the key to another origin.
        res = await this.fetchFn(this.url('/chat/completions'), {
          method: 'POST',
          headers: this.headers(),
          body,
          signal: ctrl.signal,
          redirect: 'manual',
        });
        text = await res.text();
      } catch (e) {
        if (signal?.aborted) throw new CallError('cancelled', false);
        if (timedOut) throw new CallError(`timed out after ${timeoutMs} ms (judge.timeoutMs)`, true);
        const cause = (e as Error & { cause?: Error }).cause?.message;
        throw new CallError(`network error: ${(e as Error).message}${cause ? ` (${cause})` : ''}`, true);
      }
      if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
        const to = res.headers.get('location');
        throw new CallError(`HTTP ${res.status || 'redirect'}: the server redirects${to ? ` to ${redactUrl(to)}` : ''}; redirects are not followed (the key must not go elsewhere): set judge.endpoint to the final URL`, false, res.status);
      }
      if (!res.ok) {
        const retryable = res.status === 429 || res.status >= 500;
        const ra = parseRetryAfter(res.headers.get('retry-after'), this.now());
        throw new CallError(`HTTP ${res.status}: ${text.slice(0, 300)}`, retryable, res.status, ra);
      }
      const reply = replyContent(text);
      if ('problem' in reply) throw new CallError(reply.problem, true);
      return reply.content;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Retries with exponential backoff; a server's Retry-After wins over the backoff. A reply that
   * `usable` refuses (no readable score) is asked again while retries remain; the last one is
   * returned as it is (the caller reports it as a parse failure, never as a number).
   */
  private async withRetries(body: string, usable: (raw: string) => boolean, signal?: AbortSignal): Promise<string> {
    const retries = this.o.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        const raw = await this.sem.run(() => this.request(body, signal));
        if (usable(raw) || attempt >= retries) return raw;
        throw new CallError('no readable score in the reply', true);
      } catch (e) {
        const err = e as CallError;
        if (!(err instanceof CallError) || !err.retryable || attempt >= retries) throw e;
        const backoff = Math.min((this.o.backoffMs ?? 500) * 2 ** attempt, this.o.maxBackoffMs ?? 30_000);
        const wait =
          err.retryAfterMs !== undefined && err.retryAfterMs !== null
            ? Math.min(err.retryAfterMs, this.o.maxRetryAfterMs ?? 60_000)
            : backoff;
        this.s.retries++;
        await this.sleep(wait);
        if (signal?.aborted) throw new CallError('cancelled', false);
      }
    }
  }

  /** Cached by the exact body: the same prompt at temperature 0 is asked only once (a reply with a readable score). */
  private cached(body: string, structured: boolean, signal?: AbortSignal): { hit: boolean; reply: Promise<string> } {
    const usable = (raw: string): boolean => scoreFromReply(raw, { structured, pick: this.o.pick, normalisation: this.o.normalisation }).ok;
    if (this.o.cache === false) return { hit: false, reply: this.withRetries(body, usable, signal) };
    const prev = this.cache.get(body);
    if (prev) return { hit: true, reply: prev };
    const p = this.withRetries(body, usable, signal);
    this.cache.set(body, p);
    // Failures and replies without a score are not remembered.
    p.then(
      (raw) => {
        if (!usable(raw)) this.cache.delete(body);
      },
      () => this.cache.delete(body),
    );
    return { hit: false, reply: p };
  }

  /** Sends one prompt and parses its reply; never throws. Every text in the result is redacted. */
  async scorePrompt(prompt: string, signal?: AbortSignal): Promise<JudgeScore> {
    const r = await this.scoreRaw(prompt, signal);
    if (!r.ok && r.failure.kind === 'call') {
      if (!signal?.aborted) this.breaker.failure(r.failure.message);
    } else {
      this.breaker.success();
    }
    return r.ok
      ? { ...r, raw: this.redact(r.raw), rationale: this.redact(r.rationale) }
      : { ...r, raw: this.redact(r.raw), rationale: this.redact(r.rationale), failure: { ...r.failure, message: this.redact(r.failure.message) } };
  }

  private async scoreRaw(prompt: string, signal?: AbortSignal): Promise<JudgeScore> {
    this.s.calls++;
    const open = this.breaker.open();
    if (open !== null) {
      this.s.failures++;
      return callFailure(open);
    }
    const t0 = this.now();
    let structured = this.structuredOk;
    let raw: string;
    try {
      try {
        const c = this.cached(this.requestBody(prompt, structured), structured, signal);
        if (c.hit) this.s.cacheHits++;
        raw = await c.reply;
        if (c.hit) return this.parse(raw, structured);
      } catch (e) {
        const err = e as CallError;
        // A server that does not support json_schema usually answers 400/422 (or 501): go on in
        // text mode for this call and every later one.
        const refused = err instanceof CallError && [400, 422, 501].includes(err.status ?? 0);
        if (!(structured && refused)) throw e;
        this.structuredOk = false;
        this.s.structuredFallback = true;
        structured = false;
        const c = this.cached(this.requestBody(prompt, false), false, signal);
        if (c.hit) this.s.cacheHits++;
        raw = await c.reply;
        if (c.hit) return this.parse(raw, structured);
      }
    } catch (e) {
      this.s.failures++;
      return callFailure(`${(e as Error).message} (${this.endpoint.origin})`);
    }
    this.s.latencyMsTotal += this.now() - t0;
    return this.parse(raw, structured);
  }

  private parse(raw: string, structured: boolean): JudgeScore {
    const r = scoreFromReply(raw, { structured, pick: this.o.pick, normalisation: this.o.normalisation });
    if (!r.ok) this.s.parseFailures++;
    return r;
  }

  private prompt(kind: TemplateKind, item: JudgeItem, trace: string): string {
    return judgePrompt(this.o.templates, kind, item, trace);
  }

  outcome(input: OutcomeInput, signal?: AbortSignal): Promise<JudgeScore> {
    return this.scorePrompt(this.prompt('outcome', input, input.trace), signal);
  }

  process(input: ProcessInput, signal?: AbortSignal): Promise<JudgeScore[]> {
    const texts = processTexts(input.segments, input.view);
    return Promise.all(texts.map((t) => this.scorePrompt(this.prompt(input.view, input, t), signal)));
  }

  /** Checks that the server answers a chat completion; explains what to fix when it does not. */
  async testConnection(signal?: AbortSignal): Promise<ConnectionReport> {
    const t0 = this.now();
    const body = JSON.stringify({
      model: this.o.model,
      messages: [{ role: 'user', content: 'Reply with the single word OK.' }],
      temperature: 0,
      max_tokens: 5,
    });
    try {
      const reply = await this.request(body, signal);
      return { ok: true, latencyMs: this.now() - t0, message: this.redact(`server answered: ${reply.slice(0, 80)}`), hints: [] };
    } catch (e) {
      const err = e as CallError;
      const status = err instanceof CallError ? err.status : undefined;
      const hints =
        status === 401 || status === 403
          ? ['The server refused the key: check the API key field.']
          : status === 404
            ? ['Not found: the base URL should end before /chat/completions (usually .../v1), and the model name must exist on the server.']
            : status === undefined
              ? corsHints(redactUrl(this.o.baseUrl))
              : [];
      return { ok: false, latencyMs: this.now() - t0, message: this.redact(err.message), hints: hints.map((h) => this.redact(h)) };
    }
  }
}

export interface ConnectionReport {
  ok: boolean;
  latencyMs: number;
  message: string;
  hints: string[];
}

/**
 * A browser reports a CORS refusal exactly like a server that is not running (a bare network
 * error), so both causes are named, with what each known server needs.
 */
export function corsHints(baseUrl: string): string[] {
  return [
    `No answer from ${baseUrl}. Either no server is listening there, or the browser blocked the request because the server does not allow this page's origin (CORS). Check that the server runs and that the URL opens in a new tab.`,
    'Ollama: set the environment variable OLLAMA_ORIGINS to this page\'s origin (for example OLLAMA_ORIGINS="http://localhost:5173", or "*" on a trusted machine) for the Ollama server process, then restart it.',
    "llama.cpp (llama-server): it has always answered any origin, so CORS is rarely the cause; recent builds have --cors-origins, so if yours restricts origins, pass --cors-origins with this page's origin. Also check --host/--port.",
    "vLLM: start it with --allowed-origins '[\"<this page's origin>\"]' (a JSON list; the default allows all origins, so also check --host and the port).",
    'LM Studio: turn on "Enable CORS" in the local server\'s settings (or start it with `lms server start --cors`).',
    'OpenAI (api.openai.com): browser requests work with an API key, but the key is then visible to this page and to anyone using this browser profile: use a restricted, low-limit key, or a proxy that adds the key server-side.',
    'A page served over https can be blocked from calling a plain-http address other than localhost (mixed content): serve the judge over https or open the page on http://localhost.',
  ];
}
