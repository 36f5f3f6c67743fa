/**
 * `npm run bench [-- --json FILE] [--only matmul|model] [--sizes 256,512,1024] [--reps N] [--model-reps N]`:
 * serves bench/ with Vite, opens it in the system Chromium (headless, WebGPU on; SwiftShader
 * where there is no GPU) and runs, against TF.js's WebGPU backend on the same adapter, our
 * matmul schedules and our engine's training step and decoding of the built-in policy model;
 * prints tables and the ratios and writes the JSON report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { chromiumLaunchArgs, chromiumPath } from '../test/support/chromium.ts';
import type { BenchConfig, BenchPart, MatmulBenchRow } from './page.ts';
import type { BenchOutput } from './page.ts';
import { modelTable, summarise, summariseModel } from './summary.ts';

interface Args {
  json?: string;
  sizes: number[];
  reps: number;
  only?: BenchPart;
  modelReps?: number;
}

const USAGE = 'usage: npm run bench -- [--json FILE] [--only matmul|model] [--sizes 256,512,1024] [--reps 5] [--model-reps N]';

function parseArgs(argv: string[]): Args {
  const out: Args = { sizes: [256, 512, 1024], reps: 5 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') out.json = value();
    else if (arg === '--sizes') out.sizes = value().split(',').map((s) => Number(s));
    else if (arg === '--reps') out.reps = Number(value());
    else if (arg === '--model-reps') out.modelReps = Number(value());
    else if (arg === '--only') {
      const v = value();
      if (v !== 'matmul' && v !== 'model') throw new Error(`--only takes matmul or model, got ${v}`);
      out.only = v;
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  if (out.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes takes positive integers');
  if (!Number.isInteger(out.reps) || out.reps < 1) throw new Error('--reps takes a positive integer');
  if (out.modelReps !== undefined && !(Number.isInteger(out.modelReps) && out.modelReps >= 1)) throw new Error('--model-reps takes a positive integer');
  return out;
}

function table(rows: MatmulBenchRow[]): string {
  const lines = ['   n  contender        median ms   GFLOP/s'];
  for (const r of rows) {
    lines.push(`${String(r.n).padStart(4)}  ${r.contender.padEnd(15)} ${r.ms.toFixed(2).padStart(10)} ${r.gflops.toFixed(3).padStart(9)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const server = await createServer({ root: process.cwd(), logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === 'object' && address !== null ? address.port : 5173;
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumLaunchArgs, headless: true });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    page.on('console', (m) => {
      if (m.text().startsWith('[bench] ')) console.log(m.text().slice(8));
    });
    await page.goto(`http://127.0.0.1:${port}/bench/index.html`);
    await page.waitForFunction(() => typeof window.exprlBench === 'function', undefined, { timeout: 60_000 });
    const cfg: BenchConfig = { sizes: args.sizes, reps: args.reps, only: args.only, modelReps: args.modelReps };
    const result: BenchOutput = await page.evaluate((c) => window.exprlBench(c), cfg);
    console.log(`adapter: ${result.adapter.description} (TF.js backend: ${result.tfjsBackend})`);
    const report = summarise(result);
    if (result.rows.length > 0) {
      console.log(table(result.rows));
      for (const [key, v] of Object.entries(report.ratios)) {
        console.log(`${key}: ${v.ratio.toFixed(2)}x (ours ${v.ours_gflops.toFixed(3)} GFLOP/s with ${v.ours_variant}, TF.js ${v.tfjs_gflops.toFixed(3)} GFLOP/s)`);
      }
    }
    const model = result.model === undefined ? undefined : summariseModel(result.model);
    if (model !== undefined) console.log(modelTable(model));
    if (args.json !== undefined) {
      mkdirSync(dirname(args.json), { recursive: true });
      const json = {
        ...report.ratios,
        ...(model ?? {}),
        adapter: result.adapter.description,
        date: new Date().toISOString(),
        rows: result.rows,
        ...(result.model !== undefined ? { model_samples_ms: { train: { ours: result.model.train.oursMs, tfjs: result.model.train.tfjsMs }, decode: { ours: result.model.decode.oursMs, tfjs: result.model.decode.tfjsMs } } } : {}),
      };
      writeFileSync(args.json, JSON.stringify(json, null, 2) + '\n');
      console.log(`wrote ${args.json}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
