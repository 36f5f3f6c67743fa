/**
 * A whole run as one pipeline: Stage 0 (SFT pre-training of a freshly initialised built-in
 * policy on the easy split) → the configured stages (Stage I: ExpRL or a baseline; Stage II:
 * sparse RL) → evaluation before, during (every `eval.everySteps`) and after training.
 *
 * One step of an RL method: the step's prompts → G samples each with their sampling log-probs
 * (`collectRollouts`, which judges, checks answers and computes advantages) → for
 * self-distillation the teacher pass replaces the advantages → `miniBatches` × `epochs` policy
 * updates (`PolicyTrainer`) → one metrics line. SFT steps train on references (`SftTrainer`).
 *
 * The run pauses, with its reason, when more than judge.maxMaskedShare of a step's rollouts are
 * masked (that step makes no update), or before a step whose judge calls could pass
 * judge.callCap. The shell (CLI, worker) owns the GPU, the judge, the output files and saving.
 */
import type { Judge } from '../judge/types';
import type { ModelParams } from '../model/params';
import { cloneParams, destroyParams } from '../model/params';
import { scoreResponses } from '../model/score';
import type { PolicySession } from '../model/session';
import { SftTrainer } from '../model/sft-trainer';
import type { TaskItem } from '../tasks/types';
import { effectiveEpsHigh, type Method, type RunConfig, type StageConfig } from './config';
import { evaluatePolicy, type EvalLine } from './evaluate';
import { maxJudgeCallsPerStep } from './judge-budget';
import { stepMetrics, type StepMetrics, type UpdateStats } from './metrics';
import { PolicyTrainer, type PolicyRollout, type PolicyUpdate } from './policy-step';
import { collectRollouts, metricsRecord, toPolicyRollout, type RolloutRecord } from './rollouts';
import { mixSeed, rolloutPrompt, sftPair, stagePool, stepItems, teacherPrompt } from './stage-data';

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
  signal?: AbortSignal;
}

export interface RunResult {
  status: 'finished' | 'paused';
  /** Why the run paused. */
  reason?: string;
  /** Optimizer steps of stages I, II, ... taken. */
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
}

class Paused extends Error {}

export async function runPipeline(inputs: RunInputs, hooks: RunHooks = {}): Promise<RunResult> {
  const run = new Run(inputs, hooks);
  try {
    return await run.all();
  } finally {
    run.destroy();
  }
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

class Run {
  private readonly cfg: RunConfig;
  private readonly session: PolicySession;
  private reference: ModelParams | null = null;
  private readonly unlocked = new Set<string>();
  private judgeCalls = 0;
  private globalStep = 0;
  private readonly evals: EvalLine[] = [];
  private readonly evalItems: TaskItem[];

  constructor(
    private readonly inputs: RunInputs,
    private readonly hooks: RunHooks,
  ) {
    this.cfg = inputs.config;
    this.session = inputs.session;
    // The same held-out prompts at every evaluation, so evaluations compare.
    this.evalItems = stagePool(this.cfg.tasks, 'eval', this.cfg.tasks.evalPrompts, this.cfg.seeds.data, 0).slice(0, this.cfg.tasks.evalPrompts);
    this.cfg.stages.forEach((s, i) => {
      if (!inputs.pretrainOnly && (s.method === 'exprl-outcome' || s.method === 'exprl-process') && inputs.judge === null) {
        throw new Error(`stages[${i}] uses ${s.method}, which needs a judge; judge.kind is "${this.cfg.judge.kind}"`);
      }
    });
  }

  destroy(): void {
    if (this.reference !== null) destroyParams(this.reference);
    this.reference = null;
  }

  async all(): Promise<RunResult> {
    try {
      if (this.inputs.freshPolicy && this.cfg.pretrain.steps > 0) await this.pretrain();
      const firstMethod = this.inputs.pretrainOnly ? 'sft' : this.cfg.stages[0].method;
      await this.evaluate(0, firstMethod);
      if (this.inputs.pretrainOnly) return { status: 'finished', steps: 0, judgeCalls: 0, evals: this.evals };
      for (const [i, stage] of this.cfg.stages.entries()) await this.stage(i + 1, stage);
      const last = this.cfg.stages[this.cfg.stages.length - 1];
      if (this.cfg.eval.everySteps === 0 || this.globalStep % this.cfg.eval.everySteps !== 0) await this.evaluate(this.cfg.stages.length, last.method);
      return { status: 'finished', steps: this.globalStep, judgeCalls: this.judgeCalls, evals: this.evals };
    } catch (e) {
      const paused = (reason: string): RunResult => ({ status: 'paused', reason, steps: this.globalStep, judgeCalls: this.judgeCalls, evals: this.evals });
      if (e instanceof Paused) return paused(e.message);
      const signal = this.hooks.signal;
      if (signal?.aborted) return paused(`stopped: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason)}`);
      throw e;
    }
  }

  private progress(p: RunProgress): void {
    this.hooks.onProgress?.(p);
  }

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
    if (cut > 0) this.hooks.onNote?.(`stage ${stage}: ${cut} of ${pairs.size} references were cut to the model's ${maxTokens} tokens`);
    const seqLen = Math.max(...[...pairs.values()].map((x) => x.tokens.length)) - 1;
    const trainer = new SftTrainer(session.gpu, session.model, hyper, Math.min(perStep, UPDATE_MICRO_BATCH), seqLen);
    try {
      for (let step = 0; step < steps; step++) {
        this.hooks.signal?.throwIfAborted();
        const t0 = performance.now();
        const examples = stepItems(pool, step, perStep).map((it) => pairs.get(it.id)!);
        const r = await trainer.step(examples);
        const update: UpdateStats = { loss: r.loss, kl: null, entropy: null, clipFracLow: null, clipFracHigh: null, gradNorm: r.gradNorm };
        const stepNo = stage === 0 ? step + 1 : ++this.globalStep;
        const line = stepMetrics({ step: stepNo, stage, method, rollouts: [], update, stepSeconds: seconds(t0), unlockedBefore: this.unlocked, tokens: r.tokens });
        await this.hooks.onMetrics?.(line);
        this.progress({ phase, stage, done: step + 1, total: steps, method });
        if (stage > 0) await this.maybeEvaluate(stage, method);
      }
    } finally {
      trainer.destroy();
    }
  }

  private async maybeEvaluate(stage: number, method: Method): Promise<void> {
    const every = this.cfg.eval.everySteps;
    if (every > 0 && this.globalStep % every === 0) await this.evaluate(stage, method);
  }

  private async evaluate(stage: number, method: Method): Promise<void> {
    this.progress({ phase: 'eval', stage, done: 0, total: this.evalItems.length, method });
    const { line } = await evaluatePolicy(this.session, this.evalItems, this.cfg.eval, {
      step: this.globalStep,
      stage,
      method,
      seed: mixSeed(this.cfg.seeds.sampling, 0xe7a1),
      signal: this.hooks.signal,
    });
    this.evals.push(line);
    await this.hooks.onMetrics?.(line);
    this.progress({ phase: 'eval', stage, done: this.evalItems.length, total: this.evalItems.length, method });
  }

  /** The frozen reference policy: the policy as it entered the first stage that needs one. */
  private referenceModel(): ModelParams {
    this.reference ??= cloneParams(this.session.gpu, this.session.model);
    return this.reference;
  }

  private async stage(stageNo: number, s: StageConfig): Promise<void> {
    const pool = stagePool(this.cfg.tasks, s.split, s.steps * s.promptsPerStep, this.cfg.seeds.data, stageNo);
    if (s.method === 'sft') {
      await this.sftSteps(stageNo, 'sft', pool, s.steps, s.promptsPerStep, { lr: s.lr, weightDecay: s.weightDecay, maxNorm: s.gradClip }, 'train');
      return;
    }
    const needsReference = s.klCoef > 0 || s.method === 'self-distill';
    const reference = needsReference ? this.referenceModel() : null;
    const { session } = this;
    const promptLen = Math.max(...pool.map((it) => session.tokenizer.encode(rolloutPrompt(it.question)).length));
    // Longest prompt + response as rows of the update (a row predicts the next token: one fewer).
    const seqLen = Math.min(session.config.maxSeqLen, promptLen + s.maxResponseTokens - 1);
    const rolloutsPerUpdate = (s.promptsPerStep / s.miniBatches) * s.rolloutsPerPrompt;
    const trainer = new PolicyTrainer(session.gpu, session.model, reference, Math.min(rolloutsPerUpdate, UPDATE_MICRO_BATCH), seqLen);
    try {
      for (let step = 0; step < s.steps; step++) {
        this.hooks.signal?.throwIfAborted();
        await this.rlStep(stageNo, s, step, stepItems(pool, step, s.promptsPerStep), trainer, reference);
        this.progress({ phase: 'train', stage: stageNo, done: step + 1, total: s.steps, method: s.method });
        await this.maybeEvaluate(stageNo, s.method);
      }
    } finally {
      trainer.destroy();
    }
  }

  private async rlStep(stageNo: number, s: StageConfig, step: number, items: TaskItem[], trainer: PolicyTrainer, reference: ModelParams | null): Promise<void> {
    const t0 = performance.now();
    const j = this.cfg.judge;
    const judged = s.method === 'exprl-outcome' || s.method === 'exprl-process';
    if (judged && j.callCap !== null) {
      const worst = maxJudgeCallsPerStep(s, j);
      if (this.judgeCalls + worst > j.callCap) {
        throw new Paused(`judge call cap: ${this.judgeCalls} of judge.callCap ${j.callCap} calls used, and stage ${stageNo} step ${step + 1} may need up to ${worst} more`);
      }
    }
    const { session } = this;
    const records = await collectRollouts(session, items, {
      rolloutsPerPrompt: s.rolloutsPerPrompt,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      seed: mixSeed(this.cfg.seeds.sampling, stageNo, step),
      maxTokens: s.maxResponseTokens,
      method: s.method === 'self-distill' || s.method === 'sft' ? 'sparse-grpo' : s.method,
      judge: judged ? (this.inputs.judge ?? undefined) : undefined,
      view: j.processView,
      delimiter: j.delimiter,
      maxSegments: j.maxSegments,
      signal: this.hooks.signal,
    });
    if (s.method === 'self-distill') await this.teacherAdvantages(records, items, s, reference!);
    const calls = records.reduce((a, r) => a + r.judgeCalls, 0);
    this.judgeCalls += calls;
    await this.hooks.onRollouts?.({ stage: stageNo, step: this.globalStep + 1, method: s.method, items, records });

    const masked = records.filter((r) => r.masked && r.judgeCalls > 0).length;
    if (judged && masked / records.length > j.maxMaskedShare) {
      const why = records.find((r) => r.judgeError !== undefined)?.judgeError ?? 'no usable score';
      throw new Paused(
        `stage ${stageNo} step ${step + 1}: ${masked} of ${records.length} rollouts masked by judge failures (${pct(masked / records.length)}), more than judge.maxMaskedShare ${pct(j.maxMaskedShare)}; first failure: ${why}. No update was made for this step.`,
      );
    }
    const update = await this.updates(records, s, trainer);
    this.globalStep++;
    const line = stepMetrics({
      step: this.globalStep,
      stage: stageNo,
      method: s.method,
      rollouts: records.map(metricsRecord),
      update,
      stepSeconds: seconds(t0),
      unlockedBefore: this.unlocked,
    });
    for (const r of records) if (r.correct) this.unlocked.add(r.itemId);
    await this.hooks.onMetrics?.(line);
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
    if (results.length === 0) return { loss: 0, kl: null, entropy: null, clipFracLow: null, clipFracHigh: null, gradNorm: 0 };
    const avg = (f: (u: PolicyUpdate) => number): number => results.reduce((a, u) => a + f(u), 0) / results.length;
    return {
      loss: avg((u) => u.loss),
      kl: avg((u) => u.kl),
      entropy: avg((u) => u.entropy),
      clipFracLow: avg((u) => u.clipFracLow),
      clipFracHigh: avg((u) => u.clipFracHigh),
      gradNorm: results[results.length - 1].gradNorm,
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
