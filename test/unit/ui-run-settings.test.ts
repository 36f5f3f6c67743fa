// @vitest-environment jsdom
// The run panel's settings (src/ui/panels/run-panel.ts, src/ui/views/settings-form.ts) in a DOM without a GPU:
// one labelled input per row of the settings table; the URL hash is read on load and follows the
// inputs; an endpoint from a link blocks Start until the user confirms it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeSetup, DEMO_FINDINGS, preset, readSettings, RUN_SETTINGS } from '../../src/rl/config';
import { runPanel } from '../../src/ui/panels/run-panel';
import { settingsForm } from '../../src/ui/views/settings-form';
import type { EngineApi } from '../../src/worker/api';

type Engine = Parameters<typeof runPanel>[0];

function fakeEngine(): { engine: Engine; startRun: ReturnType<typeof vi.fn> } {
  const startRun = vi.fn(async () => ({ status: 'finished', steps: 0, judgeCalls: 0 }));
  // No run saved in this browser: the panel asks when it opens.
  const api: Partial<EngineApi> = { onEvent: () => {}, startRun: startRun as unknown as EngineApi['startRun'], stopRun: async () => {}, savedRun: async () => null };
  return { engine: api as unknown as Engine, startRun };
}

function mount(hash: string): { panel: HTMLElement; startRun: ReturnType<typeof vi.fn> } {
  history.replaceState(null, '', `/${hash}`);
  const { engine, startRun } = fakeEngine();
  const panel = runPanel(engine);
  document.body.replaceChildren(panel);
  return { panel, startRun };
}

/** The input a visible label names, as a user (or a screen reader) finds it. */
function byLabel(text: string): HTMLInputElement | HTMLSelectElement {
  const label = [...document.querySelectorAll('label')].find((l) => l.textContent === text);
  if (label === undefined) throw new Error(`no label ${text}`);
  return document.getElementById(label.htmlFor) as HTMLInputElement | HTMLSelectElement;
}

function set(input: HTMLInputElement | HTMLSelectElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event('input'));
}

const start = (): HTMLButtonElement => [...document.querySelectorAll('button')].find((b) => b.textContent === 'Start')!;

afterEach(() => {
  document.body.replaceChildren();
  history.replaceState(null, '', '/');
});

describe('settings form', () => {
  it('has one labelled input per setting, described by the field doc, bounded by its type', () => {
    const form = settingsForm();
    document.body.replaceChildren(...RUN_SETTINGS.map((s) => form.field(s.key)));
    for (const s of RUN_SETTINGS) {
      const input = byLabel(s.label);
      expect(input, s.key).toBe(form.controls.get(s.key));
      expect(input.title, s.key).toBe(s.doc);
    }
    expect(byLabel('Stage I steps')).toMatchObject({ type: 'number', min: '1' });
    expect([...(byLabel('judge') as HTMLSelectElement).options].map((o) => o.value)).toEqual(['rubric', 'policy', 'local', 'openai', 'none']);
    form.write({ preset: 'tiny', ...readSettings(preset('tiny')) });
    expect(form.read()).toEqual({ values: { preset: 'tiny', ...readSettings(preset('tiny')) }, issues: [] });
    set(byLabel('Stage I steps'), '0');
    expect(form.read().issues).toEqual([{ path: 'steps', value: '0', message: 'must be a finite integer >= 1' }]);
    // An empty number leaves the preset's value.
    set(byLabel('run seed'), '');
    expect(form.read().values.seed).toBeUndefined();
  });
});

describe('run panel', () => {
  it('starts from the demo preset, says what it showed, and writes the setup to the hash', () => {
    mount('');
    expect([byLabel('preset').value, byLabel('Stage I method').value, byLabel('Stage I steps').value, byLabel('policy').value, byLabel('Stage II steps').value]).toEqual(['demo', 'exprl-process', '200', 'builtin-base', '0']);
    expect(decodeSetup(location.hash).setup).toMatchObject({ preset: 'demo', steps: 200, judge: 'rubric', 'judge-guard': true });
    expect(document.querySelector('.preset-note')!.textContent).toBe(DEMO_FINDINGS);
    set(byLabel('Stage I steps'), '7');
    expect(decodeSetup(location.hash).setup.steps).toBe(7);
    // A preset shows its own values (and only the demo has a note).
    set(byLabel('preset'), 'small');
    expect(document.querySelector('.preset-note')!.textContent).toBe('');
    expect([byLabel('Stage I steps').value, byLabel('policy').value, byLabel('Stage II steps').value]).toEqual(['200', 'builtin-base', '0']);
    expect(decodeSetup(location.hash).setup).toMatchObject({ preset: 'small', steps: 200, model: 'builtin-base' });
    // A bad value is named and keeps Start off; the hash keeps the last good setup.
    set(byLabel('Stage I steps'), '0');
    expect(document.querySelector('.estimate')!.textContent).toContain('steps = "0": must be a finite integer >= 1');
    expect(start().disabled).toBe(true);
    expect(decodeSetup(location.hash).setup.steps).toBe(200);
  });

  it('reads a link\'s setup and runs with it', () => {
    const { startRun } = mount('#preset=tiny&method=sparse-grpo&steps=2&stage2-steps=0&seed=5');
    expect([byLabel('Stage I method').value, byLabel('Stage I steps').value, byLabel('run seed').value]).toEqual(['sparse-grpo', '2', '5']);
    expect(start().disabled).toBe(false);
    start().click();
    const [config, policy] = startRun.mock.calls[0] as [{ stages: { method: string; steps: number }[]; seeds: unknown }, string];
    expect(config.stages.map((s) => [s.method, s.steps])).toEqual([['sparse-grpo', 2]]);
    expect([config.seeds, policy]).toEqual([{ init: 5, data: 5, sampling: 5 }, 'builtin']);
  });

  it('says why a bad link was not used', () => {
    mount('#steps=abc&__proto__=1');
    expect(document.querySelector('.link-note')!.textContent).toMatch(/^The link's setup was not used: .*steps = "abc".*__proto__ = "\(not shown\)"/);
    expect(byLabel('Stage I steps').value).toBe('200');
  });

  it('sends nothing to an endpoint from a link until the user confirms it', () => {
    mount('#judge=openai&judge-endpoint=http%3A%2F%2Fevil.example%2Fv1&judge-model=m&method=exprl-outcome');
    const confirm = document.querySelector('.link-confirm') as HTMLElement;
    expect(confirm.hidden).toBe(false);
    expect(confirm.textContent).toContain('"http://evil.example/v1" came from a link');
    expect(start().disabled).toBe(true);
    [...confirm.querySelectorAll('button')].find((b) => b.textContent === 'Use this endpoint')!.click();
    expect(confirm.hidden).toBe(true);
    expect(start().disabled).toBe(false);
    // An endpoint the user types is theirs.
    mount('#judge=openai&judge-endpoint=http%3A%2F%2Fevil.example%2Fv1&judge-model=m');
    expect(start().disabled).toBe(true);
    set(byLabel('judge endpoint'), 'http://127.0.0.1:8000/v1');
    expect(start().disabled).toBe(false);
  });
});
