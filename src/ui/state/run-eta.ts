/**
 * Time left in the current stage, from the step times this run measured: pure, no DOM. Only
 * what was measured goes in: no guess for a stage not yet run, for evaluations or for a judge
 * that has not answered yet.
 */
import type { RunConfig } from '../../rl/config';
import type { EvalLine } from '../../rl/evaluate';
import type { StepMetrics } from '../../rl/metrics';
import type { RunCursor } from '../../rl/run-state';

export interface StageEta {
  stage: number;
  /** Steps of the stage not yet made. */
  steps: number;
  /** Median measured seconds per step of this stage, and how many steps it is from. */
  stepSeconds: number;
  measured: number;
  seconds: number;
}

/** null when the stage has no measured step yet (or none is left). */
export function stageEta(config: RunConfig, cursor: RunCursor, lines: readonly (StepMetrics | EvalLine)[]): StageEta | null {
  if (cursor.finished) return null;
  const total = cursor.stage === 0 ? config.pretrain.steps : config.stages[cursor.stage - 1]?.steps;
  if (total === undefined) return null;
  const steps = total - cursor.step;
  const times = lines
    .filter((l): l is StepMetrics => (l as EvalLine).eval !== true && l.stage === cursor.stage)
    .map((l) => l.step_s)
    .filter((s) => Number.isFinite(s) && s > 0)
    .sort((a, b) => a - b);
  if (steps <= 0 || times.length === 0) return null;
  const mid = times.length >> 1;
  const stepSeconds = times.length % 2 === 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { stage: cursor.stage, steps, stepSeconds, measured: times.length, seconds: steps * stepSeconds };
}

function duration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function describeEta(e: StageEta): string {
  const what = e.stage === 0 ? 'Stage 0' : `stage ${e.stage}`;
  return `About ${duration(e.seconds)} left in ${what}: ${e.steps} step${e.steps === 1 ? '' : 's'} at ${e.stepSeconds.toFixed(1)} s each (the median of ${e.measured} measured here); evaluations and later stages not included.`;
}
