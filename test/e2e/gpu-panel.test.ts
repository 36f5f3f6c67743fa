// End to end, the GPU panel (src/ui/gpu-panel.ts) and a device loss in the page
// (src/worker/device-recovery.ts): during a run of the tiny preset the panel shows the GPU memory
// in use by category (the policy's weights, the optimizer's moments, activations: non-zero) and
// the step time split; the page's test flag (sessionStorage, which a link cannot set) makes the
// engine lose its device after RL step 2; the engine makes a new device, resumes the saved run
// from its last checkpoint, says so in a note, and the step count grows past the loss.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startApp, type E2eApp } from '../support/e2e-app';

let app: E2eApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

const steps = async (page: Page): Promise<number> => Number(await page.locator('.run-steps').getAttribute('data-steps'));

/** Waits for at least `n` step lines; a timeout names the status line and the notes. */
async function atLeast(page: Page, n: number): Promise<void> {
  await page.waitForFunction((want) => Number(document.querySelector('.run-steps')?.getAttribute('data-steps')) >= want, n, { timeout: 300_000, polling: 250 }).catch(async (e: unknown) => {
    throw new Error(`fewer than ${n} steps; status: ${await page.locator('.run-status').innerText()}; notes: ${(await page.locator('.notes').innerText()).slice(0, 800)}`, { cause: e });
  });
}

/** Bytes the panel shows for a memory category. */
async function bytes(page: Page, category: string): Promise<number> {
  return Number(await page.locator(`.gpu-memory tr[data-category="${category}"]`).getAttribute('data-bytes'));
}

it('shows GPU memory by category and the step time split during a run, and a device loss mid-run is recovered from the saved state', async () => {
  const context = await app.browser.newContext();
  // The test flag: RL step 2's line out, the engine's device is destroyed (once).
  await context.addInitScript(() => sessionStorage.setItem('exprl-test-device-loss', '2'));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.url);
  const panel = page.locator('.gpu-panel');
  await panel.waitFor({ timeout: 120_000 });
  await page.getByRole('heading', { name: 'Run', exact: true }).waitFor({ timeout: 60_000 });
  expect(await panel.getByRole('heading', { name: 'GPU engine' }).count()).toBe(1);
  expect(await panel.innerText()).toMatch(/maxStorageBufferBindingSize/);
  await page.getByRole('combobox', { name: 'preset' }).selectOption('tiny');
  await page.getByRole('combobox', { name: 'policy' }).selectOption('builtin');
  await page.getByRole('spinbutton', { name: 'Stage I steps' }).fill('40');
  await page.getByRole('button', { name: 'Start', exact: true }).click();

  // Stage 0's two steps and RL step 1: the panel has refreshed after each.
  await atLeast(page, 3);
  await page.waitForFunction(() => Number(document.querySelector('.gpu-memory tr[data-category="optimizer"]')?.getAttribute('data-bytes')) > 0, undefined, { timeout: 60_000 });
  for (const c of ['weights', 'gradients', 'optimizer', 'activations', 'total']) expect([c, await bytes(page, c)]).toEqual([c, expect.any(Number)]);
  expect(await bytes(page, 'weights')).toBeGreaterThan(0);
  expect(await bytes(page, 'optimizer')).toBe(2 * (await bytes(page, 'weights')) + 8);
  expect(await bytes(page, 'total')).toBeGreaterThan(await bytes(page, 'weights'));
  const time = await page.locator('.gpu-step-time').innerText();
  expect(time).toMatch(/sampling\s+\d+\.\d+ s\s+\d+\.\d+ s/);
  expect(time).toMatch(/update\s+\d+\.\d+ s/);

  // The loss after RL step 2 (4 step lines); the run resumes from step 1's checkpoint and goes on.
  const note = page.locator('.notes li', { hasText: 'the GPU device was lost' });
  await note.waitFor({ timeout: 300_000 });
  expect(await note.innerText()).toMatch(/^the GPU device was lost \(destroyed: .*\); recreated it and resumed from step 1 \(stage 1, step 1\), its last checkpoint/);
  await atLeast(page, 6);
  expect(await page.locator('.run-status').innerText()).not.toMatch(/^failed/);
  // The panel reports the new device's memory.
  expect(await bytes(page, 'weights')).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.locator('.run-status').filter({ hasText: /^stopped|^finished|^failed/ }).waitFor({ timeout: 120_000 });
  expect(await page.locator('.run-status').innerText()).toMatch(/^stopped/);
  expect(await steps(page)).toBeGreaterThanOrEqual(6);
  expect(errors).toEqual([]);
  await context.close();
});
