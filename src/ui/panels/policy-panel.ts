/**
 * The policy: create the built-in one from a seed, load one (saved in this browser, a folder on
 * disk, or the Hugging Face Hub by id), save it, and sample from a prompt. Every text the model,
 * a file or a server produced is shown as text.
 */
import type * as Comlink from 'comlink';
import type { EngineApi, PolicyInfo } from '../../worker/api';
import { el, field } from '../dom';
import type { EngineEvents } from '../state/events';

/** Fills a select with the names of the policies saved in this browser. */
async function refreshStored(engine: Comlink.Remote<EngineApi>, select: HTMLSelectElement): Promise<void> {
  const names = await engine.storedPolicies().catch(() => [] as string[]);
  select.replaceChildren(...names.map((n) => el('option', { text: n })));
}

/** Offers each file of a model folder as a download. */
function downloadFiles(files: Record<string, Uint8Array>, prefix: string): void {
  for (const [name, bytes] of Object.entries(files)) {
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    el('a', { href: url, download: `${prefix}-${name}` }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** The panel; download and load progress come from `events`. */
export function policyPanel(engine: Comlink.Remote<EngineApi>, events: EngineEvents): HTMLElement {
  const info = el('p', { className: 'policy-info', text: 'No policy yet.' });
  const status = el('p', { className: 'status', live: 'polite' });
  const progress = el('progress', { hidden: true });
  const seed = el('input', { type: 'number', value: '1' });
  const create = el('button', { text: 'Create built-in policy' });
  const saveName = el('input', { value: 'my-policy' });
  const store = el('button', { text: 'Save in this browser' });
  const stored = el('select');
  const loadStored = el('button', { text: 'Load saved' });
  const download = el('button', { text: 'Download files' });
  const folder = el('input', { type: 'file', multiple: true, webkitdirectory: true });
  const hubId = el('input', { placeholder: 'HuggingFaceTB/SmolLM2-135M' });
  const hub = el('button', { text: 'Load from Hub' });
  const prompt = el('input', { value: '2+3=' });
  const sample = el('button', { text: 'Sample 4' });
  const out = el('ol', { className: 'samples' });
  const needPolicy = [store, download, sample];
  for (const b of needPolicy) b.disabled = true;

  events.handle({
    download: (e) => {
      progress.hidden = false;
      progress.max = e.progress.total ?? 1;
      progress.value = e.progress.total === undefined ? 0 : e.progress.loaded;
      status.textContent = `downloading ${e.progress.file}: ${(e.progress.loadedAll / 2 ** 20).toFixed(1)} MiB, file ${e.progress.filesDone + 1} of ${e.progress.filesKnown}`;
    },
    load: (e) => {
      progress.hidden = false;
      progress.max = e.progress.total;
      progress.value = e.progress.done;
      status.textContent = `loading tensors: ${e.progress.done} of ${e.progress.total}`;
    },
  });

  /** Runs one action with its button disabled; errors go to the status line, never as HTML. */
  const action = (button: HTMLButtonElement, work: () => Promise<string | void>) => {
    button.addEventListener('click', async () => {
      button.disabled = true;
      status.textContent = 'working…';
      try {
        status.textContent = (await work()) ?? '';
      } catch (e) {
        status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
      } finally {
        button.disabled = false;
        progress.hidden = true;
      }
    });
  };
  const show = (p: PolicyInfo, origin: string): string => {
    info.textContent = `${origin}: ${p.parameters.toLocaleString('en')} parameters, ${p.config.nLayers} layers, d=${p.config.dModel}, vocabulary ${p.config.vocabSize}.`;
    for (const b of needPolicy) b.disabled = false;
    return p.warnings.join('; ');
  };

  action(create, async () => {
    const s = Number(seed.value) || 0;
    return show(await engine.createBuiltinPolicy(s), `Built-in policy (seed ${s}, untrained)`);
  });
  action(store, async () => {
    await engine.storePolicy(saveName.value);
    await refreshStored(engine, stored);
    return `saved as ${saveName.value}`;
  });
  action(loadStored, async () => show(await engine.loadStoredPolicy(stored.value), `Saved policy ${stored.value}`));
  action(download, async () => downloadFiles(await engine.savePolicy(), saveName.value));
  action(hub, async () => show(await engine.loadFromHub(hubId.value.trim()), hubId.value.trim()));
  folder.addEventListener('change', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const f of folder.files ?? []) files[f.name] = new Uint8Array(await f.arrayBuffer());
    try {
      status.textContent = 'loading…';
      status.textContent = show(await engine.loadPolicy(files, 'the chosen folder'), 'Folder');
    } catch (e) {
      status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  });
  action(sample, async () => {
    const rows = await engine.sample(prompt.value, { n: 4, temperature: 0.8, seed: Number(seed.value) || 0, maxTokens: 24 });
    out.replaceChildren(...rows.map((r) => el('li', { text: `${prompt.value}${r.text}  (${r.finish})` })));
  });
  void refreshStored(engine, stored);
  return el(
    'section',
    { className: 'panel' },
    el('h2', { text: 'Policy' }),
    info,
    el('div', { className: 'row' }, field('seed', seed), create),
    el('div', { className: 'row' }, field('save as', saveName), store, download),
    el('div', { className: 'row' }, field('saved policies', stored), loadStored),
    el('div', { className: 'row' }, field('model id', hubId), hub, field('model folder', folder)),
    progress,
    status,
    el('div', { className: 'row' }, field('prompt', prompt), sample),
    out,
  );
}
