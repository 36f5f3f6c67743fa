/**
 * Compare mode in the page: two or more methods from the same base and seed (the run panel's
 * setup, with each arm's Stage I method and judge guard), taking turns on the one GPU, one step
 * each in turn (../state/compare.ts schedules; each arm is a run of its own engine slot, saved and resumed
 * between its turns). Every chart overlays the arms, a summary table in the form of the paper's
 * Table 1 fills as steps come, and the rollout browser shows the arm picked. "Hacking lesson"
 * sets up ExpRL-Process with and without the judge's guard.
 *
 * The section is a closed <details> until opened, and its charts, table and rollouts are made
 * only when a comparison first starts, so the page's own run keeps the only ones until then.
 * Every text the model, the task set or the judge produced is set as text, never as markup.
 */
import type * as Comlink from 'comlink';
import type { RunConfig } from '../../rl/config';
import type { EngineApi, EngineEvent, FolderFiles, RunPolicy, RunSummary } from '../../worker/api';
import { chartsView, formatValue, type ChartsView, type PlotFactory } from '../views/charts';
import {
  ARM_METHODS,
  armConfig,
  armLabels,
  CompareScheduler,
  DEFAULT_ARMS,
  HACKING_LESSON,
  MAX_ARMS,
  rlSteps,
  SUMMARY_WINDOW,
  summaryTable,
  type ArmChoice,
  type ArmState,
  type CompareRunner,
} from '../state/compare';
import { el, field } from '../dom';
import type { EngineEvents } from '../state/events';
import { rolloutsBrowser, type RolloutsBrowser } from '../views/rollouts-view';

export interface CompareHooks {
  /** The run panel's setup as a config: the base every arm starts from (throws: shown in the status line). */
  config(): RunConfig;
  policy(): RunPolicy;
  /** True while the page's own run works: a comparison waits for it to end. */
  runGoing(): boolean;
  /** The comparison holds the GPU (true) or lets it go (false): the page's own run controls wait meanwhile. */
  busy?(busy: boolean): void;
  loadPlot?: () => Promise<PlotFactory>;
}

export interface ComparePanel {
  element: HTMLElement;
  /** True while a comparison takes turns. */
  going(): boolean;
}

/** How a slot's run ended: its 'run-end' event, or a call that failed without one. */
interface RunEnd {
  summary: RunSummary | null;
  error?: string;
}

/** How long a failed engine call waits for its 'run-end' (a call refused before it began sends none). */
const END_GRACE_MS = 3000;

const STEP_COLUMNS: readonly [string, string][] = [
  ['reward_mean', 'reward'],
  ['correct_frac', 'correct'],
  ['reward_incorrect_mean', 'reward of wrong rollouts'],
  ['unlocked', 'unlocked'],
];

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Results of one comparison: its charts, summary table, notes and a rollout browser per arm. */
interface Results {
  element: HTMLElement;
  charts: ChartsView;
  summaryHead: HTMLTableRowElement;
  summaryBody: HTMLTableSectionElement;
  pick: HTMLSelectElement;
  browserBox: HTMLElement;
  browsers: Map<string, RolloutsBrowser>;
  notes: HTMLElement;
  noted: Set<string>;
}

/** The arms' events (those of every run slot) come from `events`. */
export function comparePanel(engine: Comlink.Remote<EngineApi>, events: EngineEvents, hooks: CompareHooks): ComparePanel {
  let choices: ArmChoice[] = DEFAULT_ARMS.map((c) => ({ ...c }));
  let scheduler: CompareScheduler | null = null;
  let results: Results | null = null;
  /** The policy every arm began from, when it is the one loaded in the page: loaded again before each arm's first turn. */
  let baseFiles: FolderFiles | null = null;
  let policy: RunPolicy = 'builtin-base';
  /** Turns waiting for their slot's 'run-end'. */
  const waiting = new Map<string, (end: RunEnd) => void>();
  let redrawQueued = false;

  const armsBox = el('ol', { className: 'compare-arms' });
  const addArm = el('button', { text: 'Add arm' });
  const lesson = el('button', { text: 'Hacking lesson' });
  const stepsInput = el('input', { id: 'compare-steps', type: 'number', min: 1, step: 1, value: '5' });
  const compare = el('button', { text: 'Compare' });
  const pauseAll = el('button', { text: 'Pause all' });
  const continueAll = el('button', { text: 'Continue' });
  const stopAll = el('button', { text: 'Stop all' });
  const status = el('p', { className: 'status compare-status', live: 'polite' });
  const resultsBox = el('div', { className: 'compare-results' });

  const phase = (): string => scheduler?.phase ?? 'idle';
  const going = (): boolean => ['going', 'pausing', 'stopping'].includes(phase());

  const target = (): number => {
    const n = Number(stepsInput.value);
    if (!Number.isInteger(n) || n < 1) throw new Error('steps per arm must be a whole number of at least 1');
    return n;
  };

  const drawArms = (): void => {
    const labels = armLabels(choices);
    armsBox.replaceChildren(
      ...choices.map((c, i) => {
        const n = i + 1;
        const pick = el('select', { value: c.method }, ...ARM_METHODS.map((m) => el('option', { text: m, value: m })));
        pick.addEventListener('input', () => {
          choices[i] = { ...choices[i], method: pick.value as ArmChoice['method'] };
          drawArms();
        });
        const guard = el('input', { type: 'checkbox', checked: c.guard });
        guard.addEventListener('input', () => {
          choices[i] = { ...choices[i], guard: guard.checked };
          drawArms();
        });
        const remove = el('button', { text: 'Remove', attrs: { 'aria-label': `Remove arm ${n}` } });
        remove.disabled = choices.length <= 2 || going();
        remove.addEventListener('click', () => {
          choices.splice(i, 1);
          drawArms();
        });
        pick.disabled = guard.disabled = going();
        return el('li', { attrs: { 'data-arm': String(n) } }, field(`arm ${n}`, pick), ' ', field(`arm ${n} guarded`, guard), ' ', remove, el('span', { className: 'arm-label', text: ` ${labels[i]}` }));
      }),
    );
    show();
  };

  const show = (): void => {
    const p = phase();
    const busy = going();
    compare.disabled = busy;
    pauseAll.disabled = p !== 'going';
    continueAll.disabled = !(p === 'paused' || p === 'done') || scheduler?.arms.every((a) => a.status !== 'ready') === true;
    stopAll.disabled = !(p === 'going' || p === 'paused' || p === 'done');
    addArm.disabled = busy || choices.length >= MAX_ARMS;
    lesson.disabled = busy;
    stepsInput.disabled = p === 'stopping';
  };

  /** The table, the charts and the arms' states as they stand (coalesced: a resume sends many lines at once). */
  const redraw = (): void => {
    redrawQueued = false;
    if (scheduler === null || results === null) return;
    const runs = scheduler.arms.map((a) => ({ id: a.id, label: a.label, lines: a.lines }));
    results.charts.update(runs);
    const table = summaryTable(runs);
    results.summaryHead.replaceChildren(
      ...['arm', 'steps', ...STEP_COLUMNS.map(([, name]) => name), ...table.passKeys, 'eval after step', 'state'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })),
    );
    results.summaryBody.replaceChildren(
      ...table.rows.map((row, i) => {
        const arm = scheduler!.arms[i];
        const state = arm.note === '' ? arm.status : `${arm.status}: ${arm.note}`;
        return el(
          'tr',
          { attrs: { 'data-arm': row.id, 'data-status': arm.status, 'data-steps': String(row.steps) } },
          el('th', { text: row.label, attrs: { scope: 'row' } }),
          el('td', { text: String(row.steps) }),
          ...STEP_COLUMNS.map(([key]) => el('td', { attrs: { 'data-key': key }, text: formatValue(row.latest[key]) })),
          ...table.passKeys.map((k) => el('td', { attrs: { 'data-key': k }, text: formatValue(row.pass[k]) })),
          el('td', { text: row.evalStep === null ? '–' : String(row.evalStep) }),
          el('td', { className: 'arm-state', text: state }),
        );
      }),
    );
    describe();
  };
  const queueRedraw = (): void => {
    if (redrawQueued) return;
    redrawQueued = true;
    setTimeout(redraw, 0);
  };

  /** The status line: where the comparison stands. */
  const describe = (): void => {
    const s = scheduler;
    if (s === null) return;
    const counts = s.arms.map((a) => `${a.label} ${rlSteps(a.lines)}`).join(', ');
    const p = s.phase;
    const goingArm = s.arms.find((a) => a.status === 'going');
    if (p === 'going') status.textContent = `comparing, ${s.target} steps per arm${goingArm ? `; ${goingArm.label}'s turn` : ''} (steps: ${counts})`;
    else if (p === 'pausing') status.textContent = `pausing after this step… (steps: ${counts})`;
    else if (p === 'paused') status.textContent = `paused (steps: ${counts}); Continue takes turns again`;
    else if (p === 'done') status.textContent = `done: ${counts}${s.arms.some((a) => a.status === 'failed') ? '; an arm failed, its row says why' : ''}`;
    else if (p === 'stopping') status.textContent = 'stopping after this step…';
    else if (p === 'stopped') status.textContent = 'stopped: the arms\' saved runs are removed';
  };

  const changed = (): void => {
    // The arms' inputs follow whether a comparison goes.
    drawArms();
    hooks.busy?.(going());
    queueRedraw();
  };

  const settle = (slot: string, end: RunEnd): void => {
    const resolve = waiting.get(slot);
    if (resolve === undefined) return;
    waiting.delete(slot);
    resolve(end);
  };

  const runner: CompareRunner = {
    async turn({ arm, start, pauseAfter }) {
      // Every arm begins from the same policy: the one loaded in the page is loaded again before each first turn.
      if (start && baseFiles !== null) await engine.loadPolicy(baseFiles, 'the policy the comparison began from');
      const ended = new Promise<RunEnd>((resolve) => waiting.set(arm.id, resolve));
      const options = { slot: arm.id, pauseAfter };
      const call = start ? engine.startRun(arm.config, policy, options) : engine.resumeRun(options);
      call.catch((e: unknown) => setTimeout(() => settle(arm.id, { summary: null, error: message(e) }), END_GRACE_MS));
      const end = await ended;
      if (end.summary === null) throw new Error(end.error ?? 'the run failed');
      return end.summary;
    },
    halt: () => engine.pauseRun(),
    discard: (arm) => engine.stopRun(arm.id),
  };

  const makeResults = (arms: readonly ArmState[]): Results => {
    const charts = chartsView(hooks.loadPlot);
    const summaryHead = el('tr');
    const summaryBody = el('tbody');
    const caption = `Summary, in the form of the paper's Table 1: reward, correct share and the reward of wrong rollouts are means over each arm's latest ${SUMMARY_WINDOW} steps; unlocked counts the training prompts solved at least once; pass@k is at the arm's latest evaluation.`;
    const summary = el('table', { className: 'compare-summary' }, el('caption', { text: caption }), el('thead', {}, summaryHead), summaryBody);
    const pick = el('select', {}, ...arms.map((a) => el('option', { text: a.label, value: a.id })));
    const browsers = new Map(arms.map((a) => [a.id, rolloutsBrowser({ idPrefix: `${a.id}-` })] as const));
    const browserBox = el('div', { className: 'compare-rollouts' });
    // One browser in the page at a time: the others keep their steps, detached.
    const showBrowser = (): void => browserBox.replaceChildren(browsers.get(pick.value)?.element ?? el('p', { text: 'No rollouts yet.' }));
    pick.addEventListener('input', showBrowser);
    const notes = el('ul', { className: 'notes compare-notes' });
    const r: Results = {
      element: el('div', {}, summary, el('p', { className: 'hint', text: 'Each chart draws every arm in its own colour.' }), charts.element, notes, el('div', { className: 'row' }, field('rollouts of arm', pick)), browserBox),
      charts,
      summaryHead,
      summaryBody,
      pick,
      browserBox,
      browsers,
      notes,
      noted: new Set(),
    };
    showBrowser();
    return r;
  };

  /** A new comparison: whatever the last one saved goes, then each arm's first turn begins its run. */
  const begin = async (): Promise<void> => {
    if (hooks.runGoing()) {
      status.textContent = "The page's own run is going: pause or stop it first (one run uses the GPU at a time).";
      return;
    }
    let arms: { id: string; label: string; config: RunConfig; stage0: number }[];
    let steps: number;
    try {
      steps = target();
      const base = hooks.config();
      policy = hooks.policy();
      const labels = armLabels(choices);
      arms = choices.map((c, i) => {
        const config = armConfig(base, c);
        // A fresh built-in policy is pre-trained first (Stage 0): every arm's first turn runs it through.
        return { id: `compare-${i + 1}`, label: labels[i], config, stage0: policy === 'builtin' ? config.pretrain.steps : 0 };
      });
    } catch (e) {
      status.textContent = `failed: ${message(e)}`;
      return;
    }
    compare.disabled = true;
    try {
      if (scheduler !== null) await scheduler.stop();
      baseFiles = policy === 'current' ? await engine.savePolicy() : null;
    } catch (e) {
      status.textContent = `failed: ${message(e)}`;
      show();
      return;
    }
    scheduler = new CompareScheduler(arms, steps, runner, changed);
    results = makeResults(scheduler.arms);
    resultsBox.replaceChildren(results.element);
    void scheduler.run().catch((e: unknown) => (status.textContent = `failed: ${message(e)}`));
  };

  compare.addEventListener('click', () => void begin());
  pauseAll.addEventListener('click', () => void scheduler?.pause());
  continueAll.addEventListener('click', () => {
    if (scheduler === null) return;
    if (hooks.runGoing()) {
      status.textContent = "The page's own run is going: pause or stop it first.";
      return;
    }
    let steps: number;
    try {
      steps = target();
    } catch (e) {
      status.textContent = `failed: ${message(e)}`;
      return;
    }
    void scheduler.run(steps).catch((e: unknown) => (status.textContent = `failed: ${message(e)}`));
  });
  stopAll.addEventListener('click', () => void scheduler?.stop());
  addArm.addEventListener('click', () => {
    if (choices.length < MAX_ARMS) choices.push({ method: 'exprl-process', guard: true });
    drawArms();
  });
  lesson.addEventListener('click', () => {
    choices = HACKING_LESSON.map((c) => ({ ...c }));
    drawArms();
    status.textContent =
      "Hacking lesson: ExpRL-Process with the judge's guard, and without it. Unguarded, a wrong response on a single line keeps that line's score on every token, so junk fragments can pay: a first long run at lr 3e-4 learned that, its reward rising while unlocked stayed flat. If it happens here, the unguarded arm's reward of wrong rollouts grows. At lr 3e-5 over 40 steps (the replication, 3 seeds) it did not: the shipped base always writes several lines, so the guard had nothing to block and both arms were identical, bit for bit.";
  });

  /** An event of a run slot (an arm's; '*' routes every slot's here, the page's own run's never). */
  const onEvent = (e: EngineEvent): void => {
    const slot = e.slot!;
    const s = scheduler;
    const arm = s?.arm(slot);
    if (s === null || arm === undefined || results === null) {
      if (e.type === 'run-end') settle(slot, { summary: e.summary, error: e.error });
      return;
    }
    if (e.type === 'run-start') {
      s.runStarted(slot, e.resumedAt !== null);
      if (e.resumedAt === null) results.browsers.get(slot)?.clear();
    } else if (e.type === 'run-metrics') {
      s.addLine(slot, e.line);
      queueRedraw();
    } else if (e.type === 'run-rollouts') {
      results.browsers.get(slot)?.add(e.batch);
    } else if (e.type === 'run-progress') {
      const p = e.progress;
      const what = p.phase === 'pretrain' ? 'Stage 0 pre-training' : p.phase === 'eval' ? 'evaluating' : `Stage ${p.stage} ${p.method}`;
      status.textContent = `${arm.label}: ${what}: ${p.done} of ${p.total}`;
    } else if (e.type === 'download') {
      status.textContent = `${arm.label}: downloading the judge model: ${e.progress.file}, ${(e.progress.loadedAll / 2 ** 20).toFixed(1)} MiB`;
    } else if (e.type === 'run-note') {
      // A resumed run says some notes again at every turn: each is listed once per arm.
      const key = `${slot}\n${e.message}`;
      if (!results.noted.has(key)) {
        results.noted.add(key);
        results.notes.appendChild(el('li', { text: `${arm.label}: ${e.message}` }));
      }
    } else if (e.type === 'run-end') {
      s.runEnded(slot);
      settle(slot, { summary: e.summary, error: e.error });
      queueRedraw();
    }
  };
  events.on('*', onEvent, { slot: '*' });

  drawArms();
  const element = el(
    'details',
    { className: 'compare' },
    el('summary', { text: 'Compare methods' }),
    el('p', {
      className: 'hint',
      text: "Two or more methods from the same base and seed (the setup above, with each arm's Stage I method and judge guard), taking turns on the one GPU: one step each in turn. Each arm's run is saved between its turns.",
    }),
    armsBox,
    el('div', { className: 'row' }, addArm, lesson, field('steps per arm', stepsInput)),
    el('div', { className: 'row' }, compare, pauseAll, continueAll, stopAll),
    status,
    resultsBox,
  );
  return { element, going };
}
