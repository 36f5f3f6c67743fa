// End to end: the page served by Vite, opened in the system Chromium, starts the engine worker
// (comlink), reports the adapter and the chosen matmul schedule, and its kernel check passes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumLaunchArgs, chromiumPath } from '../support/chromium';

let server: ViteDevServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  server = await createServer({ root: process.cwd(), logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || typeof address !== 'object') throw new Error('vite server has no address');
  url = `http://127.0.0.1:${address.port}/`;
  browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumLaunchArgs, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('opens, shows the GPU engine and passes its kernel check', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByRole('heading', { name: 'GPU engine' }).waitFor({ timeout: 60_000 });
  const text = await page.locator('main').innerText();
  expect(text).toMatch(/adapter/);
  expect(text).toMatch(/matmul schedules\s+(register|tiled|vec4)/);
  await page.getByRole('button', { name: /Check kernels/ }).click();
  await page.getByText(/relative L2 error/).first().waitFor({ timeout: 60_000 });
  const report = await page.locator('.results').innerText();
  const errs = [...report.matchAll(/relative L2 error (\S+)/g)].map((m) => Number(m[1]));
  expect(errs.length).toBe(3);
  for (const e of errs) expect(e).toBeLessThan(1e-5);

  // The built-in policy through the worker: created, then sampled; samples are shown as text.
  await page.getByRole('button', { name: 'Create built-in policy' }).click();
  await page.getByText(/Built-in policy: [\d,]+ parameters/).waitFor({ timeout: 60_000 });
  await page.getByRole('textbox', { name: 'prompt' }).fill('<b>1+1=');
  await page.getByRole('button', { name: 'Sample 4' }).click();
  await page.locator('.samples li').first().waitFor({ timeout: 60_000 });
  expect(await page.locator('.samples li').count()).toBe(4);
  expect(await page.locator('.samples b').count()).toBe(0);
  expect(await page.locator('.samples li').first().innerText()).toContain('<b>1+1=');
  expect(errors).toEqual([]);
});
