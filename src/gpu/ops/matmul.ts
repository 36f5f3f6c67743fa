/** Wrapper for shaders/matmul.wgsl: C = alpha · op(A) · op(B) (+ C), batched, in three schedules. */
import code from '../../../shaders/matmul.wgsl?raw';
import { ceilDiv, kernel, packParams } from '../kernel';
import type { Gpu } from '../runtime';
import type { Tensor } from '../tensor';

export const MATMUL_VARIANTS = ['register', 'tiled', 'vec4'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

const BINDINGS = ['read', 'read', 'write', 'uniform'] as const;
export const matmulKernels = {
  register: kernel('matmul', code, 'matmul_register', BINDINGS),
  tiled: kernel('matmul', code, 'matmul_tiled', BINDINGS),
  vec4: kernel('matmul', code, 'matmul_vec4', BINDINGS),
} as const;

/** The vec4 schedule's entry points: matmul_vec4 itself, and its forms for ragged shapes. */
export const matmulVec4Kernels = {
  matmul_vec4: matmulKernels.vec4,
  matmul_vec4_ragged_n: kernel('matmul', code, 'matmul_vec4_ragged_n', BINDINGS),
  matmul_vec4_scalar_a: kernel('matmul', code, 'matmul_vec4_scalar_a', BINDINGS),
} as const;
export type MatmulVec4Entry = keyof typeof matmulVec4Kernels;

/** Output columns and rows covered by one workgroup of each schedule. */
const OUTPUT_TILE: Record<MatmulVariant, { cols: number; rows: number }> = {
  register: { cols: 32, rows: 32 },
  tiled: { cols: 64, rows: 64 },
  vec4: { cols: 64, rows: 128 },
};

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Batch strides of A, B, C in elements (only their divisibility matters here). */
  strides: readonly number[];
}

/**
 * Which entry point of the vec4 schedule runs a shape, or null when none can: vec4 loads need rows
 * that split into whole vec4s. matmul_vec4 when every operand's do; else A·Bᵀ with K % 4 == 0 and
 * any N (matmul_vec4_ragged_n: C written by element); else op(A)·B with N % 4 == 0 and any M, K
 * (matmul_vec4_scalar_a: A read by element). Fast paths for an output layer whose vocabulary is
 * not a multiple of 4, which otherwise falls back to the 4×4 scalar schedule.
 */
export function vec4Entry(s: MatmulShape): MatmulVec4Entry | null {
  const [sa, sb, sc] = s.strides;
  if (s.K % 4 === 0 && s.N % 4 === 0 && (!s.transA || s.M % 4 === 0) && !(s.transA && s.transB) && s.strides.every((x) => x % 4 === 0)) return 'matmul_vec4';
  if (!s.transA && s.transB && s.K % 4 === 0 && sa % 4 === 0 && sb % 4 === 0) return 'matmul_vec4_ragged_n';
  if (!s.transB && s.N % 4 === 0 && sb % 4 === 0 && sc % 4 === 0) return 'matmul_vec4_scalar_a';
  return null;
}

/** Whether a schedule can run a shape (see vec4Entry; the other schedules take any shape). */
export function matmulFits(variant: MatmulVariant, s: MatmulShape): boolean {
  return variant !== 'vec4' || vec4Entry(s) !== null;
}

/** The first schedule in order of preference (fastest first, from the probe) that fits the shape. */
export function selectMatmulVariant(preference: readonly MatmulVariant[], s: MatmulShape): MatmulVariant {
  for (const v of preference) if (matmulFits(v, s)) return v;
  return 'register';
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** C += alpha · op(A)·op(B) instead of C = alpha · op(A)·op(B). */
  accumulate?: boolean;
  alpha?: number;
  /** Number of matrices; each operand's batch stride is its matrix size unless given. */
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** A schedule to use instead of the device's preference (from the start-up probe). */
  variant?: MatmulVariant;
}


/** Records C[b] = alpha·op(A[b])·op(B[b]) for M×K times K×N. */
export function matmul(gpu: Gpu, a: Tensor, b: Tensor, c: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): void {
  const batch = o.batch ?? 1;
  const strideA = o.strideA ?? M * K;
  const strideB = o.strideB ?? K * N;
  const strideC = o.strideC ?? M * N;
  const need = (t: Tensor, stride: number, elems: number, name: string): void => {
    const required = (batch - 1) * stride + elems;
    if (t.size < required) throw new Error(`matmul: ${name} has ${t.size} elements, needs ${required} (M=${M} N=${N} K=${K} batch=${batch})`);
  };
  need(a, strideA, M * K, 'A');
  need(b, strideB, K * N, 'B');
  need(c, strideC, M * N, 'C');
  if (M === 0 || N === 0 || batch === 0) return;
  const shape: MatmulShape = { M, N, K, transA: o.transA ?? false, transB: o.transB ?? false, strides: [strideA, strideB, strideC] };
  const variant = o.variant ?? selectMatmulVariant(gpu.preferences.matmul, shape);
  if (!matmulFits(variant, shape)) {
    throw new Error(`matmul: the ${variant} schedule cannot run M=${M} N=${N} K=${K} transA=${shape.transA} transB=${shape.transB}`);
  }
  const tile = OUTPUT_TILE[variant];
  const k = variant === 'vec4' ? matmulVec4Kernels[vec4Entry(shape)!] : matmulKernels[variant];
  gpu.run(k, {
    bindings: [a, b, c],
    params: packParams([
      ['u32', M],
      ['u32', N],
      ['u32', K],
      ['u32', strideA],
      ['u32', strideB],
      ['u32', strideC],
      ['f32', o.alpha ?? 1],
    ]),
    workgroups: [ceilDiv(N, tile.cols), ceilDiv(M, tile.rows), batch],
    constants: { TRANS_A: o.transA ?? false, TRANS_B: o.transB ?? false, ACCUMULATE: o.accumulate ?? false },
  });
}
