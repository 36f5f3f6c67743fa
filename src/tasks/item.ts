import { hash53 } from './random';
import { answerLine, MAX_DIFFICULTY, MIN_DIFFICULTY, type TaskItem } from './types';

/** The question as the split hash and ids see it: trimmed, whitespace runs collapsed, lower case. */
export function canonicalQuestion(family: string, question: string): string {
  return `${family}\u0000${question.trim().replace(/\s+/g, ' ').toLowerCase()}`;
}

/** Content-based id: the same question of the same family always gets the same id. */
export function itemId(family: string, question: string): string {
  return `${family}:${hash53(canonicalQuestion(family, question)).toString(36)}`;
}

export function checkDifficulty(family: string, difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < MIN_DIFFICULTY || difficulty > MAX_DIFFICULTY) {
    throw new Error(`${family}: difficulty must be an integer in ${MIN_DIFFICULTY}..${MAX_DIFFICULTY}, got ${difficulty}`);
  }
}

/** Assemble a built-in item: the answer line is appended as the last step and checkpoint. */
export function buildItem(
  family: string,
  delimiter: string,
  difficulty: number,
  question: string,
  workSteps: string[],
  workCheckpoints: string[],
  answer: string,
): TaskItem {
  const steps = [...workSteps, answerLine(answer)];
  return {
    id: itemId(family, question),
    family,
    question,
    reference: steps.join(delimiter),
    steps,
    checkpoints: [...workCheckpoints, answer],
    answer,
    difficulty,
  };
}
