/**
 * The judge of a run, built by whoever owns the GPU (CLI, worker). Language-model judges get a
 * generation function over a model this builds or is handed: the self-judge generates with a
 * frozen copy of the policy as it enters the run (the paper's setting), a "local" judge with an
 * instruct model the caller opens in its own slot, on our kernels or through transformers.js
 * (judge.runtime). `release` frees what was made for the judge.
 */
import { judgeFromSettings } from '../judge/from-config';
import type { GenerateReplies } from '../judge/generated';
import type { Judge } from '../judge/types';
import { chatReplies } from '../model/chat';
import { fromHfConfig } from '../model/config';
import type { ModelProbe } from '../model/hub';
import { cloneParams, destroyParams } from '../model/params';
import type { PolicySession } from '../model/session';
import type { TransformersChat } from '../model/transformers-chat';
import type { TransformersDtype } from '../model/transformers-dtypes';
import type { JudgeConfig, JudgeRuntime, RunConfig } from './config';
import { needsJudge } from './methods';

export interface RunJudge {
  judge: Judge | null;
  /** Which runtime runs a "local" judge model, and why (for the run's notes). */
  note?: string;
  release(): Promise<void>;
}

/** How the caller opens judge.model for kind "local" (folder or Hub id, as it supports). */
export interface LocalJudgeOpeners {
  /** config.json and whether safetensors weights exist, before anything large is downloaded. */
  probe(model: string): Promise<ModelProbe>;
  /** The model on our kernels, in its own slot. */
  kernels(model: string): Promise<PolicySession>;
  /** The model through transformers.js. */
  transformers(model: string, o: { maxTokens: number; dtype: TransformersDtype }): Promise<TransformersChat>;
}

export interface RuntimeChoice {
  runtime: 'kernels' | 'transformers';
  why: string;
}

/** judge.runtime "auto": our kernels when they can run the model (Llama layout, safetensors), transformers.js otherwise. */
export function chooseJudgeRuntime(requested: JudgeRuntime, probe: ModelProbe | undefined): RuntimeChoice {
  if (requested !== 'auto') return { runtime: requested, why: `judge.runtime is "${requested}"` };
  if (probe === undefined) throw new Error('judge.runtime "auto" needs the model\'s config.json');
  try {
    fromHfConfig(probe.config);
  } catch (e) {
    return { runtime: 'transformers', why: `our kernels cannot run it (${(e as Error).message})` };
  }
  if (!probe.safetensors) return { runtime: 'transformers', why: 'it is Llama-layout but has no safetensors weights for our kernels' };
  return { runtime: 'kernels', why: 'it is a Llama-layout model with safetensors weights' };
}

export interface LocalJudgeModel {
  generate: GenerateReplies;
  /** Which runtime runs it, and why. */
  note: string;
  release(): Promise<void>;
}

/** judge.model opened on the runtime judge.runtime names or "auto" picks. */
export async function openLocalJudge(j: JudgeConfig, local: LocalJudgeOpeners): Promise<LocalJudgeModel> {
  const choice = chooseJudgeRuntime(j.runtime, j.runtime === 'auto' ? await local.probe(j.model) : undefined);
  if (choice.runtime === 'transformers') {
    const m = await local.transformers(j.model, { maxTokens: j.maxTokens, dtype: j.dtype });
    return { generate: m.generate, release: m.release, note: `judge model ${j.model} runs on ${m.runtime}: ${choice.why}` };
  }
  const m = await local.kernels(j.model);
  try {
    const generate = chatReplies(m.gpu, m.model, m.tokenizer, { maxTokens: j.maxTokens, what: `the judge model ${j.model}` });
    return { generate, release: async () => m.destroy(), note: `judge model ${j.model} runs on this app's kernels: ${choice.why}` };
  } catch (e) {
    m.destroy();
    throw e;
  }
}

/**
 * `apiKey`: kind "openai"'s key: exprl reads it from where judge.apiKeyEnv says; the page hands in
 * the key its user entered, only when judge.endpoint is at the origin the key is bound to.
 */
export async function buildRunJudge(config: RunConfig, policy: PolicySession, local?: LocalJudgeOpeners, apiKey?: string): Promise<RunJudge> {
  const none: RunJudge = { judge: null, release: async () => {} };
  if (!config.stages.some((s) => needsJudge(s.method))) return none;
  const j = config.judge;
  if (j.kind === 'policy') {
    const frozen = cloneParams(policy.gpu, policy.model);
    const generate = chatReplies(policy.gpu, frozen, policy.tokenizer, { maxTokens: j.maxTokens, what: `the policy ${config.policy}` });
    return { judge: judgeFromSettings(j, { generate }), release: async () => destroyParams(frozen) };
  }
  if (j.kind === 'local') {
    if (local === undefined) throw new Error('judge.kind "local" needs a way to open judge.model here; use "rubric", "openai" or "policy"');
    const m = await openLocalJudge(j, local);
    return { judge: judgeFromSettings(j, { generate: m.generate }), note: m.note, release: m.release };
  }
  return { judge: judgeFromSettings(j, { apiKey }), release: async () => {} };
}
