/**
 * `npm run bench [-- --json FILE] [--sizes 256,512,1024] [--reps N]`: serves bench/ with Vite,
 * opens it in the system Chromium (headless, WebGPU on; SwiftShader where there is no GPU),
 * runs our matmul schedules against TF.js's WebGPU backend on the same adapter, prints a table
 * and writes the JSON report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { chromiumLaunchArgs, chromiumPath } from '../test/support/chromium.ts';
import type { BenchOutput, MatmulBenchRow } from './page.ts';
import { summarise } from './summary.ts';

function parseArgs(argv: string[]): { json?: string; sizes: number[]; reps: number } {
  const out: { json?: string; sizes: number[]; reps: number } = { sizes: [256, 512, 1024], reps: 5 };
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
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run bench -- [--json FILE] [--sizes 256,512,1024] [--reps 5]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  if (out.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes takes positive integers');
  if (!Number.isInteger(out.reps) || out.reps < 1) throw new Error('--reps takes a positive integer');
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
    await page.goto(`http://127.0.0.1:${port}/bench/index.html`);
    await page.waitForFunction(() => typeof window.exprlBench === 'function', undefined, { timeout: 60_000 });
    const result: BenchOutput = await page.evaluate((cfg) => window.exprlBench(cfg), { sizes: args.sizes, reps: args.reps });
    const report = summarise(result);
    console.log(`adapter: ${result.adapter.description} (TF.js backend: ${result.tfjsBackend})`);
    console.log(table(result.rows));
    for (const [key, v] of Object.entries(report.ratios)) {
      console.log(`${key}: ${v.ratio.toFixed(2)}x (ours ${v.ours_gflops.toFixed(3)} GFLOP/s with ${v.ours_variant}, TF.js ${v.tfjs_gflops.toFixed(3)} GFLOP/s)`);
    }
    if (args.json !== undefined) {
      mkdirSync(dirname(args.json), { recursive: true });
      writeFileSync(args.json, JSON.stringify({ ...report.ratios, adapter: result.adapter.description, date: new Date().toISOString(), rows: result.rows }, null, 2) + '\n');
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
