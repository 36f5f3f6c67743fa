/**
 * Wrapper for shaders/rope.wgsl: rotary position embedding (Hugging Face Llama "rotate_half"
 * convention) and its backward, with cos/sin tables computed in float64 here on the CPU.
 */
import code from '../../../shaders/rope.wgsl?raw';
import { kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';

const BINDINGS = ['read', 'read', 'read', 'read', 'write', 'uniform'] as const;
export const ropeKernels = {
  forward: kernel('rope', code, 'rope_forward', BINDINGS),
  backward: kernel('rope', code, 'rope_backward', BINDINGS),
} as const;

/** Invocations per workgroup of every rope and attention entry point. */
export const LINEAR_WORKGROUP = 64;
const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * A 2-D grid of workgroups covering `invocations` linear invocations (the shader computes the
 * linear index as (wid.y · gx + wid.x) · 64 + lid). The grid is kept near square rather than
 * filling x first, so that every size beyond a handful of workgroups exercises the 2-D indexing
 * and the tail bounds check in ordinary tests; at most gx − 1 workgroups idle.
 */
export function linearGrid(invocations: number, what: string): [number, number] {
  const groups = Math.ceil(invocations / LINEAR_WORKGROUP);
  if (groups === 0) return [0, 0];
  const gx = Math.min(MAX_WORKGROUPS_PER_DIM, Math.ceil(Math.sqrt(groups)));
  const gy = Math.ceil(groups / gx);
  if (gy > MAX_WORKGROUPS_PER_DIM) throw new Error(`${what}: ${invocations} invocations exceed a ${MAX_WORKGROUPS_PER_DIM}² grid`);
  return [gx, gy];
}

/** cos/sin of pos · theta^(−2i/headDim) for pos < maxPos, i < headDim/2, row-major [maxPos, headDim/2]. */
export interface RopeTables {
  maxPos: number;
  headDim: number;
  theta: number;
  cos: Float64Array;
  sin: Float64Array;
}

function checkHeadDim(headDim: number, what: string): void {
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new Error(`${what}: head size ${headDim} must be a positive even integer (rotate_half pairs i with i + hd/2)`);
  }
}

/** The tables in float64; angles are formed in float64 too, so large positions keep their precision. */
export function ropeTables(maxPos: number, headDim: number, theta = 10000): RopeTables {
  checkHeadDim(headDim, 'ropeTables');
  if (!Number.isInteger(maxPos) || maxPos < 1) throw new Error(`ropeTables: maxPos ${maxPos} must be a positive integer`);
  if (!(theta > 0)) throw new Error(`ropeTables: theta ${theta} must be positive`);
  const half = headDim / 2;
  const cos = new Float64Array(maxPos * half);
  const sin = new Float64Array(maxPos * half);
  for (let i = 0; i < half; i++) {
    const freq = Math.pow(theta, (-2 * i) / headDim);
    for (let pos = 0; pos < maxPos; pos++) {
      const angle = pos * freq;
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { maxPos, headDim, theta, cos, sin };
}

/** The tables as float32 tensors, as the kernels read them. */
export interface RopeTableTensors {
  maxPos: number;
  headDim: number;
  cos: Tensor;
  sin: Tensor;
}

export function uploadRopeTables(gpu: Gpu, tables: RopeTables): RopeTableTensors {
  const shape = [tables.maxPos, tables.headDim / 2];
  return {
    maxPos: tables.maxPos,
    headDim: tables.headDim,
    cos: gpu.upload(Float32Array.from(tables.cos), shape, 'f32', 'rope-cos'),
    sin: gpu.upload(Float32Array.from(tables.sin), shape, 'f32', 'rope-sin'),
  };
}

function rope(gpu: Gpu, which: 'forward' | 'backward', x: Tensor, positions: Tensor, tables: RopeTableTensors, y: Tensor, rows: number, nHeads: number): void {
  const name = `rope_${which}`;
  const [xName, yName] = which === 'forward' ? ['x', 'y'] : ['dy', 'dx'];
  const headDim = tables.headDim;
  checkHeadDim(headDim, name);
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(nHeads) || nHeads < 1) {
    throw new Error(`${name}: rows ${rows} and nHeads ${nHeads} must be non-negative / positive integers`);
  }
  const elems = rows * nHeads * headDim;
  const need = (t: Tensor, n: number, dtype: string, what: string): void => {
    if (t.dtype !== dtype) throw new Error(`${name}: ${what} is ${t}, must be ${dtype}`);
    if (t.size < n) throw new Error(`${name}: ${what} has ${t.size} elements, needs ${n} (rows=${rows} nHeads=${nHeads} headDim=${headDim})`);
  };
  need(x, elems, 'f32', xName);
  need(y, elems, 'f32', yName);
  need(positions, rows, 'u32', 'positions');
  need(tables.cos, (tables.maxPos * headDim) / 2, 'f32', 'cos table');
  need(tables.sin, (tables.maxPos * headDim) / 2, 'f32', 'sin table');
  if (x.buffer === y.buffer) throw new Error(`${name}: ${yName} must not share a buffer with ${xName} (the kernel is out of place)`);
  if (elems >= 2 ** 32) throw new Error(`${name}: ${elems} elements overflow u32 indexing`);
  gpu.run(ropeKernels[which], {
    bindings: [x, tables.cos, tables.sin, positions, y],
    params: packParams([
      ['u32', rows],
      ['u32', nHeads],
      ['u32', headDim],
      ['u32', tables.maxPos],
    ]),
    workgroups: linearGrid((rows * nHeads * headDim) / 2, name),
  });
}

/** Records y = rope(x) for x [rows, nHeads, headDim] with row r at position positions[r] (u32). */
export function ropeForward(gpu: Gpu, x: Tensor, positions: Tensor, tables: RopeTableTensors, y: Tensor, rows: number, nHeads: number): void {
  rope(gpu, 'forward', x, positions, tables, y, rows, nHeads);
}

/** Records dx = rope⁻¹(dy), the gradient of ropeForward. */
export function ropeBackward(gpu: Gpu, dy: Tensor, positions: Tensor, tables: RopeTableTensors, dx: Tensor, rows: number, nHeads: number): void {
  rope(gpu, 'backward', dy, positions, tables, dx, rows, nHeads);
}
