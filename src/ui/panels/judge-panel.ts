/**
 * The judge's settings that are not rows of the settings table: the API key of an
 * OpenAI-compatible judge (bound to the endpoint origin it was entered for; src/ui/state/judge-key.ts),
 * a "Test connection" button (src/judge/connection-test.ts), and the judge prompts, editable.
 *
 * The key never enters the settings form, so neither the URL hash nor the run config (nor what
 * is saved or exported from it) can hold it; the engine gets it with `setJudgeKey` and sends it
 * only to its origin. Texts from the server and the engine are shown with textContent, redacted
 * of the key.
 *
 * The prompts go into the run config (judge.templates) but not into the link: three prompts are
 * several kilobytes of URL, and a prompt is what tells the judge how to score, so a link that
 * could rewrite it could make a judge pay for junk without the user seeing it.
 */
import type * as Comlink from 'comlink';
import { testJudgeConnection } from '../../judge/connection-test';
import type { FetchLike } from '../../judge/http';
import type { KeyBinding } from '../../judge/key-binding';
import { endpointOrigin } from '../../judge/key-binding';
import { DEFAULT_TEMPLATES, validateTemplate, type TemplateKind } from '../../judge/prompts';
import { applySettings, preset, schemaField, type JudgeConfig, type JudgeTemplates, type PresetName } from '../../rl/config';
import type { EngineApi, EngineEvent } from '../../worker/api';
import { el, field } from '../dom';
import { pageOrigin } from '../state/location';
import { JudgeKeyStore, type KeyStorage } from '../state/judge-key';
import type { SettingsForm } from '../views/settings-form';

const TEMPLATE_KINDS: readonly TemplateKind[] = ['outcome', 'segment', 'prefix'];
const TEMPLATE_LABELS: Record<TemplateKind, string> = {
  outcome: 'outcome judge prompt',
  segment: 'segment judge prompt (process, segment view)',
  prefix: 'prefix judge prompt (process, prefix view)',
};
/** Judge kinds that are language models reading the prompts. */
const PROMPTED_KINDS = ['policy', 'local', 'openai'];

export interface JudgePanelHooks {
  /** True while the endpoint came from a link and the user has not confirmed it: nothing is sent to it. */
  endpointUnconfirmed(): boolean;
  /** The prompts changed (the run panel re-checks the config). */
  onChange(): void;
  /** Where a remembered key is kept (default: localStorage); null: nowhere. */
  storage?: KeyStorage | null;
  fetch?: FetchLike;
  /** The preset the form falls back to when it names none. */
  defaultPreset: PresetName;
}

export interface JudgePanel {
  element: HTMLElement;
  /** The prompts the text areas hold (the run config's judge.templates). */
  templates(): JudgeTemplates;
  /** Shows prompts in the text areas (an imported config's, say). */
  setTemplates(t: Partial<JudgeTemplates>): void;
  /** The settings changed: what is shown follows the judge kind and the endpoint. */
  update(): void;
  /** A text as the page may show it: without the key. */
  redact(text: string): string;
  /** An engine event with its texts (a failed run's error, notes) redacted of the key. */
  redactEvent(e: EngineEvent): EngineEvent;
}

function browserStorage(): KeyStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function judgePanel(engine: Comlink.Remote<EngineApi>, form: SettingsForm, hooks: JudgePanelHooks): JudgePanel {
  const store = new JudgeKeyStore(hooks.storage === undefined ? browserStorage() : hooks.storage);
  const kindSel = form.controls.get('judge')!;
  const endpointInput = form.controls.get('judge-endpoint')!;
  const endpoint = (): string => endpointInput.value.trim();

  /** The judge section as the form sets it (bad values left at the preset's). */
  const judgeSettings = (): JudgeConfig => {
    const { values } = form.read((key, raw) => key === 'model' && raw === 'current');
    return applySettings(preset((values.preset ?? hooks.defaultPreset) as PresetName), values).judge;
  };

  // The engine holds the key bound to its origin; it sends it nowhere else. Fake engines of tests may lack the call.
  const tellEngine = (): void => {
    const binding: KeyBinding | null = store.binding();
    const call = (engine as Partial<Comlink.Remote<EngineApi>>).setJudgeKey;
    if (typeof call !== 'function') return;
    Promise.resolve()
      .then(() => call(binding))
      .catch(() => undefined);
  };

  // The API key: a password field with a visible label; the page keeps it in memory unless "remember" is ticked.
  const keyInput = el('input', {
    id: 'judge-api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: false,
    title: "The judge server's API key. Sent only in the Authorization header, only to the origin it was entered for; never written to the link, the run config or its files.",
  });
  const remember = el('input', { id: 'judge-api-key-remember', type: 'checkbox' });
  const keyNote = el('p', { className: 'key-note', live: 'polite' });
  const rebind = el('button', { text: 'Use the key for this endpoint' });
  const keyBox = el(
    'div',
    { className: 'judge-key' },
    field('judge API key', keyInput, { className: 'setting' }),
    field('remember in this browser', remember, { className: 'remember' }),
    keyNote,
    rebind,
  );
  keyInput.value = store.value;
  remember.checked = store.remembered;

  const showKey = (): void => {
    const k = store.forEndpoint(endpoint());
    const where = store.remembered ? 'remembered in this browser (localStorage) with its origin' : 'kept in this page\'s memory only: it is gone when the page closes';
    rebind.hidden = true;
    if (k.state === 'none') keyNote.textContent = 'No key: requests go without an Authorization header.';
    else if (k.state === 'bound') keyNote.textContent = `The key is sent only to ${k.origin}, in the Authorization header; ${where}.`;
    else if (k.state === 'unbound') {
      const at = endpointOrigin(endpoint());
      keyNote.textContent = at === null || hooks.endpointUnconfirmed() ? 'The key is not bound to an origin yet, so it is sent nowhere: enter (or confirm) the judge endpoint.' : `The key is not bound to an origin yet, so it is sent nowhere. Use it for ${at}?`;
      rebind.hidden = at === null || hooks.endpointUnconfirmed();
      rebind.textContent = `Use the key for ${at}`;
    } else {
      const to = k.endpointOrigin ?? 'this endpoint';
      keyNote.textContent = `The key belongs to ${k.origin} and is not sent to ${to}. Re-enter the key for ${to}, or confirm that it belongs there too.`;
      rebind.hidden = k.endpointOrigin === null || hooks.endpointUnconfirmed();
      rebind.textContent = `Use the key for ${to}`;
    }
  };

  keyInput.addEventListener('input', () => {
    // A key typed while a link's endpoint waits for confirmation is bound to no origin until the user binds it.
    store.set(keyInput.value, hooks.endpointUnconfirmed() ? '' : endpoint());
    tellEngine();
    showKey();
  });
  remember.addEventListener('change', () => {
    store.setRemember(remember.checked);
    showKey();
  });
  rebind.addEventListener('click', () => {
    if (hooks.endpointUnconfirmed()) return;
    store.bindTo(endpoint());
    tellEngine();
    showKey();
  });
  // An endpoint typed after the key (committed: the field loses focus) takes the unbound key; a bound key never moves by itself.
  endpointInput.addEventListener('change', () => {
    if (store.forEndpoint(endpoint()).state === 'unbound' && !hooks.endpointUnconfirmed() && endpointOrigin(endpoint()) !== null) {
      store.bindTo(endpoint());
      tellEngine();
      showKey();
    }
  });
  if (store.binding() !== null) tellEngine();

  // Test connection: one judge request with the key bound to the endpoint's origin; the answer as text.
  const testButton = el('button', { text: 'Test connection' });
  const testStatus = el('p', { className: 'test-status', live: 'polite' });
  const testReply = el('pre', { className: 'test-reply', hidden: true });
  const testScore = el('p', { className: 'test-score' });
  const testHints = el('ul', { className: 'test-hints' });
  const testBox = el('div', { className: 'judge-test' }, testButton, testStatus, testReply, testScore, testHints);
  testButton.addEventListener('click', async () => {
    testReply.hidden = true;
    testReply.textContent = '';
    testScore.textContent = '';
    testHints.replaceChildren();
    if (hooks.endpointUnconfirmed()) {
      testStatus.textContent = 'The endpoint came from a link: confirm it ("Use this endpoint") before anything is sent to it.';
      return;
    }
    const j = judgeSettings();
    const k = store.forEndpoint(j.endpoint);
    if (k.state === 'bound') store.markUsed();
    testButton.disabled = true;
    testStatus.textContent = `Sending one judge request to ${endpointOrigin(j.endpoint) ?? 'the endpoint'}${k.state === 'bound' ? ' with the key' : ' without a key'}…`;
    try {
      const r = await testJudgeConnection({
        endpoint: j.endpoint,
        model: j.model,
        apiKey: k.state === 'bound' ? k.key : undefined,
        template: templates().outcome,
        maxTokens: j.maxTokens,
        timeoutMs: j.timeoutMs,
        pick: j.parse,
        normalisation: j.normalisation,
        pageOrigin: pageOrigin(),
        fetch: hooks.fetch,
      });
      const keyLine = r.keySent ? ' The key was sent.' : k.state === 'other-origin' ? ` No key was sent: the key belongs to ${k.origin}.` : ' No key was sent.';
      testStatus.textContent = store.redact(`${r.ok ? 'Connected' : 'Failed'}: ${r.message} Latency ${Math.round(r.latencyMs)} ms.${keyLine}`);
      testStatus.dataset.ok = String(r.ok);
      if (r.reply !== '') {
        testReply.hidden = false;
        testReply.textContent = store.redact(`The server's answer:\n${r.reply}`);
      }
      testScore.textContent = store.redact(r.score ?? '');
      for (const h of r.hints) testHints.appendChild(el('li', { text: store.redact(h) }));
    } finally {
      testButton.disabled = false;
    }
  });

  // The prompts: one labelled text area per template, checked as typed, and a reset.
  const templateDoc = schemaField('judge.templates').doc;
  const areas = new Map<TemplateKind, HTMLTextAreaElement>();
  const problems = new Map<TemplateKind, HTMLElement>();
  const promptFields = TEMPLATE_KINDS.map((kind) => {
    const id = `judge-template-${kind}`;
    const area = el('textarea', { id, rows: 10, spellcheck: false, title: templateDoc, value: DEFAULT_TEMPLATES[kind] });
    const problem = el('p', { className: 'template-problem error', live: 'polite' });
    areas.set(kind, area);
    problems.set(kind, problem);
    area.addEventListener('input', () => {
      showTemplates();
      hooks.onChange();
    });
    return el('div', { className: 'template' }, el('label', { text: TEMPLATE_LABELS[kind], htmlFor: id }), area, problem);
  });
  const reset = el('button', { text: 'Reset prompts to default' });
  const promptsNote = el('p', { className: 'hint prompts-note' });
  const prompts = el(
    'details',
    { className: 'judge-prompts' },
    el('summary', { text: 'Judge prompts' }),
    el('p', { className: 'hint', text: templateDoc }),
    ...promptFields,
    reset,
    promptsNote,
  );
  function templates(): JudgeTemplates {
    return { outcome: areas.get('outcome')!.value, segment: areas.get('segment')!.value, prefix: areas.get('prefix')!.value };
  }
  function showTemplates(): void {
    let edited = false;
    for (const kind of TEMPLATE_KINDS) {
      const v = areas.get(kind)!.value;
      if (v !== DEFAULT_TEMPLATES[kind]) edited = true;
      const errors = validateTemplate(v);
      problems.get(kind)!.textContent = errors.length > 0 ? `${TEMPLATE_LABELS[kind]}: ${errors.join('; ')}` : '';
    }
    promptsNote.textContent = edited
      ? 'Edited prompts go into the run config (judge.templates) but not into the page\'s link: a link holds the settings above only, so one that is shared judges with the default prompts.'
      : 'The default prompts.';
  }
  reset.addEventListener('click', () => {
    for (const kind of TEMPLATE_KINDS) areas.get(kind)!.value = DEFAULT_TEMPLATES[kind];
    showTemplates();
    hooks.onChange();
  });
  showTemplates();

  const update = (): void => {
    const kind = kindSel.value;
    keyBox.hidden = kind !== 'openai';
    testBox.hidden = kind !== 'openai';
    prompts.hidden = !PROMPTED_KINDS.includes(kind);
    testButton.disabled = hooks.endpointUnconfirmed();
    showKey();
  };

  const redact = (text: string): string => store.redact(text);
  return {
    element: el('div', { className: 'judge-panel' }, keyBox, testBox, prompts),
    templates,
    setTemplates(t) {
      for (const kind of TEMPLATE_KINDS) if (t[kind] !== undefined) areas.get(kind)!.value = t[kind];
      showTemplates();
      hooks.onChange();
    },
    update,
    redact,
    redactEvent(e) {
      if (e.type === 'run-start') {
        // The run may send the key: from now on every text is redacted of it, whatever is typed later.
        if (e.config.judge.kind === 'openai' && store.forEndpoint(e.config.judge.endpoint).state === 'bound') store.markUsed();
        return e;
      }
      if (e.type === 'run-note') return { ...e, message: redact(e.message) };
      if (e.type === 'run-end' && e.error !== undefined) return { ...e, error: redact(e.error) };
      return e;
    },
  };
}
