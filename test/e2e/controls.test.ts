// End to end, the run's controls and its saved state in the page (src/ui/panels/run-controls.ts, the
// engine's saved run in the origin-private file system): Pause stops the step count, Step makes
// exactly one step, Resume continues, Stop ends the run and removes its state; a reload offers
// "Resume saved run", which continues from the saved step with the saved weights (the log-probs
// of a fixed text are equal, bit for bit) and shows the saved steps' rollouts before it resumes. The tiny
// preset on the built-in policies, so a software GPU runs it.
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

/** The tiny preset (on a fresh built-in policy unless told), with Stage I long enough not to end during a test. */
async function setUp(page: Page, policy: 'builtin' | 'builtin-base' = 'builtin'): Promise<void> {
  await page.getByRole('heading', { name: 'Run', exact: true }).waitFor({ timeout: 60_000 });
  await page.getByRole('combobox', { name: 'preset' }).selectOption('tiny');
  await page.getByRole('combobox', { name: 'policy' }).selectOption(policy);
  await page.getByRole('spinbutton', { name: 'Stage I steps' }).fill('40');
}

function controls(page: Page) {
  const button = (name: string) => page.getByRole('button', { name, exact: true });
  const status = page.locator('.run-status');
  return {
    button,
    status,
    /** Step lines of the run on screen (Stage 0's and RL steps). */
    steps: async (): Promise<number> => Number(await page.locator('.run-steps').getAttribute('data-steps')),
    /** Waits for at least `n` steps; a timeout names the status line (a failed run says why there). */
    atLeast: async (n: number): Promise<void> => {
      await page.waitForFunction((want) => Number(document.querySelector('.run-steps')?.getAttribute('data-steps')) >= want, n, { timeout: 300_000, polling: 250 }).catch(async (e: unknown) => {
        throw new Error(`fewer than ${n} steps; status: ${await status.innerText()}; notes: ${(await page.locator('.notes').innerText()).slice(0, 500)}`, { cause: e });
      });
    },
    /** Waits for the status line to match; a failed run ends the wait, and the status says why. */
    until: async (re: RegExp, timeout = 300_000): Promise<void> => {
      await status.filter({ hasText: new RegExp(`${re.source}|^failed`) }).waitFor({ timeout });
      expect(await status.innerText()).toMatch(re);
    },
    enabled: async (): Promise<string[]> => {
      const out: string[] = [];
      for (const name of ['Start', 'Pause', 'Resume', 'Resume saved run', 'Step', 'Stop']) if ((await button(name).count()) > 0 && (await button(name).isEnabled())) out.push(name);
      return out;
    },
  };
}

/** The per-token log-probs of a fixed text under the policy as it is now, as the page prints them (full precision). */
async function logprobs(page: Page): Promise<string> {
  const out = page.locator('.scored');
  await out.evaluate((p: HTMLElement) => delete p.dataset.logprobs);
  await page.getByRole('textbox', { name: 'text to score' }).fill('Solve 3*x + 4 = 19.\nx = 5\nAnswer: 5');
  await page.getByRole('button', { name: 'Score text' }).click();
  await page.locator('.scored[data-logprobs]').waitFor({ state: 'attached', timeout: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`no log-probs; the policy panel says: ${(await page.locator('.status').allInnerTexts()).join(' | ')}`, { cause: e });
  });
  return (await out.getAttribute('data-logprobs'))!;
}

it('Pause stops the step count, Step makes exactly one step, Resume continues, Stop ends the run', async () => {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.url);
  await setUp(page);
  const c = controls(page);
  expect(await c.enabled()).toEqual(['Start', 'Step']);
  await c.button('Start').click();
  // Stage 0's two steps and a first RL step.
  await c.atLeast(3);
  expect(await c.enabled()).toEqual(['Pause', 'Stop']);
  await c.button('Pause').click();
  await c.until(/^paused: paused by the user$/);
  const paused = await c.steps();
  expect(await c.enabled()).toEqual(['Start', 'Resume', 'Step', 'Stop']);
  await page.waitForTimeout(3000);
  expect(await c.steps()).toBe(paused);

  await c.button('Step').click();
  await c.until(/^paused: paused after 1 step$/);
  expect(await c.steps()).toBe(paused + 1);
  await page.waitForTimeout(2000);
  expect(await c.steps()).toBe(paused + 1);
  expect(await page.locator('.metrics tbody tr').last().innerText()).toMatch(new RegExp(`^1\\t${paused + 1 - 2}\\texprl-process`));

  await c.button('Resume').click();
  await c.atLeast(paused + 2);
  await c.button('Stop').click();
  await c.until(/^stopped: stopped by the user$/);
  expect(await c.enabled()).toEqual(['Start', 'Step']);
  // A stopped run is gone: a reload offers nothing to resume.
  await page.reload();
  await setUp(page);
  await page.waitForTimeout(1000);
  expect(await c.button('Resume saved run').count()).toBe(0);
  expect(await c.enabled()).toEqual(['Start', 'Step']);
  expect(errors).toEqual([]);
  await context.close();
}, 600_000);

it('a reload mid-run offers "Resume saved run", which continues from the saved step with the same weights', async () => {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.url);
  // The shipped base policy: a resume fetches it again, which lets the test hold the resume back.
  await setUp(page, 'builtin-base');
  const c = controls(page);
  await c.button('Start').click();
  await c.atLeast(2);
  await c.button('Pause').click();
  await c.until(/^paused: paused by the user$/);
  const saved = await c.steps();
  const before = await logprobs(page);

  await page.reload();
  await page.getByRole('heading', { name: 'Run', exact: true }).waitFor({ timeout: 60_000 });
  const resume = c.button('Resume saved run');
  await expect.poll(() => resume.isEnabled(), { timeout: 60_000 }).toBe(true);
  expect(await c.status.innerText()).toMatch(new RegExp(`^A run saved in this browser: stage 1 of 2, step ${saved}, ${saved} optimizer steps after Stage 0`));
  // Before it resumes: the steps it made, on the charts and in the table, and the time left in its
  // stage from the step times it measured.
  expect(await c.steps()).toBe(saved);
  await page.locator(`figure[data-metric="reward_mean"][data-points="${saved}"]`).waitFor({ timeout: 30_000 });
  expect(await page.locator('.metrics tbody tr').count()).toBe(saved);
  expect(await page.locator('.run-eta').innerText()).toMatch(new RegExp(`^About \\d+ (s|min) left in stage 1: ${40 - saved} steps at \\d+\\.\\d s each \\(the median of ${saved} measured here\\)`));
  // And its rollouts, every saved step.
  const rolloutSteps = async (): Promise<string> => page.locator('#rollout-step').evaluate((s: HTMLInputElement) => s.max);
  await expect.poll(rolloutSteps, { timeout: 30_000 }).toBe(String(saved - 1));
  expect(await page.locator('.rollout-step-label').innerText()).toMatch(new RegExp(`^stage 1, step ${saved} \\(${saved} of ${saved} kept\\)`));
  // Resumed, and paused while the resume still fetches its starting policy: the run restores its
  // state and pauses before a step, so the policy holds exactly the weights it saved.
  let release = (): void => {};
  const held = new Promise<void>((r) => (release = r));
  let fetched = false;
  await context.route('**/models/builtin-base/model.safetensors', async (route) => {
    fetched = true;
    await held;
    await route.continue();
  });
  await resume.click();
  await expect.poll(() => fetched, { timeout: 60_000 }).toBe(true);
  await c.button('Pause').click();
  release();
  await c.until(/^paused: paused by the user$/);
  const rows = await page.locator('.metrics tbody tr').allInnerTexts();
  expect(await c.steps(), rows.join('\n')).toBe(saved);
  expect(rows.length).toBe(saved);
  // The rollout browser still shows every saved step once (the resume sent none again), before any new step.
  expect(await rolloutSteps()).toBe(String(saved - 1));
  expect(await page.locator('.rollout-step-label').innerText()).toMatch(new RegExp(`^stage 1, step ${saved} \\(${saved} of ${saved} kept\\)`));
  expect(await page.locator('.rollout .segment[data-score]').count()).toBeGreaterThan(0);
  expect(await logprobs(page)).toBe(before);
  // And it continues from the saved step.
  await c.button('Step').click();
  await c.until(/^paused: paused after 1 step$/);
  expect(await c.steps()).toBe(saved + 1);
  expect(await page.locator('.metrics tbody tr').last().innerText()).toMatch(new RegExp(`^1\\t${saved + 1}\\texprl-process`));
  expect(await logprobs(page)).not.toBe(before);
  expect(errors).toEqual([]);
  await context.close();
}, 600_000);
