import { describe, expect, it } from 'vitest';
import { checkLogitsAgreement, median, modelTable, relativeL2, summariseModel, tokensPerSecond, type ModelBenchOutput } from '../../bench/summary';

function output(oursDecode: number[] | null): ModelBenchOutput {
  return {
    config: { vocabSize: 99, dModel: 96, nLayers: 4, nHeads: 4, nKvHeads: 2, headDim: 24, dFF: 256, ropeTheta: 10000, normEps: 1e-5, tiedEmbeddings: true, maxSeqLen: 256 },
    configSource: 'test',
    tfjsBackend: 'webgpu',
    logitsRelL2: 4e-7,
    gradsRelL2: { a: 1e-6, b: 3e-6, c: 2e-6 },
    stepRelL2: { value: 4e-5, param: 'b' },
    train: { batch: 8, seqLen: 64, warmup: 1, oursMs: [500, 400, 1000], tfjsMs: [2000, 1000, 4000], oursFinalLoss: 4.2, tfjsFinalLoss: 4.2 },
    decode: { batch: 8, promptLen: 8, newTokens: 32, temperature: 1, tfjsMethod: 'kv-cache', oursMs: oursDecode, oursNote: oursDecode === null ? 'not available yet' : null, tfjsMs: [1024, 512] },
    memory: { params: 10, grads: 10, optimizer: 20, activations: 100 },
  };
}

describe('bench summary', () => {
  it('takes medians of odd and even sample counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no samples/);
  });

  it('turns per-call milliseconds into tokens per second with the median call', () => {
    expect(tokensPerSecond(512, [1000, 500, 250])).toBe(1024);
  });

  it('measures relative L2 against the reference and never passes NaN', () => {
    expect(relativeL2([3, 4], [3, 4])).toBe(0);
    expect(relativeL2([0, 0], [3, 4])).toBe(1);
    expect(relativeL2([3, 4 + 5e-4 * 5], [3, 4])).toBeCloseTo(5e-4, 12);
    expect(() => relativeL2([1], [1, 2])).toThrow(/lengths differ/);
    expect(() => checkLogitsAgreement(Number.NaN)).toThrow(/disagree/);
    expect(() => checkLogitsAgreement(2e-3)).toThrow(/2e-3|0.002/);
    expect(() => checkLogitsAgreement(1e-6)).not.toThrow();
  });

  it('reports training and decode ratios, memory per category and the worst gradient', () => {
    const r = summariseModel(output([256, 512, 128]));
    // Train: 512 tokens; ours median 500 ms → 1024 tok/s; TF.js median 2000 ms → 256 tok/s.
    expect(r.train_step_vs_tfjs.ours_tokens_per_s).toBe(1024);
    expect(r.train_step_vs_tfjs.tfjs_tokens_per_s).toBe(256);
    expect(r.train_step_vs_tfjs.ratio).toBe(4);
    expect(r.train_step_vs_tfjs.batch).toEqual({ sequences: 8, seq_len: 64, tokens: 512 });
    // Decode: 256 generated tokens; ours median 256 ms → 1000 tok/s; TF.js median 768 ms.
    expect(r.decode_vs_tfjs.ours_tokens_per_s).toBe(1000);
    expect(r.decode_vs_tfjs.tfjs_tokens_per_s).toBeCloseTo(1000 / 3, 9);
    expect(r.decode_vs_tfjs.ratio).toBeCloseTo(3, 12);
    expect(r.gpu_memory_bytes).toEqual({ params: 10, grads: 10, optimizer: 20, activations: 100, total: 140 });
    expect(r.grads_rel_l2_max).toEqual({ value: 3e-6, param: 'b' });
    expect(modelTable(r)).toMatch(/train_step_vs_tfjs: 4\.00x/);
  });

  it('leaves the decode ratio empty, not made up, while our decoder is missing', () => {
    const r = summariseModel(output(null));
    expect(r.decode_vs_tfjs.ratio).toBeNull();
    expect(r.decode_vs_tfjs.ours_tokens_per_s).toBeNull();
    expect(modelTable(r)).toMatch(/decode_vs_tfjs: ours: not available yet/);
  });
});
