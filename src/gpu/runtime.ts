/**
 * The runtime: owns a device, a buffer pool, the pipeline cache and the command encoder that
 * the current step is being recorded into. Kernels are recorded with `run`; nothing reaches the
 * GPU until `submit` (or a readback, which submits first). All dispatches of a step share one
 * compute pass: WebGPU makes each dispatch's writes visible to the next.
 */
import { acquireDevice, type AcquiredDevice, type AdapterReport } from './device';
import type { KernelSpec } from './kernel';
import { checkBufferSize, GpuMemoryError, labelInMessage } from './memory';
import { MemoryLedger, trackBuffer } from './memory-use';
import { PipelineCache, type Constants } from './pipelines';
import { BufferPool } from './pool';
import type { MatmulVariant } from './ops/matmul';
import { hostArray, numel, Tensor, type DType, type HostArray } from './tensor';

/**
 * Kernel variants this device runs, in effect until the start-up probe (`tuneKernels`) replaces
 * them with measured choices. The defaults suit real GPUs.
 */
export interface KernelPreferences {
  /** Matmul schedules, fastest first; each multiply takes the first that fits its shape. */
  matmul: MatmulVariant[];
  /** Threads per row of row-wise kernels: 'wide' (up to a family's GPU cap) or 'narrow' (a few). */
  rowWidth: 'narrow' | 'wide';
}

export type Binding = Tensor | GPUBuffer;

export interface RunOptions {
  bindings: readonly Binding[];
  /** Uniform bytes for the binding whose kind is 'uniform' (at most one per kernel). */
  params?: ArrayBuffer;
  workgroups: readonly [number, number?, number?];
  constants?: Constants;
}

export interface KernelTiming {
  label: string;
  ms: number;
}

/** How a device ended without our asking (GPUDeviceLostInfo, copied). */
export interface DeviceLoss {
  /** 'destroyed' or 'unknown' (a driver reset, the GPU removed, the device out of memory). */
  reason: string;
  message: string;
}

/**
 * The device was lost and the run did not ask for it (its own `destroy` at shutdown is asked
 * for). Every wait on the GPU rejects with this once the loss is known, so an await chain ends
 * instead of hanging on work that will never finish; the GPU's buffers are gone with it.
 */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(readonly loss: DeviceLoss) {
    super(`the GPU device was lost (${loss.reason}${loss.message === '' ? '' : `: ${loss.message}`})`);
  }
}

/**
 * The device refused a command outside any error scope (a WebGPU validation error). WebGPU only
 * reports it, and carries on without the refused work, so whatever was computed since used
 * stale or empty buffers: every later wait on the GPU throws this instead of returning it.
 */
export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
}

/**
 * How long a failed readback waits for the device's `lost` promise: in Dawn a readback pending at
 * a loss rejects (AbortError) about when `lost` resolves, in either order. Failures only.
 */
const LOSS_SETTLE_MS = 1000;

/** Usage of every tensor buffer. Read lazily: in Node the globals appear when the GPU is created. */
function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

export class Gpu {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingUniforms: GPUBuffer[] = [];
  private profiler: Profiler | null = null;
  /** Entry points dispatched so far, for coverage reports. */
  readonly dispatched = new Set<string>();
  /** Bytes of this device's live buffers by what they hold (every buffer is made by createBuffer). */
  readonly memory = new MemoryLedger();
  preferences: KernelPreferences = { matmul: ['tiled', 'vec4', 'register'], rowWidth: 'wide' };
  /** Our own destroy has begun: a loss from now on was asked for. */
  private closing = false;
  private lossSeen: DeviceLoss | null = null;
  /** Rejects with DeviceLostError at a loss we did not ask for; never settles otherwise. */
  private readonly lossRejection: Promise<never>;
  /** The first error the device reported outside an error scope (out of memory, a refused command); every later wait throws it. */
  private deviceError: GpuMemoryError | GpuValidationError | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
  ) {
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool((desc) => this.createBuffer(desc));
    this.lossRejection = device.lost.then((info) => {
      if (this.closing) return new Promise<never>(() => {});
      this.lossSeen = { reason: String(info.reason), message: info.message };
      throw new DeviceLostError(this.lossSeen);
    });
    // Waits race against it; a loss while nothing waits must not be an unhandled rejection.
    this.lossRejection.catch(() => {});
    // A buffer the GPU had no memory for is an invalid one that every later use silently skips,
    // and a refused command is skipped just as silently: either way what follows is garbage.
    device.addEventListener('uncapturederror', (ev) => {
      const error = (ev as GPUUncapturedErrorEvent).error;
      if (this.deviceError !== null) return;
      const first = error.message.split('\n')[0];
      this.deviceError =
        typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError
          ? new GpuMemoryError(`the GPU ran out of memory: ${first}`, labelInMessage(error.message))
          : new GpuValidationError(`the GPU refused a command, so nothing it computed since can be trusted: ${first}`);
    });
  }

  /** How the device was lost without our asking; null while it lives (or after our own destroy). */
  get lost(): DeviceLoss | null {
    return this.lossSeen;
  }

  /**
   * `work` (a wait on the GPU), or DeviceLostError as soon as the device is lost unasked: the
   * promise of work on a lost device may reject with something vaguer (AbortError) or never settle.
   * After an out-of-memory or validation error the wait throws it: what was computed used an
   * invalid buffer, or lacks the refused work.
   */
  private async whileAlive<T>(work: Promise<T>): Promise<T> {
    let done: T;
    try {
      done = await Promise.race([work, this.lossRejection]);
    } catch (e) {
      if (this.lossSeen === null && !this.closing) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const settle = new Promise<void>((resolve) => (timer = setTimeout(resolve, LOSS_SETTLE_MS)));
        await Promise.race([this.lossRejection, settle]).finally(() => clearTimeout(timer));
      }
      throw e;
    }
    if (this.deviceError !== null) throw this.deviceError;
    return done;
  }

  static async create(gpu: GPU | undefined, where?: string): Promise<Gpu> {
    const acquired: AcquiredDevice = await acquireDevice(gpu, { where });
    return new Gpu(acquired.device, acquired.report);
  }

  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /** Turns per-dispatch GPU timing on (one compute pass per dispatch) or off. */
  setProfiling(on: boolean): void {
    this.submit();
    if (on && !this.hasTimestamps) throw new Error('this adapter has no timestamp-query feature; profiling is unavailable');
    this.profiler = on ? new Profiler(this.device, (desc) => this.createBuffer(desc)) : null;
  }

  // ---- tensors -------------------------------------------------------------------------------

  /** Every buffer of this device is made here: counted in `memory` by its label until destroyed. */
  createBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    const buffer = trackBuffer(this.device.createBuffer(desc), desc.label, this.memory);
    // Work recorded but not yet submitted may use the buffer: it goes to the queue first, where
    // the buffer lives until that work is done. Submitted after the destroy, it would be refused
    // (a validation error, and a GpuValidationError at the next wait).
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      if (this.encoder !== null && !this.closing) this.submit();
      destroy();
    };
    return buffer;
  }

  /** Throws GpuMemoryError, naming `label`, when a float32/u32 tensor of `shape` is over what one buffer of this device holds. */
  assertFits(shape: readonly number[], label: string): void {
    checkBufferSize(this.device.limits, Math.max(4, numel(shape) * 4), label, shape);
  }

  empty(shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
    const bytes = Math.max(4, numel(shape) * 4);
    this.assertFits(shape, label ?? 'tensor');
    const buffer = this.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: storageUsage(), label });
    return new Tensor(buffer, shape, dtype);
  }

  upload(data: HostArray | readonly number[], shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
    const t = this.empty(shape, dtype, label);
    const host = data instanceof Float32Array || data instanceof Uint32Array || data instanceof Int32Array ? data : fromNumbers(data, dtype);
    if (host.length !== t.size) throw new Error(`upload of ${host.length} elements into ${t}`);
    this.write(t, host);
    return t;
  }

  write(t: Tensor, data: HostArray): void {
    this.submit();
    this.device.queue.writeBuffer(t.buffer, t.offsetBytes, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Pooled scratch tensor; give it back with `release` once the work that uses it is submitted. */
  scratch(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    this.assertFits(shape, 'scratch');
    return new Tensor(this.pool.acquire(Math.max(4, numel(shape) * 4), storageUsage(), 'scratch'), shape, dtype);
  }

  release(t: Tensor): void {
    this.pool.release(t.buffer);
  }

  async read(t: Tensor): Promise<HostArray> {
    const bytes = t.size * 4;
    const out = hostArray(t.dtype, t.size);
    if (bytes === 0) return out;
    const staging = this.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'staging' });
    this.endPass();
    const encoder = this.currentEncoder();
    encoder.copyBufferToBuffer(t.buffer, t.offsetBytes, staging, 0, bytes);
    this.submit();
    await this.whileAlive(staging.mapAsync(GPUMapMode.READ));
    new Uint8Array(out.buffer).set(new Uint8Array(staging.getMappedRange()));
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(t: Tensor): Promise<Float32Array> {
    if (t.dtype !== 'f32') throw new Error(`readF32 of ${t}`);
    return (await this.read(t)) as Float32Array;
  }

  // ---- recording -----------------------------------------------------------------------------

  private currentEncoder(): GPUCommandEncoder {
    if (this.encoder === null) this.encoder = this.device.createCommandEncoder({ label: 'step' });
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass !== null) {
      this.pass.end();
      this.pass = null;
    }
  }

  run(spec: KernelSpec, opts: RunOptions): void {
    const [x, y = 1, z = 1] = opts.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxDim = this.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new Error(`${spec.family}/${spec.entryPoint}: dispatch ${x}x${y}x${z} exceeds ${maxDim} workgroups per dimension`);
    }
    const pipeline = this.pipelines.get(spec, opts.constants);
    const entries: GPUBindGroupEntry[] = [];
    let b = 0;
    spec.bindings.forEach((kind, binding) => {
      if (kind === 'uniform') {
        if (opts.params === undefined) throw new Error(`${spec.family}/${spec.entryPoint} needs uniform params`);
        const ub = this.pool.acquire(opts.params.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms');
        this.device.queue.writeBuffer(ub, 0, opts.params);
        this.pendingUniforms.push(ub);
        entries.push({ binding, resource: { buffer: ub, size: opts.params.byteLength } });
      } else {
        const res = opts.bindings[b++];
        if (res === undefined) throw new Error(`${spec.family}/${spec.entryPoint}: binding ${binding} missing`);
        entries.push({
          binding,
          resource:
            res instanceof Tensor
              ? { buffer: res.buffer, offset: res.offsetBytes, size: res.bindBytes }
              : { buffer: res },
        });
      }
    });
    if (b !== opts.bindings.length) {
      throw new Error(`${spec.family}/${spec.entryPoint}: ${opts.bindings.length} buffers given, ${b} expected`);
    }
    checkAliasing(spec, entries);
    const bindGroup = this.device.createBindGroup({ layout: this.pipelines.layout(spec), entries });
    this.dispatched.add(`${spec.family}/${spec.entryPoint}`);
    if (this.profiler !== null) {
      this.endPass();
      const pass = this.currentEncoder().beginComputePass({
        timestampWrites: this.profiler.next(`${spec.family}/${spec.entryPoint}`),
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
      return;
    }
    if (this.pass === null) this.pass = this.currentEncoder().beginComputePass({ label: 'kernels' });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
  }

  /** Records a buffer copy (ends the current compute pass). */
  copy(src: Tensor, dst: Tensor): void {
    if (src.size !== dst.size) throw new Error(`copy ${src} -> ${dst}: sizes differ`);
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(src.buffer, src.offsetBytes, dst.buffer, dst.offsetBytes, src.byteLength);
  }

  /** Submits everything recorded so far. */
  submit(): void {
    this.endPass();
    if (this.profiler !== null && this.encoder !== null) this.profiler.resolve(this.encoder);
    if (this.encoder !== null) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    // Uniform buffers can be reused now: later writeBuffer calls are ordered after this submit.
    for (const ub of this.pendingUniforms) this.pool.release(ub);
    this.pendingUniforms = [];
  }

  async sync(): Promise<void> {
    this.submit();
    await this.whileAlive(this.device.queue.onSubmittedWorkDone());
  }

  /** GPU time per dispatch since profiling was turned on (reads the timestamps back). */
  async timings(): Promise<KernelTiming[]> {
    this.submit();
    if (this.profiler === null) return [];
    return this.whileAlive(this.profiler.collect());
  }

  destroy(): void {
    this.closing = true;
    this.submit();
    this.pool.trim();
    this.device.destroy();
  }
}

/**
 * WebGPU rejects a dispatch that binds one buffer both read-only and writable (usage is tracked
 * per buffer), or binds overlapping ranges of it writable twice. We say so before recording,
 * naming the kernel and the bindings; disjoint writable views of one buffer are fine.
 */
function checkAliasing(spec: KernelSpec, entries: GPUBindGroupEntry[]): void {
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const ki = spec.bindings[entries[i].binding];
      const kj = spec.bindings[entries[j].binding];
      if (ki === 'uniform' || kj === 'uniform' || (ki !== 'write' && kj !== 'write')) continue;
      const ri = entries[i].resource as GPUBufferBinding;
      const rj = entries[j].resource as GPUBufferBinding;
      if (ri.buffer !== rj.buffer) continue;
      const what = `${spec.family}/${spec.entryPoint}: bindings ${entries[i].binding} and ${entries[j].binding}`;
      if (ki !== kj) {
        throw new Error(`${what} use one buffer, one read-only and one written; WebGPU forbids that even for disjoint ranges`);
      }
      const [oi, oj] = [ri.offset ?? 0, rj.offset ?? 0];
      const [ei, ej] = [oi + (ri.size ?? ri.buffer.size - oi), oj + (rj.size ?? rj.buffer.size - oj)];
      if (oi < ej && oj < ei) {
        throw new Error(`${what} are written and overlap (bytes ${oi}-${ei} and ${oj}-${ej}); use disjoint views or separate buffers`);
      }
    }
  }
}

function fromNumbers(data: readonly number[], dtype: DType): HostArray {
  const out = hostArray(dtype, data.length);
  out.set(data);
  return out;
}

/** Timestamp-query profiling: two timestamps around each dispatch's own compute pass. */
class Profiler {
  private static readonly CAPACITY = 4096;
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private labels: string[] = [];
  private resolved: Array<{ buffer: GPUBuffer; labels: string[] }> = [];
  private used = 0;

  constructor(
    device: GPUDevice,
    private readonly createBuffer: (desc: GPUBufferDescriptor) => GPUBuffer,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: Profiler.CAPACITY });
    this.resolveBuf = createBuffer({
      size: Profiler.CAPACITY * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      label: 'profiler-resolve',
    });
  }

  next(label: string): GPUComputePassTimestampWrites {
    if (this.used + 2 > Profiler.CAPACITY) throw new Error('profiler full: read timings() more often');
    const i = this.used;
    this.used += 2;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  resolve(encoder: GPUCommandEncoder): void {
    if (this.used === 0) return;
    const bytes = this.used * 8;
    const read = this.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profiler-read' });
    encoder.resolveQuerySet(this.querySet, 0, this.used, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, read, 0, bytes);
    this.resolved.push({ buffer: read, labels: this.labels });
    this.labels = [];
    this.used = 0;
  }

  async collect(): Promise<KernelTiming[]> {
    const out: KernelTiming[] = [];
    for (const { buffer, labels } of this.resolved) {
      await buffer.mapAsync(GPUMapMode.READ);
      const ts = new BigUint64Array(buffer.getMappedRange().slice(0));
      buffer.unmap();
      buffer.destroy();
      labels.forEach((label, i) => out.push({ label, ms: Number(ts[2 * i + 1] - ts[2 * i]) / 1e6 }));
    }
    this.resolved = [];
    return out;
  }
}
