// End to end, without a run: the rollout browser (src/ui/views/rollouts-view.ts) served by Vite in the
// system Chromium, fed recorded steps. Segments carry their score and value, are reached by the
// keyboard and show score and reason as text; the step slider goes back; the filters hide;
// model and task text with markup in it stays text; a large step puts only a few prompts in the DOM.
// The tiny run in app.test.ts checks the same browser on a real run's rollouts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { startApp, type E2eApp } from '../support/e2e-app';
import type { RolloutBatchView, RolloutView } from '../../src/worker/api';

let app: E2eApp;
let browser: Browser;
let url: string;
/** The view's module is not an entry of the production build the other e2e files use: a Vite dev server of this file's own serves it. */
let vite: ViteDevServer | undefined;

beforeAll(async () => {
  app = await startApp();
  browser = app.browser;
  vite = await createServer({ root: process.cwd(), logLevel: 'error', server: { port: 0, host: '127.0.0.1', strictPort: false, hmr: false } });
  await vite.listen();
  const address = vite.httpServer?.address();
  if (address === null || address === undefined || typeof address !== 'object') throw new Error('vite dev server has no address');
  url = `http://127.0.0.1:${address.port}/`;
});

afterAll(async () => {
  await app?.close();
  await vite?.close();
});

const HOSTILE = '<img src=x onerror="window.__pwned = 1">';
const SCRIPT = '<script>window.__pwned = 2</script>';

function prompt(g: number, question = `What is ${g} + 3?`): RolloutBatchView['prompts'][number] {
  return { id: `p${g}`, question, reference: `${g} + 3 = ${g + 3}\nAnswer: ${g + 3}`, answer: String(g + 3), steps: [`${g} + 3 = ${g + 3}`, `Answer: ${g + 3}`], checkpoints: [String(g + 3), String(g + 3)] };
}

function rollout(o: Partial<RolloutView> & { group: number }): RolloutView {
  return { text: 'x', segments: [{ text: 'x', score: 0, advantage: 0, reason: 'reaches no checkpoint' }], reward: 0, correct: false, cut: false, masked: false, reached: [false, false], ...o };
}

/** Step 1: p0 hostile, every reward 0 (no spread); p1 solved. Step 2: p0's first correct rollout. Step 3: 300 prompts. */
const STEPS: RolloutBatchView[] = [
  {
    stage: 1,
    step: 1,
    method: 'exprl-process',
    prompts: [prompt(0, `Solve ${SCRIPT} ${HOSTILE}`), prompt(1)],
    rollouts: [
      rollout({ group: 0, text: HOSTILE, segments: [{ text: HOSTILE, score: 0, advantage: 0, reason: `judge says ${SCRIPT}` }] }),
      rollout({ group: 0, text: 'nothing' }),
      rollout({
        group: 1,
        text: '1 + 3 = 4\nAnswer: 4',
        segments: [
          { text: '1 + 3 = 4\n', score: 1, advantage: 0.5, reason: 'establishes a new checkpoint: 4' },
          { text: 'Answer: 4', score: 0.75, advantage: 0.25, reason: 'declares the correct final answer: 4' },
        ],
        reward: 0.875,
        correct: true,
        reached: [true, true],
      }),
      rollout({ group: 1, text: 'y', masked: true, reward: null, judgeError: 'call failure: HTTP 503', segments: [{ text: 'y', score: null, advantage: 0, reason: 'call failure: HTTP 503' }] }),
    ],
  },
  {
    stage: 1,
    step: 2,
    method: 'exprl-process',
    prompts: [prompt(0)],
    rollouts: [rollout({ group: 0, text: 'Answer: 3', segments: [{ text: 'Answer: 3', score: 1, advantage: 0.7, reason: 'declares the correct final answer: 3' }], reward: 1, correct: true, reached: [true, true] }), rollout({ group: 0 })],
  },
  {
    stage: 2,
    step: 3,
    method: 'stage2',
    prompts: Array.from({ length: 300 }, (_, g) => prompt(g)),
    rollouts: Array.from({ length: 1200 }, (_, i) => rollout({ group: i >> 2, text: `rollout ${i}`, segments: [{ text: `rollout ${i}`, score: i % 2, advantage: i % 2 === 0 ? -0.5 : 0.5 }], reward: i % 2, correct: i % 2 === 1 })),
  },
];

async function open(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  // A bare page of the app's origin: Vite serves the modules it imports.
  await context.route(url, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><html><head><link rel="stylesheet" href="/src/ui/style.css"></head><body><main id="app"></main></body></html>' }));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  // A string, not a function: the test runner would rewrite a dynamic import() in this file.
  await page.evaluate("import('/src/ui/views/rollouts-view.ts').then((m) => { window.rolloutsView = m; })");
  await page.evaluate((steps) => {
    const w = window as unknown as { rolloutsView: typeof import('../../src/ui/views/rollouts-view') };
    const b = w.rolloutsView.rolloutsBrowser();
    document.getElementById('app')!.append(b.element);
    (window as unknown as { browser: unknown }).browser = b;
    for (const s of steps) b.add(s);
  }, STEPS);
  return { page, errors };
}

it('browses every step: slider, filters, focusable segments with score and reason as text, marks, literal text, a virtualised list', async () => {
  const { page, errors } = await open();
  const heading = page.locator('.rollout-browser h3');
  const detail = page.locator('.segment-detail');

  // The latest step is on screen; of its 300 prompts only those near the viewport are in the DOM.
  await expect.poll(() => heading.innerText()).toBe('Stage 2, step 3: stage2 rollouts');
  expect(await page.locator('[data-score]:not([data-score=""])').count()).toBeGreaterThan(0);
  const inDom = await page.locator('.group').count();
  expect(inDom).toBeGreaterThan(0);
  expect(inDom).toBeLessThan(40);
  expect(await page.locator('.rollout-count').innerText()).toBe('1200 of 1200 rollouts shown, 300 of 300 prompts');
  expect(await page.locator('.group[data-group="0"]').getAttribute('data-zero-spread')).toBe('false');
  expect(await page.locator('.mark.zero-spread').count()).toBe(0);
  await page.locator('.rollout-scroll').evaluate((s) => (s.scrollTop = s.scrollHeight));
  await page.locator('.group[data-group="299"]').waitFor();
  expect(await page.locator('.group').count()).toBeLessThan(40);

  // Back to step 1 from the keyboard: Home on the slider.
  await page.locator('#rollout-step').focus();
  await page.keyboard.press('Home');
  await expect.poll(() => heading.innerText()).toBe('Stage 1, step 1: exprl-process rollouts');
  expect(await page.locator('.rollout-step-label').innerText()).toMatch(/^stage 1, step 1 \(1 of 3 kept\); held/);
  expect(await page.locator('.rollout').count()).toBe(4);

  // Hostile text in the question, a rollout and a judge's reason is text: no element, no script ran.
  const hostileSeg = page.locator('.group[data-group="0"] .segment').first();
  expect(await hostileSeg.innerText()).toBe(HOSTILE);
  expect(await page.locator('.group[data-group="0"] .reference pre').first().innerText()).toBe(`Solve ${SCRIPT} ${HOSTILE}`);
  expect(await page.locator('.rollout-browser img, .rollout-browser script').count()).toBe(0);

  // From the keyboard: Tab from the outcome filter reaches the first segment; focus shows its score, value and reason.
  await page.locator('#rollout-outcome').focus();
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(HOSTILE);
  await expect.poll(() => detail.innerText()).toContain(`reason: judge says ${SCRIPT}`);
  expect(await detail.innerText()).toContain('score 0.00');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  // A judged segment: data attributes, the score written beside it, and a click shows the rubric's checkpoint.
  const seg = page.locator('.segment[data-score="1"]');
  expect([await seg.getAttribute('data-score'), await seg.getAttribute('data-advantage'), await seg.getAttribute('tabindex')]).toEqual(['1', '0.5', '0']);
  expect(await page.locator('.group[data-group="1"] .segment-score').allInnerTexts()).toEqual(['1.00', '0.75', 'masked']);
  await seg.click();
  await expect.poll(() => detail.innerText()).toContain('reason: establishes a new checkpoint: 4');
  expect(await detail.innerText()).toMatch(/score 1\.00[\s\S]*value \+0\.500/);
  // The reference shows the checkpoints this rollout reached, and how many rollouts reached each.
  expect(await page.locator('.group[data-group="1"] .reference-steps li.focus-reached').count()).toBe(2);
  expect(await page.locator('.group[data-group="1"] .reference-steps .reach').allInnerTexts()).toEqual([' · reached by 1 of 2', ' · reached by 1 of 2']);
  // A masked segment: empty data-score, the failure as its reason.
  const masked = page.locator('.segment[data-score=""]');
  await masked.focus();
  await expect.poll(() => detail.innerText()).toContain('reason: call failure: HTTP 503');
  expect(await detail.innerText()).toContain('score masked');

  // Marks: p0 at step 1 has no reward spread; at step 2 it became solvable.
  expect(await page.locator('.group[data-group="0"]').getAttribute('data-zero-spread')).toBe('true');
  expect(await page.locator('.group[data-group="0"] .mark.zero-spread').innerText()).toMatch(/^No reward spread: all 2 scored rollouts got 0\.00, so .*sparse GRPO gets no gradient/);
  expect(await page.locator('.group[data-group="1"] .mark.zero-spread').innerText()).toMatch(/^No reward spread: the one scored rollout got 0\.88, .* This method's segment values are not all 0: it still learns here\.$/);
  expect(await page.locator('.group[data-group="1"] .mark.unlocked').innerText()).toBe('Became solvable at this step: its first correct rollout.');
  await page.locator('#rollout-step').focus();
  await page.keyboard.press('ArrowRight');
  await expect.poll(() => heading.innerText()).toBe('Stage 1, step 2: exprl-process rollouts');
  expect(await page.locator('.group[data-group="0"]').getAttribute('data-unlocked')).toBe('new');

  // Filters: outcome "correct" hides the wrong rollout; a prompt query hides the other prompts.
  await page.locator('#rollout-step').press('Home');
  await expect.poll(() => heading.innerText()).toBe('Stage 1, step 1: exprl-process rollouts');
  await page.locator('#rollout-outcome').selectOption('correct');
  await expect.poll(() => page.locator('.rollout').count()).toBe(1);
  expect(await page.locator('.rollout .segment').first().innerText()).toBe('1 + 3 = 4\n');
  await page.locator('#rollout-outcome').selectOption('masked');
  await expect.poll(() => page.locator('.rollout').count()).toBe(1);
  await page.locator('#rollout-outcome').selectOption('all');
  await page.locator('#rollout-prompt').fill('solve');
  await expect.poll(() => page.locator('.group').count()).toBe(1);
  expect(await page.locator('.group').getAttribute('data-group')).toBe('0');
  expect(await page.locator('.rollout-count').innerText()).toBe('2 of 4 rollouts shown, 1 of 2 prompts');

  // A new step does not move a held step; the slider's end follows again.
  await page.evaluate((s) => (window as unknown as { browser: { add(b: unknown): void } }).browser.add(s), { ...STEPS[1], step: 4 });
  expect(await heading.innerText()).toBe('Stage 1, step 1: exprl-process rollouts');
  await page.locator('#rollout-step').press('End');
  await expect.poll(() => heading.innerText()).toBe('Stage 1, step 4: exprl-process rollouts');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
}, 120_000);
