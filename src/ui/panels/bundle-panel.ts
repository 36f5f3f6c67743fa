/**
 * "Run files" on the training page: Export run (the run saved in this browser as one .zip
 * bundle, src/worker/run-bundle.ts: config, metric lines, rollouts, and the checkpoint with
 * weights and optimizer state so it can be continued elsewhere), and the way to the files page
 * (`?view=files`: import a bundle, load results.json and CLI run folders).
 *
 * The saved run is read from the origin-private file system here, in the page: no GPU is touched.
 * The rollouts are the saved run's own (rollouts.jsonl); for a step it lacks (a run saved before
 * the page kept rollouts), those this page showed.
 */
import type { RolloutBatchView } from '../../worker/api';
import { opfsRunDir, SAVED_RUN_DIR } from '../../worker/opfs';
import { bundleFromSavedRun } from '../../worker/run-bundle-io';
import { el } from '../dom';
import type { EngineEvents } from '../state/events';
import { pageHref } from '../state/location';

/** Offers bytes as a download under a name. */
export function download(bytes: Uint8Array, name: string, type = 'application/zip'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  el('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** "Export run": a button and its status line; `shown` gives the rollouts this page showed (for steps the saved run lacks). */
export function exportControl(shown: () => readonly RolloutBatchView[]): HTMLElement {
  const button = el('button', { text: 'Export run' });
  const status = el('p', { className: 'status bundle-status', live: 'polite' });
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

/** The panel under the run panel; `events` stream the rollouts an export carries (the page's own run's: its saved run is what is exported). */
export function bundlePanel(events: EngineEvents): HTMLElement {
  let batches: RolloutBatchView[] = [];
  events.handle({
    'run-start': (e) => {
      if (e.resumedAt === null) batches = [];
    },
    'run-rollouts': (e) => void batches.push(e.batch),
  });
  const link = el('a', { text: 'Open run files: import a run bundle, load results.json or CLI run folders', href: pageHref({ view: 'files' }) });
  return el(
    'section',
    { className: 'panel run-files' },
    el('h2', { text: 'Run files' }),
    el('p', {
      text: 'Export the run saved in this browser (paused or finished) as one .zip file: its settings, metric lines, the rollouts of every step, and its checkpoint (weights and optimizer state), so another browser can view it or continue it. It never holds an API key.',
    }),
    exportControl(() => batches),
    el('p', {}, link),
  );
}
