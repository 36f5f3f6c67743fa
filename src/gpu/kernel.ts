/**
 * A kernel is one WGSL entry point with an explicit bind-group layout (group 0, bindings in
 * order). Explicit layouts let several entry points of one file share binding numbers and let a
 * bind group carry a binding the entry point happens not to read.
 */

export type BindingKind = 'read' | 'write' | 'uniform';

export interface KernelSpec {
  /** Op family = WGSL file name without extension (`matmul` for shaders/matmul.wgsl). */
  family: string;
  entryPoint: string;
  code: string;
  /** Binding i of group 0 has kind bindings[i]. 'write' is read_write storage. */
  bindings: readonly BindingKind[];
}

export function kernel(family: string, code: string, entryPoint: string, bindings: readonly BindingKind[]): KernelSpec {
  if (!new RegExp(`fn\\s+${entryPoint}\\s*\\(`).test(code)) {
    throw new Error(`shaders/${family}.wgsl has no entry point ${entryPoint}`);
  }
  return { family, entryPoint, code, bindings };
}

/** Packs uniform parameters: each field is 4 bytes, in order; the result is padded to 16 bytes. */
export type ParamField = readonly ['u32' | 'i32' | 'f32', number];

export function packParams(fields: readonly ParamField[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(bytes);
  const view = new DataView(buf);
  fields.forEach(([type, value], i) => {
    if (!Number.isFinite(value)) throw new Error(`uniform field ${i} is not finite: ${value}`);
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'u32') {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`uniform field ${i} is not a u32: ${value}`);
      view.setUint32(i * 4, value, true);
    } else view.setInt32(i * 4, value, true);
  });
  return buf;
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
