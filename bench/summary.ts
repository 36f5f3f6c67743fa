/** Turns benchmark rows into the ratios the JSON report holds (pure, unit-tested). */
import type { BenchOutput } from './page.ts';

export interface MatmulRatio {
  ratio: number;
  ours_gflops: number;
  ours_variant: string;
  tfjs_gflops: number;
  adapter: string;
}

export function summarise(result: BenchOutput): { ratios: Record<string, MatmulRatio> } {
  const ratios: Record<string, MatmulRatio> = {};
  const sizes = [...new Set(result.rows.map((r) => r.n))];
  for (const n of sizes) {
    const rows = result.rows.filter((r) => r.n === n);
    const tfjs = rows.find((r) => r.contender === 'tfjs-webgpu');
    const ours = rows.filter((r) => r.contender.startsWith('exprl-')).sort((a, b) => b.gflops - a.gflops)[0];
    if (tfjs === undefined || ours === undefined) continue;
    ratios[`matmul${n}_vs_tfjs`] = {
      ratio: ours.gflops / tfjs.gflops,
      ours_gflops: ours.gflops,
      ours_variant: ours.contender.replace('exprl-', ''),
      tfjs_gflops: tfjs.gflops,
      adapter: result.adapter.description,
    };
  }
  return { ratios };
}
