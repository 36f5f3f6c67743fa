/**
 * The run files page (`?view=files`), which needs no GPU:
 *  - Import run: a .zip bundle (src/worker/run-bundle.ts), checked, then shown through the run
 *    panel as a recorded run is (the replay engine plays its metric lines and rollouts at once),
 *    with "Continue this run", which makes it the run saved in this browser so the training
 *    page's "Resume saved run" continues it;
 *  - Export run: the run saved in this browser as a bundle;
 *  - Load results: results.json of `exprl experiment` and CLI run folders, their curves overlaid
 *    on the charts (a series per arm × seed, or per run folder) and Table 1 as results.md has it.
 * Every text from a file is set as text, never as markup.
 */
import * as Comlink from 'comlink';
import type { RunLines } from '../../rl/chart-series';
import { mainTableCells } from '../../rl/experiment/report';
import { parseResultsFile, resultsRunLines } from '../../rl/experiment/results-file';
import type { ExperimentResults } from '../../rl/experiment/results';
import type { EngineApi } from '../../worker/api';
import { opfsRunDir, SAVED_RUN_DIR } from '../../worker/opfs';
import { ReplayEngine } from '../../worker/replay-engine';
import { BundleError, continuable, parseMetricsFile, readBundle, utf8, type RunBundle } from '../../worker/run-bundle';
import { bundleReplay, writeSavedRun } from '../../worker/run-bundle-io';
import { RUN_FILE } from '../../worker/saved-run';
import { exportControl } from './bundle-panel';
import { chartsView } from '../views/charts';
import { el, field } from '../dom';
import { pageHref } from '../state/location';
import { runPanel } from './run-panel';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A file input with a visible label. */
function fileInput(label: string, options: { accept?: string; multiple?: boolean; folder?: boolean }): { element: HTMLElement; input: HTMLInputElement } {
  const input = el('input', { type: 'file', accept: options.accept, multiple: options.multiple ?? false, webkitdirectory: options.folder });
  return { element: field(label, input, { className: 'file-input' }), input };
}

/** "Continue this run": writes the bundle as this browser's saved run (a second press when one is there already). */
function continueControl(bundle: RunBundle): HTMLElement {
  const can = continuable(bundle);
  const status = el('p', { className: 'status continue-status', live: 'polite' });
  if (!can.ok) return el('div', { className: 'continue' }, el('p', { className: 'note', text: `View only: ${can.why}.` }));
  const button = el('button', { text: 'Continue this run' });
  let confirmed = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const dir = opfsRunDir(SAVED_RUN_DIR);
      if (!confirmed && (await dir.read(RUN_FILE)) !== null) {
        confirmed = true;
        button.textContent = 'Replace the saved run';
        status.textContent = 'A run is saved in this browser already: continuing this one replaces it. Press again to replace it.';
        return;
      }
      await writeSavedRun(dir, bundle);
      const link = el('a', { text: 'Open the training page', href: pageHref() });
      status.replaceChildren(`Saved as this browser's run. `, link, ' and press "Resume saved run" to continue it from its last checkpoint.');
      status.dataset.saved = 'true';
    } catch (e) {
      status.textContent = `failed: ${message(e)}`;
    } finally {
      button.disabled = false;
    }
  });
  return el('div', { className: 'continue' }, el('div', { className: 'row' }, button), status);
}

/** An imported bundle: what it is, its config, Continue, and the run panel showing its lines and rollouts. */
async function bundleView(bundle: RunBundle): Promise<HTMLElement> {
  const replay = bundleReplay(bundle);
  // Every frame at once: an import shows the run as it stands (Start plays it again, step by step).
  const engine = await ReplayEngine.create(replay, 0);
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(engine, port1);
  const remote = Comlink.wrap<EngineApi>(port2);
  const view = el(
    'div',
    { className: 'imported-run' },
    el('h3', { text: `Imported run: ${bundle.manifest.title}` }),
    el('p', { text: replay.header.about }),
    el('details', { className: 'replay-config' }, el('summary', { text: "The run's config" }), el('pre', { text: JSON.stringify(bundle.config, null, 1) })),
    continueControl(bundle),
    el('div', { className: 'replay-run' }, runPanel(remote)),
  );
  void remote.startRun(bundle.config, 'builtin').catch(() => undefined);
  return view;
}

function importSection(): HTMLElement {
  const { element, input } = fileInput('Import run', { accept: '.zip,application/zip' });
  const status = el('p', { className: 'status import-status', live: 'polite' });
  const view = el('div', { className: 'import-view' });
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (file === undefined) return;
    status.textContent = `reading ${file.name}…`;
    delete status.dataset.file;
    delete status.dataset.line;
    view.replaceChildren();
    try {
      const bundle = readBundle(new Uint8Array(await file.arrayBuffer()), file.name);
      view.replaceChildren(await bundleView(bundle));
      status.textContent = `imported ${file.name}: ${bundle.metrics.length} metric lines, ${bundle.rollouts.length} rollouts${Object.keys(bundle.state).length > 0 ? ', a checkpoint' : ''}`;
    } catch (e) {
      if (e instanceof BundleError) {
        status.dataset.file = e.file;
        if (e.line !== undefined) status.dataset.line = String(e.line);
      }
      status.textContent = `The bundle could not be imported: ${message(e)}`;
      status.classList.add('error');
      return;
    }
    status.classList.remove('error');
  });
  return el(
    'section',
    { className: 'panel import-run' },
    el('h2', { text: 'Import a run' }),
    el('p', { text: 'A run bundle (.zip) exported from this app, in this browser or another. Its charts and rollouts show below; one with a checkpoint can be continued here.' }),
    element,
    status,
    view,
  );
}

/** Table 1 of an experiment, as results.md writes it. */
function resultsTable(r: ExperimentResults): HTMLElement {
  const { head, rows } = mainTableCells(r);
  return el(
    'div',
    { className: 'results-summary', attrs: { 'data-plan': r.plan } },
    el('h3', { text: `Experiment ${r.plan}: ${r.arms.length} arms × ${r.seeds.length} seeds` }),
    el(
      'table',
      { className: 'results-table' },
      el('caption', { text: 'pass@k on the test prompts after Stage I and after Stage II, mean ± sd over seeds' }),
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h, attrs: { scope: 'col' } })))),
      el('tbody', {}, ...rows.map((row) => el('tr', {}, el('th', { text: row[0], attrs: { scope: 'row' } }), ...row.slice(1).map((c) => el('td', { text: c }))))),
    ),
    el('p', { className: 'note', text: '† The base arm has no Stage I: its "after Stage I" cells are the base policy\'s evaluation.' }),
  );
}

const dirname = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** results.json files and CLI run folders (a folder with run.json and metrics.jsonl) among chosen files. */
async function readResults(files: readonly File[]): Promise<{ results: ExperimentResults[]; runs: RunLines[]; problems: string[] }> {
  const byPath = new Map(files.map((f) => [f.webkitRelativePath || f.name, f]));
  const results: ExperimentResults[] = [];
  const runs: RunLines[] = [];
  const problems: string[] = [];
  for (const [path, f] of byPath) {
    if (basename(path) !== 'results.json') continue;
    try {
      results.push(parseResultsFile(utf8(new Uint8Array(await f.arrayBuffer()), path), path));
    } catch (e) {
      problems.push(message(e));
    }
  }
  const fromResults = new Set(results.flatMap((r) => r.runs.map((x) => x.id)));
  for (const path of byPath.keys()) {
    if (basename(path) !== RUN_FILE) continue;
    const folder = dirname(path);
    const metrics = byPath.get(folder === '' ? 'metrics.jsonl' : `${folder}/metrics.jsonl`);
    const name = folder === '' ? 'run folder' : folder;
    if (metrics === undefined) {
      problems.push(`${name}: has run.json but no metrics.jsonl`);
      continue;
    }
    if (fromResults.has(basename(folder))) continue; // its curves come with results.json
    try {
      runs.push({ id: `folder:${name}`, label: basename(name), lines: parseMetricsFile(new Uint8Array(await metrics.arrayBuffer()), `${name}/metrics.jsonl`) });
    } catch (e) {
      problems.push(message(e));
    }
  }
  if (results.length === 0 && runs.length === 0 && problems.length === 0) problems.push('no results.json and no run folder (run.json with metrics.jsonl) among the chosen files');
  return { results, runs, problems };
}

function resultsSection(): HTMLElement {
  const files = fileInput('Load results', { accept: '.json,.jsonl,application/json', multiple: true });
  const folder = fileInput('Load a folder', { multiple: true, folder: true });
  const status = el('p', { className: 'status results-status', live: 'polite' });
  const problems = el('ul', { className: 'results-problems' });
  const tables = el('div', { className: 'results-tables' });
  const runList = el('ul', { className: 'results-runs' });
  const charts = chartsView();
  const load = async (chosen: readonly File[]): Promise<void> => {
    status.textContent = 'reading…';
    const r = await readResults(chosen);
    const lines = [...r.results.flatMap(resultsRunLines), ...r.runs];
    tables.replaceChildren(...r.results.map(resultsTable));
    problems.replaceChildren(...r.problems.map((p) => el('li', { className: 'error', text: p })));
    runList.replaceChildren(...lines.map((l) => el('li', { text: `${l.label}: ${l.lines.length} lines` })));
    charts.update(lines);
    status.textContent = `${r.results.length} results file${r.results.length === 1 ? '' : 's'}, ${lines.length} run${lines.length === 1 ? '' : 's'} on the charts`;
  };
  for (const input of [files.input, folder.input]) {
    input.addEventListener('change', () => {
      load([...(input.files ?? [])]).catch((e: unknown) => (status.textContent = `failed: ${message(e)}`));
    });
  }
  return el(
    'section',
    { className: 'panel results-view' },
    el('h2', { text: 'Experiment results and CLI runs' }),
    el('p', {
      text: 'results.json of `exprl experiment` (its table and every arm × seed curve), or CLI run folders (each a folder with run.json and metrics.jsonl; pick several files or a whole folder): their curves are drawn together.',
    }),
    el('div', { className: 'row' }, files.element, folder.element),
    status,
    problems,
    tables,
    charts.element,
    runList,
  );
}

/** The files page. */
export function filesPage(): HTMLElement[] {
  const back = el('a', { text: 'Back to training in this browser', href: pageHref() });
  return [
    el('section', { className: 'panel files-intro' }, el('h2', { text: 'Run files' }), el('p', { text: 'Runs as files: import a bundle, export the run saved in this browser, or load what the exprl command wrote. Nothing here uses the GPU.' }), back),
    importSection(),
    el(
      'section',
      { className: 'panel export-run' },
      el('h2', { text: 'Export the run saved in this browser' }),
      el('p', { text: 'The run the training page saved (paused or finished), or one continued from a bundle, as one .zip file. It never holds an API key.' }),
      exportControl(() => []),
    ),
    resultsSection(),
  ];
}
