// Builds the judge a run config's judge section names. Pure: the settings are taken
// structurally (src/rl/config/schema.ts's JudgeConfig fits), so the judge layer imports nothing above it.
import { GeneratingJudge, type GenerateReplies } from './generated.ts';
import { HttpJudge, type FetchLike } from './http.ts';
import type { TemplateKind } from './prompts.ts';
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
  timeoutMs: number;
  breakerAfter: number;
  maxTokens?: number;
  templates?: Partial<Record<TemplateKind, string>>;
}

export interface JudgeBuildOptions {
  /** Injectable for tests (HTTP judges only). */
  fetch?: FetchLike;
  /** Kind "openai": the API key (the owner reads it from where judge.apiKeyEnv says). */
  apiKey?: string;
  /** Kinds "policy" and "local": the owner of the model's generation function. */
  generate?: GenerateReplies;
}

/**
 * The judge a config names: "rubric" (programmatic), "openai" (an OpenAI-compatible server), or
 * "policy" / "local" (a language model the app runs, through the generation function its owner
 * hands in). "none" is no judge and is refused with a message naming judge.kind.
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
        timeoutMs: s.timeoutMs,
        breakerAfter: s.breakerAfter,
        apiKey: opts.apiKey,
        fetch: opts.fetch,
        maxTokens: s.maxTokens,
        templates: s.templates,
      });
    case 'policy':
    case 'local':
      if (opts.generate === undefined) {
        throw new Error(`judge.kind "${s.kind}" is a language model run by the app and cannot be built without one here; use "rubric" or "openai"`);
      }
      return new GeneratingJudge({
        name: s.kind === 'policy' ? 'self-judge' : `local:${s.model}`,
        generate: opts.generate,
        timeoutMs: s.timeoutMs,
        breakerAfter: s.breakerAfter,
        pick: s.parse,
        normalisation: s.normalisation,
        templates: s.templates,
      });
    case 'none':
      throw new Error('judge.kind "none" names no judge; use "rubric" or "openai"');
    default:
      throw new Error(`judge.kind ${JSON.stringify(s.kind)} is not a known judge kind`);
  }
}
