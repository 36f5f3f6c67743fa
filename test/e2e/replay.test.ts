// End to end, in the system Chromium with WebGPU off (no --enable-unsafe-webgpu: WebGPU is there
// but finds no adapter, as in a stock Chrome on Linux): the page says why it cannot train and
// what to do, and offers the recorded run, which plays through the run panel with its charts
// and scored segments. A worker that fails to load is reported, not "Starting…" forever. A
// replay carrying markup in its rollouts and prompts shows it as text.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromiumLaunchArgs } from '../support/chromium';
import { startApp, type E2eApp } from '../support/e2e-app';
import { pngInkShare } from '../support/png-ink';

const SHIPPED = 'exprl-process-s1';
let app: E2eApp;
let browser: Browser;
let url: string;

beforeAll(async () => {
  app = await startApp(chromiumLaunchArgs.filter((a) => a !== '--enable-unsafe-webgpu' && a !== '--enable-features=Vulkan'));
  ({ browser, url } = app);
});

afterAll(async () => {
  await app?.close();
});

const points = (page: Page): Promise<number> => page.locator('figure[data-metric~="reward_mean"]').first().evaluate((f) => Number((f as HTMLElement).dataset.points));

it('without WebGPU explains why and plays the recorded run', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByRole('heading', { name: 'No WebGPU here: this browser cannot train' }).waitFor({ timeout: 60_000 });
  const alert = await page.locator('.no-webgpu').innerText();
  expect(alert).toMatch(/has WebGPU, but it found no graphics adapter/);
  expect(alert).toMatch(/chrome:\/\/flags\/#enable-unsafe-webgpu/); // headless Chromium says Linux
  expect(alert).toMatch(/Chrome or Edge 113 or later on Windows, macOS or ChromeOS/);
  expect(await page.getByText('Starting the GPU engine').count()).toBe(0);

  await page.getByRole('heading', { name: 'Watch a recorded run' }).waitFor();
  await page.locator('.replay-list a').first().click();
  await page.getByRole('heading', { name: /^Recorded run: / }).waitFor({ timeout: 30_000 });
  expect(new URL(page.url()).searchParams.get('replay')).toBe(SHIPPED);
  // The recorded run has its own settings: the page's preset (and what the demo showed) is not shown beside it.
  expect(await page.locator('.preset-note').isVisible()).toBe(false);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  const reward = page.locator('figure[data-metric~="reward_mean"]').first();
  await reward.waitFor();
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('figure[data-metric~="reward_mean"]')?.dataset.points) >= 1, null, { timeout: 30_000 });
  const first = await points(page);
  await page.locator('[data-score]:not([data-score=""])').first().waitFor({ timeout: 30_000 });
  await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('figure[data-metric~="reward_mean"]')?.dataset.points) > n, first, { timeout: 30_000 });
  // The controls drive the replay as they drive a run: Pause stops the step count.
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).and(page.locator(':enabled')).waitFor({ timeout: 10_000 });
  const paused = await points(page);
  await page.waitForTimeout(1500);
  expect(await points(page)).toBe(paused);
  expect(errors).toEqual([]);
  // The artifact people look at: the replay page with its charts and rollouts, checked not blank.
  const shot = await page.screenshot({ fullPage: true });
  await mkdir('out/screenshots', { recursive: true });
  await writeFile('out/screenshots/replay.png', shot);
  expect(pngInkShare(shot), 'share of non-zero filtered bytes in out/screenshots/replay.png').toBeGreaterThan(0.02);
  await page.close();
});

it('says so when the engine worker fails to load', async () => {
  const page = await browser.newPage();
  await page.route('**/engine.worker*', (route) => route.abort());
  await page.goto(url);
  await page.getByRole('heading', { name: 'The GPU engine did not start' }).waitFor({ timeout: 30_000 });
  expect(await page.locator('.no-webgpu').innerText()).toMatch(/worker failed to load/);
  await page.close();
});

it('shows markup in a replay as text and runs none of it', async () => {
  const page = await browser.newPage();
  const dir = join('public/replays', SHIPPED);
  const img = '<img src=x onerror="window.__replayPwned=1">';
  const script = '<script>window.__replayPwned=2</script>';
  const header = JSON.parse(await readFile(join(dir, 'replay.json'), 'utf8'));
  header.title = `${img} run`;
  for (const p of header.prompts) p.question = `${script} ${p.question}`;
  const rollouts = gunzipSync(await readFile(join(dir, 'rollouts.jsonl.gz')))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = JSON.parse(l);
      r.text = `${img}${r.text}`;
      r.segments[0].text = `${img}${r.segments[0].text}`;
      return JSON.stringify(r);
    })
    .join('\n');
  const files: Record<string, Buffer> = {
    'replay.json': Buffer.from(JSON.stringify(header)),
    'metrics.jsonl': await readFile(join(dir, 'metrics.jsonl')),
    'rollouts.jsonl.gz': gzipSync(Buffer.from(rollouts)),
  };
  await page.route('**/replays/hostile/*', (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!;
    return files[name] === undefined ? route.fulfill({ status: 404 }) : route.fulfill({ status: 200, body: files[name] });
  });
  await page.goto(`${url}?replay=hostile`);
  await page.getByRole('heading', { name: /^Recorded run: / }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.locator('[data-score]:not([data-score=""])').first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1000);
  const text = await page.locator('main').innerText();
  expect(text).toContain(`Recorded run: ${img} run`);
  expect(text).toContain(img);
  expect(text).toContain(script);
  expect(await page.locator('main img, main script').count()).toBe(0);
  expect(await page.evaluate(() => (window as { __replayPwned?: number }).__replayPwned)).toBeUndefined();
  await page.close();
});

it("runs under the page's Content-Security-Policy: no violation while a replay plays; an injected inline script does not run", async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Init scripts run outside the page's policy: this one only records what the policy blocks.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as { __csp?: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  await page.goto(`${url}?replay=${SHIPPED}`);
  await page.getByRole('heading', { name: /^Recorded run: / }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('figure[data-metric~="reward_mean"]')?.dataset.points) >= 2, null, { timeout: 30_000 });
  await page.locator('[data-score]:not([data-score=""])').first().waitFor({ timeout: 30_000 });
  const csp = (): Promise<string[]> => page.evaluate(() => [...((window as { __csp?: string[] }).__csp ?? [])]);
  expect(await csp()).toEqual([]);
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = 1';
    document.body.append(s);
  });
  await page.waitForFunction(() => ((window as { __csp?: string[] }).__csp ?? []).length > 0, null, { timeout: 5000 });
  expect(await csp()).toEqual(['script-src-elem inline']);
  expect(await page.evaluate(() => (window as { __inlineRan?: number }).__inlineRan)).toBeUndefined();
  expect(errors).toEqual([]);
  await page.close();
});
