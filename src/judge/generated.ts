// A judge that is a language model run by the app itself: the frozen policy (the paper's
// self-judge) or an instruct model in its own slot. This layer never sees the model: it is
// handed a function that turns judge prompts into replies (greedy, chat template applied by
// the owner). Calls made in the same tick are handed over together, so the owner can decode
// them as one batch; a failed generation is a call failure, never a number.
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

  constructor(private readonly o: GeneratingJudgeOptions) {
    this.name = o.name;
    checkTemplates(o.templates);
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
          const replies = await this.o.generate(
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
    let raw: string;
    try {
      raw = await this.reply(prompt, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      return callFailure(`${this.name}: generation failed: ${e instanceof Error ? e.message : String(e)}`);
    }
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
