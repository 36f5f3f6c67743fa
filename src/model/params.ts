/**
 * The model's parameters and gradients on a Gpu: one GPUBuffer per layout buffer for each, with a
 * `Tensor` view per parameter, so kernels bind single weights while the optimizer and the
 * gradient norm sweep whole flat buffers. Initialisation is seeded and done on the CPU, so a seed
 * gives the same model on every adapter.
 */
import { fill } from '../gpu/ops/elementwise';
import type { Gpu } from '../gpu/runtime';
import { Tensor } from '../gpu/tensor';
import { randomUniform } from '../math/philox';
import type { ModelConfig } from './config';
import { layoutParams, paramList, type ParamLayout } from './layout';

export interface ModelParams {
  config: ModelConfig;
  layout: ParamLayout;
  /** Flat parameter buffers, one per layout buffer, each as one f32 tensor. */
  flat: Tensor[];
  /** Flat gradient buffers, laid out as `flat`. */
  flatGrads: Tensor[];
  /** Per-parameter views into `flat` and `flatGrads`, by Hugging Face name. */
  views: Map<string, Tensor>;
  grads: Map<string, Tensor>;
}

export const INIT_STD = 0.02;

/** Allocates (zeroed) parameter and gradient buffers for the config, split at the device's binding limit. */
export function createParams(gpu: Gpu, config: ModelConfig): ModelParams {
  const maxBinding = gpu.adapter.limits.maxStorageBufferBindingSize ?? 128 * 2 ** 20;
  const layout = layoutParams(config, Math.floor(maxBinding / 4));
  const alloc = (what: string): Tensor[] => layout.bufferSizes.map((n, i) => gpu.empty([n], 'f32', `${what}-${i}`));
  const flat = alloc('params');
  const flatGrads = alloc('grads');
  const views = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  for (const p of layout.params) {
    views.set(p.name, new Tensor(flat[p.buffer].buffer, p.shape, 'f32', p.offset * 4));
    grads.set(p.name, new Tensor(flatGrads[p.buffer].buffer, p.shape, 'f32', p.offset * 4));
  }
  return { config, layout, flat, flatGrads, views, grads };
}

export function paramView(m: ModelParams, name: string): Tensor {
  const t = m.views.get(name);
  if (t === undefined) throw new Error(`model has no parameter ${name}`);
  return t;
}

export function gradView(m: ModelParams, name: string): Tensor {
  const t = m.grads.get(name);
  if (t === undefined) throw new Error(`model has no gradient for ${name}`);
  return t;
}

/**
 * Seeded initial values: normal(0, std) for embeddings and linear weights, 1 for norm weights.
 * Parameter i of paramList draws from Philox stream i, so adding a layer leaves the others' values.
 */
export function initParams(config: ModelConfig, seed: number, std = INIT_STD): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  paramList(config).forEach((p, stream) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n);
    if (p.kind === 'norm') x.fill(1);
    else {
      // Box–Muller on pairs of uniforms; 1 − u keeps the log's argument in (0, 1].
      for (let i = 0; i < n; i++) {
        const u = 1 - randomUniform(seed, stream, 2 * i);
        const v = randomUniform(seed, stream, 2 * i + 1);
        x[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      }
    }
    out.set(p.name, x);
  });
  return out;
}

/** Writes every parameter's values; each named parameter must be given with its exact size. */
export function uploadParams(gpu: Gpu, m: ModelParams, values: ReadonlyMap<string, Float32Array>): void {
  for (const p of m.layout.params) {
    const v = values.get(p.name);
    if (v === undefined) throw new Error(`uploadParams: no values for ${p.name}`);
    if (v.length !== p.size) throw new Error(`uploadParams: ${p.name} has ${v.length} values, its shape [${p.shape.join(', ')}] holds ${p.size}`);
    gpu.write(paramView(m, p.name), v);
  }
  for (const name of values.keys()) if (!m.layout.byName.has(name)) throw new Error(`uploadParams: the model has no parameter ${name}`);
}

/**
 * Uploads saved flat buffers (a checkpoint of weights or optimizer moments) after checking that
 * they fit `dst` buffer by buffer and hold only finite values; errors start with `what`.
 */
export function writeFlatBuffers(gpu: Gpu, dst: readonly Tensor[], src: readonly Float32Array[], what: string): void {
  if (src.length !== dst.length) throw new Error(`${what}: ${src.length} saved buffers, the model has ${dst.length}`);
  dst.forEach((t, i) => {
    if (src[i].length !== t.size) throw new Error(`${what}: saved buffer ${i} holds ${src[i].length} values, the model's ${t.size}`);
    if (!src[i].every(Number.isFinite)) throw new Error(`${what}: saved buffer ${i} holds a value that is not finite`);
    gpu.write(t, src[i]);
  });
}

/** Records gradient buffers := 0 (before the first micro-batch of a step). */
export function zeroGrads(gpu: Gpu, m: ModelParams): void {
  for (const g of m.flatGrads) fill(gpu, g, 0);
}

async function readAll(gpu: Gpu, m: ModelParams, flat: Tensor[]): Promise<Map<string, Float32Array>> {
  const bufs = await Promise.all(flat.map((t) => gpu.readF32(t)));
  return new Map(m.layout.params.map((p) => [p.name, bufs[p.buffer].slice(p.offset, p.offset + p.size)]));
}

export function readParams(gpu: Gpu, m: ModelParams): Promise<Map<string, Float32Array>> {
  return readAll(gpu, m, m.flat);
}

export function readGrads(gpu: Gpu, m: ModelParams): Promise<Map<string, Float32Array>> {
  return readAll(gpu, m, m.flatGrads);
}

export function destroyParams(m: ModelParams): void {
  for (const t of [...m.flat, ...m.flatGrads]) t.buffer.destroy();
}

/**
 * A frozen copy of the weights on the same GPU (the KL reference policy, say): the flat buffers are
 * copied on the device, nothing is read back. It has no gradient buffers (flatGrads and grads are
 * empty), so it can be run forward but not trained.
 */
export function cloneParams(gpu: Gpu, m: ModelParams): ModelParams {
  const flat = m.flat.map((t, i) => gpu.empty(t.shape, 'f32', `params-clone-${i}`));
  m.flat.forEach((t, i) => gpu.copy(t, flat[i]));
  const views = new Map<string, Tensor>();
  for (const p of m.layout.params) views.set(p.name, new Tensor(flat[p.buffer].buffer, p.shape, 'f32', p.offset * 4));
  return { config: m.config, layout: m.layout, flat, flatGrads: [], views, grads: new Map() };
}
