/**
 * The run panel: pick a preset, method, policy and judge, see the judge-call estimate, start and
 * stop a run, and watch it: charts of the metric lines as they come (../views/charts.ts), the last
 * lines as numbers (Stage 0's too, which the charts leave out), eval lines, and every step's
 * rollouts in the rollout browser (../views/rollouts-view.ts).
 * Every text the model, the task set or the judge produced is set as text, never as markup.
 */
import type * as Comlink from 'comlink';
import {
  applySettings,
  ConfigError,
  DEMO_FINDINGS,
  preset,
  readSettings,
  validateConfig,
  type PresetName,
  type RunConfig,
  type SettingValue,
} from '../../rl/config';
import { describeJudgeEstimate } from '../../rl/judge-budget';
import type { EvalLine } from '../../rl/evaluate';
import type { StepMetrics } from '../../rl/metrics';
import type { EngineApi, RunPolicy } from '../../worker/api';
import { chartsView, type PlotFactory } from '../views/charts';
import { comparePanel } from './compare-panel';
import { el } from '../dom';
import { engineEvents, type EngineEvents } from '../state/events';
import { LinkConfirmations, onSetupChange, readSetup, writeSetup } from '../state/location';
import { judgePanel } from './judge-panel';
import { runControls } from './run-controls';
import { rolloutsBrowser } from '../views/rollouts-view';
import { settingsForm } from '../views/settings-form';

const STEP_COLUMNS: (keyof StepMetrics)[] = ['stage', 'step', 'method', 'reward_mean', 'masked', 'adv_std', 'loss', 'kl', 'entropy', 'grad_norm', 'len_mean', 'cut_frac', 'judge_calls', 'step_s'];
const MAX_ROWS = 12;

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(3);
  return String(v);
}

/** The preset the page starts from when the link names none. */
const PAGE_PRESET: PresetName = 'demo';
/** The policies a run in the page can use: the built-in ones, or the one loaded in the Policy panel ("current"). */
const PAGE_POLICIES: readonly RunPolicy[] = ['builtin', 'builtin-base', 'current'];

/**
 * `events`: the page's dispatcher of the engine's events (one is made for the engine when none is
 * given: a recorded run's page, a test). `loadPlot` draws the charts (default uPlot; tests pass their own).
 */
export function runPanel(engine: Comlink.Remote<EngineApi>, options: { loadPlot?: () => Promise<PlotFactory>; events?: EngineEvents } = {}): HTMLElement {
  const events = options.events ?? engineEvents(engine);
  // Every run setting of the table (src/rl/config/settings.ts), labelled and bounded from the schema.
  const form = settingsForm(undefined, { model: PAGE_POLICIES });
  const control = (key: string) => form.controls.get(key)!;
  const presetSel = control('preset');
  const policySel = control('model');
  const judgeSel = control('judge');
  const runtimeSel = control('judge-runtime');
  const endpoint = control('judge-endpoint');
  const linkNote = el('p', { className: 'link-note', live: 'polite' });
  const confirmEndpoint = el('button', { text: 'Use this endpoint' });
  const linkConfirmText = el('span');
  const linkConfirm = el('p', { className: 'link-confirm', live: 'polite', hidden: true }, linkConfirmText, confirmEndpoint);
  /** A judge endpoint that came from a link: nothing is sent to it until the user confirms it or types their own. */
  const fromLink = new LinkConfirmations();
  const linkUnconfirmed = (): boolean => judgeSel.value === 'openai' && fromLink.unconfirmed('judge-endpoint', endpoint.value);
  // The judge's API key, Test connection and prompts (not rows of the settings table: never in the link).
  const judge = judgePanel(engine, form, { endpointUnconfirmed: linkUnconfirmed, onChange: () => refresh(), defaultPreset: PAGE_PRESET });
  // Texts from the engine are shown without the judge key, whatever the engine did: every panel's events.
  events.use((e) => judge.redactEvent(e));
  const estimate = el('p', { className: 'estimate' });
  /** What the chosen preset is for and, for the demo, what it showed when we ran it. */
  const presetNote = el('p', { className: 'hint preset-note', live: 'polite' });
  /** A metric line on the charts, and in the table (steps) or the list of evals. */
  const showLine = (line: StepMetrics | EvalLine): void => {
    lines.push(line);
    charts.update([{ id: 'run', label: 'this run', lines }]);
    if ((line as EvalLine).eval === true) {
      const ev = line as EvalLine;
      const ks = Object.keys(ev).filter((k) => k.startsWith('pass@'));
      evals.appendChild(el('li', { text: `eval after step ${ev.step}: ${ks.map((k) => `${k} ${fmt(ev[k as `pass@${number}`])}`).join(', ')}, mean@n ${fmt(ev['mean@n'])} (${ev.prompts} prompts × ${ev.n}); behaviours ${JSON.stringify(ev.behaviours)}` }));
    } else {
      const m = line as StepMetrics;
      metricsBody.appendChild(el('tr', {}, ...STEP_COLUMNS.map((c) => el('td', { text: fmt(m[c]) }))));
      while (metricsBody.children.length > MAX_ROWS) metricsBody.firstElementChild?.remove();
    }
  };
  const clearLines = (): void => {
    metricsBody.replaceChildren();
    lines = [];
    charts.update([]);
    evals.replaceChildren();
  };
  // Start, Pause, Resume, Step, Stop and the saved run; `config` is read when a button asks for it.
  // A run saved before a reload is shown as it stood (its metric lines) before it resumes.
  const controls = runControls(engine, events, {
    config: () => config(),
    policy: () => policySel.value as RunPolicy,
    showSaved: (metrics) => {
      clearLines();
      for (const line of metrics) showLine(line);
    },
  });
  const status = controls.status;
  const progress = el('progress', { hidden: true });
  const metricsBody = el('tbody');
  const metrics = el('table', { className: 'metrics' }, el('thead', {}, el('tr', {}, ...STEP_COLUMNS.map((c) => el('th', { text: c })))), metricsBody);
  const evals = el('ul', { className: 'evals' });
  const charts = chartsView(options.loadPlot);
  /** The metric lines of the run on screen, in arrival order. */
  let lines: (StepMetrics | EvalLine)[] = [];
  const rollouts = rolloutsBrowser();
  const notes = el('ul', { className: 'notes' });
  // Compare mode: arms of this setup with methods of their own, taking turns (compare-panel.ts); this run's controls wait while it goes.
  const compare = comparePanel(engine, events, {
    config: () => config(),
    policy: () => policySel.value as RunPolicy,
    runGoing: () => controls.going(),
    busy: (busy) => (controls.element.inert = busy),
    ...(options.loadPlot !== undefined ? { loadPlot: options.loadPlot } : {}),
  });

  /** The setup the inputs hold; "current" (the policy loaded in this page) is not part of it: a link cannot carry it. */
  const setup = (): Record<string, SettingValue> => {
    const { values, issues } = form.read((key, raw) => key === 'model' && raw === 'current');
    if (issues.length > 0) throw new ConfigError(issues, 'setup');
    return values;
  };
  const config = (): RunConfig => {
    const values = setup();
    const c = applySettings(preset(values.preset as PresetName), values);
    c.judge.templates = judge.templates();
    // The policy chosen here is the run's policy; the config names it for the record.
    if (policySel.value === 'current') c.policy = 'loaded-in-page';
    return validateConfig(c);
  };
  /** Shows a preset's own values in every input. */
  const showPreset = (name: PresetName): void => {
    form.write({ preset: name, ...readSettings(preset(name)) });
    if (!PAGE_POLICIES.includes(policySel.value as RunPolicy)) policySel.value = 'current';
  };
  /** The setup of the URL hash, over the preset it names (the page's default when none). */
  const fromHash = (): void => {
    linkNote.textContent = '';
    fromLink.fromLink(null);
    let link;
    try {
      link = readSetup();
    } catch (e) {
      showPreset(PAGE_PRESET);
      linkNote.textContent = `The link's setup was not used: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    const values = { ...link.setup };
    showPreset((values.preset ?? PAGE_PRESET) as PresetName);
    if (values.model !== undefined && !PAGE_POLICIES.includes(values.model as RunPolicy)) {
      linkNote.textContent = `The link names the policy ${JSON.stringify(values.model)}: load it in the Policy panel; the run uses the policy loaded there ("current").`;
      delete values.model;
      policySel.value = 'current';
    }
    form.write(values);
    fromLink.fromLink(link);
  };
  /** The URL hash follows the inputs, so a link reproduces the setup (replaced, not pushed: no history entry per keystroke). */
  const toHash = (): void => {
    let values: Record<string, SettingValue>;
    try {
      values = setup();
    } catch {
      return; // a bad value stays out of the link; the estimate line names it
    }
    writeSetup(values);
  };
  const refresh = (): void => {
    presetNote.textContent = presetSel.value === 'demo' ? DEMO_FINDINGS : '';
    form.field('judge-runtime').hidden = judgeSel.value !== 'local';
    form.field('judge-dtype').hidden = judgeSel.value !== 'local' || runtimeSel.value === 'kernels';
    const unconfirmed = linkUnconfirmed();
    judge.update();
    linkConfirm.hidden = !unconfirmed;
    if (unconfirmed) linkConfirmText.textContent = `The judge endpoint ${JSON.stringify(fromLink.waiting('judge-endpoint'))} came from a link. Nothing is sent to it until you confirm it. `;
    try {
      estimate.textContent = `Judge calls: ${describeJudgeEstimate(config())}`;
      controls.setStartable(!unconfirmed);
    } catch (e) {
      estimate.textContent = `Config problem: ${e instanceof Error ? e.message : String(e)}`;
      controls.setStartable(false);
    }
    toHash();
  };
  confirmEndpoint.addEventListener('click', () => {
    fromLink.settle('judge-endpoint');
    refresh();
  });
  presetSel.addEventListener('input', () => showPreset(presetSel.value as PresetName));
  endpoint.addEventListener('input', () => fromLink.settle('judge-endpoint'));
  for (const input of form.controls.values()) input.addEventListener('input', refresh);
  onSetupChange(() => {
    fromHash();
    refresh();
  });
  fromHash();

  // The page's own run (a comparison arm's events go to the compare section). The controls
  // registered first: they have taken each event in when these handlers see it.
  events.handle({
    'run-start': (e) => {
      // A resume replays the saved run's metric lines next, then the rollouts of the steps this
      // page has not shown (the engine keeps count), so the browser is not cleared; nor are the notes.
      clearLines();
      if (e.resumedAt === null) {
        rollouts.clear();
        notes.replaceChildren();
      }
    },
    'run-metrics': (e) => showLine(e.line),
    'run-rollouts': (e) => rollouts.add(e.batch),
    'run-progress': (e) => {
      const p = e.progress;
      progress.hidden = false;
      progress.max = Math.max(1, p.total);
      progress.value = p.done;
      const what = p.phase === 'pretrain' ? 'Stage 0 pre-training' : p.phase === 'eval' ? 'evaluating' : `Stage ${p.stage} ${p.method}`;
      status.textContent = `${what}: ${p.done} of ${p.total}`;
    },
    download: (e) => {
      // The judge model of judge.kind "local", fetched when the run starts.
      if (controls.going()) status.textContent = `downloading the judge model: ${e.progress.file}, ${(e.progress.loadedAll / 2 ** 20).toFixed(1)} MiB`;
    },
    'run-note': (e) => notes.appendChild(el('li', { text: e.message })),
    'run-end': () => {
      progress.hidden = true;
      refresh();
    },
  });

  refresh();

  return el(
    'section',
    { className: 'panel' },
    el('h2', { text: 'Run' }),
    // The run's settings, then the judge's, in table order.
    el('div', { className: 'row settings' }, ...[...form.controls.keys()].filter((k) => !k.startsWith('judge')).map(form.field)),
    el('div', { className: 'row settings' }, ...[...form.controls.keys()].filter((k) => k.startsWith('judge')).map(form.field)),
    presetNote,
    judge.element,
    linkNote,
    linkConfirm,
    estimate,
    controls.element,
    progress,
    status,
    el('p', { className: 'hint', text: "On-policy GRPO's loss sits near zero while its gradient does not: watch the reward, not the loss." }),
    charts.element,
    metrics,
    evals,
    notes,
    rollouts.element,
    compare.element,
  );
}
