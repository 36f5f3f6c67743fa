// End to end, compare mode (src/ui/panels/compare-panel.ts): two methods from the same base and seed take
// turns on the one GPU, each a run of its own engine slot (started on its first turn, resumed from
// its saved state on the next). The reward figure overlays both runs (one series per run: the figure
// plots one key), the summary table has a row per arm, the rollout browser switches between arms,
// and the page's own run view shows none of it. The tiny preset on the shipped base policy, so a
// software GPU runs it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type E2eApp } from '../support/e2e-app';

let app: E2eApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

it('two methods take turns: the reward figure draws both runs and the summary table has a row per arm', async () => {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.url);
  await page.getByRole('heading', { name: 'Run' }).waitFor({ timeout: 60_000 });
  await page.getByRole('combobox', { name: 'preset' }).selectOption('tiny');
  await page.getByRole('combobox', { name: 'policy' }).selectOption('builtin-base');

  const section = page.locator('details.compare');
  // Closed until opened: nothing of it is in the way of the page's own run.
  expect(await section.getAttribute('open')).toBeNull();
  await section.locator('summary').click();
  await section.getByRole('button', { name: 'Remove arm 3', exact: true }).click();
  await section.getByRole('combobox', { name: 'arm 1', exact: true }).selectOption('sparse-grpo');
  await section.getByRole('combobox', { name: 'arm 2', exact: true }).selectOption('exprl-process');
  await section.getByRole('spinbutton', { name: 'steps per arm', exact: true }).fill('2');
  await section.getByRole('button', { name: 'Compare', exact: true }).click();

  const status = section.locator('.compare-status');
  await status.filter({ hasText: /^done|^failed/ }).waitFor({ timeout: 500_000 }).catch(async (e: unknown) => {
    throw new Error(`not done; status: ${await status.innerText()}; table: ${await section.locator('.compare-summary').innerText().catch(() => '')}`, { cause: e });
  });
  expect(await status.innerText()).toBe('done: sparse-grpo 2, exprl-process 2');

  // The reward figure plots one key, reward_mean: two runs are two series, each at steps 1 and 2.
  const reward = section.locator('figure[data-metric~="reward_mean"]');
  await expect.poll(() => reward.getAttribute('data-series')).toBe('2');
  expect(await reward.getAttribute('data-metric')).toBe('reward_mean');
  expect(await reward.getAttribute('data-points')).toBe('2');
  expect(await reward.locator('.chart-legend .series-name').allInnerTexts()).toEqual(['sparse-grpo: reward_mean', 'exprl-process: reward_mean']);

  const rows = section.locator('.compare-summary tbody tr');
  expect(await rows.count()).toBe(2);
  expect(await rows.locator('th').allInnerTexts()).toEqual(['sparse-grpo', 'exprl-process']);
  for (const row of await rows.all()) {
    expect(await row.getAttribute('data-steps')).toBe('2');
    expect(await row.getAttribute('data-status')).toBe('ready');
    // The base evaluation before the first step: a pass@1 for every arm.
    expect(await row.locator('td[data-key="pass@1"]').innerText()).toMatch(/^\d/);
    expect(await row.locator('td[data-key="reward_mean"]').innerText()).toMatch(/^\d/);
  }

  // The rollout browser shows the arm picked.
  await section.getByRole('combobox', { name: 'rollouts of arm' }).selectOption({ label: 'exprl-process' });
  expect(await section.locator('.compare-rollouts h3').first().innerText()).toMatch(/exprl-process rollouts$/);
  await section.getByRole('combobox', { name: 'rollouts of arm' }).selectOption({ label: 'sparse-grpo' });
  expect(await section.locator('.compare-rollouts h3').first().innerText()).toMatch(/sparse-grpo rollouts$/);

  // The page's own run saw none of the arms' events.
  expect(await page.locator('.run-steps').getAttribute('data-steps')).toBe('0');
  expect(await page.locator('figure[data-metric~="reward_mean"]').first().getAttribute('data-series')).toBe('0');
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isEnabled()).toBe(true);

  // Stop all removes the arms' saved runs.
  await section.getByRole('button', { name: 'Stop all', exact: true }).click();
  await status.filter({ hasText: /^stopped/ }).waitFor({ timeout: 30_000 });
  expect(errors).toEqual([]);
  await context.close();
}, 600_000);
