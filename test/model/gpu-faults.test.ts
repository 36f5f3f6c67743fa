// Faults of the device itself (gpu-node project only: it makes devices of its own, as the CLI
// does after a loss, and builds WebGPU error events as Dawn's binding allows):
// - a device lost without our asking ends every wait on the GPU with DeviceLostError, promptly,
//   so a run's await chain ends instead of hanging; our own destroy is no loss;
// - a buffer over the device's cap is refused before the GPU is asked (a trainer checks its
//   widest activation when it is made), and an out-of-memory error the device reports is thrown
//   by the next wait, naming the buffer.
import { testPlatform } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { GpuMemoryError } from '../../src/gpu/memory';
import { add } from '../../src/gpu/ops/elementwise';
import { DeviceLostError, Gpu, GpuValidationError } from '../../src/gpu/runtime';
import { ActivationArena } from '../../src/model/activation-sets';
import { BUILTIN_CONFIG } from '../../src/model/builtin';

const platform: string = testPlatform;

async function freshGpu(): Promise<Gpu> {
  const { createNodeGpu } = await import('../../src/gpu/node-gpu');
  return Gpu.create((await createNodeGpu()).gpu, 'Node (Dawn)');
}

/** `p`'s outcome and how long it took, or 'hung' after 10 s. */
async function settle(p: Promise<unknown>): Promise<{ outcome: unknown; ms: number }> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 10_000)));
  const outcome = await Promise.race([p.then((v) => ({ value: v }), (e: unknown) => e), hung]).finally(() => clearTimeout(timer));
  return { outcome, ms: performance.now() - t0 };
}

describe.skipIf(platform !== 'node')('device loss', () => {
  it('a readback pending at the loss, and every wait after it, reject with DeviceLostError', async () => {
    const gpu = await freshGpu();
    const t = gpu.upload([1, 2, 3], [3]);
    expect(Array.from(await gpu.readF32(t))).toEqual([1, 2, 3]);
    expect(gpu.lost).toBeNull();
    const pending = settle(gpu.readF32(t));
    gpu.device.destroy(); // not Gpu.destroy: the run did not ask for it
    const during = await pending;
    expect(during.outcome).toBeInstanceOf(DeviceLostError);
    expect((during.outcome as DeviceLostError).message).toBe('the GPU device was lost (destroyed: device was destroyed)');
    expect(gpu.lost).toEqual({ reason: 'destroyed', message: 'device was destroyed' });
    for (const wait of [() => gpu.readF32(t), () => gpu.sync()]) {
      const after = await settle(wait());
      expect(after.outcome).toBeInstanceOf(DeviceLostError);
      expect(after.ms).toBeLessThan(1000);
    }
    gpu.destroy();
  });

  it('our own destroy is not a loss', async () => {
    const gpu = await freshGpu();
    const t = gpu.upload([4], [1]);
    expect(Array.from(await gpu.readF32(t))).toEqual([4]);
    gpu.destroy();
    await gpu.device.lost;
    expect(gpu.lost).toBeNull();
  });

  it('refuses a buffer over the cap, and an activation arena whose logits would be, before allocating', async () => {
    const gpu = await freshGpu();
    const cap = Math.min(gpu.device.limits.maxBufferSize, gpu.device.limits.maxStorageBufferBindingSize);
    expect(() => gpu.empty([cap / 4 + 1], 'f32', 'too-big')).toThrow(GpuMemoryError);
    expect(() => gpu.empty([cap / 4 + 1], 'f32', 'too-big')).toThrow(/^the GPU buffer "too-big" \[\d+\] needs .* more than this device's max/);
    expect(() => gpu.scratch([cap / 4 + 1])).toThrow(/"scratch"/);
    // A vocabulary wider than the MLP, so the logits are the widest (the arena allocates nothing yet).
    const wide = { ...BUILTIN_CONFIG, vocabSize: 4 * BUILTIN_CONFIG.dFF };
    const rows = Math.ceil(cap / 4 / wide.vocabSize) + 1;
    expect(() => new ActivationArena(gpu, wide, rows, 1)).toThrow(`the GPU buffer "logits" [${rows}, ${wide.vocabSize}]`);
    // One that fits allocates nothing until used.
    new ActivationArena(gpu, BUILTIN_CONFIG, 2, 8).destroy();
    // Nothing reached the GPU: a read still works.
    expect(Array.from(await gpu.readF32(gpu.upload([7], [1])))).toEqual([7]);
    gpu.destroy();
  });

  it('an out-of-memory error the device reports is thrown by the next wait, naming the buffer', async () => {
    const gpu = await freshGpu();
    const t = gpu.upload([1], [1]);
    const error = new GPUOutOfMemoryError('Out of memory.\n - While calling [Device "exprl-lab"].CreateBuffer([BufferDescriptor "k-cache-0"]).');
    gpu.device.dispatchEvent(new GPUUncapturedErrorEvent('uncapturederror', { error }));
    const read = await settle(gpu.readF32(t));
    expect(read.outcome).toBeInstanceOf(GpuMemoryError);
    expect((read.outcome as GpuMemoryError).label).toBe('k-cache-0');
    expect((read.outcome as GpuMemoryError).message).toBe('the GPU ran out of memory: Out of memory.');
    gpu.destroy();
  });

  it('a command the device refused (a validation error nothing captured) is thrown by every later wait, not taken for out of memory', async () => {
    const gpu = await freshGpu();
    const t = gpu.upload([2], [1]);
    expect(Array.from(await gpu.readF32(t))).toEqual([2]);
    // A real refused command: a dispatch bound to a destroyed buffer.
    const bad = gpu.upload([1], [1]);
    bad.buffer.destroy();
    gpu.device.queue.writeBuffer(bad.buffer, 0, new Float32Array([3]));
    const read = await settle(gpu.readF32(t));
    expect(read.outcome).toBeInstanceOf(GpuValidationError);
    expect(read.outcome).not.toBeInstanceOf(GpuMemoryError);
    expect((read.outcome as Error).message).toMatch(/^the GPU refused a command, so nothing it computed since can be trusted: /);
    // And the next one too: the device's results stay suspect.
    expect((await settle(gpu.readF32(t))).outcome).toBeInstanceOf(GpuValidationError);
    gpu.destroy();
  });

  it('a buffer destroyed while recorded work still uses it: that work is submitted first, so nothing is refused', async () => {
    const gpu = await freshGpu();
    const a = gpu.upload([1, 2, 3], [3]);
    const b = gpu.upload([10, 20, 30], [3]);
    const c = gpu.empty([3]);
    add(gpu, a, b, c); // recorded, not yet submitted
    a.buffer.destroy();
    b.buffer.destroy();
    expect(Array.from(await gpu.readF32(c))).toEqual([11, 22, 33]);
    gpu.destroy();
  });
});
