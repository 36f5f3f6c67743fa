/**
 * The run's controls: Start, Pause, Resume, Step and Stop, the step count, the saved run a
 * reload finds ("Resume saved run"), and what keeps a run alive while the page is away: a
 * checkpoint when the page is hidden, and a screen Wake Lock while training.
 *
 * The engine saves the run as it goes (src/worker/saved-run.ts); Pause ends the run with its
 * state saved, Resume and Step continue it from that state (Step for one step), Stop ends it and
 * removes the state. What the buttons allow follows from one phase, set here and by 'run-end'.
 */
import type * as Comlink from 'comlink';
import type { RunConfig } from '../../rl/config';
import type { EvalLine } from '../../rl/evaluate';
import type { StepMetrics } from '../../rl/metrics';
import type { RunCursor } from '../../rl/run-state';
import type { EngineApi, RunOptions, RunPolicy, SavedRunInfo } from '../../worker/api';
import { el, field } from '../dom';
import type { EngineEvents } from '../state/events';
import { describeEta, stageEta } from '../state/run-eta';

/** idle: no run to continue; going: a run works; saved: a paused or saved run can be continued. */
type Phase = 'idle' | 'going' | 'saved';

export interface RunControls {
  element: HTMLElement;
  /** The run's status line (aria-live): what the run does, or how it ended. */
  status: HTMLElement;
  /** The setup changed: whether Start may start a new run now. */
  setStartable(ok: boolean): void;
  /** True while a run works. */
  going(): boolean;
}

export interface RunControlHooks {
  /** The config Start and Step begin a new run with (throws: shown in the status line). */
  config(): RunConfig;
  policy(): RunPolicy;
  /** A run saved before this page loaded is offered: its metric lines, to show as they stood. */
  showSaved?(metrics: readonly (StepMetrics | EvalLine)[]): void;
}

/** The screen stays on while training, where the browser allows it; a refusal is no error. */
class ScreenLock {
  private lock: WakeLockSentinel | null = null;
  private wanted = false;
  private asking = false;

  async hold(): Promise<void> {
    this.wanted = true;
    if (this.lock !== null || this.asking || !('wakeLock' in navigator) || document.visibilityState !== 'visible') return;
    this.asking = true;
    try {
      const lock = await navigator.wakeLock.request('screen');
      lock.addEventListener('release', () => {
        if (this.lock === lock) this.lock = null;
      });
      this.lock = lock;
      if (!this.wanted) await this.let();
    } catch {
      // Refused (battery saver, a page without focus, a browser without it): training goes on.
    } finally {
      this.asking = false;
    }
  }

  async let(): Promise<void> {
    this.wanted = false;
    const lock = this.lock;
    this.lock = null;
    await lock?.release().catch(() => undefined);
  }

  /** The browser drops the lock when the page is hidden; it is taken again when the page is back. */
  async visible(): Promise<void> {
    if (this.wanted) await this.hold();
  }
}

/** The controls take the page's own run's events from `events` (registered first, they see each event before the panel does). */
export function runControls(engine: Comlink.Remote<EngineApi>, events: EngineEvents, hooks: RunControlHooks): RunControls {
  const start = el('button', { text: 'Start' });
  const pause = el('button', { text: 'Pause' });
  const resume = el('button', { text: 'Resume' });
  const step = el('button', { text: 'Step' });
  const stop = el('button', { text: 'Stop' });
  const status = el('p', { className: 'status run-status', live: 'polite' });
  const steps = el('p', { className: 'run-steps', attrs: { 'data-steps': '0' } });
  const eta = el('p', { className: 'run-eta' });
  const lock = new ScreenLock();
  // log p of a fixed text under the policy as it is now: equal before a pause and after a resume
  // (a reload included) shows the run continued from the very weights it saved.
  const scoreText = el('input', { value: '12+7=19' });
  const score = el('button', { text: 'Score text' });
  const scored = el('p', { className: 'scored', live: 'polite' });
  score.addEventListener('click', async () => {
    score.disabled = true;
    delete scored.dataset.logprobs;
    try {
      const r = await engine.tokenLogprobs(scoreText.value);
      // Every value at full precision in an attribute: a comparison of weights needs bits, not digits.
      scored.dataset.logprobs = JSON.stringify(r.logprobs);
      scored.textContent = `log p = ${r.logprobs.reduce((a, b) => a + b, 0).toFixed(4)} over ${r.logprobs.length} predicted tokens`;
    } catch (e) {
      scored.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      score.disabled = phase === 'going';
    }
  });
  let phase: Phase = 'idle';
  /** A run was started or resumed in this page (the saved run found at load is then old news). */
  let began = false;
  let startable = false;
  let stepCount = 0;
  /** The run on screen: its config, where it stands, and its metric lines (for the ETA). */
  let config: RunConfig | null = null;
  let cursor: RunCursor | null = null;
  let lines: (StepMetrics | EvalLine)[] = [];

  const show = (): void => {
    start.disabled = phase === 'going' || !startable;
    pause.disabled = phase !== 'going';
    resume.disabled = phase !== 'saved';
    // Step begins a new run for one step when there is none to continue.
    step.disabled = phase === 'going' || (phase === 'idle' && !startable);
    stop.disabled = phase === 'idle';
    // Not while training: the weights change under it, and the run's own GPU work comes first.
    score.disabled = phase === 'going';
    steps.dataset.steps = String(stepCount);
    steps.textContent = `Steps done: ${stepCount}`;
    // From this run's measured steps only: none measured yet (a new run, a saved run before it resumes), no ETA.
    const e = phase !== 'idle' && config !== null && cursor !== null ? stageEta(config, cursor, lines) : null;
    eta.textContent = e === null ? '' : describeEta(e);
    if (phase === 'going') void lock.hold();
    else void lock.let();
  };

  const fail = (e: unknown): void => {
    status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
  };

  /** A run call: its outcome comes as the 'run-end' event (ordered after the run's other events). */
  const launch = (call: () => Promise<unknown>, what: string): void => {
    phase = 'going';
    began = true;
    resume.textContent = 'Resume';
    status.textContent = what;
    show();
    call().catch(() => undefined);
  };

  const begin = (options: RunOptions): void => {
    let c: RunConfig;
    try {
      c = hooks.config();
    } catch (e) {
      fail(e);
      return;
    }
    launch(() => engine.startRun(c, hooks.policy(), options), 'starting…');
  };

  start.addEventListener('click', () => begin({}));
  step.addEventListener('click', () => (phase === 'saved' ? launch(() => engine.resumeRun({ pauseAfter: 1 }), 'one step…') : begin({ pauseAfter: 1 })));
  resume.addEventListener('click', () => launch(() => engine.resumeRun(), 'resuming…'));
  pause.addEventListener('click', () => {
    pause.disabled = true;
    status.textContent = 'pausing after this step…';
    void engine.pauseRun();
  });
  stop.addEventListener('click', () => {
    if (phase === 'going') {
      stop.disabled = true;
      status.textContent = 'stopping…';
      void engine.stopRun();
    } else {
      phase = 'idle';
      show();
      engine.stopRun().then(() => (status.textContent = 'stopped: the saved run is removed'), fail);
    }
  });

  // Hidden, the page may be closed or frozen at any time: the run checkpoints after its step.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      if (phase === 'going') void engine.checkpointSoon();
    } else void lock.visible();
  });

  /** A run saved before this page loaded: offered to continue, with where it stands (unless a run began here first). */
  const offer = (saved: SavedRunInfo): void => {
    if (phase !== 'idle' || began) return;
    phase = 'saved';
    config = saved.config;
    cursor = saved.cursor;
    // What the saved run measured: its step count, and the step times an ETA is made from.
    lines = [...(saved.metrics ?? [])];
    stepCount = lines.filter((l) => (l as EvalLine).eval !== true).length;
    hooks.showSaved?.(lines);
    // Its rollouts too; one that cannot be read is said now (Resume would fail on it the same way).
    engine.showSavedRollouts().catch((e: unknown) => {
      if (phase === 'saved') status.textContent += ` Its rollouts cannot be shown: ${e instanceof Error ? e.message : String(e)}`;
    });
    resume.textContent = 'Resume saved run';
    const where = saved.cursor.stage === 0 ? 'Stage 0' : `stage ${saved.cursor.stage} of ${saved.config.stages.length}`;
    status.textContent = `A run saved in this browser: ${where}, step ${saved.cursor.step}, ${saved.cursor.globalStep} optimizer steps after Stage 0, ${saved.judgeCalls} judge calls. Resume it, take one Step, or Stop it.`;
    show();
  };
  // A saved run that cannot be read is said so, unless a run began here meanwhile (its start clears it).
  engine.savedRun().then(
    (s) => s !== null && offer(s),
    (e: unknown) => {
      if (!began) fail(e);
    },
  );

  // The page's own run (a comparison arm's events go to the compare section).
  events.handle({
    'run-start': (e) => {
      config = e.config;
      cursor = e.resumedAt;
      lines = [];
      stepCount = 0;
      show();
    },
    'run-metrics': (e) => {
      lines.push(e.line);
      if ((e.line as EvalLine).eval !== true) {
        stepCount++;
        show();
      }
    },
    'run-progress': (e) => {
      // Where the run stands, for the ETA: the stage and its steps done.
      if (e.progress.phase !== 'eval') cursor = { stage: e.progress.stage, step: e.progress.done, globalStep: 0, baseEval: e.progress.stage > 0, finished: false };
    },
    'run-end': (e) => {
      const r = e.summary;
      if (r === null) status.textContent = `failed: ${e.error ?? 'unknown error'}`;
      else if (r.status === 'finished') status.textContent = `finished: ${r.steps} steps, ${r.judgeCalls} judge calls`;
      else status.textContent = `${r.status}: ${r.reason ?? ''}`;
      phase = r?.status === 'paused' ? 'saved' : 'idle';
      show();
      // A failed run may have left a state to continue from: offered when the engine has one.
      if (r === null) {
        engine.savedRun().then(
          (saved) => {
            if (saved !== null && phase === 'idle') {
              phase = 'saved';
              show();
            }
          },
          () => undefined,
        );
      }
    },
  });

  show();
  return {
    element: el('div', { className: 'run-controls' }, el('div', { className: 'row' }, start, pause, resume, step, stop), steps, eta, el('div', { className: 'row' }, field('text to score', scoreText), score), scored),
    status,
    setStartable(ok) {
      startable = ok;
      show();
    },
    going: () => phase === 'going',
  };
}
