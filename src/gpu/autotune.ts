/**
 * Per-adapter kernel choice. Which matmul schedule is fastest depends on the adapter (on
 * SwiftShader the register-tiled one wins by ~10x, on real GPUs the shared-memory one), so we
 * time each candidate on a representative shape once, remember the answer per adapter, and
 * never branch on vendor names.
 */
import type { AdapterReport } from './device';
import { NARROW_ROW_THREADS, WIDE_ROW_THREADS } from './grid';
import { matmul, MATMUL_VARIANTS, type MatmulVariant } from './ops/matmul';
import { softmaxForward } from './ops/softmax';
import type { Gpu, KernelPreferences } from './runtime';

export interface ProbeResult {
  variant: MatmulVariant;
  /** Median milliseconds per multiply of the probe shape. */
  ms: number;
  gflops: number;
}

export interface RowProbeResult {
  width: KernelPreferences['rowWidth'];
  ms: number;
}

export interface KernelChoice extends KernelPreferences {
  adapter: string;
  probe: ProbeResult[];
  rowProbe: RowProbeResult[];
  probedAt: string;
}

/** Where choices are remembered: a JSON file in Node, IndexedDB in a browser worker, memory in tests. */
export interface ChoiceStore {
  get(key: string): Promise<KernelChoice | undefined>;
  set(key: string, value: KernelChoice): Promise<void>;
}

export class MemoryChoiceStore implements ChoiceStore {
  private map = new Map<string, KernelChoice>();
  async get(key: string): Promise<KernelChoice | undefined> {
    return this.map.get(key);
  }
  async set(key: string, value: KernelChoice): Promise<void> {
    this.map.set(key, value);
  }
}

/**
 * The decision itself, kept pure so it is unit-tested: schedules ordered by median time, fastest
 * first, ties in probe order, failed probes (non-finite times) last.
 */
export function rankBySpeed(results: readonly ProbeResult[]): MatmulVariant[] {
  if (results.length === 0) throw new Error('no probe results to choose from');
  const key = (r: ProbeResult): number => (Number.isFinite(r.ms) ? r.ms : Infinity);
  return results
    .map((r, i) => ({ r, i }))
    .sort((x, y) => key(x.r) - key(y.r) || x.i - y.i)
    .map(({ r }) => r.variant);
}

/** Cache key: the adapter's identity and the code version of the kernels being compared. */
export function choiceKey(adapter: AdapterReport): string {
  return `kernels-v3|${adapter.description}`;
}

/** A stored choice is used only when it names schedules and widths this code still has. */
function isValidChoice(c: KernelChoice): boolean {
  return (
    Array.isArray(c.matmul) &&
    c.matmul.length > 0 &&
    c.matmul.every((v) => (MATMUL_VARIANTS as readonly string[]).includes(v)) &&
    (c.rowWidth === 'narrow' || c.rowWidth === 'wide')
  );
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Times each matmul variant on an n×n×n multiply: one warm-up (compiles the pipeline), then
 * `reps` rounds in which the variants take turns, so a slow moment of the machine hits all of
 * them alike. Wall-clock per submit-and-wait; on software adapters timer noise is far below the
 * differences being measured.
 */
export async function probeMatmul(gpu: Gpu, n: number, reps = 3, variants: readonly MatmulVariant[] = MATMUL_VARIANTS): Promise<ProbeResult[]> {
  const a = gpu.empty([n, n], 'f32', 'probe-a');
  const b = gpu.empty([n, n], 'f32', 'probe-b');
  const c = gpu.empty([n, n], 'f32', 'probe-c');
  const times = new Map<MatmulVariant, number[]>(variants.map((v) => [v, []]));
  try {
    for (const v of variants) {
      matmul(gpu, a, b, c, n, n, n, { variant: v });
      await gpu.sync();
    }
    for (let r = 0; r < reps; r++) {
      for (const v of variants) {
        const t0 = performance.now();
        matmul(gpu, a, b, c, n, n, n, { variant: v });
        await gpu.sync();
        times.get(v)!.push(performance.now() - t0);
      }
    }
  } finally {
    a.buffer.destroy();
    b.buffer.destroy();
    c.buffer.destroy();
  }
  return variants.map((variant) => {
    const ms = median(times.get(variant)!);
    return { variant, ms, gflops: (2 * n * n * n) / (ms * 1e6) };
  });
}

/**
 * Times a row-wise kernel (softmax over rows of 256) with narrow and with wide rows, taking turns
 * after a warm-up; the faster width becomes the device's preference for every row-wise family.
 */
export async function probeRowWidth(gpu: Gpu, rows = 128, cols = 256, reps = 3): Promise<RowProbeResult[]> {
  const x = gpu.empty([rows, cols], 'f32', 'probe-x');
  const y = gpu.empty([rows, cols], 'f32', 'probe-y');
  const widths = [
    { width: 'narrow' as const, threads: NARROW_ROW_THREADS },
    { width: 'wide' as const, threads: WIDE_ROW_THREADS },
  ];
  const times = widths.map(() => [] as number[]);
  try {
    for (const w of widths) softmaxForward(gpu, x, y, rows, cols, { maxWorkgroupSize: w.threads });
    await gpu.sync();
    for (let r = 0; r < reps; r++) {
      for (const [i, w] of widths.entries()) {
        const t0 = performance.now();
        softmaxForward(gpu, x, y, rows, cols, { maxWorkgroupSize: w.threads });
        await gpu.sync();
        times[i].push(performance.now() - t0);
      }
    }
  } finally {
    x.buffer.destroy();
    y.buffer.destroy();
  }
  return widths.map((w, i) => ({ width: w.width, ms: median(times[i]) }));
}

/**
 * Chooses the kernel variants for this adapter (matmul schedules, row width) and sets them on
 * `gpu.preferences`: from the store when it was probed before, otherwise by short timed probes
 * (a smaller matmul on software adapters, where a 512³ multiply takes a noticeable fraction of a
 * second). `reprobe` ignores the stored answer and replaces it.
 */
export async function tuneKernels(gpu: Gpu, store: ChoiceStore, reprobe = false): Promise<KernelChoice> {
  const key = choiceKey(gpu.adapter);
  const known = reprobe ? undefined : await store.get(key);
  if (known !== undefined && isValidChoice(known)) {
    gpu.preferences = { matmul: [...known.matmul], rowWidth: known.rowWidth };
    return known;
  }
  const probe = await probeMatmul(gpu, gpu.adapter.isSoftware ? 128 : 512);
  const rowProbe = await probeRowWidth(gpu);
  const choice: KernelChoice = {
    adapter: gpu.adapter.description,
    matmul: rankBySpeed(probe),
    rowWidth: rowProbe[0].ms <= rowProbe[1].ms ? rowProbe[0].width : rowProbe[1].width,
    probe,
    rowProbe,
    probedAt: new Date().toISOString(),
  };
  gpu.preferences = { matmul: [...choice.matmul], rowWidth: choice.rowWidth };
  await store.set(key, choice);
  return choice;
}
