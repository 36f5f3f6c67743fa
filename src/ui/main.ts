/**
 * The page: starts the engine worker and shows what the GPU engine found and chose; or, with
 * `?replay=<name>`, plays a recorded run without any GPU. Where the engine cannot start (no
 * WebGPU, no adapter, a worker that did not load) it says why and offers the recorded runs.
 */
import * as Comlink from 'comlink';
import type { EngineApi, EngineEvent, PolicyInfo } from '../worker/api';
import { bundlePanel } from './panels/bundle-panel';
import { el } from './dom';
import { gpuPanel } from './panels/gpu-panel';
import { filesPage } from './panels/files-page';
import { recordedRunsPanel, replayPage } from './panels/recorded-runs';
import { runPanel } from './panels/run-panel';
import { armTestHooks } from './state/test-hooks';
import { browserInfo, webgpuAdvice, webgpuProblem, WHERE_WEBGPU_WORKS } from './state/webgpu-advice';

const app = document.getElementById('app')!;

/** Fills a select with the names of the policies saved in this browser. */
async function refreshStored(engine: Comlink.Remote<EngineApi>, select: HTMLSelectElement): Promise<void> {
  const names = await engine.storedPolicies().catch(() => [] as string[]);
  select.replaceChildren(...names.map((n) => el('option', { text: n })));
}

/** Offers each file of a model folder as a download. */
function downloadFiles(files: Record<string, Uint8Array>, prefix: string): void {
  for (const [name, bytes] of Object.entries(files)) {
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    const a = el('a');
    a.href = url;
    a.download = `${prefix}-${name}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/**
 * The policy: create the built-in one from a seed, load one (saved in this browser, a folder
 * on disk, or the Hugging Face Hub by id), save it, and sample from a prompt. Every text the
 * model, a file or a server produced is shown as text.
 */
function policyPanel(engine: Comlink.Remote<EngineApi>): HTMLElement {
  const info = el('p', { className: 'policy-info', text: 'No policy yet.' });
  const status = el('p', { className: 'status' });
  const progress = el('progress');
  progress.hidden = true;
  const seed = el('input');
  seed.type = 'number';
  seed.value = '1';
  seed.setAttribute('aria-label', 'seed');
  const create = el('button', { text: 'Create built-in policy' });
  const saveName = el('input');
  saveName.value = 'my-policy';
  saveName.setAttribute('aria-label', 'save as');
  const store = el('button', { text: 'Save in this browser' });
  const stored = el('select');
  stored.setAttribute('aria-label', 'saved policies');
  const loadStored = el('button', { text: 'Load saved' });
  const download = el('button', { text: 'Download files' });
  const folder = el('input');
  folder.type = 'file';
  folder.multiple = true;
  folder.setAttribute('webkitdirectory', '');
  folder.setAttribute('aria-label', 'model folder');
  const hubId = el('input');
  hubId.placeholder = 'HuggingFaceTB/SmolLM2-135M';
  hubId.setAttribute('aria-label', 'model id');
  const hub = el('button', { text: 'Load from Hub' });
  const prompt = el('input');
  prompt.value = '2+3=';
  prompt.setAttribute('aria-label', 'prompt');
  const sample = el('button', { text: 'Sample 4' });
  const out = el('ol', { className: 'samples' });
  const needPolicy = [store, download, sample];
  for (const b of needPolicy) b.disabled = true;

  engine.onEvent(
    Comlink.proxy((e: EngineEvent) => {
      if (e.type === 'download') {
        progress.hidden = false;
        progress.max = e.progress.total ?? 1;
        progress.value = e.progress.total === undefined ? 0 : e.progress.loaded;
        status.textContent = `downloading ${e.progress.file}: ${(e.progress.loadedAll / 2 ** 20).toFixed(1)} MiB, file ${e.progress.filesDone + 1} of ${e.progress.filesKnown}`;
      } else if (e.type === 'load') {
        progress.hidden = false;
        progress.max = e.progress.total;
        progress.value = e.progress.done;
        status.textContent = `loading tensors: ${e.progress.done} of ${e.progress.total}`;
      }
    }),
  );

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
    el('div', { className: 'row' }, seed, create),
    el('div', { className: 'row' }, saveName, store, download),
    el('div', { className: 'row' }, stored, loadStored),
    el('div', { className: 'row' }, hubId, hub, folder),
    progress,
    status,
    el('div', { className: 'row' }, prompt, sample),
    out,
  );
}

/** Rejects when the worker's script fails to load or run: otherwise init() would wait for an answer forever. */
function workerFailure(worker: Worker): Promise<never> {
  return new Promise((_, reject) => {
    worker.addEventListener(
      'error',
      (e) => {
        const detail = e instanceof ErrorEvent && e.message ? `: ${e.message}` : ' (its script could not be fetched or run)';
        reject(new Error(`The GPU engine's worker failed to load${detail}.`));
      },
      { once: true },
    );
  });
}

/** Why this browser cannot train, what to do about it, and the engine's own words. */
function cannotTrain(error: { name?: string; message?: string }): HTMLElement {
  const problem = webgpuProblem(error);
  const advice = webgpuAdvice(problem, browserInfo(navigator.userAgent));
  const title = problem === 'other' ? 'The GPU engine did not start' : 'No WebGPU here: this browser cannot train';
  return el(
    'section',
    { className: 'panel no-webgpu', attrs: { role: 'alert' } },
    el('h2', { text: title }),
    el('p', { className: 'webgpu-why', text: advice.why }),
    el('p', { className: 'webgpu-todo', text: advice.todo }),
    el('p', { text: 'Where WebGPU works:' }),
    el('ul', { className: 'webgpu-where' }, ...WHERE_WEBGPU_WORKS.map((w) => el('li', { text: w }))),
    el('p', { className: 'notice error', text: `The engine said: ${error.message ?? String(error)}` }),
  );
}

async function showReplay(name: string): Promise<void> {
  const notice = el('p', { className: 'notice', text: 'Loading the recorded run…' });
  app.replaceChildren(notice);
  try {
    app.replaceChildren(...(await replayPage(name)));
  } catch (e) {
    notice.className = 'notice error';
    notice.textContent = `The recorded run could not be played: ${e instanceof Error ? e.message : String(e)}`;
    app.replaceChildren(notice, recordedRunsPanel('The recorded runs this app ships:'));
  }
}

async function start(): Promise<void> {
  const replay = new URLSearchParams(location.search).get('replay');
  if (replay !== null) return showReplay(replay);
  // Run files (import a bundle, load results): no GPU needed.
  if (new URLSearchParams(location.search).get('view') === 'files') return void app.replaceChildren(...filesPage());
  const notice = el('p', { className: 'notice', text: 'Starting the GPU engine…', attrs: { 'aria-live': 'polite' } });
  const recorded = recordedRunsPanel('No GPU here, or a slow one? A run recorded with the exprl command plays back in this page, with every chart and rollout, without WebGPU.');
  app.replaceChildren(notice, recorded);
  // A software adapter probes its kernels for a while on first start: say so, rather than look stuck.
  const slow = setTimeout(() => (notice.textContent = 'Still starting the GPU engine: the first start measures its kernels, which takes up to a minute on a slow or software GPU…'), 15_000);
  let worker: Worker;
  try {
    worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' });
  } catch (e) {
    clearTimeout(slow);
    app.replaceChildren(cannotTrain({ message: `The GPU engine's worker could not be started: ${e instanceof Error ? e.message : String(e)}` }), recorded);
    return;
  }
  const engine = Comlink.wrap<EngineApi>(worker);
  try {
    const status = await Promise.race([engine.init(), workerFailure(worker)]);
    clearTimeout(slow);
    await armTestHooks(engine, sessionStorage);
    const results = el('pre', { className: 'results' });
    const button = el('button', { text: 'Check kernels (256×256×256)' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      results.textContent = 'running…';
      try {
        const rows = await engine.selfCheck(256, 256, 256);
        results.textContent = rows
          .map((r) => `${r.variant.padEnd(9)} relative L2 error ${r.relL2.toExponential(2)}  ${r.ms.toFixed(1)} ms`)
          .join('\n');
      } catch (e) {
        results.textContent = `check failed: ${e instanceof Error ? e.message : String(e)}`;
      } finally {
        button.disabled = false;
      }
    });
    // The recorded runs right under the engine's report: a slow adapter is the moment to offer them.
    app.replaceChildren(gpuPanel(engine, status), recorded, el('section', { className: 'panel' }, button, results), policyPanel(engine), runPanel(engine), bundlePanel(engine));
    // While the reader looks at the page, the engine compiles what Start will sample with
    // (data-warm tells scripts and tests when it is done).
    void engine.warmUp().then(() => (app.dataset.warm = 'ready'));
  } catch (e) {
    clearTimeout(slow);
    app.replaceChildren(cannotTrain(e instanceof Error ? e : { message: String(e) }), recorded);
  }
}

void start();
