// GPU memory in use by category (src/gpu/memory-use.ts): every label the model, run and runtime
// code gives its buffers lands in the category it belongs to; the ledger counts a buffer from
// creation to its first destroy, whoever calls it; totals add up. No GPU: stand-in buffers.
import { describe, expect, it } from 'vitest';
import { formatBytes, MEMORY_CATEGORIES, memoryCategory, memoryDelta, MemoryLedger, trackBuffer, type MemoryCategory } from '../../src/gpu/memory-use';

class FakeBuffer {
  destroyed = 0;
  constructor(readonly size: number) {}
  destroy(): void {
    this.destroyed++;
  }
}

describe('memory categories', () => {
  const cases: [string | null | undefined, MemoryCategory][] = [
    ['params-0', 'weights'],
    ['params-12', 'weights'],
    ['params-clone-0', 'frozen'],
    ['grads-1', 'gradients'],
    ['adam-m-0', 'optimizer'],
    ['adam-v-3', 'optimizer'],
    ['grad-norm', 'optimizer'],
    ['k-cache-0', 'kv-cache'],
    ['v-cache-11', 'kv-cache'],
    ['dec-logits', 'sampling'],
    ['dec-k', 'sampling'],
    ['dec-tokens', 'sampling'],
    ['resid-3', 'activations'],
    ['logits', 'activations'],
    ['dlogits', 'activations'],
    ['dq-pre', 'activations'],
    ['tokens', 'activations'],
    ['positions', 'activations'],
    ['rope-cos', 'activations'],
    ['policy-stash', 'activations'],
    ['policy-adv', 'activations'],
    ['sft-mask', 'activations'],
    ['scratch', 'scratch'],
    ['uniforms', 'uniforms'],
    ['staging', 'staging'],
    ['profiler-read', 'staging'],
    ['probe-a', 'other'],
    ['', 'other'],
    [null, 'other'],
    [undefined, 'other'],
  ];
  it.each(cases)('%s is %s', (label, category) => {
    expect(memoryCategory(label)).toBe(category);
  });

  it('every category has a name, once', () => {
    const names = MEMORY_CATEGORIES.map((c) => c.category);
    expect(new Set(names).size).toBe(names.length);
    for (const { category } of cases.map(([, category]) => ({ category }))) expect(names).toContain(category);
  });
});

describe('memory ledger', () => {
  it('counts buffers by category until their first destroy; the buffer is still destroyed', () => {
    const ledger = new MemoryLedger();
    const base = ledger.snapshot();
    expect(base.bytes).toBe(0);
    const w = trackBuffer(new FakeBuffer(1024), 'params-0', ledger);
    const m = trackBuffer(new FakeBuffer(1024), 'adam-m-0', ledger);
    const v = trackBuffer(new FakeBuffer(1024), 'adam-v-0', ledger);
    const a = trackBuffer(new FakeBuffer(300), 'logits', ledger);
    let s = ledger.snapshot();
    expect(s.bytes).toBe(3372);
    expect(s.buffers).toBe(4);
    expect(s.byCategory.weights).toEqual({ bytes: 1024, buffers: 1 });
    expect(s.byCategory.optimizer).toEqual({ bytes: 2048, buffers: 2 });
    expect(s.byCategory.activations).toEqual({ bytes: 300, buffers: 1 });
    // The categories add up to the total.
    expect(Object.values(s.byCategory).reduce((n, c) => n + c.bytes, 0)).toBe(s.bytes);

    a.destroy();
    a.destroy();
    expect(a.destroyed).toBe(2);
    s = ledger.snapshot();
    expect(s.byCategory.activations).toEqual({ bytes: 0, buffers: 0 });
    expect(s.bytes).toBe(3072);
    expect(memoryDelta(s, base).optimizer).toEqual({ bytes: 2048, buffers: 2 });

    for (const b of [w, m, v]) b.destroy();
    s = ledger.snapshot();
    expect(s.bytes).toBe(0);
    expect(s.buffers).toBe(0);
    expect(s.peakBytes).toBe(3372);
    expect(Object.values(memoryDelta(s, base)).every((c) => c.bytes === 0 && c.buffers === 0)).toBe(true);
  });

  it('a snapshot is a copy: later changes do not reach it', () => {
    const ledger = new MemoryLedger();
    const s = ledger.snapshot();
    trackBuffer(new FakeBuffer(8), 'scratch', ledger);
    expect(s.byCategory.scratch.bytes).toBe(0);
    expect(ledger.snapshot().byCategory.scratch.bytes).toBe(8);
  });

  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12 * 1024)).toBe('12.0 KiB');
    expect(formatBytes(3.4 * 2 ** 20)).toBe('3.4 MiB');
    expect(formatBytes(1.2 * 2 ** 30)).toBe('1.20 GiB');
  });
});
