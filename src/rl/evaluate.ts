/**
 * Held-out evaluation of the policy during a run: n samples per eval prompt (batched decodes of
 * at most EVAL_BATCH sequences), the sparse answer check, unbiased pass@k, mean@n, the share of
 * correct samples with right work (sound@n) and behaviour counts, as one metrics.jsonl eval line.
 */
import type { PolicySession } from '../model/session';
import { rubricCannotGrade, soundTrace } from '../judge/rubric';
import { checkAnswer } from '../tasks/answers';
import type { TaskItem } from '../tasks/types';
import { countBehaviours, type Behaviour } from './behaviours';
import type { EvalConfig } from './config';
import { evalMetrics, soundShare, type EvalMetrics } from './metrics';
import { mixSeed, rolloutPrompt } from './stage-data';

/** Sequences per batched decode: bounds the KV cache and the logits of one decode. */
export const EVAL_BATCH = 64;

export type EvalLine = EvalMetrics & {
  prompts: number;
  /**
   * Mean share of samples whose answer is correct AND whose every line is a true step by the
   * rubric's rules (soundTrace): correct answers reached by right work, not guessed. Null when
   * the rubric cannot grade the tasks (imported families, non-numeric answers).
   */
  'sound@n': number | null;
  /** Traces (of prompts × n) showing each behaviour (src/rl/behaviours.ts). */
  behaviours: Record<Behaviour, number>;
};

export interface EvalSample {
  itemId: string;
  text: string;
  correct: boolean;
  /** Correct with every line a true step (see EvalLine 'sound@n'); null when the rubric cannot grade the item. */
  sound: boolean | null;
}

export async function evaluatePolicy(
  session: PolicySession,
  items: readonly TaskItem[],
  cfg: EvalConfig,
  at: { step: number; stage: number; method: string; seed: number; signal?: AbortSignal },
): Promise<{ line: EvalLine; samples: EvalSample[] }> {
  const prompts = items.map((it) => session.tokenizer.encode(rolloutPrompt(it.question)));
  const seqs = prompts.flatMap((p, i) => Array.from({ length: cfg.n }, () => ({ item: i, ids: p })));
  const samples: EvalSample[] = [];
  for (let start = 0; start < seqs.length; start += EVAL_BATCH) {
    at.signal?.throwIfAborted();
    const chunk = seqs.slice(start, start + EVAL_BATCH);
    const gen = await session.generateIds(
      chunk.map((s) => s.ids.slice()),
      { temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP, seed: mixSeed(at.seed, start), maxTokens: cfg.maxResponseTokens },
    );
    gen.tokens.forEach((t, j) => {
      const item = items[chunk[j].item];
      const text = session.responseText(t);
      const correct = checkAnswer(item, text).correct;
      const sound = rubricCannotGrade(item) !== null ? null : correct && soundTrace(item, text);
      samples.push({ itemId: item.id, text, correct, sound });
    });
  }
  const perPrompt = items.map((_, i) => ({ correct: samples.slice(i * cfg.n, (i + 1) * cfg.n).map((s) => s.correct) }));
  const base = evalMetrics({ step: at.step, stage: at.stage, method: at.method, prompts: perPrompt, ks: cfg.k });
  const behaviours = countBehaviours(samples.map((s) => s.text)).counts;
  return { line: { ...base, prompts: items.length, 'sound@n': soundShare(samples.map((s) => s.sound)), behaviours }, samples };
}
