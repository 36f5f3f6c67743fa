/** The engine inside a Web Worker: owns the WebGPU device; the page talks to it through comlink. */
import * as Comlink from 'comlink';
import { tuneKernels } from '../gpu/autotune';
import { IndexedDbChoiceStore } from '../gpu/choice-store-browser';
import { matmul, MATMUL_VARIANTS } from '../gpu/ops/matmul';
import { Gpu } from '../gpu/runtime';
import type { EngineApi, EngineStatus, SelfCheckResult } from './api';

let gpu: Gpu | null = null;

function requireGpu(): Gpu {
  if (gpu === null) throw new Error('engine not initialised: call init() first');
  return gpu;
}

const api: EngineApi = {
  async init(): Promise<EngineStatus> {
    gpu ??= await Gpu.create(self.navigator.gpu, 'this browser');
    const kernels = await tuneKernels(gpu, new IndexedDbChoiceStore());
    return { adapter: gpu.adapter, kernels };
  },

  async selfCheck(m, n, k): Promise<SelfCheckResult[]> {
    const g = requireGpu();
    const a = Float32Array.from({ length: m * k }, () => Math.random() * 2 - 1);
    const b = Float32Array.from({ length: k * n }, () => Math.random() * 2 - 1);
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let kk = 0; kk < k; kk++) {
        const av = a[i * k + kk];
        for (let j = 0; j < n; j++) want[i * n + j] += av * b[kk * n + j];
      }
    const ta = g.upload(a, [m, k]);
    const tb = g.upload(b, [k, n]);
    const tc = g.empty([m, n]);
    const out: SelfCheckResult[] = [];
    for (const variant of MATMUL_VARIANTS) {
      const t0 = performance.now();
      matmul(g, ta, tb, tc, m, n, k, { variant });
      const got = await g.readF32(tc);
      const ms = performance.now() - t0;
      let num = 0;
      let den = 0;
      for (let i = 0; i < got.length; i++) {
        num += (got[i] - want[i]) ** 2;
        den += want[i] ** 2;
      }
      out.push({ shape: [m, n, k], variant, relL2: Math.sqrt(num / den), ms });
    }
    for (const t of [ta, tb, tc]) t.buffer.destroy();
    return out;
  },
};

Comlink.expose(api);
