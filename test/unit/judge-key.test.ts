// @vitest-environment jsdom
// The judge's API key in the page (src/ui/state/judge-key.ts, src/ui/panels/judge-panel.ts, src/judge/key-binding.ts):
// in memory unless "remember in this browser" is ticked (then localStorage, with its origin);
// bound to the endpoint origin it was entered for; never in the URL hash or the run config; the
// engine gets it bound to its origin; a failed run's error reaches the page without it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { boundKey, endpointOrigin } from '../../src/judge/key-binding';
import { decodeSetup, encodeSetup, type RunConfig } from '../../src/rl/config';
import { JudgeKeyStore, KEY_STORAGE_ITEM, type KeyStorage } from '../../src/ui/state/judge-key';
import { runPanel } from '../../src/ui/panels/run-panel';
import type { EngineApi, EngineEvent } from '../../src/worker/api';

const KEY = 'sk-test-Zq7/+Ab9_key-0042';

function memoryStorage(): KeyStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

describe('key binding', () => {
  it('an endpoint origin is that of an http(s) URL; the key goes only to its own origin', () => {
    expect(endpointOrigin('http://127.0.0.1:8000/v1')).toBe('http://127.0.0.1:8000');
    expect(endpointOrigin(' https://api.example.com/v1/ ')).toBe('https://api.example.com');
    expect(endpointOrigin('ftp://example.com/')).toBeNull();
    expect(endpointOrigin('not a url')).toBeNull();
    const b = { origin: 'http://127.0.0.1:8000', key: KEY };
    expect(boundKey(b, 'http://127.0.0.1:8000/v1')).toBe(KEY);
    expect(boundKey(b, 'http://127.0.0.1:8000/other/path?x=1')).toBe(KEY);
    // Another port, host or scheme is another origin.
    expect(boundKey(b, 'http://127.0.0.1:8001/v1')).toBeUndefined();
    expect(boundKey(b, 'http://localhost:8000/v1')).toBeUndefined();
    expect(boundKey(b, 'https://127.0.0.1:8000/v1')).toBeUndefined();
    expect(boundKey(null, 'http://127.0.0.1:8000/v1')).toBeUndefined();
  });
});

describe('key store', () => {
  it('keeps the key in memory only until "remember" is ticked, then in storage with its origin', () => {
    const storage = memoryStorage();
    const store = new JudgeKeyStore(storage);
    store.set(KEY, 'http://127.0.0.1:8000/v1');
    expect(storage.items.size).toBe(0);
    expect(store.binding()).toEqual({ origin: 'http://127.0.0.1:8000', key: KEY });
    store.setRemember(true);
    expect(JSON.parse(storage.items.get(KEY_STORAGE_ITEM)!)).toEqual({ origin: 'http://127.0.0.1:8000', key: KEY });
    // A new page finds it, bound to the same origin.
    const again = new JudgeKeyStore(storage);
    expect([again.value, again.remembered, again.boundOrigin]).toEqual([KEY, true, 'http://127.0.0.1:8000']);
    // Unticked: gone from storage, still in memory.
    again.setRemember(false);
    expect(storage.items.size).toBe(0);
    expect(again.value).toBe(KEY);
    expect(new JudgeKeyStore(storage).value).toBe('');
    // Remembered, then cleared: gone from both.
    again.setRemember(true);
    again.set('', 'http://127.0.0.1:8000/v1');
    expect(storage.items.size).toBe(0);
    expect(again.forEndpoint('http://127.0.0.1:8000/v1')).toEqual({ state: 'none' });
  });

  it('hands the key out only for its origin; another origin needs the user to bind it there', () => {
    const store = new JudgeKeyStore(null);
    store.set(KEY, 'http://127.0.0.1:8000/v1');
    expect(store.forEndpoint('http://127.0.0.1:8000/v1')).toEqual({ state: 'bound', key: KEY, origin: 'http://127.0.0.1:8000' });
    const elsewhere = store.forEndpoint('https://evil.example/v1');
    expect(elsewhere).toEqual({ state: 'other-origin', origin: 'http://127.0.0.1:8000', endpointOrigin: 'https://evil.example' });
    expect(JSON.stringify(elsewhere)).not.toContain(KEY);
    store.bindTo('https://evil.example/v1');
    expect(store.forEndpoint('https://evil.example/v1').state).toBe('bound');
    expect(store.forEndpoint('http://127.0.0.1:8000/v1').state).toBe('other-origin');
    // Typed while the endpoint is not a URL: bound to nothing, sent nowhere.
    store.set(KEY, 'localhost');
    expect(store.forEndpoint('localhost').state).toBe('unbound');
    expect(store.forEndpoint('http://127.0.0.1:8000/v1').state).toBe('unbound');
    expect(store.binding()).toBeNull();
  });

  it('drops a stored entry it cannot read, and one without a proper origin', () => {
    for (const bad of ['{', JSON.stringify({ key: KEY }), JSON.stringify({ key: KEY, origin: 'http://x/v1' }), JSON.stringify({ key: '', origin: 'http://x' })]) {
      const storage = memoryStorage();
      storage.items.set(KEY_STORAGE_ITEM, bad);
      expect(new JudgeKeyStore(storage).value, bad).toBe('');
      expect(storage.items.size, bad).toBe(0);
    }
  });

  it('redacts the key, in its spellings, from texts the page shows', () => {
    const store = new JudgeKeyStore(null);
    store.set(KEY, 'http://127.0.0.1:8000/v1');
    const text = `HTTP 401: invalid key ${KEY} (${encodeURIComponent(KEY)}, ${JSON.stringify(KEY)}, Authorization: Bearer ${KEY})`;
    const shown = store.redact(text);
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain(encodeURIComponent(KEY));
    expect(shown).toContain('[redacted]');
    // A key in use stays redacted after the field changes.
    store.markUsed();
    store.set('another-key-123', 'http://127.0.0.1:8000/v1');
    expect(store.redact(`old ${KEY}`)).toBe('old [redacted]');
  });
});

describe('the key in the run panel', () => {
  let listener: ((e: EngineEvent) => void) | null;
  let setJudgeKey: ReturnType<typeof vi.fn>;
  let startRun: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    listener = null;
    localStorage.clear();
    history.replaceState(null, '', '/');
  });
  afterEach(() => {
    document.body.replaceChildren();
    localStorage.clear();
    history.replaceState(null, '', '/');
  });

  function mount(hash = ''): HTMLElement {
    history.replaceState(null, '', `/${hash}`);
    setJudgeKey = vi.fn(async () => {});
    startRun = vi.fn(async () => ({ status: 'finished', steps: 0, judgeCalls: 0 }));
    const api: Partial<EngineApi> = {
      onEvent: (l) => void (listener = l),
      startRun: startRun as unknown as EngineApi['startRun'],
      stopRun: async () => {},
      savedRun: async () => null,
      setJudgeKey: setJudgeKey as unknown as EngineApi['setJudgeKey'],
    };
    const panel = runPanel(api as unknown as Parameters<typeof runPanel>[0]);
    document.body.replaceChildren(panel);
    return panel;
  }

  function byLabel(text: string): HTMLInputElement | HTMLSelectElement {
    const label = [...document.querySelectorAll('label')].find((l) => l.textContent?.trim() === text);
    if (label === undefined) throw new Error(`no label ${text}`);
    return document.getElementById(label.htmlFor) as HTMLInputElement | HTMLSelectElement;
  }

  function set(input: HTMLInputElement | HTMLSelectElement, value: string): void {
    input.value = value;
    input.dispatchEvent(new Event('input'));
  }

  const flush = () => new Promise((r) => setTimeout(r, 0));

  it('is a labelled password field; it reaches the engine bound to its origin, never the hash, the config or storage', async () => {
    const panel = mount();
    set(byLabel('judge'), 'openai');
    set(byLabel('judge endpoint'), 'http://127.0.0.1:8000/v1');
    set(byLabel('judge model'), 'qwen');
    const key = byLabel('judge API key') as HTMLInputElement;
    expect(key.type).toBe('password');
    set(key, KEY);
    await flush();
    expect(setJudgeKey).toHaveBeenLastCalledWith({ origin: 'http://127.0.0.1:8000', key: KEY });
    expect(panel.querySelector('.key-note')!.textContent).toContain('sent only to http://127.0.0.1:8000');
    for (const spelling of [KEY, encodeURIComponent(KEY)]) expect(location.href).not.toContain(spelling);
    expect(decodeSetup(location.hash).setup).toMatchObject({ judge: 'openai', 'judge-endpoint': 'http://127.0.0.1:8000/v1' });
    expect(localStorage.length).toBe(0);
    // Start: the config the engine gets holds no key.
    [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Start')!.click();
    expect(startRun).toHaveBeenCalledTimes(1);
    const config = startRun.mock.calls[0][0] as RunConfig;
    expect(config.judge.endpoint).toBe('http://127.0.0.1:8000/v1');
    expect(JSON.stringify(config)).not.toContain(KEY);
    // Remembered: localStorage holds it with its origin; the hash still does not.
    const remember = byLabel('remember in this browser') as HTMLInputElement;
    remember.checked = true;
    remember.dispatchEvent(new Event('change'));
    expect(JSON.parse(localStorage.getItem(KEY_STORAGE_ITEM)!)).toEqual({ origin: 'http://127.0.0.1:8000', key: KEY });
    set(byLabel('judge model'), 'qwen2');
    expect(location.href).not.toContain(KEY);
    // A reload finds it, bound to its origin, and hands it to the engine.
    document.body.replaceChildren();
    mount(location.hash);
    await flush();
    expect((byLabel('judge API key') as HTMLInputElement).value).toBe(KEY);
    expect(setJudgeKey).toHaveBeenLastCalledWith({ origin: 'http://127.0.0.1:8000', key: KEY });
  });

  it('the encoded setup of a page with a key typed holds no key', () => {
    mount();
    set(byLabel('judge'), 'openai');
    set(byLabel('judge endpoint'), 'http://127.0.0.1:8000/v1');
    set(byLabel('judge API key'), KEY);
    const encoded = encodeSetup(decodeSetup(location.hash).setup);
    expect(encoded).not.toContain(KEY);
    expect(encoded).not.toContain(encodeURIComponent(KEY));
  });

  it('says the key belongs to its origin when the endpoint moves, and sends it there only when the user binds it', async () => {
    const panel = mount();
    set(byLabel('judge'), 'openai');
    set(byLabel('judge endpoint'), 'http://127.0.0.1:8000/v1');
    set(byLabel('judge API key'), KEY);
    set(byLabel('judge endpoint'), 'http://10.0.0.5:8000/v1');
    const note = panel.querySelector('.key-note')!.textContent!;
    expect(note).toContain('The key belongs to http://127.0.0.1:8000 and is not sent to http://10.0.0.5:8000');
    expect(note).not.toContain(KEY);
    const use = [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Use the key for http://10.0.0.5:8000')!;
    expect(use.hidden).toBe(false);
    use.click();
    await flush();
    expect(setJudgeKey).toHaveBeenLastCalledWith({ origin: 'http://10.0.0.5:8000', key: KEY });
    expect(panel.querySelector('.key-note')!.textContent).toContain('sent only to http://10.0.0.5:8000');
  });

  it('a link never carries a key, and a key is not bound to an unconfirmed link endpoint', async () => {
    expect(() => decodeSetup(`judge=openai&judge-api-key=${KEY}`)).toThrow(/not a known setting/);
    const panel = mount('#judge=openai&judge-endpoint=http%3A%2F%2F10.9.9.9%3A1234%2Fv1');
    set(byLabel('judge API key'), KEY);
    await flush();
    expect(setJudgeKey).toHaveBeenLastCalledWith(null);
    expect(panel.querySelector('.key-note')!.textContent).toContain('not bound to an origin yet');
    const test = [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Test connection')!;
    expect(test.disabled).toBe(true);
    // Confirmed: the user may now bind the key there.
    [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Use this endpoint')!.click();
    const use = [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Use the key for http://10.9.9.9:1234')!;
    expect(use.hidden).toBe(false);
    use.click();
    await flush();
    expect(setJudgeKey).toHaveBeenLastCalledWith({ origin: 'http://10.9.9.9:1234', key: KEY });
  });

  it("a failed run's error and the run's notes are shown without the key", async () => {
    const panel = mount();
    set(byLabel('judge'), 'openai');
    set(byLabel('judge endpoint'), 'http://127.0.0.1:8000/v1');
    set(byLabel('judge API key'), KEY);
    [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Start')!.click();
    const config = startRun.mock.calls[0][0] as RunConfig;
    listener!({ type: 'run-start', config, resumedAt: null });
    // The key typed again differently later: the run's key stays redacted.
    set(byLabel('judge API key'), 'a-different-key');
    listener!({ type: 'run-note', message: `judge said: your key ${KEY} is wrong` });
    listener!({ type: 'run-end', summary: null, error: `HTTP 401: key ${KEY} refused (${encodeURIComponent(KEY)})` });
    await flush();
    expect(panel.textContent).toContain('HTTP 401: key [redacted] refused');
    expect(panel.textContent).toContain('judge said: your key [redacted] is wrong');
    expect(panel.textContent).not.toContain(KEY);
    expect(panel.textContent).not.toContain(encodeURIComponent(KEY));
  });
});

describe('judge prompts in the page', () => {
  afterEach(() => {
    document.body.replaceChildren();
    history.replaceState(null, '', '/');
  });

  it('are labelled text areas that go into the run config (not the hash), are checked, and reset to default', async () => {
    const { DEFAULT_TEMPLATES } = await import('../../src/judge/prompts');
    const startRun = vi.fn(async () => ({ status: 'finished', steps: 0, judgeCalls: 0 }));
    const api: Partial<EngineApi> = { onEvent: () => {}, startRun: startRun as unknown as EngineApi['startRun'], stopRun: async () => {}, savedRun: async () => null };
    const panel = runPanel(api as unknown as Parameters<typeof runPanel>[0]);
    document.body.replaceChildren(panel);
    const label = [...panel.querySelectorAll('label')].find((l) => l.textContent === 'outcome judge prompt')!;
    const outcome = document.getElementById(label.htmlFor) as HTMLTextAreaElement;
    expect(outcome.tagName).toBe('TEXTAREA');
    expect(outcome.value).toBe(DEFAULT_TEMPLATES.outcome);
    const judgeSel = [...panel.querySelectorAll('label')].find((l) => l.textContent === 'judge')!;
    const sel = document.getElementById(judgeSel.htmlFor) as HTMLSelectElement;
    expect((panel.querySelector('.judge-prompts') as HTMLElement).hidden).toBe(true);
    sel.value = 'openai';
    sel.dispatchEvent(new Event('input'));
    const endpointLabel = [...panel.querySelectorAll('label')].find((l) => l.textContent === 'judge endpoint')!;
    const endpoint = document.getElementById(endpointLabel.htmlFor) as HTMLInputElement;
    endpoint.value = 'http://127.0.0.1:8000/v1';
    endpoint.dispatchEvent(new Event('input'));
    expect((panel.querySelector('.judge-prompts') as HTMLElement).hidden).toBe(false);
    const mine = 'Grade this.\n{{question}}\n{{reference}}\n{{trace}}\nScore: N';
    outcome.value = mine;
    outcome.dispatchEvent(new Event('input'));
    expect(location.hash).not.toContain('Grade');
    const start = [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Start')!;
    expect(start.disabled, panel.querySelector('.estimate')!.textContent!).toBe(false);
    start.click();
    expect((startRun.mock.calls[0] as unknown as [RunConfig])[0].judge.templates.outcome).toBe(mine);
    // A template without {{trace}} is named and keeps Start off.
    outcome.value = 'Grade {{question}} {{reference}}';
    outcome.dispatchEvent(new Event('input'));
    expect(panel.querySelector('.template-problem')!.textContent).toContain('missing placeholder {{trace}}');
    expect(panel.querySelector('.estimate')!.textContent).toContain('judge.templates');
    [...panel.querySelectorAll('button')].find((b) => b.textContent === 'Reset prompts to default')!.click();
    expect(outcome.value).toBe(DEFAULT_TEMPLATES.outcome);
    expect(panel.querySelector('.template-problem')!.textContent).toBe('');
    expect(panel.querySelector('.estimate')!.textContent).toMatch(/^Judge calls/);
  });
});
