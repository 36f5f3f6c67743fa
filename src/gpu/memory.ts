/**
 * Buffers too large for the device, said before the GPU is asked for them. Every tensor buffer is
 * bound whole by some kernel (parameters are split at the binding limit, activations are bound
 * whole), so the largest one can be is the smaller of maxBufferSize and
 * maxStorageBufferBindingSize. WebGPU answers a buffer over either with a validation error that
 * nothing sees and a run that goes on computing garbage; one over what the GPU has left with an
 * out-of-memory error, just as quiet (Gpu turns that one into GpuMemoryError at its next wait).
 */

/** A buffer the device cannot hold; `label` names it (the caller turns it into the setting to lower). */
export class GpuMemoryError extends Error {
  override name = 'GpuMemoryError';
  constructor(
    message: string,
    /** The buffer's label (e.g. "logits", "k-cache-0"), or null when unknown. */
    readonly label: string | null,
  ) {
    super(message);
  }
}

export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(bytes >= 2 ** 30 ? 0 : 1)} MiB` : `${bytes} bytes`;
}

/** The largest buffer of these limits and the limit that sets it. */
export function bufferCap(limits: BufferLimits): { bytes: number; limit: keyof BufferLimits } {
  return limits.maxStorageBufferBindingSize < limits.maxBufferSize
    ? { bytes: limits.maxStorageBufferBindingSize, limit: 'maxStorageBufferBindingSize' }
    : { bytes: limits.maxBufferSize, limit: 'maxBufferSize' };
}

/** Throws GpuMemoryError when a buffer of `bytes` named `label` is over the device's cap. */
export function checkBufferSize(limits: BufferLimits, bytes: number, label: string, shape?: readonly number[]): void {
  const cap = bufferCap(limits);
  if (bytes <= cap.bytes) return;
  const what = shape === undefined ? `"${label}"` : `"${label}" [${shape.join(', ')}]`;
  throw new GpuMemoryError(`the GPU buffer ${what} needs ${mib(bytes)}, more than this device's ${cap.limit} (${mib(cap.bytes)})`, label);
}

/** The buffer label in a WebGPU error message (Dawn: `[BufferDescriptor "label"]`, Chromium: `[Buffer "label"]`), or null. */
export function labelInMessage(message: string): string | null {
  const m = /\[Buffer(?:Descriptor)? "([^"]*)"\]/.exec(message);
  return m === null || m[1] === '' ? null : m[1];
}
