/**
 * An engine that plays a recorded run back: the run part of EngineApi, sending the recorded
 * events at a watchable pace, so the run panel, its charts and the rollout browser show a
 * replay exactly as they show a live run. No GPU (nothing here imports one): it is what a class
 * whose machines cannot train watches. The page reaches it through comlink over a
 * MessageChannel, as it reaches the worker, so events arrive as structured clones in order.
 */
import type { RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import type { RunCursor } from '../rl/run-state';
import type {
  EngineApi,
  EngineEvent,
  EngineStatus,
  FolderFiles,
  PolicyInfo,
  RunOptions,
  RunPolicy,
  RunSummary,
  SavedRunInfo,
  SelfCheckResult,
} from './api';
import { fileText, parseReplay, replayFrames, REPLAY_FILES, type Replay, type ReplayFrame } from './replay-file';

/** A step every 0.4 s: a 40-step run plays in about 16 s, slow enough to read the charts move. */
export const REPLAY_MS_PER_STEP = 400;

/** Fetches and checks a replay folder (its URL ends with "/"); errors name the file and line. */
export async function fetchReplay(folder: URL, fetcher: typeof fetch = fetch): Promise<Replay> {
  const names = { header: '', metrics: '', rollouts: '' };
  const texts = { header: '', metrics: '', rollouts: '' };
  for (const key of ['header', 'metrics', 'rollouts'] as const) {
    const url = new URL(REPLAY_FILES[key], folder);
    names[key] = url.pathname;
    const res = await fetcher(url);
    if (!res.ok) throw new Error(`${url.pathname}: ${res.status} ${res.statusText}`);
    texts[key] = await fileText(new Uint8Array(await res.arrayBuffer()), url.pathname);
  }
  return parseReplay(texts, names);
}

function unavailable(what: string): Promise<never> {
  return Promise.reject(new Error(`${what} is not available in a replay: it plays a recorded run and has no GPU`));
}

export class ReplayEngine implements EngineApi {
  private readonly listeners: ((e: EngineEvent) => void)[] = [];
  /** The next frame to play; frames before it have been shown. */
  private next = 0;
  private going = false;
  /** A paused replay, which resumeRun continues. */
  private paused = false;
  private wanted: 'pause' | 'stop' | null = null;
  private wake: (() => void) | null = null;

  private constructor(
    private readonly replay: Replay,
    private readonly frames: readonly ReplayFrame[],
    private readonly msPerStep: number,
  ) {}

  static async create(replay: Replay, msPerStep = REPLAY_MS_PER_STEP): Promise<ReplayEngine> {
    return new ReplayEngine(replay, await replayFrames(replay), msPerStep);
  }

  onEvent(listener: (e: EngineEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) void l(e);
  }

  async startRun(_config: RunConfig, _policy: RunPolicy, options: RunOptions = {}): Promise<RunSummary> {
    // The page's settings do not apply: a replay shows the run as it was recorded, config included.
    if (this.going) throw new Error('the replay is already playing');
    this.next = 0;
    this.paused = false;
    this.emit({ type: 'run-start', config: this.replay.header.config, resumedAt: null });
    return this.play(options);
  }

  async resumeRun(options: RunOptions = {}): Promise<RunSummary> {
    if (this.going) throw new Error('the replay is already playing');
    if (!this.paused) throw new Error('no paused replay to resume');
    this.paused = false;
    this.emit({ type: 'run-start', config: this.replay.header.config, resumedAt: this.cursor() });
    // As a live resume does: the metric lines so far again, after the panel reset its view on run-start.
    for (const line of this.shownLines()) this.emit({ type: 'run-metrics', line });
    return this.play(options);
  }

  async pauseRun(): Promise<void> {
    if (!this.going) return;
    this.wanted = 'pause';
    this.wake?.();
  }

  async stopRun(): Promise<void> {
    this.paused = false;
    if (!this.going) return;
    this.wanted = 'stop';
    this.wake?.();
  }

  async savedRun(): Promise<SavedRunInfo | null> {
    if (!this.paused) return null;
    const lines = this.shownLines();
    return { config: this.replay.header.config, cursor: this.cursor(), judgeCalls: judgeCalls(lines), lines: lines.length };
  }

  async showSavedRollouts(): Promise<number> {
    // A replay's steps so far are on screen already: it sent their rollouts as it played them.
    return 0;
  }

  async checkpointSoon(): Promise<void> {
    // Nothing to save: the recording is the run.
  }

  async warmUp(): Promise<void> {
    // Nothing to compile: a replay has no GPU.
  }

  private shownLines(): (StepMetrics | EvalLine)[] {
    return this.frames.slice(0, this.next).flatMap((f) => f.events.flatMap((e) => (e.type === 'run-metrics' ? [e.line] : [])));
  }

  /** Where the replay stands, as a live run's cursor after the last step shown. */
  private cursor(): RunCursor {
    const lines = this.shownLines();
    const steps = lines.filter((l) => (l as EvalLine).eval !== true);
    const last = steps.at(-1);
    const stage = last?.stage ?? 0;
    return {
      stage,
      step: steps.filter((l) => l.stage === stage).length,
      globalStep: steps.filter((l) => l.stage > 0).length,
      baseEval: lines.some((l) => (l as EvalLine).eval === true),
      finished: this.next >= this.frames.length,
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async play(options: RunOptions): Promise<RunSummary> {
    this.going = true;
    this.wanted = null;
    let steps = 0;
    let summary: RunSummary;
    try {
      for (;;) {
        if (this.next >= this.frames.length) {
          summary = { status: 'finished', steps, judgeCalls: judgeCalls(this.shownLines()) };
          this.next = 0;
          break;
        }
        if (this.wanted === 'stop') {
          summary = { status: 'stopped', reason: 'stopped', steps, judgeCalls: judgeCalls(this.shownLines()) };
          this.next = 0;
          break;
        }
        const atLimit = options.pauseAfter !== undefined && steps >= options.pauseAfter;
        if (this.wanted === 'pause' || atLimit) {
          summary = { status: 'paused', reason: atLimit ? `paused after ${steps} step${steps === 1 ? '' : 's'}` : 'paused', steps, judgeCalls: judgeCalls(this.shownLines()) };
          this.paused = true;
          break;
        }
        const frame = this.frames[this.next++];
        for (const e of frame.events) this.emit(e);
        if (frame.step) {
          steps++;
          if (this.next < this.frames.length && !(options.pauseAfter !== undefined && steps >= options.pauseAfter)) await this.sleep(this.msPerStep);
        }
      }
    } finally {
      this.going = false;
      this.wake = null;
    }
    this.emit({ type: 'run-end', summary });
    return summary;
  }

  init(): Promise<EngineStatus> {
    return unavailable('the GPU engine');
  }
  selfCheck(): Promise<SelfCheckResult[]> {
    return unavailable('the kernel check');
  }
  createBuiltinPolicy(): Promise<PolicyInfo> {
    return unavailable('creating a policy');
  }
  loadPolicy(_files: FolderFiles): Promise<PolicyInfo> {
    return unavailable('loading a policy');
  }
  tokenLogprobs(): Promise<never> {
    return unavailable('scoring text');
  }
  sample(): Promise<never> {
    return unavailable('sampling');
  }
  sftStep(): Promise<never> {
    return unavailable('training');
  }
  savePolicy(): Promise<FolderFiles> {
    return unavailable('saving the policy');
  }
  loadFromHub(): Promise<PolicyInfo> {
    return unavailable('loading from the Hub');
  }
  storePolicy(): Promise<void> {
    return unavailable('saving the policy');
  }
  loadStoredPolicy(): Promise<PolicyInfo> {
    return unavailable('loading a saved policy');
  }
  storedPolicies(): Promise<string[]> {
    return unavailable('listing saved policies');
  }
}

function judgeCalls(lines: readonly (StepMetrics | EvalLine)[]): number {
  return lines.reduce((n, l) => n + ((l as StepMetrics).judge_calls ?? 0), 0);
}
