/** Turns benchmark rows into the ratios the JSON report holds (pure, unit-tested). */
import type { ModelConfig } from '../src/model/config';
import type { BenchOutput } from './page.ts';

export interface MatmulRatio {
  ratio: number;
  ours_gflops: number;
  ours_variant: string;
  tfjs_gflops: number;
  adapter: string;
}

export function summarise(result: BenchOutput): { ratios: Record<string, MatmulRatio> } {
  const ratios: Record<string, MatmulRatio> = {};
  const sizes = [...new Set(result.rows.map((r) => r.n))];
  for (const n of sizes) {
    const rows = result.rows.filter((r) => r.n === n);
    const tfjs = rows.find((r) => r.contender === 'tfjs-webgpu');
    const ours = rows.filter((r) => r.contender.startsWith('exprl-')).sort((a, b) => b.gflops - a.gflops)[0];
    if (tfjs === undefined || ours === undefined) continue;
    ratios[`matmul${n}_vs_tfjs`] = {
      ratio: ours.gflops / tfjs.gflops,
      ours_gflops: ours.gflops,
      ours_variant: ours.contender.replace('exprl-', ''),
      tfjs_gflops: tfjs.gflops,
      adapter: result.adapter.description,
    };
  }
  return { ratios };
}

// ---- the model benchmark (bench/model-bench.ts measures, this turns samples into figures) ------

/**
 * Largest relative L2 distance allowed between our logits and TF.js's for the same parameters
 * and batch before the benchmark refuses to time them: both are float32 evaluations of one
 * formula, so they differ by rounding only (orders of magnitude below this); anything near it
 * means the two programs compute different models and a speed ratio would be meaningless.
 */
export const LOGITS_AGREEMENT_TOL = 1e-3;

/** Bytes of GPU buffers our engine allocates for one training batch, per category. */
export interface GpuMemoryBytes {
  params: number;
  grads: number;
  /** AdamW moments and the gradient-norm pair. */
  optimizer: number;
  /** Saved activations, backward work buffers, ids, positions, rope tables and the loss mask. */
  activations: number;
}

export interface ModelBenchOutput {
  config: ModelConfig;
  /** Where the config came from (the built-in policy, or a local copy of its sizes). */
  configSource: string;
  tfjsBackend: string;
  /** Relative L2 distance of TF.js's logits from ours on one batch with our initial parameters. */
  logitsRelL2: number;
  /** Per parameter: relative L2 distance of TF.js's gradient of the same loss from ours (initial parameters). */
  gradsRelL2: Record<string, number>;
  /** Largest per-tensor relative L2 distance of the first optimizer step's parameter displacement. */
  stepRelL2: { value: number; param: string };
  train: {
    batch: number;
    seqLen: number;
    warmup: number;
    /** Wall-clock milliseconds per training step, one sample per round, engines taking turns. */
    oursMs: number[];
    tfjsMs: number[];
    /** Mean cross-entropy of the batch after the last step, each engine's own (sanity: both learn alike). */
    oursFinalLoss: number;
    tfjsFinalLoss: number;
  };
  decode: {
    batch: number;
    promptLen: number;
    newTokens: number;
    temperature: number;
    /** How TF.js decodes ('kv-cache' or 'recompute'). */
    tfjsMethod: string;
    /** Milliseconds per generate call (prefill included); null when our decoder is not available. */
    oursMs: number[] | null;
    oursNote: string | null;
    tfjsMs: number[];
  };
  memory: GpuMemoryBytes;
}

/** ‖a − b‖₂ / ‖b‖₂ in float64 (b the reference); NaN anywhere gives NaN, so it never passes. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeL2: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

/** Throws, naming both numbers, unless the logits agree within LOGITS_AGREEMENT_TOL. */
export function checkLogitsAgreement(relL2: number): void {
  if (!(relL2 <= LOGITS_AGREEMENT_TOL)) {
    throw new Error(
      `TF.js model and ours disagree: logits relative L2 ${relL2} > ${LOGITS_AGREEMENT_TOL}; the two programs do not compute the same model, refusing to time them`,
    );
  }
}

/** Middle sample (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Tokens per second from per-call milliseconds: the median call. */
export function tokensPerSecond(tokens: number, ms: readonly number[]): number {
  if (ms.length === 0) throw new Error('tokensPerSecond: no samples');
  return tokens / (median(ms) / 1000);
}

export interface ModelReport {
  train_step_vs_tfjs: {
    ratio: number;
    ours_tokens_per_s: number;
    tfjs_tokens_per_s: number;
    ours_ms: number;
    tfjs_ms: number;
    config: ModelConfig & { source: string };
    batch: { sequences: number; seq_len: number; tokens: number };
    final_loss: { ours: number; tfjs: number };
  };
  decode_vs_tfjs: {
    /** null while our decoder is not available: no number is made up for it. */
    ratio: number | null;
    ours_tokens_per_s: number | null;
    tfjs_tokens_per_s: number;
    ours_note: string | null;
    tfjs_method: string;
    sequences: number;
    prompt_len: number;
    new_tokens: number;
    temperature: number;
  };
  gpu_memory_bytes: GpuMemoryBytes & { total: number };
  logits_rel_l2: number;
  /** The largest per-tensor gradient distance and its tensor. */
  grads_rel_l2_max: { value: number; param: string };
  first_step_displacement_rel_l2_max: { value: number; param: string };
}

function worstEntry(xs: Record<string, number>): { value: number; param: string } {
  let worst = { value: 0, param: '' };
  for (const [param, value] of Object.entries(xs)) if (!(value <= worst.value)) worst = { value, param };
  return worst;
}

export function summariseModel(out: ModelBenchOutput): ModelReport {
  const t = out.train;
  const trainTokens = t.batch * t.seqLen;
  const oursTrain = tokensPerSecond(trainTokens, t.oursMs);
  const tfjsTrain = tokensPerSecond(trainTokens, t.tfjsMs);
  const d = out.decode;
  // Generated tokens only: the prompt's prefill is inside each timed call but not counted.
  const decodeTokens = d.batch * d.newTokens;
  const oursDecode = d.oursMs === null || d.oursMs.length === 0 ? null : tokensPerSecond(decodeTokens, d.oursMs);
  const tfjsDecode = tokensPerSecond(decodeTokens, d.tfjsMs);
  const m = out.memory;
  return {
    train_step_vs_tfjs: {
      ratio: oursTrain / tfjsTrain,
      ours_tokens_per_s: oursTrain,
      tfjs_tokens_per_s: tfjsTrain,
      ours_ms: median(t.oursMs),
      tfjs_ms: median(t.tfjsMs),
      config: { ...out.config, source: out.configSource },
      batch: { sequences: t.batch, seq_len: t.seqLen, tokens: trainTokens },
      final_loss: { ours: t.oursFinalLoss, tfjs: t.tfjsFinalLoss },
    },
    decode_vs_tfjs: {
      ratio: oursDecode === null ? null : oursDecode / tfjsDecode,
      ours_tokens_per_s: oursDecode,
      tfjs_tokens_per_s: tfjsDecode,
      ours_note: d.oursNote,
      tfjs_method: d.tfjsMethod,
      sequences: d.batch,
      prompt_len: d.promptLen,
      new_tokens: d.newTokens,
      temperature: d.temperature,
    },
    gpu_memory_bytes: { ...m, total: m.params + m.grads + m.optimizer + m.activations },
    logits_rel_l2: out.logitsRelL2,
    grads_rel_l2_max: worstEntry(out.gradsRelL2),
    first_step_displacement_rel_l2_max: out.stepRelL2,
  };
}

/** The model benchmark as printed lines: a table of both engines, then the ratios. */
export function modelTable(r: ModelReport): string {
  const t = r.train_step_vs_tfjs;
  const d = r.decode_vs_tfjs;
  const fmt = (x: number | null, digits: number): string => (x === null ? 'n/a' : x.toFixed(digits));
  const lines = [
    `model: D ${t.config.dModel}, ${t.config.nLayers} layers, ${t.config.nHeads}/${t.config.nKvHeads} heads × ${t.config.headDim}, F ${t.config.dFF}, vocab ${t.config.vocabSize} (${t.config.source})`,
    `agreement (TF.js vs ours, same parameters, one batch): logits relative L2 ${r.logits_rel_l2.toExponential(2)}, gradients ≤ ${r.grads_rel_l2_max.value.toExponential(2)} (${r.grads_rel_l2_max.param}), first step's displacement ≤ ${r.first_step_displacement_rel_l2_max.value.toExponential(2)} (${r.first_step_displacement_rel_l2_max.param})`,
    'phase                      engine        median ms    tokens/s',
    `train ${`${t.batch.sequences}x${t.batch.seq_len}`.padEnd(21)}exprl     ${t.ours_ms.toFixed(1).padStart(12)} ${t.ours_tokens_per_s.toFixed(1).padStart(11)}`,
    `train ${`${t.batch.sequences}x${t.batch.seq_len}`.padEnd(21)}tfjs-webgpu ${t.tfjs_ms.toFixed(1).padStart(10)} ${t.tfjs_tokens_per_s.toFixed(1).padStart(11)}`,
    `decode ${`${d.sequences}x(${d.prompt_len}+${d.new_tokens})`.padEnd(20)}exprl     ${(d.ours_tokens_per_s === null ? 'n/a' : ((d.sequences * d.new_tokens * 1000) / d.ours_tokens_per_s).toFixed(1)).padStart(12)} ${fmt(d.ours_tokens_per_s, 1).padStart(11)}`,
    `decode ${`${d.sequences}x(${d.prompt_len}+${d.new_tokens})`.padEnd(20)}tfjs-webgpu ${((d.sequences * d.new_tokens * 1000) / d.tfjs_tokens_per_s).toFixed(1).padStart(10)} ${d.tfjs_tokens_per_s.toFixed(1).padStart(11)}`,
    `train_step_vs_tfjs: ${t.ratio.toFixed(2)}x (final loss ours ${t.final_loss.ours.toFixed(4)}, TF.js ${t.final_loss.tfjs.toFixed(4)})`,
    d.ratio === null
      ? `decode_vs_tfjs: ours: ${d.ours_note ?? 'not available'} (TF.js ${d.tfjs_method}: ${d.tfjs_tokens_per_s.toFixed(1)} tokens/s)`
      : `decode_vs_tfjs: ${d.ratio.toFixed(2)}x (TF.js ${d.tfjs_method}, temperature ${d.temperature})`,
    `gpu_memory_bytes (ours): params ${r.gpu_memory_bytes.params}, grads ${r.gpu_memory_bytes.grads}, optimizer ${r.gpu_memory_bytes.optimizer}, activations ${r.gpu_memory_bytes.activations}, total ${r.gpu_memory_bytes.total}`,
  ];
  return lines.join('\n');
}
