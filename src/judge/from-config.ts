// Builds the judge a run config's judge section names. Pure: the settings are taken
// structurally (src/rl/config.ts's JudgeConfig fits), so the judge layer imports nothing above it.
import { HttpJudge, type FetchLike } from './http.ts';
import { RubricJudge } from './rubric.ts';
import type { Judge, Normalisation, ScorePick } from './types.ts';

/** The fields of a run config's judge section that a stand-alone judge needs. */
export interface JudgeSettings {
  kind: string;
  endpoint: string;
  model: string;
  parse: ScorePick;
  normalisation: Normalisation;
  retries: number;
}

export interface JudgeBuildOptions {
  /** Injectable for tests (HTTP judges only). */
  fetch?: FetchLike;
  /** Per-request limit in ms (HTTP judges only; the judge's own default otherwise). */
  timeoutMs?: number;
}

/**
 * The judge of kind "rubric" (programmatic) or "openai" (an OpenAI-compatible server). Kind
 * "policy" needs a loaded policy model, which this layer never sees, and "none" is no judge:
 * both are refused with a message naming judge.kind.
 */
export function judgeFromSettings(s: JudgeSettings, opts: JudgeBuildOptions = {}): Judge {
  switch (s.kind) {
    case 'rubric':
      return new RubricJudge({ normalisation: s.normalisation });
    case 'openai':
      if (s.endpoint === '') throw new Error('judge.endpoint is required when judge.kind is "openai"');
      return new HttpJudge({
        baseUrl: s.endpoint,
        model: s.model,
        pick: s.parse,
        normalisation: s.normalisation,
        retries: s.retries,
        fetch: opts.fetch,
        timeoutMs: opts.timeoutMs,
      });
    case 'policy':
      throw new Error('judge.kind "policy" scores with the policy model itself and cannot be built without one; use "rubric" or "openai" here');
    case 'none':
      throw new Error('judge.kind "none" names no judge; use "rubric" or "openai"');
    default:
      throw new Error(`judge.kind ${JSON.stringify(s.kind)} is not a known judge kind`);
  }
}
