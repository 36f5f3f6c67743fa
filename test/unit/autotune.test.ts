import { describe, expect, it } from 'vitest';
import { chooseFastest, choiceKey, median, MemoryChoiceStore } from '../../src/gpu/autotune';
import { bucketSize } from '../../src/gpu/pool';
import { packParams } from '../../src/gpu/kernel';
import { pipelineKey } from '../../src/gpu/pipelines';
import { kernel } from '../../src/gpu/kernel';

describe('kernel choice', () => {
  it('picks the fastest median and skips failed probes', () => {
    expect(chooseFastest([{ variant: 'register', ms: 5, gflops: 1 }, { variant: 'tiled', ms: 2, gflops: 2 }])).toBe('tiled');
    expect(chooseFastest([{ variant: 'register', ms: 5, gflops: 1 }, { variant: 'tiled', ms: NaN, gflops: NaN }])).toBe('register');
    expect(chooseFastest([{ variant: 'register', ms: Infinity, gflops: 0 }, { variant: 'tiled', ms: 9, gflops: 1 }])).toBe('tiled');
    expect(() => chooseFastest([])).toThrow(/no probe results/);
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
    await store.set(key, { adapter: 'v / a', matmul: 'tiled', probe: [], probedAt: 'now' });
    expect((await store.get(key))?.matmul).toBe('tiled');
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
