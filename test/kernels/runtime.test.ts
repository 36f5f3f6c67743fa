// The runtime itself on a real adapter: round trips of every dtype, readback of views, the pool,
// the pipeline cache, profiling, kernel choice, and the errors callers get for bad sizes.
import { testGpu, testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { MemoryChoiceStore, probeMatmul, probeRowWidth, tuneKernels } from '../../src/gpu/autotune';
import { matmul, MATMUL_VARIANTS } from '../../src/gpu/ops/matmul';

describe('runtime', () => {
  it('round-trips f32, u32 and i32 tensors', async () => {
    const gpu = await testGpu();
    expect(Array.from(await gpu.read(gpu.upload([1.5, -2, 3e-8], [3])))).toEqual([1.5, -2, Math.fround(3e-8)]);
    expect(Array.from(await gpu.read(gpu.upload([0, 4294967295, 7], [3], 'u32')))).toEqual([0, 4294967295, 7]);
    expect(Array.from(await gpu.read(gpu.upload([-5, 2147483647, 0], [3], 'i32')))).toEqual([-5, 2147483647, 0]);
    expect(() => gpu.upload([1, 2], [3])).toThrow(/2 elements/);
  });

  it('reuses pooled buffers and caches pipelines by constants', async () => {
    const gpu = await testGpu();
    const t = gpu.scratch([100]);
    gpu.release(t);
    const u = gpu.scratch([120]);
    expect(u.buffer).toBe(t.buffer);
    gpu.release(u);
    const a = gpu.upload([1, 2, 3, 4], [2, 2]);
    const c = gpu.empty([2, 2]);
    const before = gpu.pipelines.size;
    matmul(gpu, a, a, c, 2, 2, 2, { variant: 'register' });
    matmul(gpu, a, a, c, 2, 2, 2, { variant: 'register' });
    const afterOne = gpu.pipelines.size;
    matmul(gpu, a, a, c, 2, 2, 2, { variant: 'register', transB: true });
    expect(gpu.pipelines.size - afterOne).toBe(1);
    expect(afterOne - before).toBeLessThanOrEqual(1);
    // The last multiply wins: a·aᵀ.
    expect(Array.from(await gpu.read(c))).toEqual([5, 11, 11, 25]);
  });

  it('rejects operands too small for the shape', async () => {
    const gpu = await testGpu();
    const a = gpu.empty([6]);
    expect(() => matmul(gpu, a, a, a, 3, 3, 3)).toThrow(/A has 6 elements, needs 9/);
  });

  it('profiles dispatches with timestamp queries when the adapter has them', async () => {
    const gpu = await testGpu();
    if (!gpu.hasTimestamps) {
      expect(() => gpu.setProfiling(true)).toThrow(/timestamp-query/);
      return;
    }
    const a = gpu.upload(new Float32Array(64 * 64).fill(1), [64, 64]);
    const c = gpu.empty([64, 64]);
    gpu.setProfiling(true);
    matmul(gpu, a, a, c, 64, 64, 64, { variant: 'register' });
    matmul(gpu, a, a, c, 64, 64, 64, { variant: 'tiled' });
    const timings = await gpu.timings();
    gpu.setProfiling(false);
    expect(timings.map((t) => t.label)).toEqual(['matmul/matmul_register', 'matmul/matmul_tiled']);
    for (const t of timings) expect(t.ms).toBeGreaterThanOrEqual(0);
    expect((await gpu.readF32(c))[0]).toBe(64);
  });

  it('probes the matmul schedules once per adapter and remembers the choice', async () => {
    const gpu = await testGpu();
    const rows = await probeRowWidth(gpu, 8, 16, 1);
    for (const r of rows) expect(r.ms).toBeGreaterThanOrEqual(0);
    const probe = await probeMatmul(gpu, 32, 1);
    expect(probe.map((p) => p.variant)).toEqual([...MATMUL_VARIANTS]);
    for (const p of probe) expect(p.gflops).toBeGreaterThan(0);
    const store = new MemoryChoiceStore();
    const first = await tuneKernels(gpu, store);
    expect([...first.matmul].sort()).toEqual([...MATMUL_VARIANTS].sort());
    expect(gpu.preferences.matmul).toEqual(first.matmul);
    expect(gpu.preferences.rowWidth).toBe(first.rowWidth);
    expect(first.rowProbe.map((r) => r.width)).toEqual(['narrow', 'wide']);
    const second = await tuneKernels(gpu, store);
    expect(second).toEqual(first);
  });
});

describe('binding aliasing', () => {
  it('names a buffer bound read-only and writable, and overlapping writable views', async () => {
    const gpu = await testGpu();
    const { Tensor } = await import('../../src/gpu/tensor');
    const align = gpu.adapter.limits.minStorageBufferOffsetAlignment ?? 256;
    const arena = gpu.empty([(2 * align) / 4 + 4]);
    const a = new Tensor(arena.buffer, [2, 2], 'f32', 0);
    const c = new Tensor(arena.buffer, [2, 2], 'f32', align);
    expect(() => matmul(gpu, a, a, c, 2, 2, 2)).toThrow(/bindings 0 and 2 use one buffer, one read-only and one written/);
    const b = gpu.upload([1, 2, 3, 4], [2, 2]);
    const { axpy } = await import('../../src/gpu/ops/elementwise');
    // Views of one arena, each written by its own dispatch while the input lives elsewhere.
    axpy(gpu, 2, b, c);
    axpy(gpu, 1, b, a);
    expect(Array.from(await gpu.read(c))).toEqual([2, 4, 6, 8]);
    expect(Array.from(await gpu.read(a))).toEqual([1, 2, 3, 4]);
  });
});

// Node only (src/gpu/node-gpu.ts): Dawn's binding polls for finished work through the global
// setImmediate; its polls after the first few of a wait go on a 1 ms timer so the main thread
// does not spin against SwiftShader's threads. JavaScript callbacks are Node's as before.
describe.skipIf((testPlatform as string) !== 'node')('waiting for GPU work in Node', () => {
  it('leaves the main thread idle during a long wait, and setImmediate as it was for JavaScript', async () => {
    const gpu = await testGpu();
    const { existsSync, readFileSync } = await import('node:fs');
    const { promisify } = await import('node:util');
    expect(await promisify(setImmediate)('value')).toBe('value');
    expect(await new Promise((done) => setImmediate((a: number, b: number) => done(a + b), 2, 3))).toBe(5);
    // The main thread's CPU time (Linux: utime + stime of its task, in clock ticks of 10 ms).
    const proc = globalThis.process;
    const stat = `/proc/self/task/${proc.pid}/stat`;
    if (!existsSync(stat)) return;
    const ticks = (): number => {
      const text = readFileSync(stat, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]);
    };
    const R = 2048;
    const a = gpu.empty([R * 256]);
    const w = gpu.empty([256 * 256]);
    const c = gpu.empty([R * 256]);
    matmul(gpu, a, w, c, R, 256, 96, { transB: true });
    await gpu.sync();
    // Enough multiplies for a wait of a few hundred ms on a software adapter.
    const t0 = performance.now();
    const k0 = ticks();
    for (let i = 0; i < 20; i++) matmul(gpu, a, w, c, R, 256, 96, { transB: true });
    await gpu.readF32(gpu.empty([4]));
    const wallMs = performance.now() - t0;
    const busyMs = (ticks() - k0) * 10;
    // Spinning, the main thread was busy 30-40% of such a wait (measured: 330-600 ms of 1.0-1.8 s).
    expect(busyMs, `main thread busy ${busyMs} ms of a ${wallMs.toFixed(0)} ms wait`).toBeLessThan(0.15 * wallMs + 30);
  });
});
