// End to end, the page for someone who uses a screen reader or the keyboard only, on the training
// page, the run files page (?view=files) and a recorded run (?replay=...):
//  - every form control (input, select, textarea) takes its accessible name from a <label> element
//    with text, not from aria-label, and wherever the control shows, its label shows too (every
//    <details> opened, so the compare section's and the judge prompts' controls count);
//  - status lines (.run-status, .status, .notice) are aria-live;
//  - from the keyboard alone: Tab reaches Start, Enter starts a tiny run, and a step arrives.
// No exceptions: the file inputs have visible labels too, and the page makes no hidden inputs.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type E2eApp } from '../support/e2e-app';

const SHIPPED_REPLAY = 'exprl-process-s1';
let app: E2eApp;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

/** What is wrong with the page's form controls and status lines, one line per problem (none: []). */
async function problems(page: Page): Promise<{ checked: number; problems: string[] }> {
  return page.evaluate(() => {
    for (const d of document.querySelectorAll('details')) d.open = true;
    const shown = (e: Element): boolean => e.checkVisibility({ opacityProperty: true, visibilityProperty: true });
    const what = (e: Element): string => `<${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e instanceof HTMLInputElement ? ` type=${e.type}` : ''}> in ${e.closest('section')?.querySelector('h2')?.textContent ?? 'the page'}`;
    const out: string[] = [];
    const controls = [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input, select, textarea')];
    for (const c of controls) {
      if (c instanceof HTMLInputElement && c.type === 'hidden') {
        out.push(`${what(c)}: a hidden input (none expected)`);
        continue;
      }
      const labels = [...(c.labels ?? [])].filter((l) => (l.textContent ?? '').trim() !== '');
      if (labels.length === 0) out.push(`${what(c)}: no <label> with text`);
      for (const attr of ['aria-label', 'aria-labelledby']) if (c.hasAttribute(attr)) out.push(`${what(c)}: named by ${attr}, not by its visible label`);
      if (shown(c) && labels.length > 0 && !labels.some(shown)) out.push(`${what(c)}: shown, but its label is not`);
    }
    for (const s of document.querySelectorAll('.run-status, .status, .notice')) {
      if (!['polite', 'assertive'].includes(s.getAttribute('aria-live') ?? '')) out.push(`${s.className}: a status line without aria-live`);
    }
    return { checked: controls.length, problems: out };
  });
}

/** Presses Tab until the button named `name` has the focus (at most `max` presses); the count, or an error naming where the focus went. */
async function tabTo(page: Page, name: string, max: number): Promise<number> {
  const path: string[] = [];
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate((want) => {
      const e = document.activeElement;
      const where = e === null ? 'nothing' : `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''} "${(e.textContent ?? '').trim().slice(0, 30)}"`;
      return { where, there: e instanceof HTMLButtonElement && e.textContent === want };
    }, name);
    path.push(at.where);
    if (at.there) return i;
  }
  throw new Error(`Tab did not reach the ${name} button in ${max} presses: ${path.join(' → ')}`);
}

it('the training page: labelled controls, live status lines, and Tab then Enter on Start runs a step', async () => {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    // The tiny preset on a fresh built-in policy, from the link: nothing set with the mouse.
    await page.goto(`${app.url}#preset=tiny&model=builtin&steps=40`);
    await page.getByRole('heading', { name: 'Run', exact: true }).waitFor({ timeout: 120_000 });
    const r = await problems(page);
    expect(r.problems).toEqual([]);
    expect(r.checked).toBeGreaterThan(25);
    // Reached by name through their labels, as a screen reader user would.
    expect(await page.getByLabel('seed', { exact: true }).inputValue()).toBe('1');
    expect(await page.getByLabel('steps per arm', { exact: true }).inputValue()).toBe('5');
    for (const d of await page.locator('details').all()) await d.evaluate((e: HTMLDetailsElement) => (e.open = false));

    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Start' && !b.disabled), null, { timeout: 60_000 });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const presses = await tabTo(page, 'Start', 200);
    console.log(`accessibility: Start reached with ${presses} Tab presses`);
    await page.keyboard.press('Enter');
    await page
      .waitForFunction(() => Number(document.querySelector('.run-steps')?.getAttribute('data-steps')) >= 1, null, { timeout: 240_000, polling: 250 })
      .catch(async (e: unknown) => {
        throw new Error(`no step after Enter on Start; status: ${await page.locator('.run-status').innerText()}`, { cause: e });
      });
    // The run's status line said so, and the segments that arrived are focusable.
    expect(await page.locator('.run-status').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('.segment:not([tabindex="0"])').count()).toBe(0);
    // Stop from the keyboard too (Start, now disabled, may have let the focus go: Tab from wherever it is).
    await tabTo(page, 'Stop', 250);
    await page.keyboard.press('Enter');
    await page.locator('.run-status').filter({ hasText: /^(finished|stopped)/ }).waitFor({ timeout: 240_000 });
    // The page after a run: its charts, table and rollouts added no unlabelled control.
    expect((await problems(page)).problems).toEqual([]);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}, 600_000);

it('the run files page and a recorded run: labelled controls and live status lines; the replay plays from the keyboard', async () => {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${app.url}?view=files`);
    await page.getByRole('heading', { name: 'Import a run' }).waitFor({ timeout: 60_000 });
    const files = await problems(page);
    expect(files.problems).toEqual([]);
    expect(files.checked).toBeGreaterThanOrEqual(3);
    expect(await page.getByLabel('Import run', { exact: true }).getAttribute('type')).toBe('file');

    await page.goto(`${app.url}?replay=${SHIPPED_REPLAY}`);
    await page.getByRole('heading', { name: /^Recorded run: / }).waitFor({ timeout: 60_000 });
    const replay = await problems(page);
    expect(replay.problems).toEqual([]);
    for (const d of await page.locator('details').all()) await d.evaluate((e: HTMLDetailsElement) => (e.open = false));
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await tabTo(page, 'Start', 100);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => Number(document.querySelector('.run-steps')?.getAttribute('data-steps')) >= 1, null, { timeout: 60_000 });
    expect((await problems(page)).problems).toEqual([]);

    // A replay name that is not one: the page says so in a live notice.
    await page.goto(`${app.url}?replay=..%2Fetc`);
    await page.locator('.notice.error').waitFor({ timeout: 30_000 });
    expect(await page.locator('.notice.error').innerText()).toMatch(/not the name of a recorded run/);
    expect((await problems(page)).problems).toEqual([]);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}, 300_000);
