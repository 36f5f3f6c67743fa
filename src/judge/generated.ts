// A judge that is a language model run by the app itself: the frozen policy (the paper's
// self-judge) or an instruct model in its own slot. This layer never sees the model: it is
// handed a function that turns judge prompts into replies (greedy, chat template applied by
// the owner). Calls made in the same tick are handed over together, so the owner can decode
// them as one batch; a failed generation is a call failure, never a number. A batch that takes
// longer than judge.timeoutMs fails its calls at that time; the owner is asked to stop (the
// signal) and no other batch starts until it has. After judge.breakerAfter failed calls in a
// row the judge stops calling (tripped()), and the run pauses.
import { CircuitBreaker } from './breaker.ts';
import { callFailure, scoreFromReply } from './parse.ts';
import { checkTemplates, judgePrompt, type TemplateKind } from './prompts.ts';
import type { Judge, JudgeItem, JudgeScore, Normalisation, OutcomeInput, ProcessInput, ScorePick } from './types.ts';
import { processTexts } from './types.ts';

/** Replies to the prompts, in order (one user turn each). */
export type GenerateReplies = (prompts: readonly string[], signal?: AbortSignal) => Promise<string[]>;

export interface GeneratingJudgeOptions {
  name: string;
  generate: GenerateReplies;
  pick?: ScorePick;
  normalisation?: Normalisation;
  /** Prompts handed over at once at most (default 16). */
  maxBatch?: number;
  /** Time limit of one batch's generation in ms (judge.timeoutMs). */
  timeoutMs: number;
  /** Calls in a row that fail before the judge stops calling (judge.breakerAfter). */
  breakerAfter: number;
  templates?: Partial<Record<TemplateKind, string>>;
}

interface Pending {
  prompt: string;
  resolve: (raw: string) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
}

export class GeneratingJudge implements Judge {
  readonly name: string;
  private queue: Pending[] = [];
  private scheduled = false;
  /** Serialises batches: the owner's model runs one decode at a time. */
  private chain: Promise<void> = Promise.resolve();
  /** A generation past its time limit that has not ended yet: no other batch starts meanwhile. */
  private overdue = false;
  private readonly breaker: CircuitBreaker;

  constructor(private readonly o: GeneratingJudgeOptions) {
    this.name = o.name;
    if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1) throw new Error(`${o.name}: timeoutMs must be an integer >= 1, got ${o.timeoutMs}`);
    this.breaker = new CircuitBreaker(o.breakerAfter, o.name);
    checkTemplates(o.templates);
  }

  tripped(): string | null {
    return this.breaker.open();
  }

  /** One batch's replies, or a rejection at the time limit (the generation is then asked to stop). */
  private async generateLimited(prompts: string[], outer?: AbortSignal): Promise<string[]> {
    if (this.overdue) throw new Error(`an earlier generation is still running past judge.timeoutMs (${this.o.timeoutMs} ms)`);
    const ctrl = new AbortController();
    const onAbort = (): void => ctrl.abort(outer?.reason);
    outer?.addEventListener('abort', onAbort);
    const gen = this.o.generate(prompts, ctrl.signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error(`generation took longer than judge.timeoutMs (${this.o.timeoutMs} ms)`);
        this.overdue = true;
        void gen.then(
          () => (this.overdue = false),
          () => (this.overdue = false),
        );
        ctrl.abort(e);
        reject(e);
      }, this.o.timeoutMs);
    });
    try {
      return await Promise.race([gen, limit]);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
  }

  private reply(prompt: string, signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ prompt, resolve, reject, signal });
      if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => this.flush(), 0);
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const max = this.o.maxBatch ?? 16;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, max);
      this.chain = this.chain.then(async () => {
        try {
          const replies = await this.generateLimited(
            batch.map((p) => p.prompt),
            batch[0].signal,
          );
          if (replies.length !== batch.length) throw new Error(`the generator returned ${replies.length} replies for ${batch.length} prompts`);
          batch.forEach((p, i) => p.resolve(replies[i]));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      });
    }
  }

  private async score(prompt: string, signal?: AbortSignal): Promise<JudgeScore> {
    const open = this.breaker.open();
    if (open !== null) return callFailure(open);
    let raw: string;
    try {
      raw = await this.reply(prompt, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      const message = `${this.name}: generation failed: ${e instanceof Error ? e.message : String(e)}`;
      this.breaker.failure(message);
      return callFailure(message);
    }
    this.breaker.success();
    return scoreFromReply(raw, { pick: this.o.pick, normalisation: this.o.normalisation });
  }

  private prompt(kind: TemplateKind, item: JudgeItem, trace: string): string {
    return judgePrompt(this.o.templates, kind, item, trace);
  }

  outcome(input: OutcomeInput, signal?: AbortSignal): Promise<JudgeScore> {
    return this.score(this.prompt('outcome', input, input.trace), signal);
  }

  process(input: ProcessInput, signal?: AbortSignal): Promise<JudgeScore[]> {
    return Promise.all(processTexts(input.segments, input.view).map((t) => this.score(this.prompt(input.view, input, t), signal)));
  }
}
