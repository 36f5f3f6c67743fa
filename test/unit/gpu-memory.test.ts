// A buffer too large for the device is refused before the GPU is asked, naming the buffer, its
// size and the limit; the error's buffer leads to the run settings that size it (no GPU here).
import { describe, expect, it } from 'vitest';
import { bufferCap, checkBufferSize, GpuMemoryError, labelInMessage } from '../../src/gpu/memory';
import { largestActivation } from '../../src/model/activation-sets';
import { BUILTIN_CONFIG } from '../../src/model/builtin';
import { preset } from '../../src/rl/config';
import { bufferUse, memoryAdvice } from '../../src/rl/memory-advice';

const GiB = 2 ** 30;

describe('buffer limits', () => {
  it('the cap is the smaller of maxBufferSize and maxStorageBufferBindingSize, and names it', () => {
    expect(bufferCap({ maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB })).toEqual({ bytes: 2 * GiB, limit: 'maxStorageBufferBindingSize' });
    expect(bufferCap({ maxBufferSize: GiB, maxStorageBufferBindingSize: 2 * GiB })).toEqual({ bytes: GiB, limit: 'maxBufferSize' });
  });

  it('refuses a buffer over the cap with an error naming the buffer, its shape and size, and the limit; accepts one at the cap', () => {
    const limits = { maxBufferSize: GiB, maxStorageBufferBindingSize: 128 * 2 ** 20 };
    expect(() => checkBufferSize(limits, 128 * 2 ** 20, 'logits')).not.toThrow();
    let caught: unknown = null;
    try {
      checkBufferSize(limits, 4 * 2 ** 20 * 49152, 'logits', [2 ** 20, 49152]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GpuMemoryError);
    expect((caught as GpuMemoryError).label).toBe('logits');
    expect((caught as GpuMemoryError).message).toBe('the GPU buffer "logits" [1048576, 49152] needs 196608 MiB, more than this device\'s maxStorageBufferBindingSize (128.0 MiB)');
  });

  it("finds the buffer's label in Dawn's and Chromium's error messages", () => {
    expect(labelInMessage('Out of memory.\n - While calling [Device "exprl-lab"].CreateBuffer([BufferDescriptor "k-cache-3"]).')).toBe('k-cache-3');
    expect(labelInMessage('Out of memory while mapping [Buffer "logits"]')).toBe('logits');
    expect(labelInMessage('CreateBuffer([BufferDescriptor ""])')).toBeNull();
    expect(labelInMessage('no buffer here')).toBeNull();
  });

  it("the widest activation is the logits for a large vocabulary, the MLP's for a small one", () => {
    const big = { ...BUILTIN_CONFIG, vocabSize: 49152, dFF: 2560 };
    expect(largestActivation(big, 16, 640)).toEqual({ label: 'logits', shape: [10240, 49152] });
    expect(largestActivation({ ...big, vocabSize: 100 }, 2, 8)).toEqual({ label: 'gate', shape: [16, 2560] });
  });
});

describe('memory advice', () => {
  it('sorts buffers by what sizes them', () => {
    expect(['dec-logits', 'k-cache-0', 'v-cache-11'].map(bufferUse)).toEqual(['sampling', 'sampling', 'sampling']);
    expect(['logits', 'gate', 'resid-3', 'dlogits', 'policy-stash', 'sft-mask'].map(bufferUse)).toEqual(['update', 'update', 'update', 'update', 'update', 'update']);
    expect(['params-0', 'grads-1', 'adam-m-0', 'adam-v-2', 'params-clone-0'].map(bufferUse)).toEqual(['model', 'model', 'model', 'model', 'model']);
    expect([null, 'scratch', 'tensor'].map(bufferUse)).toEqual(['unknown', 'unknown', 'unknown']);
  });

  it('names the settings to lower with their values, per kind of buffer', () => {
    const c = preset('small');
    const s = c.stages[0];
    const sampling = memoryAdvice('k-cache-0', c);
    expect(sampling).toContain(`lower rollouts per prompt (stages[0].rolloutsPerPrompt = ${s.rolloutsPerPrompt})`);
    expect(sampling).toContain(`prompts per step (stages[0].promptsPerStep = ${s.promptsPerStep})`);
    expect(sampling).toContain(`max response tokens (stages[0].maxResponseTokens = ${s.maxResponseTokens}, eval.maxResponseTokens = ${c.eval.maxResponseTokens})`);
    expect(sampling).toContain('a smaller model (policy = "builtin-base"');
    const update = memoryAdvice('logits', c);
    expect(update).toMatch(/^An update holds a micro-batch of up to 16 rollouts/);
    expect(update).toContain(`lower max response tokens (stages[0].maxResponseTokens = ${s.maxResponseTokens})`);
    expect(update).toContain(`raise mini-batches (stages[0].miniBatches = ${s.miniBatches})`);
    expect(update).toContain(`pretrain.examplesPerStep = ${c.pretrain.examplesPerStep}`);
    expect(update).not.toContain('Sampling holds');
    expect(memoryAdvice('params-0', c)).toMatch(/^The buffer holds the model's weights, gradients or optimizer moments: use a smaller model/);
    const unknown = memoryAdvice(null, c);
    expect(unknown).toContain('An update holds');
    expect(unknown).toContain('Sampling holds');
    for (const a of [sampling, update, unknown]) expect(a.endsWith('\nStart a new run with the lower setting (a resumed run keeps its config).')).toBe(true);
  });

  it('lists every stage', () => {
    const c = preset('tiny');
    expect(memoryAdvice('dec-k', c)).toContain(`stages[0].rolloutsPerPrompt = ${c.stages[0].rolloutsPerPrompt}, stages[1].rolloutsPerPrompt = ${c.stages[1].rolloutsPerPrompt}`);
  });
});
