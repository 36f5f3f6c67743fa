/**
 * The judge of a run, built by whoever owns the GPU (CLI, worker). Language-model judges get a
 * generation function over a model this builds or is handed: the self-judge generates with a
 * frozen copy of the policy as it enters the run (the paper's setting), a "local" judge with an
 * instruct model the caller opens in its own slot. `release` frees what was made for the judge.
 */
import { judgeFromSettings } from '../judge/from-config';
import type { Judge } from '../judge/types';
import { chatReplies } from '../model/chat';
import { cloneParams, destroyParams } from '../model/params';
import type { PolicySession } from '../model/session';
import type { RunConfig } from './config';

export interface RunJudge {
  judge: Judge | null;
  release(): void;
}

export async function buildRunJudge(
  config: RunConfig,
  policy: PolicySession,
  /** Opens judge.model for kind "local"; absent where that is not offered. */
  openLocal?: (model: string) => Promise<PolicySession>,
): Promise<RunJudge> {
  const none: RunJudge = { judge: null, release: () => {} };
  if (!config.stages.some((s) => s.method === 'exprl-outcome' || s.method === 'exprl-process')) return none;
  const j = config.judge;
  if (j.kind === 'policy') {
    const frozen = cloneParams(policy.gpu, policy.model);
    const generate = chatReplies(policy.gpu, frozen, policy.tokenizer, { maxTokens: j.maxTokens, what: `the policy ${config.policy}` });
    return { judge: judgeFromSettings(j, { generate }), release: () => destroyParams(frozen) };
  }
  if (j.kind === 'local') {
    if (openLocal === undefined) throw new Error('judge.kind "local" needs a way to open judge.model here; use "rubric", "openai" or "policy"');
    const m = await openLocal(j.model);
    try {
      const generate = chatReplies(m.gpu, m.model, m.tokenizer, { maxTokens: j.maxTokens, what: `the judge model ${j.model}` });
      return { judge: judgeFromSettings(j, { generate }), release: () => m.destroy() };
    } catch (e) {
      m.destroy();
      throw e;
    }
  }
  return { judge: judgeFromSettings(j), release: () => {} };
}
