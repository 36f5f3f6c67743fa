/**
 * Test helpers shared by every kernel test: seeded random inputs, outputs poisoned and fenced by
 * guard bands, and relative-L2 comparison against the float64 reference where NaN never passes.
 */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/runtime';
import { numel, Tensor, type DType, type HostArray } from '../../src/gpu/tensor';

/** Small, fast, seeded PRNG (mulberry32) for test inputs. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh seed per call, printed on failure, so every run sees new inputs. */
export function freshSeed(): number {
  return (Math.random() * 0x7fffffff) >>> 0;
}

export function randn(n: number, rand: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rand();
    const v = rand();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export function uniform(n: number, rand: () => number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

export function randInts(n: number, rand: () => number, hiExclusive: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * hiExclusive);
  return out;
}

/** Relative L2 error ‖got − want‖ / max(‖want‖, tiny); Infinity when `got` has a non-finite value. */
export function relL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    const d = got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  if (den === 0) return Math.sqrt(num) === 0 ? 0 : Math.sqrt(num) / 1e-30;
  return Math.sqrt(num / den);
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): number {
  const err = relL2(got, want);
  expect(err, `${what}: relative L2 error ${err} exceeds ${tol}`).toBeLessThanOrEqual(tol);
  return err;
}

/** Poison patterns: a quiet NaN for float outputs, a recognisable word for integer ones. */
const POISON_F32_BITS = 0x7fc0dead;
const POISON_INT = 0xdeadbeef;
const GUARD_BITS = 0x7fa11a5e;

export interface FencedOutput {
  tensor: Tensor;
  /** Reads the output back and fails when a guard word changed. */
  read(): Promise<HostArray>;
}

/**
 * An output tensor inside a larger buffer: a guard band before and after (`guard` bytes, at least
 * the storage offset alignment), the guards filled with GUARD_BITS, the output with poison.
 * The binding runs to the end of the buffer, so a kernel writing past its output lands in the
 * tail guard and is caught (ordinary tensors bind exactly their elements).
 */
export function fencedOutput(gpu: Gpu, shape: readonly number[], dtype: DType = 'f32', initial?: HostArray): FencedOutput {
  const n = numel(shape);
  const align = gpu.adapter.limits.minStorageBufferOffsetAlignment ?? 256;
  const guard = Math.max(align, 256);
  const total = guard + Math.ceil((n * 4) / guard) * guard + guard;
  const buffer = gpu.device.createBuffer({
    size: total,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    label: 'fenced-output',
  });
  const words = new Uint32Array(total / 4);
  words.fill(GUARD_BITS);
  const body = words.subarray(guard / 4, guard / 4 + n);
  if (initial !== undefined) {
    if (initial.length !== n) throw new Error('initial output has the wrong size');
    body.set(new Uint32Array(initial.buffer, initial.byteOffset, n));
  } else body.fill(dtype === 'f32' ? POISON_F32_BITS : POISON_INT);
  gpu.device.queue.writeBuffer(buffer, 0, words);
  // The binding reaches into the tail guard, so a kernel writing past its output is caught there.
  const tensor = new Tensor(buffer, shape, dtype, guard, total - guard);
  return {
    tensor,
    async read() {
      const whole = new Tensor(buffer, [total / 4], 'u32');
      const all = (await gpu.read(whole)) as Uint32Array;
      let bad = -1;
      for (let i = 0; i < guard / 4; i++) if (all[i] !== GUARD_BITS) bad = i;
      for (let i = guard / 4 + n; i < all.length; i++) if (all[i] !== GUARD_BITS && bad < 0) bad = i;
      expect(bad, `guard word ${bad} of the output buffer was overwritten`).toBe(-1);
      const out = all.slice(guard / 4, guard / 4 + n);
      if (dtype === 'f32') return new Float32Array(out.buffer);
      if (dtype === 'i32') return new Int32Array(out.buffer);
      return out;
    },
  };
}

/** Fails on any GPU validation error raised while `f` records and submits work. */
export async function noGpuErrors<T>(gpu: Gpu, f: () => T | Promise<T>): Promise<T> {
  gpu.device.pushErrorScope('validation');
  gpu.device.pushErrorScope('out-of-memory');
  const result = await f();
  gpu.submit();
  const oom = await gpu.device.popErrorScope();
  const validation = await gpu.device.popErrorScope();
  expect(oom?.message ?? null, 'GPU out-of-memory error').toBeNull();
  expect(validation?.message ?? null, 'GPU validation error').toBeNull();
  return result;
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}
