/**
 * Wrapper for shaders/rope.wgsl: rotary position embedding (Hugging Face Llama "rotate_half"
 * convention) and its backward, with cos/sin tables computed in float64 here on the CPU.
 */
import code from '../../../shaders/rope.wgsl?raw';
import { workgroupGrid, type GridOptions } from '../grid';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import { needInt, needTensor, needU32Index } from '../validate';

const BINDINGS = ['read', 'read', 'read', 'read', 'write', 'uniform'] as const;
export const ropeKernels = {
  forward: kernel('rope', code, 'rope_forward', BINDINGS),
  backward: kernel('rope', code, 'rope_backward', BINDINGS),
} as const;

/** Invocations per workgroup of every rope and attention entry point. */
export const LINEAR_WORKGROUP = 64;

/**
 * The grid of `invocations` linear invocations, LINEAR_WORKGROUP per workgroup; the shaders'
 * linear index is (wid.y · gx + wid.x) · 64 + lid. Tests lower o.maxWorkgroupsPerDim (to
 * ⌈√workgroups⌉, say) so that small sizes exercise the 2-D indexing and the tail bounds check.
 */
export function linearGrid(gpu: Gpu, invocations: number, o: GridOptions = {}): [number, number] {
  return workgroupGrid(gpu, ceilDiv(invocations, LINEAR_WORKGROUP), o);
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
  needInt('ropeTables', 'maxPos', maxPos, 1);
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

function rope(gpu: Gpu, which: 'forward' | 'backward', x: Tensor, positions: Tensor, tables: RopeTableTensors, y: Tensor, rows: number, nHeads: number, o: GridOptions): void {
  const name = `rope_${which}`;
  const [xName, yName] = which === 'forward' ? ['x', 'y'] : ['dy', 'dx'];
  const headDim = tables.headDim;
  checkHeadDim(headDim, name);
  needInt(name, 'rows', rows);
  needInt(name, 'nHeads', nHeads, 1);
  const elems = rows * nHeads * headDim;
  const at = ` (rows=${rows} nHeads=${nHeads} headDim=${headDim})`;
  needTensor(name, xName, x, elems, 'f32', at);
  needTensor(name, yName, y, elems, 'f32', at);
  needTensor(name, 'positions', positions, rows, 'u32', at);
  needTensor(name, 'cos table', tables.cos, (tables.maxPos * headDim) / 2, 'f32', at);
  needTensor(name, 'sin table', tables.sin, (tables.maxPos * headDim) / 2, 'f32', at);
  needU32Index(name, 'elements', elems);
  gpu.run(ropeKernels[which], {
    bindings: [x, tables.cos, tables.sin, positions, y],
    params: packParams([
      ['u32', rows],
      ['u32', nHeads],
      ['u32', headDim],
      ['u32', tables.maxPos],
    ]),
    workgroups: linearGrid(gpu, elems / 2, o),
  });
}

/**
 * Records y = rope(x) for x [rows, nHeads, headDim] with row r at position positions[r] (u32).
 * Out of place: y cannot share x's buffer (the runtime refuses a buffer bound read-only and written).
 */
export function ropeForward(gpu: Gpu, x: Tensor, positions: Tensor, tables: RopeTableTensors, y: Tensor, rows: number, nHeads: number, o: GridOptions = {}): void {
  rope(gpu, 'forward', x, positions, tables, y, rows, nHeads, o);
}

/** Records dx = rope⁻¹(dy), the gradient of ropeForward. */
export function ropeBackward(gpu: Gpu, dy: Tensor, positions: Tensor, tables: RopeTableTensors, dx: Tensor, rows: number, nHeads: number, o: GridOptions = {}): void {
  rope(gpu, 'backward', dy, positions, tables, dx, rows, nHeads, o);
}
