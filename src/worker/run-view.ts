/** Run records as the page shows them: plain text and numbers, nothing the page could render as markup. */
import type { RolloutBatch } from '../rl/run';
import type { RolloutBatchView } from './api';

export function rolloutBatchView(b: RolloutBatch): RolloutBatchView {
  return {
    stage: b.stage,
    step: b.step,
    method: b.method,
    prompts: b.items.map((it) => ({ id: it.id, question: it.question, reference: it.reference, answer: it.answer })),
    rollouts: b.records.map((r) => ({
      group: r.group,
      text: r.text,
      segments: r.segments.map((s) => ({ text: s.text, score: s.score, advantage: s.advantage })),
      reward: r.reward,
      correct: r.correct,
      cut: r.cut,
      masked: r.masked,
      ...(r.judgeError !== undefined ? { judgeError: r.judgeError } : {}),
    })),
  };
}
