// End to end: the page as built and served by Vite (test/support/e2e-app.ts), opened in the system Chromium, starts the engine worker
// (comlink), reports the adapter and the chosen matmul schedule, and its kernel check passes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { makeTinyModel, TINY_VARIANTS } from '../../scripts/make-tiny-model';
import { startApp, type E2eApp } from '../support/e2e-app';
import { onnxJudgeRepo } from '../support/onnx-judge-repo';
import { encodeSetup, preset, readSettings, RUN_SETTINGS, type Setup } from '../../src/rl/config';

let app: E2eApp;
let browser: Browser;
let url: string;
let tinyDir: string;

/** Serves https://huggingface.co/tiny/<variant>/resolve/main/<file> from the generated folders; anything else is a 404. */
async function serveHub(context: BrowserContext): Promise<void> {
  await context.route('https://huggingface.co/**', async (route) => {
    const m = /^https:\/\/huggingface\.co\/tiny\/([\w-]+)\/resolve\/main\/([\w.-]+)$/.exec(route.request().url());
    const file = m === null ? null : join(tinyDir, m[1], m[2]);
    if (file === null || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, body: await readFile(file), headers: { 'content-type': 'application/octet-stream' } });
  });
}

beforeAll(async () => {
  app = await startApp();
  ({ url, browser } = app);
  tinyDir = await mkdtemp(join(tmpdir(), 'exprl-e2e-'));
  const variant = TINY_VARIANTS.find((v) => v.name === 'untied-gqa-bf16-sharded')!;
  await makeTinyModel(join(tinyDir, variant.name), variant, 5);
});

afterAll(async () => {
  await rm(tinyDir, { recursive: true, force: true });
  await app?.close();
});

it('opens, shows the GPU engine and passes its kernel check', async () => {
  const context = await browser.newContext();
  await serveHub(context);
  const page = await context.newPage();
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
  const samples = async (): Promise<string[]> => {
    await page.locator('.samples').evaluate((list) => list.replaceChildren());
    await page.getByRole('button', { name: 'Sample 4' }).click();
    await page.locator('.samples li').nth(3).waitFor({ timeout: 60_000 });
    return page.locator('.samples li').allInnerTexts();
  };
  await page.getByRole('button', { name: 'Create built-in policy' }).click();
  await page.getByText(/Built-in policy \(seed 1, untrained\): [\d,]+ parameters/).waitFor({ timeout: 60_000 });
  await page.getByRole('textbox', { name: 'prompt' }).fill('<b>1+1=');
  const first = await samples();
  expect(first.length).toBe(4);
  expect(await page.locator('.samples b').count()).toBe(0);
  expect(first[0]).toContain('<b>1+1=');

  // Saved in the origin-private file system, replaced by another policy, loaded back: same samples.
  await page.getByRole('textbox', { name: 'save as' }).fill('seed-one');
  await page.getByRole('button', { name: 'Save in this browser' }).click();
  await page.getByText('saved as seed-one').waitFor({ timeout: 60_000 });
  await page.getByRole('spinbutton', { name: 'seed', exact: true }).fill('2');
  await page.getByRole('button', { name: 'Create built-in policy' }).click();
  await page.getByText(/Built-in policy \(seed 2, untrained\)/).waitFor({ timeout: 60_000 });
  expect(await samples()).not.toEqual(first);
  await page.getByRole('spinbutton', { name: 'seed', exact: true }).fill('1');
  await page.getByRole('combobox', { name: 'saved policies' }).selectOption('seed-one');
  await page.getByRole('button', { name: 'Load saved' }).click();
  await page.getByText(/Saved policy seed-one: [\d,]+ parameters/).waitFor({ timeout: 60_000 });
  expect(await samples(), `first: ${JSON.stringify(first)}`).toEqual(first);

  // A model by id from the Hub, served here from a generated tiny model (no network): loads with progress.
  await page.getByRole('textbox', { name: 'model id' }).fill('tiny/untied-gqa-bf16-sharded');
  await page.getByRole('button', { name: 'Load from Hub' }).click();
  await page.getByText(/tiny\/untied-gqa-bf16-sharded: [\d,]+ parameters/).waitFor({ timeout: 60_000 });
  await page.getByRole('textbox', { name: 'model id' }).fill('tiny/missing');
  await page.getByRole('button', { name: 'Load from Hub' }).click();
  await page.getByText(/failed: .*tiny\/missing.*404/).waitFor({ timeout: 60_000 });
  expect(errors).toEqual([]);
});

it('runs the tiny preset in the page and shows each step\'s rollouts, segments coloured by score, beside the reference', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByRole('heading', { name: 'Run' }).waitFor({ timeout: 60_000 });
  await page.getByRole('combobox', { name: 'preset' }).selectOption('tiny');
  await page.getByRole('combobox', { name: 'method' }).selectOption('exprl-process');
  await page.getByRole('combobox', { name: 'policy' }).selectOption('builtin');
  await page.getByRole('spinbutton', { name: 'Stage I steps' }).fill('1');
  await page.getByText(/Judge calls: stage 1 exprl-process: 8 to 80 judge calls per step/).waitFor();
  // A config problem is shown, and the run cannot start with it.
  await page.getByRole('combobox', { name: 'judge', exact: true }).selectOption('openai');
  await page.getByText(/Config problem: .*judge\.endpoint = "": is required/).waitFor();
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
  await page.getByRole('combobox', { name: 'judge', exact: true }).selectOption('rubric');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  // The charts stream: the reward figure holds the first RL step before the run ends.
  const reward = page.getByRole('figure', { name: 'Reward', exact: true });
  await page.locator('figure[data-metric="reward_mean"][data-points="1"]').waitFor({ timeout: 500_000 });
  const status = page.locator('.run-status');
  await status.filter({ hasText: /^(finished|paused|failed)/ }).waitFor({ timeout: 500_000 });
  expect(await status.innerText()).toMatch(/^finished: 2 steps, \d+ judge calls$/);
  // Steps 1 (Stage I) and 2 (Stage II); Stage 0's own steps stay in the table only. Evals at steps 0 and 2.
  expect([await reward.getAttribute('data-metric'), await reward.getAttribute('data-series'), await reward.getAttribute('data-points')]).toEqual(['reward_mean', '1', '2']);
  const evalFigure = page.locator('figure[data-metric~="pass@1"]');
  expect([await evalFigure.getAttribute('data-series'), await evalFigure.getAttribute('data-points')]).toEqual(['2', '2']);
  expect(await page.locator('figure[data-metric="kl kl_base"] .chart-legend .series-name').allInnerTexts()).toEqual(['kl', 'kl_base']);
  expect(await page.locator('figure[data-metric~="time_judge_s"]').getAttribute('data-points')).toBe('2');
  // uPlot drew the reward line (#0072b2) on its canvas.
  const inked = await reward.locator('canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && Math.abs(d[i] - 0x00) < 40 && Math.abs(d[i + 1] - 0x72) < 40 && Math.abs(d[i + 2] - 0xb2) < 40) n++;
    return n;
  });
  expect(inked).toBeGreaterThan(20);

  const rows = await page.locator('.metrics tbody tr').allInnerTexts();
  expect(rows.map((r) => r.split('\t').slice(0, 3).join(' '))).toEqual(['0 1 sft', '0 2 sft', '1 1 exprl-process', '2 2 stage2']);
  expect(await page.locator('.evals li').count()).toBe(2);
  // The last step shown is Stage II's: sparse rewards, one segment per rollout, beside the reference.
  await page.getByRole('heading', { name: 'Stage 2, step 2: stage2 rollouts' }).waitFor();
  expect(await page.locator('.group').count()).toBe(2);
  expect(await page.locator('.group .reference pre').first().innerText()).toMatch(/\S/);
  await page.locator('[data-score]:not([data-score=""])').first().waitFor();
  const spans = page.locator('.rollout .segment');
  expect(await spans.count()).toBeGreaterThan(0);
  const colour = await spans.first().evaluate((s) => getComputedStyle(s).backgroundColor);
  expect(colour).toMatch(/^rgb/);
  // Model text is text: a trace holds only segment spans, each followed by its score as text (or an "empty" note), never parsed markup.
  const stray = await page.locator('.trace').evaluateAll((ts) => ts.flatMap((t) => [...t.children].filter((c) => !c.matches('span.segment, sub.segment-score, em')).map((c) => c.tagName)));
  expect(stray).toEqual([]);
  // A segment is focusable; focus shows its score, value and reason as text, the score matching data-score.
  const detail = page.locator('.segment-detail');
  const focusFirst = async (): Promise<string> => {
    const seg = spans.first();
    await seg.focus();
    await expect.poll(() => detail.innerText()).toMatch(/score [\d.]+|score masked/);
    const score = await seg.getAttribute('data-score');
    const text = await detail.innerText();
    expect(text).toContain(score === '' ? 'score masked' : `score ${Number(score).toFixed(2)}`);
    expect(text).toMatch(/value [+−]\d/);
    return text;
  };
  expect(await focusFirst()).toMatch(/reason: (the answer check|cut at the length limit)/);
  // Back to step 1 on the slider: Stage I's ExpRL-Process rollouts, each segment's reason from the rubric judge or the cut rule.
  await page.locator('#rollout-step').press('Home');
  await page.getByRole('heading', { name: 'Stage 1, step 1: exprl-process rollouts' }).waitFor();
  expect(await page.locator('.rollout-step-label').innerText()).toMatch(/^stage 1, step 1 \(1 of 2 kept\)/);
  expect(await focusFirst()).toMatch(/reason: \S/);
  expect(await focusFirst()).not.toMatch(/reason: the answer check/);
  // The outcome filter hides what does not match: "masked" leaves only masked rollouts (the rubric masks none).
  const all = await page.locator('.rollout').count();
  await page.locator('#rollout-outcome').selectOption('masked');
  await expect.poll(() => page.locator('.rollout-count').innerText()).toMatch(/^0 of \d+ rollouts shown/);
  expect(await page.locator('.rollout').count()).toBe(0);
  await page.locator('#rollout-outcome').selectOption('all');
  await expect.poll(() => page.locator('.rollout').count()).toBe(all);
  expect(errors).toEqual([]);
}, 600_000);

it('runs with a judge model our kernels cannot run through transformers.js, its wasm served by the app', async () => {
  const context = await browser.newContext();
  const repo = onnxJudgeRepo('Score: 4');
  await context.route('https://huggingface.co/**', async (route) => {
    const m = /^https:\/\/huggingface\.co\/tiny\/onnx-judge\/resolve\/main\/(.+)$/.exec(route.request().url());
    const bytes = m === null ? undefined : repo.get(m[1]);
    if (bytes === undefined) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, body: Buffer.from(bytes), headers: { 'content-type': 'application/octet-stream' } });
  });
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByRole('heading', { name: 'Run' }).waitFor({ timeout: 60_000 });
  const runtime = page.getByRole('combobox', { name: 'judge runtime' });
  expect(await runtime.isVisible()).toBe(false);
  await page.getByRole('combobox', { name: 'preset' }).selectOption('tiny');
  await page.getByRole('combobox', { name: 'method' }).selectOption('exprl-outcome');
  await page.getByRole('combobox', { name: 'policy' }).selectOption('builtin');
  await page.getByRole('spinbutton', { name: 'Stage I steps' }).fill('1');
  await page.getByRole('combobox', { name: 'judge', exact: true }).selectOption('local');
  await page.getByRole('textbox', { name: 'judge model' }).fill('tiny/onnx-judge');
  expect(await runtime.inputValue()).toBe('auto');
  await page.getByRole('combobox', { name: 'judge weights' }).selectOption('fp32');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  // Before any step: which runtime and why, then the probes, each scored by the judge model.
  const notes = page.locator('.notes li');
  await notes.filter({ hasText: /^judge-hacking probes against local:tiny\/onnx-judge/ }).waitFor({ timeout: 120_000 });
  expect(await notes.first().innerText()).toMatch(/^judge model tiny\/onnx-judge runs on transformers\.js \S+, webgpu, fp32: our kernels cannot run it \(config\.json: architecture \["GPT2LMHeadModel"\]/);
  expect(await notes.nth(1).innerText()).not.toMatch(/call failure|parse failure/);
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('.run-status').filter({ hasText: /^(finished|stopped|paused|failed)/ }).waitFor({ timeout: 300_000 });
  expect(await page.locator('.run-status').innerText()).toMatch(/^(finished|stopped: stopped by the user)/);
  // Nothing left the machine but the (routed) Hub: onnxruntime's wasm came from the app's own server (the build names it with a content hash).
  const origin = url.replace(/\/$/, '');
  expect([...new Set(requests.map((r) => new URL(r).origin))].sort()).toEqual([origin, 'https://huggingface.co'].sort());
  expect(requests.some((r) => r.startsWith(origin) && /ort-wasm-simd-threaded\.asyncify(-[\w-]+)?\.wasm$/.test(r))).toBe(true);
  expect(errors).toEqual([]);
}, 600_000);

it('keeps the run setup in the URL hash: a link with every setting off its default reproduces it, a reload too', async () => {
  const context = await browser.newContext();
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const setup: Setup = {
    preset: 'small',
    method: 'exprl-outcome',
    steps: 2,
    lr: 0.001,
    prompts: 3,
    rollouts: 5,
    'max-tokens': 33,
    temperature: 1.25,
    'kl-coef': 0,
    'stage2-steps': 4,
    model: 'builtin',
    seed: 17,
    judge: 'openai',
    'judge-endpoint': 'http://127.0.0.1:9/v1?a=1&b=2',
    'judge-model': 'some model #1',
    'judge-guard': false,
    'judge-require-probes': true,
    'judge-runtime': 'transformers',
    'judge-dtype': 'q4f16',
  };
  // Every setting is set: the preset off the page's default (tiny), every other one off the preset's value.
  expect(Object.keys(setup)).toEqual(RUN_SETTINGS.map((s) => s.key));
  const defaults = readSettings(preset('small'));
  for (const [k, v] of Object.entries(setup)) if (k !== 'preset') expect(v, k).not.toEqual(defaults[k]);
  const hash = encodeSetup(setup);
  const shown = async (): Promise<string[]> => Promise.all(RUN_SETTINGS.map((s) => page.locator(`#setting-${s.key}`).inputValue()));
  await page.goto(`${url}#${hash}`);
  await page.getByRole('heading', { name: 'Run' }).waitFor({ timeout: 60_000 });
  expect(await shown()).toEqual(RUN_SETTINGS.map((s) => String(setup[s.key])));
  expect(await page.evaluate(() => location.hash)).toBe(`#${hash}`);
  // Each input has a visible label: the table's.
  for (const s of RUN_SETTINGS.filter((x) => x.key !== 'judge-runtime' && x.key !== 'judge-dtype')) {
    expect(await page.locator(`label[for="setting-${s.key}"]`).innerText(), s.key).toBe(s.label);
  }
  // The endpoint came from the link: named, and Start waits for the user's word.
  await page.getByText('The judge endpoint "http://127.0.0.1:9/v1?a=1&b=2" came from a link').waitFor();
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
  await page.getByRole('button', { name: 'Use this endpoint' }).click();
  expect(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(false);
  // A change goes to the hash; a reload brings it back.
  await page.getByRole('spinbutton', { name: 'Stage I steps' }).fill('6');
  expect(await page.evaluate(() => location.hash)).toBe(`#${encodeSetup({ ...setup, steps: 6 })}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Run' }).waitFor({ timeout: 60_000 });
  expect(await page.getByRole('spinbutton', { name: 'Stage I steps' }).inputValue()).toBe('6');
  expect(await shown()).toEqual(RUN_SETTINGS.map((s) => String(s.key === 'steps' ? 6 : setup[s.key])));
  // Nothing was sent to the endpoint.
  expect(requests.filter((r) => r.startsWith('http://127.0.0.1:9/'))).toEqual([]);
  expect(errors).toEqual([]);
}, 300_000);
