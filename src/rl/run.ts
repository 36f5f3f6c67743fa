/**
 * A whole run as one pipeline: Stage 0 (SFT pre-training of a freshly initialised built-in
 * policy on the easy split) → the configured stages (Stage I: ExpRL or a baseline; Stage II:
 * sparse RL) → evaluation before, during (every `eval.everySteps`) and after training.
 *
 * One step of an RL method: the step's prompts → G samples each with their sampling log-probs
 * (`collectRollouts`, which judges, checks answers and computes advantages) → for
 * self-distillation the teacher pass replaces the advantages → `miniBatches` × `epochs` policy
 * updates (`PolicyTrainer`, which also measures the KL to the stage's frozen reference and to the
 * base) → one metrics line. SFT steps train on references (`SftTrainer`).
 *
 * The run is a cursor over (stage, step) and checkpoints its state (src/rl/run-state.ts) to the
 * store every `checkpointEvery` steps, at the end of every stage and evaluation, and when it
 * pauses; given a saved state it continues from there and writes exactly the lines the
 * uninterrupted run would have written. It pauses, with its reason, when more than
 * judge.maxMaskedShare of a step's rollouts are masked (that step makes no update), before a step
 * whose judge calls could pass judge.callCap, when the judge's circuit breaker has opened (too
 * many calls in a row failed: judge.breakerAfter), or when stopped. The shell (CLI, worker) owns the
 * GPU, the judge and the output files.
 */
import type { Judge } from '../judge/types';
import { cloneParams, destroyParams, writeFlatBuffers, type ModelParams } from '../model/params';
import { scoreResponses } from '../model/score';
import type { PolicySession } from '../model/session';
import { SftTrainer } from '../model/sft-trainer';
import { readOptimizer, restoreOptimizer, type OptimizerState } from '../model/train-step';
import type { TaskItem } from '../tasks/types';
import type { Method, RunConfig, StageConfig } from './config';
import { evaluatePolicy, type EvalLine } from './evaluate';
import { maxJudgeCallsPerStep } from './judge-budget';
import { collectMethod, effectiveEpsHigh, methodTraits, needsJudge } from './methods';
import { stepMetrics, type StepMetrics, type UpdateStats } from './metrics';
import { PolicyTrainer, type PolicyRollout, type PolicyUpdate } from './policy-step';
import { collectRollouts, metricsRecord, toPolicyRollout, type RolloutRecord } from './rollouts';
import { RUN_STATE_FORMAT, RUN_STATE_VERSION, type FlatWeights, type FrozenSource, type LoadedRunState, type RunCursor, type RunStore } from './run-state';
import { mixSeed, rolloutPrompt, sftPair, stagePool, stageSalt, stepItems, teacherPrompt } from './stage-data';

/** Rollouts per micro-batch of the policy update (bounds the activations). */
export const UPDATE_MICRO_BATCH = 16;

export type RunPhase = 'pretrain' | 'train' | 'eval';

export interface RunProgress {
  phase: RunPhase;
  /** 0 = Stage 0, 1 = Stage I, ... */
  stage: number;
  /** Steps done in this phase, and its total (eval: prompts). */
  done: number;
  total: number;
  method: string;
}

export interface RolloutBatch {
  stage: number;
  step: number;
  method: Method;
  items: readonly TaskItem[];
  records: readonly RolloutRecord[];
}

export interface RunHooks {
  /** Each metrics.jsonl line (Stage 0, step and eval lines) as it is made. */
  onMetrics?(line: StepMetrics | EvalLine): void | Promise<void>;
  /** Each RL step's rollouts, after judging and before the update. */
  onRollouts?(batch: RolloutBatch): void | Promise<void>;
  onProgress?(p: RunProgress): void;
  /** Notes the user should see (truncated references, masked teacher passes, ...). */
  onNote?(message: string): void;
  /** A checkpoint is durable in the store (after every save). */
  onCheckpoint?(cursor: RunCursor): void | Promise<void>;
  /**
   * Asked after each step: true checkpoints it even when `checkpointEvery` would not (the page
   * is being hidden and may be closed before the next due checkpoint).
   */
  checkpointWanted?(): boolean;
  /** Test-only: true for an optimizer step (1-based, stages I on) whose advantages are made NaN on their way to the GPU. */
  testPoisonStep?(globalStep: number): boolean;
  signal?: AbortSignal;
}

export interface RunResult {
  status: 'finished' | 'paused';
  /** Why the run paused. */
  reason?: string;
  /** Optimizer steps of stages I, II, ... taken (in all, resumed parts included). */
  steps: number;
  judgeCalls: number;
  evals: EvalLine[];
}

export interface RunInputs {
  session: PolicySession;
  config: RunConfig;
  /** Needed when a stage uses exprl-outcome or exprl-process. */
  judge: Judge | null;
  /** The policy was initialised for this run: Stage 0 runs (when pretrain.steps > 0). */
  freshPolicy: boolean;
  /** Stop after Stage 0 and one evaluation (how the shipped base policy is made). */
  pretrainOnly?: boolean;
  /** Where checkpoints go; none: the run keeps no state. */
  store?: RunStore | null;
  /** A saved state to continue from; the session holds the run's starting policy as `config.policy` gives it. */
  resume?: LoadedRunState | null;
  /**
   * The base evaluation (eval.before) waits until the first RL step's rollouts are out, and runs
   * before that step's update: the same policy is evaluated, with the same seeds, and the same
   * lines are written in the same order, but the first scored rollouts come an eval sooner (the
   * page). Ignored when Stage I trains on references or the run only pre-trains.
   */
  deferBaseEval?: boolean;
}

class Paused extends Error {}

/** Steps in a row skipped for a non-finite gradient norm before the run pauses. */
export const MAX_SKIPS_IN_A_ROW = 3;

export async function runPipeline(inputs: RunInputs, hooks: RunHooks = {}): Promise<RunResult> {
  const run = new Run(inputs, hooks);
  try {
    return await run.all();
  } finally {
    run.destroy();
  }
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** A trainer of the stage being run, with what a checkpoint needs of it. */
interface LiveTrainer {
  optimizer: OptimizerState;
}

class Run {
  private readonly cfg: RunConfig;
  private readonly session: PolicySession;
  /** The policy Stage I started from (kl_base); frozen. */
  private base: ModelParams | null = null;
  private baseSource: FrozenSource | null = null;
  /** The current stage's frozen reference (KL, self-distillation teacher); may be `base` itself. */
  private reference: ModelParams | null = null;
  private referenceSource: FrozenSource | null = null;
  /** Frozen weights not yet handed to the store. */
  private readonly unsaved = new Map<string, FlatWeights>();
  private unlocked = new Set<string>();
  private judgeCalls = 0;
  private cursor: RunCursor = { stage: 0, step: 0, globalStep: 0, baseEval: false, finished: false };
  private evals: EvalLine[] = [];
  /** Lines handed to onMetrics / rollout records to onRollouts, and those a checkpoint may count. */
  private readonly lines = { metrics: 0, rollouts: 0 };
  private committedLines = { metrics: 0, rollouts: 0 };
  private trainer: LiveTrainer | null = null;
  private pauseSaved = false;
  /** Steps in a row whose optimizer step was skipped (noteSkips); not saved: a resume starts at 0. */
  private skipStreak = 0;
  private readonly evalItems: TaskItem[];

  constructor(
    private readonly inputs: RunInputs,
    private readonly hooks: RunHooks,
  ) {
    this.cfg = inputs.config;
    this.session = inputs.session;
    // The same held-out prompts at every evaluation, so evaluations compare.
    this.evalItems = stagePool(this.cfg.tasks, this.cfg.tasks.evalSplit, this.cfg.tasks.evalPrompts, this.cfg.tasks.evalSeed ?? this.cfg.seeds.data, 0).slice(0, this.cfg.tasks.evalPrompts);
    this.cfg.stages.forEach((s, i) => {
      if (!inputs.pretrainOnly && needsJudge(s.method) && inputs.judge === null) {
        throw new Error(`stages[${i}] uses ${s.method}, which needs a judge; judge.kind is "${this.cfg.judge.kind}"`);
      }
    });
  }

  destroy(): void {
    if (this.reference !== null && this.reference !== this.base) destroyParams(this.reference);
    if (this.base !== null) destroyParams(this.base);
    this.reference = this.base = null;
  }

  async all(): Promise<RunResult> {
    const result = (status: RunResult['status'], reason?: string): RunResult => ({
      status,
      ...(reason !== undefined ? { reason } : {}),
      steps: this.cursor.globalStep,
      judgeCalls: this.judgeCalls,
      evals: this.evals,
    });
    try {
      if (this.inputs.resume) this.restore(this.inputs.resume);
      if (this.cursor.finished) return result('finished');
      if (this.cursor.stage === 0 && !this.cursor.baseEval) {
        if (this.inputs.freshPolicy && this.cfg.pretrain.steps > 0) await this.pretrain();
        if ((this.cfg.eval.before && !this.baseEvalDeferred()) || this.inputs.pretrainOnly) await this.evaluate(0, this.inputs.pretrainOnly ? 'sft' : this.cfg.stages[0].method);
        this.cursor.baseEval = true;
        if (this.inputs.pretrainOnly) return await this.finish(result);
        this.cursor.stage = 1;
        this.cursor.step = 0;
        await this.checkpoint();
      }
      for (let i = this.cursor.stage - 1; i < this.cfg.stages.length; i++) await this.stage(i + 1, this.cfg.stages[i]);
      const last = this.cfg.stages[this.cfg.stages.length - 1];
      if (!this.evaluatedNow(this.cfg.stages.length)) await this.evaluate(this.cfg.stages.length, last.method);
      return await this.finish(result);
    } catch (e) {
      const reason = this.pauseReason(e);
      if (reason === null) throw e;
      if (!this.pauseSaved) await this.checkpoint();
      return result('paused', reason);
    }
  }

  /** RunInputs.deferBaseEval applies: the base eval runs inside Stage I's first step (rlStep). */
  private baseEvalDeferred(): boolean {
    return this.inputs.deferBaseEval === true && this.inputs.pretrainOnly !== true && this.cfg.eval.before && !methodTraits(this.cfg.stages[0].method).trainsOnReferences;
  }

  /** Why the run pauses when `e` ends it (null: `e` is an error, not a pause). */
  private pauseReason(e: unknown): string | null {
    if (e instanceof Paused) return e.message;
    const signal = this.hooks.signal;
    return signal?.aborted ? `stopped: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason)}` : null;
  }

  /**
   * Inside a stage, a pause is checkpointed before its trainer goes: the state of the last finished
   * step (a pause comes before a step's update), with the optimizer's moments.
   */
  private async onStageError(e: unknown): Promise<never> {
    if (this.pauseReason(e) !== null && !this.pauseSaved) {
      await this.checkpoint();
      this.pauseSaved = true;
    }
    throw e;
  }

  private async finish(result: (status: RunResult['status']) => RunResult): Promise<RunResult> {
    this.cursor.finished = true;
    this.commitLines();
    await this.checkpoint();
    return result('finished');
  }

  private progress(p: RunProgress): void {
    this.hooks.onProgress?.(p);
  }

  private async emitMetrics(line: StepMetrics | EvalLine): Promise<void> {
    this.lines.metrics++;
    await this.hooks.onMetrics?.(line);
  }

  /** The lines written so far belong to the state from now on (a step or an evaluation is complete). */
  private commitLines(): void {
    this.committedLines = { ...this.lines };
  }

  // -------------------------------------------------------------------------------------------
  // State: restore, snapshot.

  private restore(saved: LoadedRunState): void {
    const { gpu, model } = this.session;
    const s = saved.state;
    // The session holds the starting policy: a base rebuilt "from the policy" is copied first.
    if (s.base !== null) this.base = this.frozen(s.base, saved, 'base');
    if (s.reference !== null) this.reference = this.frozen(s.reference, saved, 'reference');
    this.baseSource = s.base;
    this.referenceSource = s.reference;
    writeFlatBuffers(gpu, model.flat, saved.policy, 'saved run state: the policy');
    this.cursor = { ...s.cursor };
    this.judgeCalls = s.judgeCalls;
    this.unlocked = new Set(s.unlocked);
    this.evals = [...s.evals];
    this.lines.metrics = s.lines.metrics;
    this.lines.rollouts = s.lines.rollouts;
    this.commitLines();
  }

  private frozen(src: FrozenSource, saved: LoadedRunState, what: string): ModelParams {
    const { gpu, model } = this.session;
    if (src.kind === 'base') {
      if (this.base === null) throw new Error(`saved run state: the ${what} is the base, which is not set`);
      return this.base;
    }
    const copy = cloneParams(gpu, model);
    if (src.kind === 'stored') {
      const w = saved.frozen.get(src.key);
      if (w === undefined) throw new Error(`saved run state: no stored weights "${src.key}" for the ${what}`);
      writeFlatBuffers(gpu, copy.flat, w, `saved run state: the ${what} (${src.key})`);
    }
    return copy;
  }

  /** A checkpoint is due after this step (Stage 0 counts its own steps). */
  private due(stage: number): boolean {
    const every = this.cfg.checkpointEvery;
    return every > 0 && (stage === 0 ? this.cursor.step : this.cursor.globalStep) % every === 0;
  }

  /** Hands the state as of the last committed lines to the store. */
  private async checkpoint(): Promise<void> {
    const store = this.inputs.store;
    if (!store) return;
    const { gpu, model } = this.session;
    const opt = this.trainer?.optimizer ?? null;
    // One wait for every readback of the checkpoint.
    const [policy, optimizer] = await Promise.all([Promise.all(model.flat.map((t) => gpu.readF32(t))), opt === null ? null : readOptimizer(gpu, opt)]);
    await store.save({
      state: {
        format: RUN_STATE_FORMAT,
        version: RUN_STATE_VERSION,
        cursor: { ...this.cursor },
        judgeCalls: this.judgeCalls,
        unlocked: [...this.unlocked],
        evals: this.evals,
        lines: { ...this.committedLines },
        optimizerStep: opt === null ? null : opt.step,
        base: this.baseSource,
        reference: this.referenceSource,
      },
      policy,
      optimizer,
      frozen: new Map(this.unsaved),
    });
    this.unsaved.clear();
    await this.hooks.onCheckpoint?.({ ...this.cursor });
  }

  /** Freezes a copy of the policy as it is now, stored under `key` (or rebuilt from config.policy). */
  private async freeze(key: string, fromPolicy: boolean): Promise<{ params: ModelParams; source: FrozenSource }> {
    const { gpu, model } = this.session;
    const params = cloneParams(gpu, model);
    if (fromPolicy) return { params, source: { kind: 'policy' } };
    this.unsaved.set(key, await Promise.all(params.flat.map((t) => gpu.readF32(t))));
    return { params, source: { kind: 'stored', key } };
  }

  // -------------------------------------------------------------------------------------------
  // Stages.

  /** Stage 0: SFT on the easy split's references. */
  private async pretrain(): Promise<void> {
    const p = this.cfg.pretrain;
    const pool = stagePool(this.cfg.tasks, 'easy', p.steps * p.examplesPerStep, this.cfg.seeds.data, 0);
    const hyper = { lr: p.lr, weightDecay: p.weightDecay, maxNorm: p.gradClip };
    await this.sftSteps(0, 'sft', pool, p.steps, p.examplesPerStep, hyper, 'pretrain');
  }

  private async sftSteps(
    stage: number,
    method: Method,
    pool: readonly TaskItem[],
    steps: number,
    perStep: number,
    hyper: { lr: number; weightDecay: number; maxNorm: number },
    phase: RunPhase,
  ): Promise<void> {
    const { session } = this;
    const maxTokens = session.config.maxSeqLen + 1;
    const pairs = new Map(pool.map((it) => [it.id, sftPair(session.tokenizer, it, maxTokens)]));
    const cut = [...pairs.values()].filter((x) => x.truncated).length;
    if (cut > 0 && this.cursor.step === 0) this.hooks.onNote?.(`stage ${stage}: ${cut} of ${pairs.size} references were cut to the model's ${maxTokens} tokens`);
    const seqLen = Math.max(...[...pairs.values()].map((x) => x.tokens.length)) - 1;
    const trainer = new SftTrainer(session.gpu, session.model, hyper, Math.min(perStep, UPDATE_MICRO_BATCH), seqLen);
    try {
      this.resumeTrainer(trainer);
      await this.missedEval(stage, method, steps);
      for (let step = this.cursor.step; step < steps; step++) {
        this.hooks.signal?.throwIfAborted();
        const t0 = performance.now();
        const examples = stepItems(pool, step, perStep).map((it) => pairs.get(it.id)!);
        const r = await trainer.step(examples);
        const update: UpdateStats = { loss: r.loss, kl: null, klBase: null, entropy: null, clipFracLow: null, clipFracHigh: null, gradNorm: r.gradNorm, skipped: r.skipped ? 1 : 0 };
        const stepNo = stage === 0 ? step + 1 : ++this.cursor.globalStep;
        this.cursor.step = step + 1;
        const line = stepMetrics({ step: stepNo, stage, method, rollouts: [], update, stepSeconds: seconds(t0), unlockedBefore: this.unlocked, tokens: r.tokens });
        await this.emitMetrics(line);
        this.progress({ phase, stage, done: step + 1, total: steps, method });
        await this.afterStep(stage, method, step + 1 === steps);
        this.noteSkips(stage, step + 1, update.skipped);
      }
    } catch (e) {
      await this.onStageError(e);
    } finally {
      this.trainer = null;
      trainer.destroy();
    }
  }

  /** A trainer of the stage being run takes back the saved optimizer state, when the run resumes mid-stage. */
  private resumeTrainer(trainer: LiveTrainer): void {
    this.trainer = trainer;
    const saved = this.inputs.resume;
    if (saved === null || saved === undefined || this.cursor.step === 0) return;
    if (saved.optimizer === null || saved.state.optimizerStep === null) throw new Error('saved run state: a stage is under way but no optimizer state was saved');
    restoreOptimizer(this.session.gpu, trainer.optimizer, saved.optimizer, saved.state.optimizerStep);
  }

  /** An evaluation is due after the step the cursor is at (every `eval.everySteps`, or the stage's end). */
  private evalDue(stage: number, stageEnd: boolean): boolean {
    const every = this.cfg.eval.everySteps;
    return stage > 0 && this.cursor.globalStep > 0 && ((every > 0 && this.cursor.globalStep % every === 0) || (stageEnd && this.cfg.eval.stageEnds));
  }

  /**
   * A resumed stage first makes the evaluation due at its saved step, when the pause came while
   * that evaluation ran (SIGTERM, Ctrl-C or the page's Pause abort it; the step was saved before
   * it): the lines are then those of a run that was never paused. After resumeTrainer, so its
   * checkpoint holds the optimizer state.
   */
  private async missedEval(stage: number, method: Method, steps: number): Promise<void> {
    if (this.cursor.step === 0 || !this.evalDue(stage, this.cursor.step === steps) || this.evaluatedNow(stage)) return;
    await this.evaluate(stage, method);
    await this.checkpoint();
  }

  /** After a step: checkpoint when due (or the stage ends), then the evaluation when due, and a checkpoint of it. */
  private async afterStep(stage: number, method: Method, stageEnd: boolean): Promise<void> {
    this.commitLines();
    const evalDue = this.evalDue(stage, stageEnd);
    if (this.due(stage) || (stageEnd && !evalDue) || this.hooks.checkpointWanted?.() === true) await this.checkpoint();
    if (evalDue && !this.evaluatedNow(stage)) {
      await this.evaluate(stage, method);
      await this.checkpoint();
    }
  }

  /** An evaluation was made at the current step of this stage (a resumed run does not repeat it). */
  private evaluatedNow(stage: number): boolean {
    return this.evals.some((e) => e.stage === stage && e.step === this.cursor.globalStep);
  }

  /** `midStep`: the deferred base eval, made while a step's rollouts are out but not yet part of the state. */
  private async evaluate(stage: number, method: Method, midStep = false): Promise<void> {
    this.progress({ phase: 'eval', stage, done: 0, total: this.evalItems.length, method });
    const { line } = await evaluatePolicy(this.session, this.evalItems, this.cfg.eval, {
      step: this.cursor.globalStep,
      stage,
      method,
      seed: mixSeed(this.cfg.seeds.sampling, 0xe7a1),
      signal: this.hooks.signal,
    });
    this.evals.push(line);
    await this.emitMetrics(line);
    if (midStep) this.committedLines = { ...this.committedLines, metrics: this.lines.metrics };
    else this.commitLines();
    this.progress({ phase: 'eval', stage, done: this.evalItems.length, total: this.evalItems.length, method });
  }

  /** The base (first stage) and this stage's reference, frozen when the stage starts. */
  private async freezeForStage(stageNo: number): Promise<void> {
    if (this.base === null) {
      // Nothing trained the policy before Stage I unless Stage 0 ran: then it is rebuilt from config.policy.
      const pretrained = this.inputs.freshPolicy && this.cfg.pretrain.steps > 0;
      const f = await this.freeze('base', !pretrained);
      this.base = f.params;
      this.baseSource = f.source;
    }
    if (this.reference !== null && this.reference !== this.base) destroyParams(this.reference);
    if (stageNo === 1) {
      this.reference = this.base;
      this.referenceSource = { kind: 'base' };
    } else {
      const f = await this.freeze(`reference-stage-${stageNo}`, false);
      this.reference = f.params;
      this.referenceSource = f.source;
    }
  }

  private async stage(stageNo: number, s: StageConfig): Promise<void> {
    const pool = stagePool(this.cfg.tasks, s.split, s.poolSize ?? s.steps * s.promptsPerStep, this.cfg.seeds.data, this.salt(stageNo));
    if (methodTraits(s.method).trainsOnReferences) {
      this.releaseReference();
      await this.sftSteps(stageNo, s.method, pool, s.steps, s.promptsPerStep, { lr: s.lr, weightDecay: s.weightDecay, maxNorm: s.gradClip }, 'train');
    } else {
      if (this.cursor.step === 0) await this.freezeForStage(stageNo);
      await this.rlSteps(stageNo, s, pool);
    }
    this.cursor.stage = stageNo + 1;
    this.cursor.step = 0;
  }

  /** Stage `stageNo`'s salt for its prompt pool and sampling seeds (stage-data.ts, stageSalt). */
  private salt(stageNo: number): number {
    return stageSalt(this.cfg.stages.map((st) => st.method), stageNo);
  }

  /**
   * A step whose gradient norm was NaN or infinite changed nothing (settleOptimizerStep): the
   * user is told, and after MAX_SKIPS_IN_A_ROW such steps in a row the run pauses, checkpointed
   * after the last of them, since more steps from the same state would most likely skip too.
   */
  private noteSkips(stage: number, step: number, skipped: number): void {
    if (skipped === 0) {
      this.skipStreak = 0;
      return;
    }
    this.skipStreak++;
    this.hooks.onNote?.(`stage ${stage} step ${step}: the gradient norm was NaN or infinite, so the optimizer step was skipped (weights and AdamW state unchanged)`);
    if (this.skipStreak >= MAX_SKIPS_IN_A_ROW) {
      throw new Paused(`stage ${stage} step ${step}: ${this.skipStreak} steps in a row skipped for a NaN or infinite gradient norm; lower the learning rate or check the data, then resume`);
    }
  }

  private releaseReference(): void {
    if (this.reference !== null && this.reference !== this.base) destroyParams(this.reference);
    this.reference = null;
    this.referenceSource = null;
  }

  private async rlSteps(stageNo: number, s: StageConfig, pool: readonly TaskItem[]): Promise<void> {
    const { session } = this;
    const promptLen = Math.max(...pool.map((it) => session.tokenizer.encode(rolloutPrompt(it.question)).length));
    // Longest prompt + response as rows of the update (a row predicts the next token: one fewer).
    const seqLen = Math.min(session.config.maxSeqLen, promptLen + s.maxResponseTokens - 1);
    const rolloutsPerUpdate = (s.promptsPerStep / s.miniBatches) * s.rolloutsPerPrompt;
    const trainer = new PolicyTrainer(session.gpu, session.model, {
      microBatch: Math.min(rolloutsPerUpdate, UPDATE_MICRO_BATCH),
      seqLen,
      reference: this.reference,
      base: this.base,
    });
    try {
      this.resumeTrainer(trainer);
      await this.missedEval(stageNo, s.method, s.steps);
      for (let step = this.cursor.step; step < s.steps; step++) {
        this.hooks.signal?.throwIfAborted();
        const skipped = await this.rlStep(stageNo, s, step, stepItems(pool, step, s.promptsPerStep), trainer);
        this.cursor.step = step + 1;
        this.progress({ phase: 'train', stage: stageNo, done: step + 1, total: s.steps, method: s.method });
        await this.afterStep(stageNo, s.method, step + 1 === s.steps);
        this.noteSkips(stageNo, step + 1, skipped);
      }
    } catch (e) {
      await this.onStageError(e);
    } finally {
      this.trainer = null;
      trainer.destroy();
    }
  }

  private async rlStep(stageNo: number, s: StageConfig, step: number, items: TaskItem[], trainer: PolicyTrainer): Promise<number> {
    let t0 = performance.now();
    const j = this.cfg.judge;
    const judged = needsJudge(s.method);
    const tripped = (): string | null => (judged ? (this.inputs.judge?.tripped?.() ?? null) : null);
    const before = tripped();
    if (before !== null) throw new Paused(`stage ${stageNo} step ${step + 1} not started: ${before}`);
    if (judged && j.callCap !== null) {
      const worst = maxJudgeCallsPerStep(s, j);
      if (this.judgeCalls + worst > j.callCap) {
        throw new Paused(`judge call cap: ${this.judgeCalls} of judge.callCap ${j.callCap} calls used, and stage ${stageNo} step ${step + 1} may need up to ${worst} more`);
      }
    }
    const { session } = this;
    const times = { sampleS: 0, judgeS: 0 };
    const records = await collectRollouts(session, items, {
      rolloutsPerPrompt: s.rolloutsPerPrompt,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      seed: mixSeed(this.cfg.seeds.sampling, this.salt(stageNo), step),
      maxTokens: s.maxResponseTokens,
      method: collectMethod(s.method)!,
      judge: judged ? (this.inputs.judge ?? undefined) : undefined,
      view: j.processView,
      delimiter: j.delimiter,
      maxSegments: j.maxSegments,
      guard: j.guard,
      cutCorrectReward: s.cutCorrectReward,
      times,
      signal: this.hooks.signal,
    });
    let tUpdate = performance.now();
    if (methodTraits(s.method).advantage === 'teacher') await this.teacherAdvantages(records, items, s, this.reference!);
    this.lines.rollouts += records.length;
    await this.hooks.onRollouts?.({ stage: stageNo, step: this.cursor.globalStep + 1, method: s.method, items, records });
    // The deferred base eval: the policy is still the base until this step's update. Its time is
    // not the step's: the step's clocks start that much later.
    if (stageNo === 1 && step === 0 && this.baseEvalDeferred() && !this.evals.some((e) => e.stage === 0)) {
      const tEval = performance.now();
      await this.evaluate(0, s.method, true);
      const evalMs = performance.now() - tEval;
      t0 += evalMs;
      tUpdate += evalMs;
    }

    const broken = tripped();
    if (broken !== null) throw new Paused(`stage ${stageNo} step ${step + 1}: ${broken}. No update was made for this step.`);
    const masked = records.filter((r) => r.masked && r.judgeCalls > 0).length;
    if (judged && masked / records.length > j.maxMaskedShare) {
      const why = records.find((r) => r.judgeError !== undefined)?.judgeError ?? 'no usable score';
      throw new Paused(
        `stage ${stageNo} step ${step + 1}: ${masked} of ${records.length} rollouts masked by judge failures (${pct(masked / records.length)}), more than judge.maxMaskedShare ${pct(j.maxMaskedShare)}; first failure: ${why}. No update was made for this step.`,
      );
    }
    // Counted once the step stands: a paused step is made again on resume, with its calls.
    this.judgeCalls += records.reduce((a, r) => a + r.judgeCalls, 0);
    const poison = this.hooks.testPoisonStep?.(this.cursor.globalStep + 1) === true;
    const update = await this.updates(poison ? records.map((r) => ({ ...r, advantages: r.advantages.map(() => NaN) })) : records, s, trainer);
    const updateS = seconds(tUpdate);
    this.cursor.globalStep++;
    const line = stepMetrics({
      step: this.cursor.globalStep,
      stage: stageNo,
      method: s.method,
      rollouts: records.map(metricsRecord),
      update,
      stepSeconds: seconds(t0),
      times: { sample: times.sampleS, judge: times.judgeS, update: updateS },
      unlockedBefore: this.unlocked,
    });
    for (const r of records) if (r.correct) this.unlocked.add(r.itemId);
    await this.emitMetrics(line);
    return update.skipped;
  }

  /** miniBatches × epochs updates over the step's prompt groups; the figures are their means (the grad norm is the last one's). */
  private async updates(records: readonly RolloutRecord[], s: StageConfig, trainer: PolicyTrainer): Promise<UpdateStats> {
    const settings = {
      temperature: s.temperature,
      epsLow: s.epsLow,
      epsHigh: effectiveEpsHigh(s),
      dualClip: s.dualClip,
      klCoef: s.klCoef,
      entropyCoef: s.entropyCoef,
      lr: s.lr,
      weightDecay: s.weightDecay,
      maxNorm: s.gradClip,
      lossAggregation: s.lossAggregation,
    };
    const perUpdate = (s.promptsPerStep / s.miniBatches) * s.rolloutsPerPrompt;
    const results: PolicyUpdate[] = [];
    for (let e = 0; e < s.epochs; e++) {
      for (let m = 0; m < s.miniBatches; m++) {
        const batch: PolicyRollout[] = records.slice(m * perUpdate, (m + 1) * perUpdate).map(toPolicyRollout);
        if (!batch.some((r) => r.lossMask)) continue; // nothing to learn from: no step at all
        results.push(await trainer.step(batch, settings));
      }
    }
    if (results.length === 0) return { loss: 0, kl: null, klBase: null, entropy: null, clipFracLow: null, clipFracHigh: null, gradNorm: 0, skipped: 0 };
    const avg = (f: (u: PolicyUpdate) => number): number => results.reduce((a, u) => a + f(u), 0) / results.length;
    const klBase = results[0].klBase === null ? null : avg((u) => u.klBase ?? 0);
    return {
      loss: avg((u) => u.loss),
      kl: avg((u) => u.kl),
      klBase,
      entropy: avg((u) => u.entropy),
      clipFracLow: avg((u) => u.clipFracLow),
      clipFracHigh: avg((u) => u.clipFracHigh),
      gradNorm: results[results.length - 1].gradNorm,
      skipped: results.reduce((a, u) => a + u.skipped, 0),
    };
  }

  /**
   * Self-distillation: the frozen reference policy, shown the question and the reference, scores
   * each of the student's samples; A = logp_teacher − logp_student (the sampling log-probs, at
   * the same temperature). A sample whose teacher sequence does not fit the model is masked.
   */
  private async teacherAdvantages(records: RolloutRecord[], items: readonly TaskItem[], s: StageConfig, reference: ModelParams): Promise<void> {
    const { session } = this;
    const max = session.config.maxSeqLen + 1;
    const prompts = items.map((it) => session.tokenizer.encode(teacherPrompt(it.question, it.reference)));
    const fits = records.map((r) => prompts[r.group].length + r.response.length <= max && r.response.length > 0);
    const idx = records.map((_, i) => i).filter((i) => fits[i]);
    const logps = await scoreResponses(session.gpu, reference, idx.map((i) => ({ prompt: prompts[records[i].group], response: records[i].response })), {
      temperature: s.temperature,
      microBatch: UPDATE_MICRO_BATCH,
    });
    const unfit = records.length - idx.length;
    if (unfit > 0) this.hooks.onNote?.(`self-distill: ${unfit} of ${records.length} samples masked: the teacher's prompt (question + reference) and the sample exceed the model's ${max} tokens`);
    for (const r of records) {
      r.lossMask = false;
      r.advantages = new Float64Array(r.response.length);
      r.segments = r.segments.map((seg) => ({ ...seg, advantage: 0 }));
    }
    idx.forEach((i, k) => {
      const r = records[i];
      const a = new Float64Array(r.response.length);
      let sum = 0;
      for (let t = 0; t < a.length; t++) {
        a[t] = logps[k][t] - r.logpOld[t];
        sum += a[t];
      }
      r.advantages = a;
      r.lossMask = true;
      r.segments = r.segments.map((seg) => ({ ...seg, advantage: sum / Math.max(1, a.length) }));
    });
    records.forEach((r, i) => {
      if (!fits[i]) r.masked = true;
    });
  }
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
