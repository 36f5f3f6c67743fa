/**
 * Benchmark page: our kernels and TF.js's WebGPU backend on the same adapter, in the same page,
 * taking turns. `bench/run.ts` opens it in headless Chromium and calls `window.exprlBench`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { median, probeMatmul } from '../src/gpu/autotune';
import { matmul, MATMUL_VARIANTS, type MatmulVariant } from '../src/gpu/ops/matmul';
import { Gpu } from '../src/gpu/runtime';
import type { AdapterReport } from '../src/gpu/device';
import { benchModel, type ModelBenchOptions } from './model-bench';
import type { ModelBenchOutput } from './summary';

export interface MatmulBenchRow {
  n: number;
  contender: string;
  ms: number;
  gflops: number;
  samples: number[];
}

export type BenchPart = 'matmul' | 'model';

export interface BenchConfig {
  sizes: number[];
  reps: number;
  only?: BenchPart;
  /** Timed rounds of the model benchmark; default 3 on software adapters, 10 elsewhere. */
  modelReps?: number;
}

export interface BenchOutput {
  adapter: AdapterReport;
  tfjsBackend: string;
  rows: MatmulBenchRow[];
  model?: ModelBenchOutput;
}

function randomData(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

/** Each sample runs `inner` multiplies back to back and reads the last result back, for every contender alike. */
async function benchMatmul(gpu: Gpu, n: number, reps: number, inner: number): Promise<MatmulBenchRow[]> {
  const a = randomData(n * n);
  const b = randomData(n * n);
  const ta = gpu.upload(a, [n, n]);
  const tb = gpu.upload(b, [n, n]);
  const tc = gpu.empty([n, n]);
  const xa = tf.tensor2d(a, [n, n]);
  const xb = tf.tensor2d(b, [n, n]);

  const ours = (variant: MatmulVariant) => async () => {
    for (let i = 0; i < inner; i++) matmul(gpu, ta, tb, tc, n, n, n, { variant });
    await gpu.read(tc);
  };
  const tfjs = async () => {
    let last: tf.Tensor | null = null;
    for (let i = 0; i < inner; i++) {
      last?.dispose();
      last = tf.matMul(xa, xb);
    }
    await last!.data();
    last!.dispose();
  };
  const contenders: Array<[string, () => Promise<void>]> = [
    ...MATMUL_VARIANTS.map((v): [string, () => Promise<void>] => [`exprl-${v}`, ours(v)]),
    ['tfjs-webgpu', tfjs],
  ];
  // Warm-up: pipeline compilation and TF.js program caching stay out of the timings.
  for (const [, run] of contenders) await run();
  const samples = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  for (let r = 0; r < reps; r++) {
    for (const [name, run] of contenders) {
      const t0 = performance.now();
      await run();
      samples.get(name)!.push((performance.now() - t0) / inner);
    }
  }
  xa.dispose();
  xb.dispose();
  for (const t of [ta, tb, tc]) t.buffer.destroy();
  return contenders.map(([name]) => {
    const s = samples.get(name)!;
    const ms = median(s);
    return { n, contender: name, ms, gflops: (2 * n ** 3) / (ms * 1e6), samples: s };
  });
}

async function exprlBench(config: BenchConfig): Promise<BenchOutput> {
  const gpu = await Gpu.create(navigator.gpu, 'the benchmark browser');
  await tf.setBackend('webgpu');
  await tf.ready();
  const rows: MatmulBenchRow[] = [];
  if (config.only !== 'model') {
    // Compile our pipelines before the first timed size.
    await probeMatmul(gpu, 64, 1);
    for (const n of config.sizes) {
      const inner = n <= 256 ? 4 : n <= 512 ? 2 : 1;
      rows.push(...(await benchMatmul(gpu, n, config.reps, inner)));
    }
  }
  let model: ModelBenchOutput | undefined;
  if (config.only !== 'matmul') {
    const options: ModelBenchOptions = {
      reps: config.modelReps ?? (gpu.adapter.isSoftware ? 3 : 10),
      warmup: gpu.adapter.isSoftware ? 1 : 3,
      trainBatch: 8,
      trainSeqLen: 64,
      decodeBatch: 8,
      promptLen: 8,
      newTokens: 32,
      temperature: 1,
      seed: 1234,
    };
    // The runner echoes lines starting with [bench] as progress.
    model = await benchModel(gpu, options, (line) => console.log(`[bench] ${line}`));
  }
  return { adapter: gpu.adapter, tfjsBackend: tf.getBackend(), rows, model };
}

declare global {
  interface Window {
    exprlBench: typeof exprlBench;
  }
}
window.exprlBench = exprlBench;
document.getElementById('log')!.textContent = 'ready';
