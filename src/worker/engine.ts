/**
 * The engine behind the worker: owns the Gpu, the loaded policy and its trainer, and turns the
 * API's plain-data calls into model-layer calls. Kept apart from the comlink shell so it runs
 * (and is tested) anywhere a Gpu can be made.
 */
import { tuneKernels, type ChoiceStore, type KernelChoice } from '../gpu/autotune';
import { matmul, MATMUL_VARIANTS } from '../gpu/ops/matmul';
import type { Gpu } from '../gpu/runtime';
import { createBuiltinPolicy, parameterCount } from '../model/builtin';
import { memoryFiles, memoryWriter, saveCheckpoint } from '../model/checkpoint';
import { downloadModel, probeHubModel, type DownloadProgress, type FetchFn } from '../model/hub';
import { readParams } from '../model/params';
import { PolicySession } from '../model/session';
import { SftTrainer, type SftExample } from '../model/sft-trainer';
import { openTransformersChat } from '../model/transformers-chat';
import { validateConfig, type RunConfig } from '../rl/config';
import type { TaskItem } from '../tasks/types';
import { runPipeline } from '../rl/run';
import { buildRunJudge } from '../rl/run-judge';
import { formatProbeReport, probeRefusal, runProbes } from '../judge/probes';
import { boundKey, type KeyBinding } from '../judge/key-binding';
import { Redactor } from '../judge/redact';
import type { EvalLine } from '../rl/evaluate';
import type { LoadedRunState } from '../rl/run-state';
import { DeviceLossHook, runSurvivingLoss, type DeviceLossSpec } from './device-recovery';
import type { EngineApi, EngineEvent, EngineStatus, GpuReport, FolderFiles, PolicyInfo, RolloutBatchView, RunOptions, RunPolicy, RunSummary, SavedRunInfo, SelfCheckResult, SftTextExample, TrainSettings } from './api';
import { rolloutBatchViews, type RolloutLine } from './replay-file';
import { rolloutBatchView } from './run-view';
import { slotRunDir } from './run-slots';
import { SavedRun, START_POLICY_DIR, type RunDir } from './saved-run';

/** Where the page serves the shipped pre-trained built-in policy (public/models/builtin-base). */
export const BUILTIN_BASE_URL = '/models/builtin-base/';
const BASE_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

export interface FolderStore {
  save(name: string, files: FolderFiles): Promise<void>;
  load(name: string): Promise<FolderFiles>;
  list(): Promise<string[]>;
}

/** The going run: its slot, its abort switch, how the user asked it to end, and whether a checkpoint is wanted soon. */
interface LiveRun {
  slot: string | undefined;
  stop: AbortController;
  ending: { kind: 'pause' | 'stop'; reason: string } | null;
  checkpointWanted: boolean;
}

/** What a run starts from: its config, its starting policy, where it is saved, and the state it resumes. */
interface RunPlan {
  config: RunConfig;
  which: RunPolicy;
  saved: SavedRun | null;
  resume: LoadedRunState | null;
}

export class Engine implements EngineApi {
  private gpu: Gpu | null = null;
  private policy: PolicySession | null = null;
  private trainer: { trainer: SftTrainer; key: string } | null = null;
  private listeners: Array<(e: EngineEvent) => void> = [];
  private run: LiveRun | null = null;
  /** The warm-up started while the page is idle (warmUp), or null. */
  private warming: Promise<void> | null = null;
  /** The judge API key the page set, bound to its origin (memory only), and the key the last run sent. */
  private judgeKey: KeyBinding | null = null;
  private runKey: string | undefined;
  /** The kernel variants init chose for the device; the test-only device loss (DeviceLossHook). */
  private kernels: KernelChoice | null = null;
  private readonly lossHook = new DeviceLossHook();
  /**
   * Per run slot ('' for the page's own run): the steps ("stage:step") whose rollouts this engine
   * has sent since the slot's run last started afresh, which the page keeps as it keeps them. A
   * resume sends the saved steps the page does not have (all of them after a reload), not again
   * those it has (a Resume after Pause, a compare arm's next turn).
   */
  private readonly sentSteps = new Map<string, Set<string>>();

  constructor(
    private readonly makeGpu: () => Promise<Gpu>,
    private readonly store: ChoiceStore,
    /** Where model folders are kept by name (the browser's origin-private file system in the worker). */
    private readonly folders?: FolderStore,
    private readonly fetchFn: FetchFn = (url, init) => fetch(url, init),
    /** Node only: where transformers.js keeps judge model files (the page uses the browser's Cache Storage). */
    private readonly transformersCacheDir?: string,
    /** Where the run is saved as it goes (the page: a folder of the origin-private file system); none: runs keep no state. */
    private readonly runDir?: RunDir,
  ) {}

  private requireGpu(): Gpu {
    if (this.gpu === null) throw new Error('engine not initialised: call init() first');
    return this.gpu;
  }

  private requirePolicy(): PolicySession {
    if (this.policy === null) throw new Error('no policy loaded: create the built-in policy or load a model first');
    return this.policy;
  }

  private emit(e: EngineEvent): void {
    e = this.withoutKey(e);
    // Events of a named slot's run say so: the page tells its own run's events from an arm's.
    const slot = this.run?.slot;
    if (e.type === 'run-start' && e.resumedAt === null) this.sentSteps.set(slot ?? '', new Set());
    else if (e.type === 'run-rollouts') this.stepsSent(slot).add(stepKey(e.batch));
    const tagged = slot === undefined ? e : { ...e, slot };
    for (const l of this.listeners) l(tagged);
  }

  private stepsSent(slot: string | undefined): Set<string> {
    const key = slot ?? '';
    let sent = this.sentSteps.get(key);
    if (sent === undefined) this.sentSteps.set(key, (sent = new Set()));
    return sent;
  }

  /** The saved rollouts of the steps the slot's page has not been sent yet, as the views 'run-rollouts' carries. */
  private async unsentBatches(slot: string | undefined, config: RunConfig, prompts: readonly TaskItem[], lines: readonly RolloutLine[]): Promise<RolloutBatchView[]> {
    const sent = this.stepsSent(slot);
    return rolloutBatchViews(config, prompts, lines.filter((r) => !sent.has(stepKey(r))));
  }

  async init(): Promise<EngineStatus> {
    this.gpu ??= await this.makeGpu();
    const kernels = await tuneKernels(this.gpu, this.store);
    this.kernels = kernels;
    return { adapter: this.gpu.adapter, kernels };
  }

  async gpuReport(): Promise<GpuReport> {
    const gpu = this.requireGpu();
    return { adapter: gpu.adapter, kernels: this.kernels, memory: gpu.memory.snapshot(), pool: gpu.pool.stats() };
  }

  async testDeviceLoss(spec: DeviceLossSpec | null): Promise<void> {
    this.lossHook.arm(spec);
  }

  onEvent(listener: (e: EngineEvent) => void): void {
    this.listeners.push(listener);
  }

  async setJudgeKey(binding: KeyBinding | null): Promise<void> {
    this.judgeKey = binding !== null && binding.key !== '' ? { origin: binding.origin, key: binding.key } : null;
  }

  /** A text without the judge key (the one set now, and the one the last run sent). */
  private redactKey(text: string): string {
    const keys = [this.judgeKey?.key ?? '', this.runKey ?? ''];
    return keys.every((k) => k === '') ? text : new Redactor(keys).text(text);
  }

  /** The texts an event carries to the page (notes, a failed run's error), without the judge key. */
  private withoutKey(e: EngineEvent): EngineEvent {
    if (e.type === 'run-note') return { ...e, message: this.redactKey(e.message) };
    if (e.type === 'run-end' && e.error !== undefined) return { ...e, error: this.redactKey(e.error) };
    return e;
  }

  async selfCheck(m: number, n: number, k: number): Promise<SelfCheckResult[]> {
    const g = this.requireGpu();
    const a = Float32Array.from({ length: m * k }, () => Math.random() * 2 - 1);
    const b = Float32Array.from({ length: k * n }, () => Math.random() * 2 - 1);
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) want[i * n + j] += a[i * k + kk] * b[kk * n + j];
    const ta = g.upload(a, [m, k]);
    const tb = g.upload(b, [k, n]);
    const tc = g.empty([m, n]);
    const out: SelfCheckResult[] = [];
    try {
      for (const variant of MATMUL_VARIANTS) {
        const t0 = performance.now();
        matmul(g, ta, tb, tc, m, n, k, { variant });
        const got = await g.readF32(tc);
        const ms = performance.now() - t0;
        let num = 0;
        let den = 0;
        for (let i = 0; i < got.length; i++) {
          num += (got[i] - want[i]) ** 2;
          den += want[i] ** 2;
        }
        out.push({ shape: [m, n, k], variant, relL2: Number.isFinite(num) ? Math.sqrt(num / den) : Infinity, ms });
      }
    } finally {
      for (const t of [ta, tb, tc]) t.buffer.destroy();
    }
    return out;
  }

  private replacePolicy(next: PolicySession): PolicyInfo {
    this.trainer?.trainer.destroy();
    this.trainer = null;
    this.policy?.destroy();
    this.policy = next;
    return { config: next.config, parameters: parameterCount(next.config), warnings: [...next.warnings] };
  }

  async createBuiltinPolicy(seed: number): Promise<PolicyInfo> {
    const p = createBuiltinPolicy(seed);
    return this.replacePolicy(PolicySession.fromValues(this.requireGpu(), p.config, p.params, p.tokenizer));
  }

  async loadPolicy(files: FolderFiles, where: string): Promise<PolicyInfo> {
    const session = await PolicySession.load(this.requireGpu(), memoryFiles(new Map(Object.entries(files)), where), (progress) =>
      this.emit({ type: 'load', progress }),
    );
    return this.replacePolicy(session);
  }

  async tokenLogprobs(text: string) {
    return this.requirePolicy().tokenLogprobs(text);
  }

  async sample(prompt: string, options: Parameters<PolicySession['sample']>[1]) {
    return this.requirePolicy().sample(prompt, options);
  }

  async sftStep(examples: SftTextExample[], settings: TrainSettings) {
    const policy = this.requirePolicy();
    // Hyperparameters travel with each call; the trainer (activations, optimizer moments) is
    // rebuilt only when the batch geometry changes.
    const key = `${settings.microBatch}x${settings.seqLen}`;
    if (this.trainer?.key !== key) {
      this.trainer?.trainer.destroy();
      this.trainer = { trainer: new SftTrainer(policy.gpu, policy.model, settings, settings.microBatch, settings.seqLen), key };
    }
    const { trainer } = this.trainer;
    trainer.hyper = settings;
    const batch: SftExample[] = examples.map((ex, i) => {
      const prompt = policy.tokenizer.encode(ex.prompt);
      // The response continues the prompt: no special tokens of the tokenizer's own (a second <bos>).
      const response = policy.tokenizer.encode(ex.response, { addSpecialTokens: false });
      if (prompt.length === 0) throw new Error(`example ${i}: the prompt is empty (the first token has no prediction)`);
      return { tokens: [...prompt, ...response], responseStart: prompt.length };
    });
    const t0 = performance.now();
    const result = await trainer.step(batch);
    this.emit({ type: 'train-step', step: trainer.steps, ms: performance.now() - t0, ...result });
    return result;
  }

  async loadFromHub(modelId: string, revision = 'main'): Promise<PolicyInfo> {
    const downloaded = await downloadModel(modelId, this.fetchFn, (progress) => this.emit({ type: 'download', progress }), { revision });
    return this.loadPolicy(Object.fromEntries(downloaded.files), `${modelId}@${revision}`);
  }

  private requireFolders(): FolderStore {
    if (this.folders === undefined) throw new Error('this engine has no place to keep models by name');
    return this.folders;
  }

  async storePolicy(name: string): Promise<void> {
    await this.requireFolders().save(name, await this.savePolicy());
  }

  async loadStoredPolicy(name: string): Promise<PolicyInfo> {
    return this.loadPolicy(await this.requireFolders().load(name), `saved model ${name}`);
  }

  async storedPolicies(): Promise<string[]> {
    return this.requireFolders().list();
  }

  /** The shipped pre-trained built-in policy's files, fetched from the page's own server. */
  private async builtinBaseFiles(): Promise<FolderFiles> {
    const files: FolderFiles = {};
    for (const name of BASE_FILES) {
      const url = new URL(name, new URL(BUILTIN_BASE_URL, self.location.href)).href;
      const res = await this.fetchFn(url);
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}; the shipped base policy is missing (npm run make-base makes it)`);
      files[name] = new Uint8Array(await res.arrayBuffer());
    }
    return files;
  }

  private async loadBuiltinBase(): Promise<PolicyInfo> {
    return this.loadPolicy(await this.builtinBaseFiles(), 'the shipped built-in base policy');
  }

  async warmUp(): Promise<void> {
    this.warming ??= this.compileSampling().catch(() => {
      // A warm-up that fails costs nothing: the run compiles what it needs, and says what failed.
    });
    return this.warming;
  }

  /**
   * Samples two tokens from a throwaway copy of the shipped base: the first sampling on a fresh
   * device compiles its pipelines, which takes seconds on a software adapter (9 s measured on 2
   * busy cores), and the page's default run samples from that policy first.
   */
  private async compileSampling(): Promise<void> {
    const files = await this.builtinBaseFiles();
    const session = await PolicySession.load(this.requireGpu(), memoryFiles(new Map(Object.entries(files)), 'the shipped built-in base policy'));
    try {
      await session.sample('1 + 1 = ', { n: 2, temperature: 0.8, seed: 0, maxTokens: 2 });
    } finally {
      session.destroy();
    }
  }

  async startRun(raw: RunConfig, which: RunPolicy, options: RunOptions = {}): Promise<RunSummary> {
    return this.runWithEnd(async () => {
      const config = validateConfig(raw);
      this.requireGpu();
      const saved = this.savedRunStore(options.slot);
      // A run begun from the page's loaded policy keeps that policy's files: a resume starts from them.
      await saved?.begin(config, which === 'current' ? await this.savePolicy() : null);
      this.emit({ type: 'run-start', config, resumedAt: null });
      return { config, which, saved, resume: null };
    }, options);
  }

  async resumeRun(options: RunOptions = {}): Promise<RunSummary> {
    return this.runWithEnd(() => this.savedPlan(options.slot), options);
  }

  /**
   * The saved run of the slot, its starting policy loaded when it is the page's; its run-start and
   * saved metric lines told, then the rollouts of the saved steps the page does not have yet.
   */
  private async savedPlan(slot: string | undefined): Promise<RunPlan> {
    this.requireGpu();
    const saved = this.savedRunStore(slot);
    if (saved === null || (await saved.head()) === null) throw new Error(slot === undefined ? 'no saved run in this browser' : `no saved run in slot ${slot}`);
    const loaded = await saved.load();
    const which: RunPolicy = loaded.config.policy === 'builtin' || loaded.config.policy === 'builtin-base' ? loaded.config.policy : 'current';
    if (which === 'current') {
      if (loaded.startPolicy === null) throw new Error(`saved run: the starting policy's files (${START_POLICY_DIR}/) are missing`);
      await this.loadPolicy(loaded.startPolicy, "the saved run's starting policy");
    }
    this.emit({ type: 'run-start', config: loaded.config, resumedAt: { ...loaded.state.cursor } });
    for (const line of loaded.metrics) this.emit({ type: 'run-metrics', line });
    for (const batch of await this.unsentBatches(slot, loaded.config, loaded.prompts, loaded.rollouts)) this.emit({ type: 'run-rollouts', batch });
    return { config: loaded.config, which, saved, resume: loaded.resume };
  }

  /** One run from `open` (a new one or a resumed one) to its end, and the 'run-end' event, also when it failed. */
  private async runWithEnd(open: () => Promise<RunPlan>, options: RunOptions): Promise<RunSummary> {
    if (this.run !== null) throw new Error('a run is already going; stop it first');
    const run: LiveRun = { slot: options.slot, stop: new AbortController(), ending: null, checkpointWanted: false };
    this.run = run;
    try {
      // The warm-up's work is queued on the same device: the run starts once it is done.
      await this.warming;
      const summary = await this.runRecovering(await open(), run, options);
      this.emit({ type: 'run-end', summary });
      return summary;
    } catch (e) {
      const message = this.redactKey(e instanceof Error ? e.message : String(e));
      this.emit({ type: 'run-end', summary: null, error: message });
      throw e instanceof Error && e.message === message ? e : new Error(message);
    } finally {
      this.run = null;
    }
  }

  /** runToEnd, surviving device losses it did not ask for (src/worker/device-recovery.ts). */
  private runRecovering(first: RunPlan, run: LiveRun, options: RunOptions): Promise<RunSummary> {
    return runSurvivingLoss(first, {
      attempt: (plan) => this.runToEnd(plan, run, options),
      saves: (plan) => plan.saved !== null,
      gpu: () => this.gpu,
      renewDevice: async () => {
        // The policy and trainer went with the device; init makes a new one and chooses its kernels.
        const old = this.gpu;
        [this.gpu, this.policy, this.trainer] = [null, null, null];
        try {
          old?.destroy();
        } catch {
          // Lost already: nothing left to free.
        }
        await this.init();
      },
      savedAt: async (plan) => {
        const head = await plan.saved!.head();
        return head === null ? null : { cursor: head.state.cursor, judgeCalls: head.state.judgeCalls };
      },
      resumePlan: () => this.savedPlan(run.slot),
      // Nothing saved yet: a built-in policy is rebuilt; the page's loaded one went with the device.
      restartPlan: async (plan) => {
        if (plan.which === 'current') return null;
        await plan.saved!.begin(plan.config, null);
        this.emit({ type: 'run-start', config: plan.config, resumedAt: null });
        return { ...plan, resume: null };
      },
      note: (message) => this.emit({ type: 'run-note', message }),
    });
  }

  private async runToEnd(plan: RunPlan, run: LiveRun, options: RunOptions): Promise<RunSummary> {
    const { config, which, saved, resume } = plan;
    // A resume starts from the run's starting policy (the saved state holds the trained weights);
    // for "current" the caller loaded it from the saved run's files.
    if (which === 'builtin') await this.createBuiltinPolicy(config.seeds.init);
    else if (which === 'builtin-base') await this.loadBuiltinBase();
    const policy = this.requirePolicy();
    // The SFT trainer's optimizer state belongs to the policy as it was; a run has its own.
    this.trainer?.trainer.destroy();
    this.trainer = null;
    const stop = run.stop;
    const pauseAfter = options.pauseAfter;
    let stepsTaken = 0;
    let release = async (): Promise<void> => {};
    try {
      // judge.kind "local": an instruct model by Hub id in its own slot, downloaded with progress,
      // on our kernels or through transformers.js (judge.runtime).
      const onDownload = (progress: DownloadProgress): void => this.emit({ type: 'download', progress });
      // judge.kind "openai": the key the page set, only when judge.endpoint is at the origin it was entered for.
      const apiKey = config.judge.kind === 'openai' ? boundKey(this.judgeKey, config.judge.endpoint) : undefined;
      if (apiKey !== undefined) this.runKey = apiKey;
      const built = await buildRunJudge(config, policy, {
        probe: (id) => probeHubModel(id, this.fetchFn),
        kernels: async (id) => {
          const d = await downloadModel(id, this.fetchFn, onDownload);
          return PolicySession.load(policy.gpu, memoryFiles(d.files, `judge model ${id}`), (progress) => this.emit({ type: 'load', progress }));
        },
        transformers: (id, o) => openTransformersChat({ modelId: id, ...o, fetchFn: this.fetchFn, cacheDir: this.transformersCacheDir, onProgress: onDownload }),
      }, apiKey);
      release = built.release;
      if (built.note !== undefined) this.emit({ type: 'run-note', message: built.note });
      const judge = built.judge;
      // The probes run once, before a run's first step (as the CLI runs them once per run folder).
      if (judge !== null && resume === null) {
        let report;
        try {
          report = await runProbes(judge, undefined, undefined, stop.signal);
        } catch (e) {
          if (!stop.signal.aborted) throw e;
          // Paused or stopped before the run's first state: there is nothing to continue from.
          await saved?.clear();
          return { status: 'stopped', reason: `${run.ending?.reason ?? 'stopped'} before the first step (nothing was saved)`, steps: 0, judgeCalls: 0 };
        }
        this.emit({ type: 'run-note', message: formatProbeReport(report) });
        const refusal = config.judge.requireProbes ? probeRefusal(report) : null;
        if (refusal !== null) {
          await saved?.clear();
          throw new Error(refusal);
        }
      }
      // deferBaseEval: the first step's scored rollouts are on screen before the base eval runs.
      const r = await runPipeline(
        { session: policy, config, judge, freshPolicy: which === 'builtin', store: saved, resume, deferBaseEval: true },
        {
          signal: stop.signal,
          onMetrics: (line) => {
            saved?.addMetrics(line);
            this.emit({ type: 'run-metrics', line });
            this.lossHook.afterLine(line, policy.gpu);
            // The Step button: the run pauses once this many steps are made (the next one does not start).
            if ((line as EvalLine).eval !== true && pauseAfter !== undefined && ++stepsTaken >= pauseAfter) this.endRun('pause', `paused after ${stepsTaken} step${stepsTaken === 1 ? '' : 's'}`);
          },
          onRollouts: async (b) => {
            this.emit({ type: 'run-rollouts', batch: rolloutBatchView(b) });
            // Kept before the checkpoint that counts them (the run waits for this).
            await saved?.addRollouts(b, (line) => this.redactKey(line));
          },
          onProgress: (progress) => this.emit({ type: 'run-progress', progress }),
          onNote: (message) => this.emit({ type: 'run-note', message }),
          checkpointWanted: () => {
            const wanted = run.checkpointWanted;
            run.checkpointWanted = false;
            return wanted;
          },
        },
      );
      const counts = { steps: r.steps, judgeCalls: r.judgeCalls };
      if (r.status === 'paused' && run.ending?.kind === 'stop') {
        await saved?.clear();
        return { status: 'stopped', reason: run.ending.reason, ...counts };
      }
      // A pause asked for (Pause, Step) is told in the page's words; the run's own pauses in its words.
      const reason = r.status === 'paused' && run.ending !== null ? run.ending.reason : r.reason;
      return { status: r.status, ...(reason !== undefined ? { reason } : {}), ...counts };
    } finally {
      await release();
    }
  }

  /** Ends the going run between steps: a pause keeps its state, a stop removes it. */
  private endRun(kind: 'pause' | 'stop', reason: string): void {
    const run = this.run;
    if (run === null || run.ending?.kind === 'stop') return;
    run.ending = { kind, reason };
    run.stop.abort(new Error(reason));
  }

  async pauseRun(): Promise<void> {
    this.endRun('pause', 'paused by the user');
  }

  async stopRun(slot?: string): Promise<void> {
    if (this.run !== null && this.run.slot === slot) this.endRun('stop', 'stopped by the user');
    else await this.savedRunStore(slot)?.clear();
  }

  async savedRun(slot?: string): Promise<SavedRunInfo | null> {
    const saved = this.savedRunStore(slot);
    const head = await saved?.head();
    if (saved === null || head === undefined || head === null || head.state.cursor.finished) return null;
    return { config: head.config, cursor: head.state.cursor, judgeCalls: head.state.judgeCalls, lines: head.state.lines.metrics, metrics: await saved.metricLines(head.state) };
  }

  async showSavedRollouts(): Promise<number> {
    const saved = this.savedRunStore(undefined);
    const head = this.run === null ? await saved?.head() : null;
    if (saved === null || head === undefined || head === null || head.state.cursor.finished) return 0;
    const { lines, prompts } = await saved.rollouts(head.state, await saved.metricLines(head.state));
    const batches = await this.unsentBatches(undefined, head.config, prompts, lines);
    // A run that began meanwhile sends its own (a resume: these same steps).
    if (this.run !== null) return 0;
    for (const batch of batches) this.emit({ type: 'run-rollouts', batch });
    return batches.length;
  }

  async checkpointSoon(): Promise<void> {
    if (this.run !== null) this.run.checkpointWanted = true;
  }

  /** The saved run of a slot (undefined: the page's own run). */
  private savedRunStore(slot?: string): SavedRun | null {
    return this.runDir === undefined ? null : new SavedRun(slotRunDir(this.runDir, slot));
  }

  async savePolicy(): Promise<FolderFiles> {
    const policy = this.requirePolicy();
    const writer = memoryWriter('policy');
    const params = await readParams(policy.gpu, policy.model);
    await saveCheckpoint(writer, policy.config, params, policy.tokenizer.files(policy.config.maxSeqLen));
    return Object.fromEntries(writer.files);
  }
}

/** A step of a run as the engine counts what it has sent: "stage:step". */
function stepKey(x: { stage: number; step: number }): string {
  return `${x.stage}:${x.step}`;
}
