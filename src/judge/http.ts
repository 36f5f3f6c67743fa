// A judge served by any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, Ollama,
// llama.cpp's llama-server, LM Studio, OpenAI). Pure fetch: works in the browser, a worker and
// Node; fetch is injectable for tests.
import { callFailure, scoreFromReply } from './parse.ts';
import { checkTemplates, judgePrompt, STRUCTURED_SUFFIX, type TemplateKind } from './prompts.ts';
import type { Judge, JudgeItem, JudgeScore, Normalisation, OutcomeInput, ProcessInput, ScorePick } from './types.ts';
import { processTexts } from './types.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpJudgeOptions {
  /** Base URL that ends before /chat/completions, e.g. http://127.0.0.1:11434/v1 */
  baseUrl: string;
  model: string;
  apiKey?: string;
  fetch?: FetchLike;
  /** Ask for {"rationale", "score"} through response_format json_schema. */
  structured?: boolean;
  pick?: ScorePick;
  normalisation?: Normalisation;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per-request limit in ms (default 120 000). */
  timeoutMs?: number;
  /** Extra attempts after the first, for 429, 5xx, network errors and timeouts (default 3). */
  retries?: number;
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

export class HttpJudge implements Judge {
  readonly name: string;
  private readonly fetchFn: FetchLike;
  private readonly sem: Semaphore;
  private readonly cache = new Map<string, Promise<string>>();
  private structuredOk: boolean;
  private s: JudgeStats = HttpJudge.emptyStats();

  constructor(private readonly o: HttpJudgeOptions) {
    this.name = `http:${o.model}`;
    this.fetchFn = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sem = new Semaphore(Math.max(1, o.concurrency ?? 4));
    this.structuredOk = o.structured ?? false;
    checkTemplates(o.templates);
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

  private url(path: string): string {
    return `${this.o.baseUrl.replace(/\/+$/, '')}${path}`;
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
    const timeoutMs = this.o.timeoutMs ?? 120_000;
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
        res = await this.fetchFn(this.url('/chat/completions'), {
          method: 'POST',
          headers: this.headers(),
          body,
          signal: ctrl.signal,
        });
        text = await res.text();
      } catch (e) {
        if (signal?.aborted) throw new CallError('cancelled', false);
        if (timedOut) throw new CallError(`timed out after ${timeoutMs} ms`, true);
        throw new CallError(`network error: ${(e as Error).message}`, true);
      }
      if (!res.ok) {
        const retryable = res.status === 429 || res.status >= 500;
        const ra = parseRetryAfter(res.headers.get('retry-after'), this.now());
        throw new CallError(`HTTP ${res.status}: ${text.slice(0, 300)}`, retryable, res.status, ra);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new CallError(`server answered with malformed JSON: ${text.slice(0, 200)}`, false);
      }
      const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
      if (typeof content !== 'string') {
        throw new CallError('server reply has no choices[0].message.content string', false);
      }
      return content;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Retries with exponential backoff; a server's Retry-After wins over the backoff. */
  private async withRetries(body: string, signal?: AbortSignal): Promise<string> {
    const retries = this.o.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sem.run(() => this.request(body, signal));
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

  /** Cached by the exact body: the same prompt at temperature 0 is asked only once. */
  private cached(body: string, signal?: AbortSignal): { hit: boolean; reply: Promise<string> } {
    if (this.o.cache === false) return { hit: false, reply: this.withRetries(body, signal) };
    const prev = this.cache.get(body);
    if (prev) return { hit: true, reply: prev };
    const p = this.withRetries(body, signal);
    this.cache.set(body, p);
    p.catch(() => this.cache.delete(body)); // failures are not remembered
    return { hit: false, reply: p };
  }

  /** Sends one prompt and parses its reply; never throws. */
  async scorePrompt(prompt: string, signal?: AbortSignal): Promise<JudgeScore> {
    this.s.calls++;
    const t0 = this.now();
    let structured = this.structuredOk;
    let raw: string;
    try {
      try {
        const c = this.cached(this.requestBody(prompt, structured), signal);
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
        const c = this.cached(this.requestBody(prompt, false), signal);
        if (c.hit) this.s.cacheHits++;
        raw = await c.reply;
        if (c.hit) return this.parse(raw, structured);
      }
    } catch (e) {
      this.s.failures++;
      return callFailure((e as Error).message);
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
      return { ok: true, latencyMs: this.now() - t0, message: `server answered: ${reply.slice(0, 80)}`, hints: [] };
    } catch (e) {
      const err = e as CallError;
      const status = err instanceof CallError ? err.status : undefined;
      const hints =
        status === 401 || status === 403
          ? ['The server refused the key: check the API key field.']
          : status === 404
            ? ['Not found: the base URL should end before /chat/completions (usually .../v1), and the model name must exist on the server.']
            : status === undefined
              ? corsHints(this.o.baseUrl)
              : [];
      return { ok: false, latencyMs: this.now() - t0, message: err.message, hints };
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
