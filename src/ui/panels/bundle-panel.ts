/**
 * "Run files" on the training page: Export run (the run saved in this browser as one .zip
 * bundle, src/worker/run-bundle.ts: config, metric lines, rollouts, and the checkpoint with
 * weights and optimizer state so it can be continued elsewhere), and the way to the files page
 * (`?view=files`: import a bundle, load results.json and CLI run folders).
 *
 * The saved run is read from the origin-private file system here, in the page: no GPU is touched.
 * The rollouts come from the engine's events (the saved run keeps none): those this page showed.
 */
import * as Comlink from 'comlink';
import type { EngineApi, EngineEvent, RolloutBatchView } from '../../worker/api';
import { opfsRunDir, SAVED_RUN_DIR } from '../../worker/opfs';
import { bundleFromSavedRun } from '../../worker/run-bundle-io';
import { el } from '../dom';

/** The files page's address (this page, `?view=files`). */
export function filesHref(): string {
  const url = new URL(location.href);
  url.search = new URLSearchParams({ view: 'files' }).toString();
  url.hash = '';
  return url.toString();
}

/** Offers bytes as a download under a name. */
export function download(bytes: Uint8Array, name: string, type = 'application/zip'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = el('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** "Export run": a button and its status line; `shown` gives the rollouts this page showed. */
export function exportControl(shown: () => readonly RolloutBatchView[]): HTMLElement {
  const button = el('button', { text: 'Export run' });
  const status = el('p', { className: 'status bundle-status', attrs: { 'aria-live': 'polite' } });
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'writing the bundle…';
    try {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      const name = `exprl-run-${stamp}.zip`;
      const zip = await bundleFromSavedRun(opfsRunDir(SAVED_RUN_DIR), shown(), name.replace(/\.zip$/, ''));
      download(zip, name);
      status.textContent = `exported ${name} (${(zip.length / 1024).toFixed(0)} KiB)`;
      status.dataset.bytes = String(zip.length);
    } catch (e) {
      status.textContent = `export failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      button.disabled = false;
    }
  });
  return el('div', { className: 'bundle-export' }, el('div', { className: 'row' }, button), status);
}

/** The panel under the run panel; `engine` streams the rollouts an export carries. */
export function bundlePanel(engine: Comlink.Remote<EngineApi>): HTMLElement {
  let batches: RolloutBatchView[] = [];
  engine.onEvent(
    Comlink.proxy((e: EngineEvent) => {
      if (e.type === 'run-start' && e.resumedAt === null) batches = [];
      else if (e.type === 'run-rollouts') batches.push(e.batch);
    }),
  );
  const link = el('a', { text: 'Open run files: import a run bundle, load results.json or CLI run folders' });
  link.href = filesHref();
  return el(
    'section',
    { className: 'panel run-files' },
    el('h2', { text: 'Run files' }),
    el('p', {
      text: 'Export the run saved in this browser (paused or finished) as one .zip file: its settings, metric lines, the rollouts this page showed, and its checkpoint (weights and optimizer state), so another browser can view it or continue it. It never holds an API key.',
    }),
    exportControl(() => batches),
    el('p', {}, link),
  );
}
