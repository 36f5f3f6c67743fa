/** Run records as the page shows them: plain text and numbers, nothing the page could render as markup. */
import { reached } from '../judge/rubric';
import type { RolloutBatch } from '../rl/run';
import type { RolloutBatchView } from './api';

/** A judge's reason longer than this is cut: an LLM rationale can run to pages, and every step's rollouts stay in the page. */
export const MAX_REASON_CHARS = 600;

function shortReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 1)}…`;
}

export function rolloutBatchView(b: RolloutBatch): RolloutBatchView {
  return {
    stage: b.stage,
    step: b.step,
    method: b.method,
    prompts: b.items.map((it) => ({ id: it.id, question: it.question, reference: it.reference, answer: it.answer, steps: [...it.steps], checkpoints: [...it.checkpoints] })),
    rollouts: b.records.map((r) => {
      const item = b.items[r.group];
      return {
        group: r.group,
        text: r.text,
        segments: r.segments.map((s, k) => {
          const reason = r.judgeReasons?.[k];
          return { text: s.text, score: s.score, advantage: s.advantage, ...(reason !== undefined ? { reason: shortReason(reason) } : {}) };
        }),
        reward: r.reward,
        correct: r.correct,
        cut: r.cut,
        masked: r.masked,
        ...(r.judgeError !== undefined ? { judgeError: r.judgeError } : {}),
        // Where a checkpoint is reached follows the rubric judge's rule, whichever judge the run used.
        reached: item === undefined ? [] : item.checkpoints.map((cp) => reached(r.text, cp, item).length > 0),
      };
    }),
  };
}
