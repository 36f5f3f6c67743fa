// End to end, the judge settings of the Run panel (src/ui/panels/judge-panel.ts): a key typed in the
// page goes to a loopback OpenAI-compatible server in the Authorization header when "Test
// connection" is pressed; the page shows the server's answer as text, and the key is nowhere
// else: not in the URL, not in localStorage (not ticked), not in the page's text or markup, not in
// the console. A server that does not allow the page's origin (no CORS headers) gets no key and
// the page explains CORS.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startApp, type E2eApp } from '../support/e2e-app';

const KEY = 'sk-e2e-Hq4v9Wm2Lp7Tx3Kd8-secret';
const ANSWER = 'The reasoning reaches 5, as the reference does. <b id="injected">not markup</b>\nScore: 5';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A tiny OpenAI-compatible chat server on loopback that records every request; `cors`: it allows any page's origin. */
async function judgeServer(cors: boolean): Promise<{ server: Server; endpoint: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (cors) {
        res.setHeader('access-control-allow-origin', req.headers.origin ?? '*');
        res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
        res.setHeader('access-control-allow-headers', 'authorization, content-type');
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
      } else if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }] }));
      } else {
        res.writeHead(404).end('not found');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen };
}

let app: E2eApp;
const servers: Server[] = [];

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
  for (const s of servers) await new Promise((r) => s.close(r));
});

/** The page with the judge set to an OpenAI-compatible server, and the key typed; its console lines are collected. */
async function openWithKey(endpoint: string): Promise<{ page: Page; consoleLines: string[] }> {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(e.message));
  await page.goto(app.url);
  await page.getByRole('heading', { name: 'Run' }).waitFor({ timeout: 120_000 });
  await page.getByRole('combobox', { name: 'judge', exact: true }).selectOption('openai');
  await page.getByRole('textbox', { name: 'judge endpoint' }).fill(endpoint);
  await page.getByRole('textbox', { name: 'judge model' }).fill('tiny-judge');
  const key = page.getByLabel('judge API key');
  expect(await key.getAttribute('type')).toBe('password');
  await key.fill(KEY);
  return { page, consoleLines };
}

/** Everywhere the key must not be: the URL, localStorage, the page's text and markup, the console. */
async function expectKeyNowhere(page: Page, consoleLines: string[]): Promise<void> {
  const where = await page.evaluate(() => ({
    href: location.href,
    storage: JSON.stringify(Object.entries(localStorage)),
    session: JSON.stringify(Object.entries(sessionStorage)),
    text: document.body.innerText + document.body.textContent,
    html: document.documentElement.outerHTML,
  }));
  for (const [what, text] of Object.entries({ ...where, url: page.url(), console: consoleLines.join('\n') })) {
    expect(text, what).not.toContain(KEY);
    expect(text, what).not.toContain(encodeURIComponent(KEY));
  }
}

it('Test connection sends the key to the server of its origin and shows the answer as text; the key is nowhere else', async () => {
  const judge = await judgeServer(true);
  servers.push(judge.server);
  const { page, consoleLines } = await openWithKey(judge.endpoint);
  await page.getByRole('button', { name: 'Test connection' }).click();
  const status = page.locator('.test-status');
  await status.filter({ hasText: /^(Connected|Failed)/ }).waitFor({ timeout: 60_000 });
  expect(await status.innerText()).toMatch(/^Connected: HTTP 200: .* Latency \d+ ms\. The key was sent\./);
  const post = judge.seen.find((s) => s.method === 'POST');
  expect(post?.url).toBe('/v1/chat/completions');
  expect(post?.headers.authorization).toBe(`Bearer ${KEY}`);
  expect(JSON.parse(post!.body)).toMatchObject({ model: 'tiny-judge', temperature: 0 });
  // The server's answer, as text: its markup is shown, not made.
  const reply = page.locator('.test-reply');
  expect(await reply.innerText()).toContain(ANSWER.split('\n')[0]);
  expect(await page.locator('#injected').count()).toBe(0);
  expect(await page.locator('.test-score').innerText()).toContain('score 5');
  // The hash holds the endpoint, not the key; localStorage nothing of it ("remember" is not ticked).
  expect(decodeURIComponent(new URL(page.url()).hash)).toContain(judge.endpoint);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  await expectKeyNowhere(page, consoleLines);
  await page.context().close();
});

it('a server that does not allow the page\'s origin gets no key, and the page explains CORS', async () => {
  const judge = await judgeServer(false);
  servers.push(judge.server);
  const { page, consoleLines } = await openWithKey(judge.endpoint);
  await page.getByRole('button', { name: 'Test connection' }).click();
  const status = page.locator('.test-status');
  await status.filter({ hasText: /^(Connected|Failed)/ }).waitFor({ timeout: 60_000 });
  expect(await status.innerText()).toMatch(/^Failed: The request failed in the browser \(TypeError: Failed to fetch\)/);
  const hints = await page.locator('.test-hints').innerText();
  expect(hints).toContain('Access-Control-Allow-Origin');
  expect(hints).toContain(new URL(app.url).origin);
  expect(hints).toContain('OLLAMA_ORIGINS');
  expect(hints).toContain('--allowed-origins');
  // The browser asked first (preflight) and stopped there: no request carried the key.
  expect(judge.seen.length).toBeGreaterThan(0);
  expect(judge.seen.every((s) => s.headers.authorization === undefined)).toBe(true);
  expect(judge.seen.some((s) => s.method === 'POST')).toBe(false);
  await expectKeyNowhere(page, consoleLines);
  await page.context().close();
});
