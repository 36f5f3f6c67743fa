// The page's "Test connection" for an OpenAI-compatible judge: one small judge request (the
// outcome prompt on a two-line sum) sent as a run would send it, and an account of what came
// back in the user's words: the server's reply as text, its latency, the score read from it, or
// why nothing usable came back and what to change (CORS above all: a browser reports a server
// that refuses this page's origin exactly like one that is not running).
//
// Pure fetch: no DOM; the caller shows every text with textContent. Every text returned is
// redacted of the key. The key is sent only when the caller hands it in (the page hands in the
// key bound to the endpoint's origin), only in the Authorization header; redirects are refused.
import type { FetchLike } from './http.ts';
import { scoreFromReply } from './parse.ts';
import { DEFAULT_TEMPLATES, judgePrompt, validateTemplate } from './prompts.ts';
import { Redactor, redactUrl, urlCredential } from './redact.ts';
import type { Normalisation, ScorePick } from './types.ts';

export interface ConnectionTestInput {
  /** judge.endpoint: the base URL before /chat/completions. */
  endpoint: string;
  model: string;
  /** The key to send (the caller decides: only the key bound to the endpoint's origin). */
  apiKey?: string;
  /** The outcome prompt template to send (default: the built-in one). */
  template?: string;
  maxTokens: number;
  timeoutMs: number;
  pick?: ScorePick;
  normalisation?: Normalisation;
  /** The origin of the page that sends the request (location.origin): CORS is judged against it. */
  pageOrigin: string;
  fetch?: FetchLike;
  now?: () => number;
  signal?: AbortSignal;
}

/** What went wrong, as far as a browser can tell. */
export type ConnectionProblem =
  | 'bad-endpoint'
  | 'bad-template'
  | 'cors-or-offline'
  | 'offline'
  | 'mixed-content'
  | 'timeout'
  | 'auth'
  | 'not-found'
  | 'rate-limited'
  | 'server-error'
  | 'http-error'
  | 'redirect'
  | 'bad-reply';

/** A failure as the request saw it, before it is classified. */
export type RequestFailure =
  | { kind: 'network'; message: string }
  | { kind: 'timeout'; ms: number }
  | { kind: 'http'; status: number }
  | { kind: 'redirect'; status: number }
  | { kind: 'bad-reply' };

export interface ConnectionTestResult {
  ok: boolean;
  /** From the request's start to the end of the answer's body (0 when nothing was sent). */
  latencyMs: number;
  /** The HTTP status, when one came back. */
  status?: number;
  /** What the server said: the reply's text (ok), or the body of an error answer; '' when none came back. */
  reply: string;
  /** One line: what happened. */
  message: string;
  /** The score read from the reply ("score 5 read …"), or why none could be (ok only). */
  score?: string;
  problem?: ConnectionProblem;
  /** What to check or change, in the user's words (empty when it worked). */
  hints: string[];
  /** Whether the key went with the request. */
  keySent: boolean;
}

/** The judge item of the test: small, with an obviously right answer. */
export const TEST_ITEM = { question: 'What is 2 + 3?', reference: '2 + 3 = 5\nAnswer: 5', trace: '2 + 3 = 5\nAnswer: 5' } as const;

/** Loopback hosts: a browser treats http to them as secure, and Ollama allows pages served from them. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return '';
  }
}

/**
 * The kind of a failure. A network error (a TypeError "Failed to fetch" in Chromium, "NetworkError
 * when attempting to fetch resource" in Firefox, "Load failed" in Safari) tells a page nothing
 * more: to another origin it is most often CORS; to the page's own origin it means no server.
 */
export function classifyFailure(f: RequestFailure, endpoint: string, pageOrigin: string): ConnectionProblem {
  switch (f.kind) {
    case 'network': {
      let target: URL;
      try {
        target = new URL(endpoint);
      } catch {
        return 'bad-endpoint';
      }
      if (pageOrigin.startsWith('https:') && target.protocol === 'http:' && !isLoopback(target.hostname)) return 'mixed-content';
      return target.origin === pageOrigin ? 'offline' : 'cors-or-offline';
    }
    case 'timeout':
      return 'timeout';
    case 'redirect':
      return 'redirect';
    case 'bad-reply':
      return 'bad-reply';
    case 'http':
      if (f.status === 401 || f.status === 403) return 'auth';
      if (f.status === 404) return 'not-found';
      if (f.status === 429) return 'rate-limited';
      if (f.status >= 500) return 'server-error';
      return 'http-error';
  }
}

/** `${endpoint}/models`, the URL to open in a tab to see whether the server answers at all. */
function modelsUrl(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/models`;
    u.search = '';
    return redactUrl(u.href);
  } catch {
    return redactUrl(endpoint);
  }
}

/** What to check or change for a problem, in the user's words, with this page's origin filled in. */
export function connectionHints(problem: ConnectionProblem, endpoint: string, pageOrigin: string, o: { keySent?: boolean; timeoutMs?: number } = {}): string[] {
  let origin = redactUrl(endpoint);
  try {
    origin = new URL(endpoint).origin;
  } catch {
    // shown as written (redacted)
  }
  const page = pageOrigin;
  switch (problem) {
    case 'bad-endpoint':
      return ['The judge endpoint must be an http:// or https:// URL without a key in it, e.g. http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama).'];
    case 'bad-template':
      return ['Fix the outcome judge prompt (or press "Reset prompts to default"): it must contain {{question}}, {{reference}} and {{trace}}.'];
    case 'cors-or-offline': {
      const out = [
        `The browser got no answer it may show to this page. This page runs at ${page} and the judge at ${origin}, another origin: the browser hands the server's answer to the page only when the server allows this page's origin (it answers with the header Access-Control-Allow-Origin: ${page}, or *). A server that does not is the usual cause of "Failed to fetch" here. It can also be that no server listens at ${origin}.`,
        `To tell the two apart, open ${modelsUrl(endpoint)} in a new tab. If it answers there, the server runs and CORS is what blocks this page: allow ${page} in the server's settings, as below.`,
        `vLLM: it allows every origin unless told otherwise; if it was started with --allowed-origins, include this page: vllm serve <model> --allowed-origins '["${page}"]' (a JSON list).`,
        `Ollama: it allows pages served from localhost and 127.0.0.1 only. For this page start it with the environment variable OLLAMA_ORIGINS set, e.g. OLLAMA_ORIGINS=${page} ollama serve (the variable must reach the Ollama server process; restart it after setting it).`,
        "llama.cpp (llama-server): it answers pages from any origin, so when it fails here it is usually not running or listens elsewhere: check --host and --port (default 127.0.0.1:8080, endpoint http://127.0.0.1:8080/v1).",
        'LM Studio: turn on "Enable CORS" in the local server\'s settings.',
        `Any other server or a proxy in front of it (nginx, Caddy): it must answer the browser's preflight request (OPTIONS) and the POST with Access-Control-Allow-Origin: ${page}, Access-Control-Allow-Methods: POST and Access-Control-Allow-Headers: authorization, content-type.`,
      ];
      if (!isLoopback(hostOf(page)) && isLoopback(hostOf(origin))) {
        out.push(`This page is not on your machine but the judge is: Chrome may also refuse a public page's requests to localhost (private network access). Open this app from http://localhost, or let the server answer the preflight with Access-Control-Allow-Private-Network: true.`);
      }
      return out;
    }
    case 'offline':
      return [`No answer from ${origin}: no server listens there, or it closed the connection. Check that the judge server runs and that ${modelsUrl(endpoint)} opens in a new tab.`];
    case 'mixed-content':
      return [`This page is served over https and the judge endpoint is plain http on another machine: browsers block such requests (mixed content) before they leave. Serve the judge over https (a reverse proxy with a certificate), or open this app on http://localhost.`];
    case 'timeout':
      return [`No complete answer within ${o.timeoutMs ?? '?'} ms (judge.timeoutMs). The server may still be loading the model or be busy: try again, or raise the limit in a config file.`];
    case 'auth':
      return [
        o.keySent
          ? 'The server refused the API key: check the key (re-enter it), and that it may use this model.'
          : 'The server wants an API key and none was sent: enter the key in the API key field (it is sent only to the origin it is entered for).',
      ];
    case 'not-found':
      return ['Not found: the endpoint should be the base URL that ends before /chat/completions (usually …/v1), and the judge model must be a name the server serves (GET …/v1/models lists them).'];
    case 'rate-limited':
      return ['The server says too many requests (HTTP 429): wait and try again; a run retries such calls (judge.retries).'];
    case 'server-error':
      return ['The server failed (HTTP 5xx): its own log says why (often the model name, or the model still loading). A run retries such calls (judge.retries).'];
    case 'http-error':
      return ['The server refused the request: its answer above says why (often the model name, or a parameter the server does not support).'];
    case 'redirect':
      return ['The server redirects the request. Redirects are not followed, so the key cannot be carried to another address: set the judge endpoint to the final URL (often https:// instead of http://, or a path without a trailing slash).'];
    case 'bad-reply':
      return ['The server answered, but not with an OpenAI-compatible chat completion (no choices[0].message.content): check that the endpoint is the server\'s OpenAI-compatible base URL (…/v1).'];
  }
}

/** The text of an OpenAI-compatible chat completion, or null when the body is not one. */
function completionText(body: string): string | null {
  try {
    const content = (JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
    return typeof content === 'string' ? content : null;
  } catch {
    return null;
  }
}

const MAX_SHOWN = 4000;

/** Sends one judge request to the endpoint and reports what came back; never throws. */
export async function testJudgeConnection(input: ConnectionTestInput): Promise<ConnectionTestResult> {
  const redactor = new Redactor(input.apiKey !== undefined ? [input.apiKey] : []);
  const r = (s: string): string => redactor.text(s);
  const now = input.now ?? (() => performance.now());
  const keySent = input.apiKey !== undefined && input.apiKey !== '';
  const fail = (problem: ConnectionProblem, message: string, more: Partial<ConnectionTestResult> = {}): ConnectionTestResult => ({
    ok: false,
    latencyMs: 0,
    keySent: false,
    ...more,
    message: r(message),
    problem,
    hints: connectionHints(problem, input.endpoint, input.pageOrigin, { keySent: more.keySent, timeoutMs: input.timeoutMs }).map(r),
    reply: r(more.reply ?? ''),
  });

  // Nothing is sent to an endpoint that is not an http(s) URL or holds a credential.
  const credential = urlCredential(input.endpoint);
  let url: URL;
  try {
    url = new URL(input.endpoint.trim());
  } catch {
    return fail('bad-endpoint', `The judge endpoint ${JSON.stringify(redactUrl(input.endpoint))} is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('bad-endpoint', `The judge endpoint must be http:// or https://, not ${url.protocol}`);
  if (credential !== null) return fail('bad-endpoint', `The judge endpoint ${redactUrl(input.endpoint)} holds ${credential}: nothing was sent. Put the key in the API key field.`);
  const template = input.template ?? DEFAULT_TEMPLATES.outcome;
  const templateErrors = validateTemplate(template);
  if (templateErrors.length > 0) return fail('bad-template', `The outcome judge prompt is refused: ${templateErrors.join('; ')}. Nothing was sent.`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;

  const body = JSON.stringify({
    model: input.model,
    messages: [{ role: 'user', content: judgePrompt({ outcome: template }, 'outcome', TEST_ITEM, TEST_ITEM.trace) }],
    temperature: 0,
    max_tokens: input.maxTokens,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (keySent) headers.authorization = `Bearer ${input.apiKey}`;
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, input.timeoutMs);
  const onAbort = (): void => ctrl.abort();
  input.signal?.addEventListener('abort', onAbort);
  const doFetch: FetchLike = input.fetch ?? ((u, init) => fetch(u, init));
  const t0 = now();
  let res: Response;
  let text: string;
  try {
    res = await doFetch(url.href, { method: 'POST', headers, body, signal: ctrl.signal, redirect: 'manual' });
    text = await res.text();
  } catch (e) {
    const latencyMs = now() - t0;
    if (timedOut) return fail('timeout', `No answer within ${input.timeoutMs} ms.`, { latencyMs, keySent });
    if (input.signal?.aborted) return fail('offline', 'Cancelled.', { latencyMs, keySent });
    const what = `${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const problem = classifyFailure({ kind: 'network', message: what }, url.href, input.pageOrigin);
    return fail(problem, `The request failed in the browser (${what}).`, { latencyMs, keySent });
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
  const latencyMs = now() - t0;
  const shown = text.slice(0, MAX_SHOWN);
  if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
    const to = res.headers.get('location');
    return fail('redirect', `HTTP ${res.status || 'redirect'}: the server redirects${to ? ` to ${redactUrl(to)}` : ''}.`, { latencyMs, keySent, status: res.status || undefined });
  }
  if (!res.ok) {
    const problem = classifyFailure({ kind: 'http', status: res.status }, url.href, input.pageOrigin);
    return fail(problem, `HTTP ${res.status} ${res.statusText}`.trim(), { latencyMs, keySent, status: res.status, reply: shown });
  }
  const content = completionText(text);
  if (content === null) return fail('bad-reply', `HTTP ${res.status}, but the answer is not a chat completion.`, { latencyMs, keySent, status: res.status, reply: shown });
  const parsed = scoreFromReply(content, { pick: input.pick, normalisation: input.normalisation });
  const score = parsed.ok
    ? `score ${parsed.score} read from the reply (reward ${parsed.value === null ? 'none: this normalisation drops it' : parsed.value.toFixed(2)}); the test trace is correct, so a good judge gives 4 or 5.`
    : `no score could be read: ${parsed.failure.message}. In a run such a reply is retried, then its rollout masked.`;
  return { ok: true, latencyMs, status: res.status, reply: r(content.slice(0, MAX_SHOWN)), message: r(`HTTP ${res.status}: the server answered in ${Math.round(latencyMs)} ms.`), score: r(score), hints: [], keySent };
}
