/**
 * The page: starts the engine worker and shows what the GPU engine found and chose; or, with
 * `?replay=<name>`, plays a recorded run without any GPU; or, with `?view=files`, the run files
 * page (the address is read in state/location.ts). Where the engine cannot start (no WebGPU, no
 * adapter, a worker that did not load) it says why and offers the recorded runs.
 *
 *   panels/  the page's sections (GPU, policy, run with its controls, judge and compare, run files, recorded runs)
 *   views/   what the panels draw with (charts, the rollout browser, the settings form, tables)
 *   state/   what they keep, without the DOM (the engine's events, the address, rollouts, compare turns, ETA)
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../worker/api';
import { el } from './dom';
import { bundlePanel } from './panels/bundle-panel';
import { cannotTrain } from './panels/cannot-train';
import { filesPage } from './panels/files-page';
import { gpuPanel, kernelCheckPanel } from './panels/gpu-panel';
import { policyPanel } from './panels/policy-panel';
import { recordedRunsPanel, replayPage } from './panels/recorded-runs';
import { runPanel } from './panels/run-panel';
import { engineEvents } from './state/events';
import { pageRoute } from './state/location';
import { armTestHooks } from './state/test-hooks';

const app = document.getElementById('app')!;

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

async function showReplay(name: string, problem: string | null): Promise<void> {
  const notice = el('p', { className: 'notice', text: 'Loading the recorded run…', live: 'polite' });
  app.replaceChildren(notice);
  try {
    if (problem !== null) throw new Error(problem);
    app.replaceChildren(...(await replayPage(name)));
  } catch (e) {
    notice.className = 'notice error';
    notice.textContent = `The recorded run could not be played: ${e instanceof Error ? e.message : String(e)}`;
    app.replaceChildren(notice, recordedRunsPanel('The recorded runs this app ships:'));
  }
}

async function start(): Promise<void> {
  const route = pageRoute();
  if (route.page === 'replay') return showReplay(route.name, route.problem);
  // Run files (import a bundle, load results): no GPU needed.
  if (route.page === 'files') return void app.replaceChildren(...filesPage());
  const notice = el('p', { className: 'notice', text: 'Starting the GPU engine…', live: 'polite' });
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
    // The one subscription to the engine's events; every panel takes its own from here.
    const events = engineEvents(engine);
    // The recorded runs right under the engine's report: a slow adapter is the moment to offer them.
    app.replaceChildren(gpuPanel(engine, status, events), recorded, kernelCheckPanel(engine), policyPanel(engine, events), runPanel(engine, { events }), bundlePanel(events));
    // While the reader looks at the page, the engine compiles what Start will sample with
    // (data-warm tells scripts and tests when it is done).
    void engine.warmUp().then(() => (app.dataset.warm = 'ready'));
  } catch (e) {
    clearTimeout(slow);
    app.replaceChildren(cannotTrain(e instanceof Error ? e : { message: String(e) }), recorded);
  }
}

void start();
