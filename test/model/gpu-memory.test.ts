// GPU memory in use by category through the real runtime (src/gpu/memory-use.ts, Gpu.memory): a
// policy, its frozen copy, an SFT trainer's optimizer and activations, a decode state's KV cache,
// pooled scratch and readback staging are each counted where they belong, with the bytes their
// shapes need; the categories add up to the total; and once everything is destroyed (by the
// callers' own buffer.destroy()) every count is back at its baseline.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { MEMORY_CATEGORIES, memoryDelta, type MemoryUse } from '../../src/gpu/memory-use';
import { createBuiltinPolicy } from '../../src/model/builtin';
import { createDecodeState, destroyDecodeState } from '../../src/model/decode';
import { cloneParams, destroyParams } from '../../src/model/params';
import { PolicySession } from '../../src/model/session';
import { SftTrainer } from '../../src/model/sft-trainer';

const sum = (u: MemoryUse): number => Object.values(u.byCategory).reduce((n, c) => n + c.bytes, 0);

describe('GPU memory by category', () => {
  it('counts a model, its trainer, a frozen copy, a KV cache and scratch by category, and returns to the baseline once they are destroyed', async () => {
    const gpu = await testGpu();
    await gpu.sync();
    gpu.pool.trim();
    const base = gpu.memory.snapshot();
    expect(sum(base)).toBe(base.bytes);

    const p = createBuiltinPolicy(1);
    const session = PolicySession.fromValues(gpu, p.config, p.params, p.tokenizer);
    const paramBytes = session.model.flat.reduce((n, t) => n + t.buffer.size, 0);
    let d = memoryDelta(gpu.memory.snapshot(), base);
    expect(d.weights.bytes).toBe(paramBytes);
    expect(d.gradients.bytes).toBe(paramBytes);
    expect(paramBytes).toBeGreaterThanOrEqual(4 * [...p.params.values()].reduce((n, v) => n + v.length, 0));

    const frozen = cloneParams(gpu, session.model);
    const trainer = new SftTrainer(gpu, session.model, { lr: 1e-3, maxNorm: 1, weightDecay: 0 }, 2, 8);
    const ids = p.tokenizer.encode('2+3=5');
    await trainer.step([{ tokens: ids, responseStart: 4 }]);
    const c = p.config;
    const decode = createDecodeState(gpu, c, 2, 16);
    const scratch = gpu.scratch([1000]);

    const during = gpu.memory.snapshot();
    d = memoryDelta(during, base);
    expect(sum(during)).toBe(during.bytes);
    expect(d.frozen.bytes).toBe(paramBytes);
    // AdamW's two moments per parameter buffer, and the gradient-norm buffer.
    expect(d.optimizer.bytes).toBe(2 * paramBytes + 8);
    expect(d.activations.bytes).toBeGreaterThan(0);
    expect(d['kv-cache'].bytes).toBe(2 * c.nLayers * 2 * c.nKvHeads * 16 * c.headDim * 4);
    expect(d.sampling.bytes).toBeGreaterThan(0);
    expect(d.scratch.bytes).toBeGreaterThanOrEqual(4000);
    // The step's kernels took their parameters from pooled uniform buffers.
    expect(d.uniforms.buffers).toBeGreaterThan(0);
    expect(during.peakBytes).toBeGreaterThanOrEqual(during.bytes);
    // The readbacks made staging buffers and destroyed them.
    expect(d.staging.bytes).toBe(0);

    gpu.release(scratch);
    destroyDecodeState(decode);
    trainer.destroy();
    destroyParams(frozen);
    session.destroy();
    await gpu.sync();
    gpu.pool.trim();
    const after = gpu.memory.snapshot();
    for (const { category } of MEMORY_CATEGORIES) expect([category, after.byCategory[category]]).toEqual([category, base.byCategory[category]]);
    expect(after.bytes).toBe(base.bytes);
  });
});
