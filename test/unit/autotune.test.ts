import { describe, expect, it } from 'vitest';
import { choiceKey, median, MemoryChoiceStore, rankBySpeed } from '../../src/gpu/autotune';
import { matmulFits, selectMatmulVariant } from '../../src/gpu/ops/matmul';
import { bucketSize } from '../../src/gpu/pool';
import { packParams } from '../../src/gpu/kernel';
import { pipelineKey } from '../../src/gpu/pipelines';
import { kernel } from '../../src/gpu/kernel';

describe('kernel choice', () => {
  it('ranks schedules by median time, failed probes last', () => {
    const r = (variant: 'register' | 'tiled' | 'vec4', ms: number) => ({ variant, ms, gflops: 1 / ms });
    expect(rankBySpeed([r('register', 5), r('tiled', 2), r('vec4', 3)])).toEqual(['tiled', 'vec4', 'register']);
    expect(rankBySpeed([r('register', 5), r('tiled', NaN), r('vec4', 5)])).toEqual(['register', 'vec4', 'tiled']);
    expect(() => rankBySpeed([])).toThrow(/no probe results/);
  });

  it('gives each shape the fastest schedule that fits it', () => {
    const shape = { M: 8, N: 12, K: 16, transA: false, transB: false, strides: [128, 192, 96] };
    expect(matmulFits('vec4', shape)).toBe(true);
    expect(selectMatmulVariant(['vec4', 'register'], shape)).toBe('vec4');
    expect(selectMatmulVariant(['vec4', 'tiled', 'register'], { ...shape, K: 15, N: 10, strides: [120, 150, 80] })).toBe('tiled');
    expect(matmulFits('vec4', { ...shape, N: 10, strides: [128, 160, 80] })).toBe(false);
    expect(matmulFits('vec4', { ...shape, transA: true, transB: true, M: 6, strides: [96, 192, 72] })).toBe(false);
    // Ragged forms: A·Bᵀ with any N, op(A)·B with A read by element.
    expect(matmulFits('vec4', { ...shape, N: 10, transB: true, strides: [128, 160, 80] })).toBe(true);
    expect(matmulFits('vec4', { ...shape, transA: true, M: 6, strides: [96, 192, 72] })).toBe(true);
    expect(matmulFits('vec4', { ...shape, transA: true, transB: true })).toBe(false);
    expect(matmulFits('vec4', { ...shape, strides: [130, 194, 96] })).toBe(false);
    expect(selectMatmulVariant(['tiled'], shape)).toBe('tiled');
  });

  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('keys choices by adapter and remembers them', async () => {
    const store = new MemoryChoiceStore();
    const key = choiceKey({ vendor: 'v', architecture: 'a', device: 'd', description: 'v / a', isSoftware: false, features: [], limits: {} });
    expect(key).toContain('v / a');
    expect(await store.get(key)).toBeUndefined();
    await store.set(key, { adapter: 'v / a', matmul: ['tiled', 'register'], rowWidth: 'wide', probe: [], rowProbe: [], probedAt: 'now' });
    expect((await store.get(key))?.matmul).toEqual(['tiled', 'register']);
  });
});

describe('runtime helpers', () => {
  it('buckets pool sizes', () => {
    expect(bucketSize(1)).toBe(256);
    expect(bucketSize(257)).toBe(512);
    expect(bucketSize(1000)).toBe(1024);
    expect(bucketSize((1 << 20) + 1)).toBe(2 << 20);
  });

  it('packs uniform params and rejects bad values', () => {
    const buf = packParams([
      ['u32', 7],
      ['f32', 0.5],
      ['i32', -3],
    ]);
    expect(buf.byteLength).toBe(16);
    const v = new DataView(buf);
    expect([v.getUint32(0, true), v.getFloat32(4, true), v.getInt32(8, true)]).toEqual([7, 0.5, -3]);
    expect(() => packParams([['u32', -1]])).toThrow(/not a u32/);
    expect(() => packParams([['f32', NaN]])).toThrow(/not finite/);
  });

  it('keys pipelines by constants in a stable order', () => {
    const spec = kernel('demo', '@compute @workgroup_size(1) fn main() {}', 'main', []);
    expect(pipelineKey(spec, { B: true, A: 2 })).toBe(pipelineKey(spec, { A: 2, B: 1 }));
    expect(pipelineKey(spec, { A: 1 })).not.toBe(pipelineKey(spec, { A: 2 }));
    expect(() => kernel('demo', 'fn other() {}', 'main', [])).toThrow(/no entry point main/);
  });
});
