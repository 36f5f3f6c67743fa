// End to end, run files in the page (`?view=files`, src/ui/panels/files-page.ts; no GPU needed): a run
// bundle built from a small made-up run folder is imported and shown through the run panel;
// "Continue this run" makes it the run saved in this browser, and "Export run" exports that saved
// run from the page; the export, imported into a fresh browser context, shows the same metrics.
// Markup in a bundle's rollouts and prompts shows as text and runs nothing. results.json of an
// experiment overlays its arm × seed curves on the charts, with Table 1.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolvePlan } from '../../src/rl/experiment/plans';
import { buildResults } from '../../src/rl/experiment/results';
import { writeBundle } from '../../src/worker/run-bundle';
import { FIXTURE_STEPS, fixtureRun } from '../support/run-bundle-fixture';
import { startApp, type E2eApp } from '../support/e2e-app';
import { META, syntheticRuns } from '../unit/experiment-fixture';

let app: E2eApp;
let browser: Browser;
let url: string;
let tmp: string;

beforeAll(async () => {
  app = await startApp();
  ({ browser, url } = app);
  tmp = await mkdtemp(join(tmpdir(), 'exprl-bundles-'));
});

afterAll(async () => {
  await app?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

const IMPORTED = '.import-view';
const reward = (scope: string): string => `${scope} figure[data-metric~="reward_mean"]`;

async function filesPage(page: Page, errors: string[]): Promise<void> {
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}?view=files`);
  await page.getByRole('heading', { name: 'Import a run' }).waitFor({ timeout: 60_000 });
}

/** Imports a bundle and waits until every step line is on the reward chart. */
async function importBundle(page: Page, bytes: Uint8Array, name: string): Promise<void> {
  await page.getByLabel('Import run').setInputFiles({ name, mimeType: 'application/zip', buffer: Buffer.from(bytes) });
  await page.locator('.import-status').filter({ hasText: /^imported|could not/ }).waitFor({ timeout: 30_000 });
  expect(await page.locator('.import-status').innerText()).toMatch(/^imported/);
  await page.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.points) >= 3, reward(IMPORTED), { timeout: 30_000 });
  await page.locator(`${IMPORTED} .run-status`).filter({ hasText: /^finished/ }).waitFor({ timeout: 30_000 });
}

/** What the imported run shows: the reward chart's points and series, the metric table, the evals. */
async function shown(page: Page): Promise<{ points: string | null; series: string | null; table: string; evals: string }> {
  const fig = page.locator(reward(IMPORTED)).first();
  return {
    points: await fig.getAttribute('data-points'),
    series: await fig.getAttribute('data-series'),
    table: await page.locator(`${IMPORTED} table.metrics`).innerText(),
    evals: await page.locator(`${IMPORTED} .evals`).innerText(),
  };
}

it('imports a bundle, continues it as the saved run, exports it from the page, and a fresh browser shows the same run', async () => {
  const made = writeBundle(fixtureRun({ title: 'made-up run' }));
  const first = await browser.newContext();
  const page = await first.newPage();
  const errors: string[] = [];
  await filesPage(page, errors);
  await importBundle(page, made, 'made-up.zip');
  const before = await shown(page);
  expect(before.points).toBe(String(FIXTURE_STEPS));
  expect(before.table).toMatch(/0\.300/); // the last step's reward_mean
  expect(before.evals).toMatch(/pass@1 0\.500/);
  expect(await page.locator(`${IMPORTED} [data-score]`).count()).toBeGreaterThan(0);

  await page.getByRole('button', { name: 'Continue this run' }).click();
  await page.locator('.continue-status[data-saved="true"]').waitFor({ timeout: 30_000 });
  const downloading = page.waitForEvent('download', { timeout: 30_000 });
  downloading.catch(() => undefined); // awaited below, once the status says the export worked
  await page.locator('.export-run').getByRole('button', { name: 'Export run' }).click();
  const exportStatus = page.locator('.export-run .bundle-status');
  await exportStatus.filter({ hasText: /^export/ }).waitFor({ timeout: 30_000 });
  expect(await exportStatus.innerText()).toMatch(/^exported exprl-run-/);
  const download = await downloading;
  const file = join(tmp, 'exported.zip');
  await download.saveAs(file);
  expect(download.suggestedFilename()).toMatch(/^exprl-run-.*\.zip$/);
  const exported = new Uint8Array(await readFile(file));
  const inside = Object.keys(unzipSync(exported)).sort();
  expect(inside).toEqual(expect.arrayContaining(['bundle.json', 'run.json', 'metrics.jsonl', 'rollouts.jsonl', 'prompts.json', 'state.json', 'state/c-000003/policy.safetensors', 'state/c-000003/optimizer.safetensors']));
  expect(errors).toEqual([]);
  await first.close();

  // A fresh context: no saved run, nothing in common with the first but the file.
  const second = await browser.newContext();
  const fresh = await second.newPage();
  const errors2: string[] = [];
  await filesPage(fresh, errors2);
  await importBundle(fresh, exported, 'exported.zip');
  expect(await shown(fresh)).toEqual(before);
  expect(await fresh.locator('.import-status').innerText()).toMatch(/12 rollouts, a checkpoint/);
  expect(errors2).toEqual([]);
  await second.close();
});

it('shows markup in a bundle as text and runs none of it', async () => {
  const markup = '<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>';
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  await filesPage(page, errors);
  await importBundle(page, writeBundle(fixtureRun({ text: markup, title: markup })), 'hostile.zip');
  await page.locator(`${IMPORTED} [data-score]`).first().waitFor({ timeout: 30_000 });
  const text = await page.locator('main').innerText();
  expect(text).toContain(`Imported run: ${markup}`);
  expect(text).toContain(`${markup}What is 1 + 1?`);
  expect(text).toContain(`${markup}answer`);
  expect(await page.locator('main img, main script').count()).toBe(0);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
  await context.close();
});

it('a broken bundle is refused, naming the file inside it and the line', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await filesPage(page, []);
  const bad = fixtureRun();
  bad.metrics = [...bad.metrics, JSON.parse('{"step": 9, "stage": 1, "method": "x", "__proto__": {"polluted": true}}') as Record<string, unknown>];
  const zip = writeBundle(bad);
  await page.getByLabel('Import run').setInputFiles({ name: 'bad.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
  const status = page.locator('.import-status');
  await status.filter({ hasText: /could not/ }).waitFor({ timeout: 30_000 });
  expect(await status.getAttribute('data-file')).toBe('metrics.jsonl');
  expect(await status.getAttribute('data-line')).toBe(String(bad.metrics.length));
  expect(await status.innerText()).toMatch(/__proto__/);
  await context.close();
});

it('loads results.json: a series per arm × seed on the charts, and Table 1', async () => {
  const plan = resolvePlan('quick');
  const results = buildResults(plan, syntheticRuns(plan), META);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  await filesPage(page, errors);
  await page.getByLabel('Load results').setInputFiles({ name: 'results.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(results)) });
  const fig = page.locator(reward('.results-view')).first();
  await page.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.series) >= 2, reward('.results-view'), { timeout: 30_000 });
  expect(Number(await fig.getAttribute('data-series'))).toBe(results.runs.length);
  const table = page.locator('.results-table');
  expect(await table.locator('tbody tr').count()).toBe(results.arms.length);
  const head = await table.locator('thead').innerText();
  expect(head).toMatch(/pass@1 after Stage I/);
  expect(head).toMatch(/pass@1 after Stage II/);
  expect(await table.locator('tbody').innerText()).toMatch(/\d\.\d{3} ± \d\.\d{3}/);
  expect(errors).toEqual([]);
  await context.close();
});
