/**
 * The task item shared by the built-in generators, dataset import, answer checking, the rubric
 * judge and the RL layer. Pure data: no GPU, no DOM.
 */

/** One question with its hidden step-wise reference and its final answer. */
export interface TaskItem {
  /** Stable id. Built-in items: `<family>:<hash of the canonical question>` (same question, same id). */
  id: string;
  /** Built-in family name (`arith-chain`, `long-addition`, `gcd`, `linear-equation`) or, for
   *  imported rows, the dataset's `data_source` / mapped field (`imported` when absent). */
  family: string;
  /** What the policy sees. Built-in questions use only the character tokenizer's characters. */
  question: string;
  /** The step-wise reference solution: `steps` joined by the family's delimiter. Never shown to the policy. */
  reference: string;
  /**
   * The reference's steps as text, one intermediate result per step; the last step of a built-in
   * item is the answer line `Answer: N`. These are the rubric judge's checkpoints.
   */
  steps: string[];
  /**
   * The bare intermediate result of each step (a number as text), aligned with `steps`: what a
   * checker looks for in a rollout segment. Imported items have no such annotation: empty.
   */
  checkpoints: string[];
  /** Final answer for the sparse check (an integer as text for every built-in family). */
  answer: string;
  /** Built-in: 1 (easiest) .. MAX_DIFFICULTY. Imported: the mapped field, or 0 meaning unknown. */
  difficulty: number;
}

/** Difficulty knob range of the built-in families. */
export const MIN_DIFFICULTY = 1;
export const MAX_DIFFICULTY = 10;

/** Upper bounds on text lengths (in characters = tokens of the character tokenizer). */
export interface LengthBounds {
  question: number;
  reference: number;
}

/** A procedurally generated family. */
export interface TaskFamily {
  name: string;
  /** Separates reference steps; also the segment delimiter natural for this family's traces. */
  delimiter: string;
  /** One sentence for the UI. */
  description: string;
  /**
   * The item number `index` of stream `seed` at `difficulty` (an integer in
   * MIN_DIFFICULTY..MAX_DIFFICULTY). Pure function of its arguments.
   */
  generate(difficulty: number, seed: number, index: number): TaskItem;
  /** Guaranteed maxima for `difficulty` (checked by the unit tests over many items). */
  lengthBounds(difficulty: number): LengthBounds;
  /** How many reasoning steps (checkpoints before the answer line) an item has at `difficulty`. */
  stepCount(difficulty: number): { min: number; max: number };
}

/** The line that ends every built-in reference, and the format the prompts ask for. */
export function answerLine(answer: string | number | bigint): string {
  return `Answer: ${answer}`;
}

/** Appended to a question when a prompt is built for the policy (the RL layer decides whether to). */
export const ANSWER_INSTRUCTION = 'End with a line "Answer: N".';
