/**
 * What each stage trains on, as plain data: the prompt pool of a stage (drawn once from its
 * task split, deterministic in the data seed), the prompts of one step, SFT examples from
 * references, the self-distillation teacher's prompt, and per-step sampling seeds. No GPU.
 */
import type { TextTokenizer } from '../model/tokenizer';
import { hash32 } from '../tasks/random';
import { makeSplit, type SplitName } from '../tasks/splits';
import { ANSWER_INSTRUCTION, type TaskItem } from '../tasks/types';
import type { TasksConfig } from './config';

/** Distinct items drawn per stage at most; a longer stage cycles through them. */
export const MAX_POOL = 512;

/** A stage's prompt pool: `count` distinct items of `split` (at most MAX_POOL), salted by `salt` (`stageSalt`; 0 for Stage 0 and eval). */
export function stagePool(tasks: TasksConfig, split: SplitName, count: number, dataSeed: number, salt: number): TaskItem[] {
  return makeSplit({
    split,
    count: Math.max(1, Math.min(count, MAX_POOL)),
    seed: mixSeed(dataSeed, salt),
    families: tasks.families,
    // dev and test are halves of eval, at its difficulties.
    difficulties: tasks.difficulties[split === 'dev' || split === 'test' ? 'eval' : split],
  });
}

/**
 * The salt of stage `stageNo` (1-based) of `methods` (each stage's method), for its prompt pool and
 * its sampling seeds: Stage I stages (every method but stage2) are numbered 1, 2, ... among
 * themselves and Stage II stages 2, 3, ... among theirs. In the usual Stage I → Stage II run that
 * is the stage number; a run that is Stage II alone (the experiment's `base` arm) then draws the
 * same Stage II prompts and sampling seeds as the runs that had a Stage I before it, so the
 * arms' Stage II are compared on equal terms. (A second Stage I and a first Stage II share salt 2;
 * they draw from their own splits, so their pools still differ.)
 */
export function stageSalt(methods: readonly string[], stageNo: number): number {
  if (!Number.isInteger(stageNo) || stageNo < 1 || stageNo > methods.length) throw new Error(`stageSalt: no stage ${stageNo} of ${methods.length}`);
  const isII = (m: string): boolean => m === 'stage2';
  const role = isII(methods[stageNo - 1]);
  const ordinal = methods.slice(0, stageNo).filter((m) => isII(m) === role).length;
  return role ? ordinal + 1 : ordinal;
}

/** The items of step `step` (0-based) of `perStep` prompts, cycling through the pool. */
export function stepItems(pool: readonly TaskItem[], step: number, perStep: number): TaskItem[] {
  return Array.from({ length: perStep }, (_, j) => pool[(step * perStep + j) % pool.length]);
}

/** A 32-bit seed from a base seed and integer parts (stage, step, ...): distinct parts, distinct streams. */
export function mixSeed(base: number, ...parts: number[]): number {
  return hash32([base, ...parts].join(':'));
}

/** The policy's prompt for a task item: the question and the answer-format instruction. */
export function rolloutPrompt(question: string): string {
  return `${question}\n\n${ANSWER_INSTRUCTION}\n`;
}

/**
 * The self-distillation teacher's prompt: the student's prompt with the reference solution
 * shown and an instruction to solve the problem its own way (method doc, "Self-distillation
 * baseline"). It ends exactly as the student's prompt does, so the student's response follows
 * it as naturally as it follows the student's own prompt.
 */
export function teacherPrompt(question: string, reference: string): string {
  return `${question}\n\nA correct reference solution (solve it your own way, do not copy it):\n${reference}\n\n${ANSWER_INSTRUCTION}\n`;
}

export interface SftPair {
  tokens: number[];
  responseStart: number;
  /** The response was cut to fit the model's length. */
  truncated: boolean;
}

/**
 * The SFT example of an item: the rollout prompt, then the reference as the response, closed by
 * <eos> when the tokenizer has one (so a model trained on it learns to stop). Cut to
 * `maxTokens` tokens in all when longer (the truncation is reported).
 */
export function sftPair(tok: TextTokenizer, item: TaskItem, maxTokens: number): SftPair {
  const prompt = tok.encode(rolloutPrompt(item.question));
  const response = tok.encode(item.reference);
  if (tok.eosId !== undefined) response.push(tok.eosId);
  const all = [...prompt, ...response];
  if (prompt.length + 1 > maxTokens) throw new Error(`item ${item.id}: its ${prompt.length}-token prompt leaves no room for a response in ${maxTokens} tokens`);
  return { tokens: all.slice(0, maxTokens), responseStart: prompt.length, truncated: all.length > maxTokens };
}
