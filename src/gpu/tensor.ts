/** A tensor is a GPU buffer with a shape and an element type. Layout is always row-major, dense. */

export type DType = 'f32' | 'u32' | 'i32';

export type HostArray = Float32Array | Uint32Array | Int32Array;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid tensor dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function hostArray(dtype: DType, length: number): HostArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(length);
    case 'u32':
      return new Uint32Array(length);
    case 'i32':
      return new Int32Array(length);
  }
}

export class Tensor {
  readonly size: number;

  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType = 'f32',
    /** Byte offset of element 0 inside `buffer` (a multiple of the device's storage offset alignment). */
    readonly offsetBytes = 0,
    /**
     * Bytes bound when a kernel uses this tensor; by default exactly its elements, so views of one
     * buffer that do not overlap can be bound together (one writable). Tests widen it to reach a guard band.
     */
    readonly bindBytes = Math.max(4, numel(shape) * 4),
  ) {
    this.size = numel(shape);
    if (offsetBytes + this.size * 4 > buffer.size) {
      throw new Error(
        `tensor of shape [${shape.join(', ')}] at byte ${offsetBytes} needs ${offsetBytes + this.size * 4} bytes, ` +
          `buffer ${buffer.label || ''} has ${buffer.size}`,
      );
    }
    if (offsetBytes + bindBytes > buffer.size) throw new Error(`binding of ${this} runs past the end of its buffer`);
  }

  /** A view of the same storage with another shape of the same element count. */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) throw new Error(`cannot reshape ${this} to [${shape.join(', ')}]`);
    return new Tensor(this.buffer, shape, this.dtype, this.offsetBytes, this.bindBytes);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  toString(): string {
    return `Tensor<${this.dtype}>[${this.shape.join(', ')}]`;
  }
}
