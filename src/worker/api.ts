/** The engine's API as the UI sees it through comlink: plain data in and out, no GPU objects. */
import type { KernelChoice } from '../gpu/autotune';
import type { KeyBinding } from '../judge/key-binding';
import type { AdapterReport } from '../gpu/device';
import type { MemoryUse } from '../gpu/memory-use';
import type { LoadProgress } from '../model/checkpoint';
import type { DownloadProgress } from '../model/hub';
import type { ModelConfig } from '../model/config';
import type { Sample, SampleOptions, TokenLogprobs } from '../model/session';
import type { SftStepResult } from '../model/sft-trainer';
import type { OptimizerHyper } from '../model/train-step';
import type { RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import type { RunProgress } from '../rl/run';
import type { RunCursor } from '../rl/run-state';

export interface EngineStatus {
  adapter: AdapterReport;
  kernels: KernelChoice;
}

/** What the page's GPU panel shows: the device, the kernels chosen for it, and the memory in use now. */
export interface GpuReport {
  adapter: AdapterReport;
  kernels: KernelChoice | null;
  /** Live buffers' bytes by what they hold (src/gpu/memory-use.ts). */
  memory: MemoryUse;
  /** Of the pool's buffers (counted in memory's scratch and uniforms): handed out now, kept for reuse. */
  pool: { liveBytes: number; pooledBytes: number };
}

export interface SelfCheckResult {
  shape: [number, number, number];
  variant: string;
  relL2: number;
  ms: number;
}

export interface PolicyInfo {
  config: ModelConfig;
  parameters: number;
  /** Things the load accepted but the user may want to know (e.g. ignored rotary buffers). */
  warnings: string[];
}

/** One supervised example as text: the loss covers the response only. */
export interface SftTextExample {
  prompt: string;
  response: string;
}

export interface TrainSettings extends OptimizerHyper {
  /** Sequences per micro-batch (gradients of several micro-batches are accumulated). */
  microBatch: number;
  /** Tokens per sequence the activations are sized for. */
  seqLen: number;
}

/** One rollout as the page shows it: text only, segments with their scores and values. */
export interface RolloutView {
  group: number;
  text: string;
  /** `reason`: the judge's rationale for the segment's score, or its failure (absent when no judge was asked). */
  segments: { text: string; score: number | null; advantage: number; reason?: string }[];
  reward: number | null;
  correct: boolean;
  cut: boolean;
  masked: boolean;
  judgeError?: string;
  /** Per checkpoint of its prompt (same order), whether the response reaches it (the rubric's rule). */
  reached: boolean[];
}

/** One RL step's rollouts, grouped by prompt, with each prompt's question and hidden reference. */
export interface RolloutBatchView {
  stage: number;
  step: number;
  method: string;
  /** `steps` and `checkpoints`: the reference's steps and the intermediate result of each (empty for imported items without them). */
  prompts: { id: string; question: string; reference: string; answer: string; steps: string[]; checkpoints: string[] }[];
  rollouts: RolloutView[];
}

/** Which policy a run trains: the one loaded now, the shipped pre-trained base, or a fresh one (Stage 0 first). */
export type RunPolicy = 'current' | 'builtin-base' | 'builtin';

export interface RunSummary {
  /** 'stopped': ended by the user; its saved state is gone. 'paused': saved, and resumeRun continues it. */
  status: 'finished' | 'paused' | 'stopped';
  reason?: string;
  steps: number;
  judgeCalls: number;
}

/** How far a started or resumed run goes before it pauses by itself. */
export interface RunOptions {
  /** Pause after this many steps (each a metrics step line: a Stage 0 or an RL step); 1 is the Step button. */
  pauseAfter?: number;
  /**
   * The run slot the run is saved in and resumed from (src/worker/run-slots.ts): none is the
   * page's own run; a name keeps a run of its own (an arm of a comparison). The run's events
   * carry the slot.
   */
  slot?: string;
}

/** The run saved in this browser, without its weights. */
export interface SavedRunInfo {
  config: RunConfig;
  cursor: RunCursor;
  judgeCalls: number;
  /** Metric lines (steps and evals) the saved state counts. */
  lines: number;
  /** Those lines, where the engine gives them: the page shows the step count and an ETA from them before the run resumes. */
  metrics?: (StepMetrics | EvalLine)[];
}

/**
 * Progress the engine reports while it works; the UI subscribes with `onEvent`. An event sent
 * while a run of a named slot goes carries that slot (RunOptions.slot); the page's own run's do not.
 */
export type EngineEvent = { slot?: string } & (
  | { type: 'load'; progress: LoadProgress }
  | { type: 'download'; progress: DownloadProgress }
  | ({ type: 'train-step'; step: number; ms: number } & SftStepResult)
  | { type: 'run-metrics'; line: StepMetrics | EvalLine }
  | { type: 'run-rollouts'; batch: RolloutBatchView }
  | { type: 'run-progress'; progress: RunProgress }
  | { type: 'run-note'; message: string }
  /**
   * First event of every startRun and resumeRun; a resume then replays the saved run's metric
   * lines as 'run-metrics' events, so a page that resets its view here shows the whole run.
   */
  | { type: 'run-start'; config: RunConfig; resumedAt: RunCursor | null }
  /**
   * The last event of every startRun, also when it failed. Events travel on the listener's own
   * channel, the call's result on another, so only this event is ordered after the run's
   * metric, rollout and progress events: a page should finish its display on it.
   */
  | { type: 'run-end'; summary: RunSummary | null; error?: string }
);

/** A Hugging Face folder as files: name -> bytes (from a download, OPFS or the user's picker). */
export type FolderFiles = Record<string, Uint8Array>;

export interface EngineApi {
  /** Acquires the device and chooses kernel variants (probing once per adapter). */
  init(): Promise<EngineStatus>;
  /** Multiplies random matrices on the GPU and compares with a float64 product on the CPU. */
  selfCheck(m: number, n: number, k: number): Promise<SelfCheckResult[]>;
  /** Receives progress events (pass a comlink proxy). */
  onEvent(listener: (e: EngineEvent) => void): void;
  /** A fresh built-in character-level policy from a seed. */
  createBuiltinPolicy(seed: number): Promise<PolicyInfo>;
  /** Loads a Hugging Face folder given as files. */
  loadPolicy(files: FolderFiles, where: string): Promise<PolicyInfo>;
  /** log p(token i+1 | tokens ≤ i) of a text under the policy. */
  tokenLogprobs(text: string): Promise<TokenLogprobs>;
  sample(prompt: string, options: SampleOptions): Promise<Sample[]>;
  /** One optimizer step of supervised fine-tuning on the examples' responses. */
  sftStep(examples: SftTextExample[], settings: TrainSettings): Promise<SftStepResult>;
  /** The policy as a Hugging Face folder (config.json, model.safetensors, tokenizer files). */
  savePolicy(): Promise<FolderFiles>;
  /** Downloads a model folder from the Hugging Face Hub by id (progress as 'download' events) and loads it. */
  loadFromHub(modelId: string, revision?: string): Promise<PolicyInfo>;
  /** Saves the policy in this browser's origin-private file system under a name. */
  storePolicy(name: string): Promise<void>;
  /** Loads a policy saved with storePolicy. */
  loadStoredPolicy(name: string): Promise<PolicyInfo>;
  /** Names of the policies saved in this browser. */
  storedPolicies(): Promise<string[]>;
  /**
   * Runs Stage 0 → stages → eval (events stream the metric lines and every step's rollouts);
   * resolves when the run finishes, pauses (with the reason) or is stopped. The trained policy
   * stays loaded.
   */
  startRun(config: RunConfig, policy: RunPolicy, options?: RunOptions): Promise<RunSummary>;
  /**
   * Continues the run saved in this browser (after a pause or a reload) from its last checkpoint,
   * with the same weights, optimizer state and cursor; the same events as startRun.
   */
  resumeRun(options?: RunOptions): Promise<RunSummary>;
  /**
   * Pauses a run between steps and saves its state: the step under way finishes (one cut in a
   * judge call is dropped and made again on resume).
   */
  pauseRun(): Promise<void>;
  /** Ends the slot's run (default: the page's own): a going one stops between steps; the saved state is removed either way. */
  stopRun(slot?: string): Promise<void>;
  /** The run saved in this browser in the slot (default: the page's own), or null (none, or it finished). */
  savedRun(slot?: string): Promise<SavedRunInfo | null>;
  /**
   * Sends the rollouts of the page's own saved run as 'run-rollouts' events, for the steps not
   * sent yet, so the rollout browser shows a saved run before it resumes (a resume then sends only
   * the rest); the number of steps sent. Nothing while a run goes: its events carry its rollouts.
   */
  showSavedRollouts(): Promise<number>;
  /** Checkpoints the going run after its current step, whatever `checkpointEvery` says (the page is being hidden). */
  checkpointSoon(): Promise<void>;
  /**
   * Compiles what the default run samples with, while the page is idle, so Start shows its first
   * rollouts sooner; a run waits for it. Failures are ignored (the run compiles what it needs).
   */
  warmUp(): Promise<void>;
  /**
   * The judge API key the page's user entered, bound to the endpoint origin it was entered for
   * (null: none). A run with judge.kind "openai" sends it, in the Authorization header, only when
   * judge.endpoint is at that origin. Kept in memory only (never in the run's saved files), and
   * redacted from every text the engine sends back. Optional: an engine that calls no judge
   * server (a replay) lacks it.
   */
  setJudgeKey?(binding: KeyBinding | null): Promise<void>;
  /** The device, its kernels and its memory in use by category (the GPU panel). Optional: a replay has no GPU. */
  gpuReport?(): Promise<GpuReport>;
  /**
   * Test only: the device is lost (destroyed, as a driver reset would take it) once the given RL
   * step's metrics line is out, the first `times` times (default 1); null disarms. The page calls
   * it only when its origin's storage holds the test flag (src/ui/state/test-hooks.ts).
   */
  testDeviceLoss?(spec: { step: number; times?: number } | null): Promise<void>;
}
