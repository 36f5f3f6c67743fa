/**
 * Compare mode, the logic without the page: several methods from the same base and seed, each a
 * run of its own (an engine run slot), taking turns on the one GPU. The scheduler gives each arm
 * one step in turn, round robin, until every arm has made the steps asked for; an arm that fails
 * is set aside and the others go on; Pause and Stop act on all of them. The summary table is the
 * paper's Table 1 in miniature: one row per arm, the step metrics of its latest steps and the
 * pass@k of its latest evaluation. No DOM and no engine here: the page (../panels/compare-panel.ts) hands
 * the scheduler a runner that makes one engine call per turn.
 */
import type { MetricLine } from '../../rl/chart-series';
import { METHODS, validateConfig, type Method, type RunConfig } from '../../rl/config';

/** One arm of a comparison: its method, and whether the judge's guard is on (ExpRL-Process's hacking guard). */
export interface ArmChoice {
  method: Method;
  guard: boolean;
}

/** The methods an arm can use: every Stage I method (Stage II is the stage that follows them). */
export const ARM_METHODS: readonly Method[] = METHODS.filter((m) => m !== 'stage2');

/** What the issue names: sparse GRPO, ExpRL-Outcome and guarded ExpRL-Process. */
export const DEFAULT_ARMS: readonly ArmChoice[] = [
  { method: 'sparse-grpo', guard: true },
  { method: 'exprl-outcome', guard: true },
  { method: 'exprl-process', guard: true },
];

/**
 * The hacking lesson: ExpRL-Process with and without the guard. Unguarded, a rollout that repeats
 * a step it already made earns that step's credit again: watch its reward rise while `unlocked`
 * stays flat and the reward of wrong rollouts grows.
 */
export const HACKING_LESSON: readonly ArmChoice[] = [
  { method: 'exprl-process', guard: true },
  { method: 'exprl-process', guard: false },
];

export const MAX_ARMS = 6;

/** The judge's guard matters only to a method the judge scores. */
const judged = (m: Method): boolean => m === 'exprl-outcome' || m === 'exprl-process';

/** An arm's name in legends and the table: the method, and "unguarded" where the guard is off on a judged method. */
export function armLabel(choice: ArmChoice): string {
  return judged(choice.method) && !choice.guard ? `${choice.method} (unguarded)` : choice.method;
}

/** Names for the arms, unique: a repeated one gets "#2", "#3". */
export function armLabels(choices: readonly ArmChoice[]): string[] {
  const seen = new Map<string, number>();
  return choices.map((c) => {
    const base = armLabel(c);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} #${n}`;
  });
}

/**
 * An arm's run config: the setup's config (the same base, seeds, tasks and budget for every arm)
 * with Stage I's method and the judge's guard of the arm. Throws (ConfigError) where the method
 * does not fit the rest of the setup.
 */
export function armConfig(base: RunConfig, choice: ArmChoice): RunConfig {
  const c = structuredClone(base);
  c.stages[0] = { ...c.stages[0], method: choice.method };
  c.judge = { ...c.judge, guard: choice.guard };
  return validateConfig(c);
}

/** Lines of a run in the order they came; a step line is one without `eval: true`. */
const isEval = (line: MetricLine): boolean => (line as { eval?: unknown }).eval === true;
const stageOf = (line: MetricLine): unknown => (line as { stage?: unknown }).stage;

/** RL steps among the lines (Stage 0's pre-training steps and eval lines are not counted). */
export function rlSteps(lines: readonly MetricLine[]): number {
  return lines.filter((l) => !isEval(l) && typeof stageOf(l) === 'number' && (stageOf(l) as number) > 0).length;
}

/** Stage 0 step lines among the lines. */
export function stage0Steps(lines: readonly MetricLine[]): number {
  return lines.filter((l) => !isEval(l) && stageOf(l) === 0).length;
}

/**
 * ready: it can take a turn (not started yet, or paused between turns); going: its turn is under
 * way; finished: its run came to its end; failed: a turn failed (its error in `note`); stopped:
 * the comparison was stopped and its state removed.
 */
export type ArmStatus = 'ready' | 'going' | 'finished' | 'failed' | 'stopped';

export interface ArmState {
  /** The run slot (unique per arm). */
  id: string;
  label: string;
  config: RunConfig;
  /** Stage 0 steps this arm's run makes before Stage I (a fresh built-in policy), 0 otherwise. */
  stage0: number;
  status: ArmStatus;
  /** The arm's run began (its first turn started it; later turns resume it). */
  started: boolean;
  /** The run's metric lines as the engine sent them (a resume sends the saved ones again first). */
  lines: MetricLine[];
  note: string;
}

export interface TurnRequest {
  arm: ArmState;
  /** Begin the arm's run (its first turn), else resume it. */
  start: boolean;
  /** Steps the turn makes before it pauses. */
  pauseAfter: number;
}

/** How a turn ended (as the engine's RunSummary says); a turn that failed rejects. */
export interface TurnResult {
  status: 'finished' | 'paused' | 'stopped';
  reason?: string;
}

export interface CompareRunner {
  /** One engine call for the arm; resolves once the run's last event (run-end) is in. */
  turn(request: TurnRequest): Promise<TurnResult>;
  /** Asks the going turn to end after its step (the engine's pause). */
  halt(): Promise<void>;
  /** Removes the arm's saved run. */
  discard(arm: ArmState): Promise<void>;
}

/** idle: nothing began; going; pausing/stopping: asked, the going turn ends first; paused; done: every arm reached the target or ended; stopped. */
export type ComparePhase = 'idle' | 'going' | 'pausing' | 'paused' | 'done' | 'stopping' | 'stopped';

/**
 * Turns for the arms, round robin: each arm that can still go takes one step in turn, in arm
 * order, until each has `target` RL steps (or its run ends, or fails). A turn of an arm still in
 * Stage 0 runs Stage 0 through and one step more: pre-training is the same for every arm and
 * not what is compared.
 */
export class CompareScheduler {
  readonly arms: ArmState[];
  private cursor = 0;
  private phaseNow: ComparePhase = 'idle';
  private loop: Promise<void> | null = null;

  constructor(
    arms: readonly { id: string; label: string; config: RunConfig; stage0?: number }[],
    /** RL steps each arm makes. */
    public target: number,
    private readonly runner: CompareRunner,
    /** Called whenever an arm or the phase changes. */
    private readonly changed: () => void = () => {},
  ) {
    if (new Set(arms.map((a) => a.id)).size !== arms.length) throw new Error('compare: arm ids must be distinct');
    this.arms = arms.map((a) => ({ id: a.id, label: a.label, config: a.config, stage0: a.stage0 ?? 0, status: 'ready', started: false, lines: [], note: '' }));
  }

  get phase(): ComparePhase {
    return this.phaseNow;
  }

  arm(id: string): ArmState | undefined {
    return this.arms.find((a) => a.id === id);
  }

  /** Per arm whose resumed run is sending its saved lines again: where its next line goes. */
  private replayAt = new Map<string, number>();

  /**
   * The arm's run started (its 'run-start' event): a new run's lines start empty; a resumed run
   * sends its saved lines again first, and they overwrite the kept ones in order, so what the
   * page draws does not empty and refill at every turn.
   */
  runStarted(id: string, resumed: boolean): void {
    const arm = this.arm(id);
    if (arm === undefined) return;
    if (resumed) this.replayAt.set(id, 0);
    else {
      arm.lines = [];
      this.replayAt.delete(id);
    }
  }

  /** A metric line of the arm's run ('run-metrics'). */
  addLine(id: string, line: MetricLine): void {
    const arm = this.arm(id);
    if (arm === undefined) return;
    const at = this.replayAt.get(id);
    if (at === undefined) arm.lines.push(line);
    else {
      arm.lines[at] = line;
      this.replayAt.set(id, at + 1);
    }
  }

  /** The arm's run ended ('run-end'): its lines are what the run sent (a kept line its saved state lost goes). */
  runEnded(id: string): void {
    const arm = this.arm(id);
    const at = this.replayAt.get(id);
    if (arm !== undefined && at !== undefined) arm.lines.length = at;
    this.replayAt.delete(id);
  }

  /** RL steps the arm has made. */
  steps(arm: ArmState): number {
    return rlSteps(arm.lines);
  }

  /** The arm that goes next, round robin from the last one that went; null when none can go. */
  next(): ArmState | null {
    const n = this.arms.length;
    for (let i = 0; i < n; i++) {
      const arm = this.arms[(this.cursor + i) % n];
      if (arm.status === 'ready' && this.steps(arm) < this.target) {
        this.cursor = (this.cursor + i + 1) % n;
        return arm;
      }
    }
    return null;
  }

  /** The steps the arm's next turn makes: one, or what is left of Stage 0 and then one. */
  turnLength(arm: ArmState): number {
    return 1 + Math.max(0, arm.stage0 - stage0Steps(arm.lines));
  }

  private set(phase: ComparePhase): void {
    this.phaseNow = phase;
    this.changed();
  }

  /** Starts (or continues, with a new target if given) the turns; resolves when they end (done, paused or stopped). */
  run(target?: number): Promise<void> {
    if (this.loop !== null) return this.loop;
    if (this.phaseNow === 'stopped' || this.phaseNow === 'stopping') return Promise.reject(new Error('compare: the comparison was stopped'));
    if (target !== undefined) this.target = target;
    this.set('going');
    this.loop = this.turns().finally(() => (this.loop = null));
    return this.loop;
  }

  private async turns(): Promise<void> {
    for (;;) {
      if (this.phaseNow === 'pausing') return this.set('paused');
      if (this.phaseNow === 'stopping') return this.discardAll();
      const arm = this.next();
      if (arm === null) return this.set('done');
      const start = !arm.started;
      arm.status = 'going';
      arm.note = '';
      this.changed();
      try {
        const r = await this.runner.turn({ arm, start, pauseAfter: this.turnLength(arm) });
        if (r.status === 'stopped') {
          // Only a pause before its first step stops a turn (nothing was saved): it begins again next turn.
          arm.started = false;
          arm.lines = [];
          arm.status = 'ready';
        } else {
          arm.started = true;
          arm.status = r.status === 'finished' ? 'finished' : 'ready';
        }
        if (r.status !== 'paused' && r.reason !== undefined) arm.note = r.reason;
      } catch (e) {
        // A run that failed may have begun; the others go on.
        arm.started = true;
        arm.status = 'failed';
        arm.note = e instanceof Error ? e.message : String(e);
      }
      this.changed();
    }
  }

  /** Every arm pauses: the going turn ends after its step, and no other begins. */
  async pause(): Promise<void> {
    if (this.loop === null) return;
    if (this.phaseNow === 'going') this.set('pausing');
    await this.runner.halt();
    await this.loop;
  }

  /** Every arm stops and its saved run is removed; the going turn ends after its step first. */
  async stop(): Promise<void> {
    if (this.phaseNow === 'stopped') return;
    if (this.loop !== null) {
      this.set('stopping');
      await this.runner.halt();
      await this.loop;
    } else await this.discardAll();
  }

  private async discardAll(): Promise<void> {
    for (const arm of this.arms) {
      if (arm.started) {
        try {
          await this.runner.discard(arm);
        } catch (e) {
          arm.note = `its saved run could not be removed: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
      if (arm.status !== 'failed' && arm.status !== 'finished') arm.status = 'stopped';
    }
    this.set('stopped');
  }
}

/** The step metrics of the summary: shares and rewards averaged over an arm's latest steps; `unlocked` (a running count) as it stands. */
export const SUMMARY_STEP_KEYS = ['reward_mean', 'correct_frac', 'reward_incorrect_mean', 'unlocked'] as const;
const RUNNING_KEYS: ReadonlySet<string> = new Set(['unlocked']);
/** Latest RL steps the summary averages over (one step's numbers are noisy). */
export const SUMMARY_WINDOW = 5;

export interface SummaryRow {
  id: string;
  label: string;
  /** RL steps made. */
  steps: number;
  /** Per key of SUMMARY_STEP_KEYS: the mean over the latest steps that have a number (`unlocked`: the latest number); null when none. */
  latest: Record<string, number | null>;
  /** The global step of the latest eval line; null before any. */
  evalStep: number | null;
  /** Per pass@k key of the table: the value at the latest eval line. */
  pass: Record<string, number | null>;
}

export interface SummaryTable {
  /** The pass@k keys any arm's eval lines hold, by k. */
  passKeys: string[];
  rows: SummaryRow[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const PASS = /^pass@(\d+)$/;

/**
 * The paper's Table 1 in the form this page can fill as steps come: a row per arm (in arm order),
 * the mean of each step metric over its latest `window` RL steps (the unlocked count as it
 * stands), and the pass@k of its latest
 * evaluation. Lines are read as untrusted records: a value that is not a finite number is missing.
 */
export function summaryTable(arms: readonly { id: string; label: string; lines: readonly MetricLine[] }[], window = SUMMARY_WINDOW): SummaryTable {
  const ks = new Set<number>();
  for (const a of arms) for (const l of a.lines) if (isEval(l)) for (const k of Object.keys(l)) {
    const m = PASS.exec(k);
    if (m !== null) ks.add(Number(m[1]));
  }
  const passKeys = [...ks].sort((a, b) => a - b).map((k) => `pass@${k}`);
  const rows = arms.map((a): SummaryRow => {
    const stepLines = a.lines.filter((l) => !isEval(l) && typeof stageOf(l) === 'number' && (stageOf(l) as number) > 0);
    const recent = stepLines.slice(-window) as Record<string, unknown>[];
    const latest: Record<string, number | null> = {};
    for (const key of SUMMARY_STEP_KEYS) {
      const xs = recent.map((l) => num(l[key])).filter((x): x is number => x !== null);
      latest[key] = xs.length === 0 ? null : RUNNING_KEYS.has(key) ? xs[xs.length - 1] : xs.reduce((s, x) => s + x, 0) / xs.length;
    }
    const evals = a.lines.filter(isEval) as Record<string, unknown>[];
    const last = evals.length > 0 ? evals[evals.length - 1] : null;
    const pass: Record<string, number | null> = {};
    for (const k of passKeys) pass[k] = last === null ? null : num(last[k]);
    return { id: a.id, label: a.label, steps: stepLines.length, latest, evalStep: last === null ? null : num(last.step), pass };
  });
  return { passKeys, rows };
}
