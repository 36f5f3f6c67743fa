/**
 * Which run settings to lower when a GPU buffer does not fit (GpuMemoryError names the buffer by
 * its label). Pure: the CLI and the page append it to the error. Buffers grow with:
 *   sampling  (dec-*, k-/v-cache-*)      sequences sampled at once × (prompt + response tokens)
 *   update    (activations, policy-*, sft-*)  a micro-batch (≤ UPDATE_MICRO_BATCH rollouts) × (prompt + response tokens)
 *   model     (params-*, grads-*, adam-*) the policy's parameter count
 * and every activation also with the model's widths (vocabulary, MLP, heads).
 */
import type { RunConfig, StageConfig } from './config';
import { EVAL_BATCH } from './evaluate';
import { UPDATE_MICRO_BATCH } from './run';

export type BufferUse = 'sampling' | 'update' | 'model' | 'unknown';

/** The activation labels of src/model/forward.ts (createActivations) and their backward work buffers. */
const ACTIVATIONS = new Set([
  'xn1', 'rstd1', 'q', 'k', 'v', 'attn', 'attn-lse', 'h', 'xn2', 'rstd2', 'gate', 'up', 'act', 'xnF', 'rstdF', 'logits', 'logp',
  'entropy', 'logits-lse', 'dlogp', 'dentropy', 'q-pre', 'k-pre', 'tokens', 'targets', 'positions',
]);

export function bufferUse(label: string | null): BufferUse {
  if (label === null) return 'unknown';
  if (/^dec-|^[kv]-cache-\d+$/.test(label)) return 'sampling';
  if (/^(params|grads|adam-m|adam-v|params-clone)-\d+$/.test(label)) return 'model';
  if (ACTIVATIONS.has(label) || /^(resid-\d+|d[a-z-]+|policy-.+|sft-.+)$/.test(label)) return 'update';
  return 'unknown';
}

/** "label (stages[0].key = v, stages[1].key = w)" over the stages that are RL stages. */
function perStage(c: RunConfig, label: string, key: keyof StageConfig): string {
  return `${label} (${c.stages.map((s, i) => `stages[${i}].${key} = ${String(s[key])}`).join(', ')})`;
}

function sampling(c: RunConfig): string {
  return (
    `Sampling holds prompts per step × rollouts per prompt sequences at once (an evaluation up to ${EVAL_BATCH}) of prompt + response tokens: ` +
    `lower ${perStage(c, 'rollouts per prompt', 'rolloutsPerPrompt')}, ${perStage(c, 'prompts per step', 'promptsPerStep')} ` +
    `or max response tokens (${c.stages.map((s, i) => `stages[${i}].maxResponseTokens = ${s.maxResponseTokens}`).join(', ')}, eval.maxResponseTokens = ${c.eval.maxResponseTokens})`
  );
}

function update(c: RunConfig): string {
  return (
    `An update holds a micro-batch of up to ${UPDATE_MICRO_BATCH} rollouts (prompts per step × rollouts per prompt / mini-batches) of prompt + response tokens: ` +
    `lower ${perStage(c, 'max response tokens', 'maxResponseTokens')}, ${perStage(c, 'rollouts per prompt', 'rolloutsPerPrompt')} ` +
    `or ${perStage(c, 'prompts per step', 'promptsPerStep')}, or raise ${perStage(c, 'mini-batches', 'miniBatches')}; ` +
    `Stage 0: pretrain.examplesPerStep = ${c.pretrain.examplesPerStep}`
  );
}

/** What to lower so that the buffer `label` fits, for the run `c`; ends by saying how to act on it. */
export function memoryAdvice(label: string | null, c: RunConfig): string {
  const model = `a smaller model (policy = ${JSON.stringify(c.policy)}; its vocabulary and widths size every activation)`;
  const use = bufferUse(label);
  const advice =
    use === 'model'
      ? `The buffer holds the model's weights, gradients or optimizer moments: use ${model}.`
      : use === 'sampling'
        ? `${sampling(c)}; or use ${model}.`
        : use === 'update'
          ? `${update(c)}; or use ${model}.`
          : `${update(c)}. ${sampling(c)}. Or use ${model}.`;
  return `${advice}\nStart a new run with the lower setting (a resumed run keeps its config).`;
}
