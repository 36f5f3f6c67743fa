/**
 * Pipeline cache. A pipeline is specialised through WGSL `override` constants (tile sizes,
 * transposition flags, bounds-check switches); the constants are part of the cache key, so a
 * shader is written once and compiled once per specialisation.
 */
import type { KernelSpec } from './kernel';

export type Constants = Readonly<Record<string, number | boolean>>;

export function pipelineKey(spec: KernelSpec, constants: Constants = {}): string {
  const c = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${Number(constants[k])}`)
    .join(',');
  return `${spec.family}/${spec.entryPoint}{${c}}`;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  layout(spec: KernelSpec): GPUBindGroupLayout {
    const key = `${spec.family}/${spec.entryPoint}`;
    let layout = this.layouts.get(key);
    if (layout === undefined) {
      layout = this.device.createBindGroupLayout({
        label: key,
        entries: spec.bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  get(spec: KernelSpec, constants: Constants = {}): GPUComputePipeline {
    const key = pipelineKey(spec, constants);
    let pipeline = this.pipelines.get(key);
    if (pipeline === undefined) {
      let module = this.modules.get(spec.code);
      if (module === undefined) {
        module = this.device.createShaderModule({ label: spec.family, code: spec.code });
        this.modules.set(spec.code, module);
      }
      const numeric: Record<string, number> = {};
      for (const [k, v] of Object.entries(constants)) numeric[k] = Number(v);
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(spec)] }),
        compute: { module, entryPoint: spec.entryPoint, constants: numeric },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }
}
