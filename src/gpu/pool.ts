/**
 * Buffer pool: buffers are reused by (usage, size bucket). Sizes round up to a power of two
 * below 1 MiB and to a multiple of 1 MiB above, so a training step that allocates the same
 * activations every time gets the same buffers back without new allocations.
 */

export function bucketSize(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const MiB = 1 << 20;
  if (bytes < MiB) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / MiB) * MiB;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private liveBytes = 0;
  private pooledBytes = 0;

  /** `create`: makes a buffer (the runtime's, which counts it). */
  constructor(private readonly create: (desc: GPUBufferDescriptor) => GPUBuffer) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label = 'pooled'): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.free.get(`${usage}:${size}`);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.pooledBytes -= size;
      this.liveBytes += size;
      return reused;
    }
    this.liveBytes += size;
    return this.create({ size, usage, label });
  }

  release(buffer: GPUBuffer): void {
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.free.get(key);
    if (list === undefined) {
      list = [];
      this.free.set(key, list);
    }
    list.push(buffer);
    this.liveBytes -= buffer.size;
    this.pooledBytes += buffer.size;
  }

  /** Destroys every buffer that sits unused in the pool. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  stats(): { liveBytes: number; pooledBytes: number } {
    return { liveBytes: this.liveBytes, pooledBytes: this.pooledBytes };
  }
}
