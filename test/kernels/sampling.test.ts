// Tests shaders/sampling.wgsl entry points random_uniform and sample_tokens.
// random_uniform is compared bit for bit with its CPU twin (src/gpu/rng.ts). sample_tokens is
// compared row by row with the float64 reference, which draws with the same uniform u; its
// distribution is checked by chi-square tests over thousands of rows that share one logit row.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { workgroupGrid } from '../../src/gpu/grid';
import { ceilDiv } from '../../src/gpu/kernel';
import { randomUniform, sampleTokens, type SampleOptions } from '../../src/gpu/ops/sampling';
import type { Gpu } from '../../src/gpu/runtime';
import { randomUniform as randomUniform1, randomUniforms } from '../../src/gpu/rng';
import {
  argmaxRef,
  chiSquarePValue,
  chiSquareStatistic,
  keptDistributionRef,
  sampleTokensRef,
  type SampleRowResult,
} from '../reference/sampling';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng } from '../support/check';

// random_uniform is bit-exact: integer hashing and an exact conversion to float32.
const UNIFORM_TOL = 0;
// Log-probs are checked elementwise with a mixed bound |got − want| ≤ ABS + REL·|want|: WGSL's
// log has an absolute accuracy of 2^-21 near 1, so a relative bound alone fails for log-probs near
// 0, and z − max z carries a relative float32 error. Measured max |error| ≤ 5.5e-7 on SwiftShader
// (Chromium and Node), temperatures ≥ 0.7, V ≤ 5003, 4 or 128 threads per row.
const LOGPROB_ABS_TOL = 2e-6;
const LOGPROB_REL_TOL = 1e-6;
// Relative L2 bound for the sampled tokens' probabilities exp(logprob) (measured ≤ 5.2e-7).
const PROB_TOL = 2e-6;
// A float32 CDF may put a boundary elsewhere by rounding: where the reference's u lies within this
// fraction of the kept mass from a CDF boundary, the kernel may pick the token across that boundary
// (no disagreeing draw seen in any run; the kernel's blocked float32 sums over ≤ 5003 terms are
// good to ~1e-6 of the mass).
const CDF_SLACK = 1e-5;
// Inputs are chosen so that no top-p decision lies within this fraction of the top-k mass from a
// cumulative-mass boundary (float32 mass sums over ≤ 5003 terms are good to ~1e-6).
const TOP_P_SLACK = 1e-5;
// Chi-square tests reject at this p-value; every draw uses a fixed seed, so the outcome is fixed.
const CHI2_ALPHA = 1e-3;
// A deliberately wrong expectation must give a p-value below this.
const CHI2_WRONG = 1e-6;

// Both thread caps per row: 4 (the CPU-adapter default) and 128 (the GPU default), on any adapter.
const WIDTHS = [4, 128];

const LOG = false;

interface Draw {
  tokens: Uint32Array;
  logprobs: Float32Array;
}

async function draw(gpu: Gpu, logits: Float32Array, rows: number, vocab: number, o: SampleOptions): Promise<Draw> {
  const tokens = fencedOutput(gpu, [rows], 'u32');
  const logprobs = fencedOutput(gpu, [rows]);
  await noGpuErrors(gpu, () => sampleTokens(gpu, gpu.upload(logits, [rows, vocab]), tokens.tensor, logprobs.tensor, rows, vocab, o));
  return { tokens: (await tokens.read()) as Uint32Array, logprobs: (await logprobs.read()) as Float32Array };
}

/** Tokens must equal the reference's, except across a CDF boundary closer than CDF_SLACK. */
function expectTokens(got: Uint32Array, want: SampleRowResult[], what: string): number {
  let nearBoundary = 0;
  for (let r = 0; r < want.length; r++) {
    if (got[r] === want[r].token) continue;
    const excused = want[r].cdfMargin < CDF_SLACK && got[r] === want[r].neighbour;
    expect(excused, `${what}: row ${r} drew ${got[r]}, reference ${want[r].token} (u=${want[r].u}, margin ${want[r].cdfMargin})`).toBe(true);
    nearBoundary++;
  }
  return nearBoundary;
}

/** The smallest top-p ≥ p0 (in steps of 0.001) with no row's decision near a mass boundary. */
function safeTopP(logits: Float32Array, rows: number, vocab: number, o: SampleOptions, p0: number): number {
  for (let p = p0; p < 1; p += 1e-3) {
    let ok = true;
    for (let r = 0; r < rows && ok; r++) {
      const d = keptDistributionRef(logits.subarray(r * vocab, (r + 1) * vocab), { ...o, topP: p });
      ok = d.topPMargin > TOP_P_SLACK;
    }
    if (ok) return p;
  }
  throw new Error('no safe top-p found');
}

/** Checks the log-probs (mixed bound) and their probabilities (relative L2); returns both errors. */
function expectLogprobs(got: Float32Array, want: SampleRowResult[], what: string): { abs: number; rel: number } {
  let abs = 0;
  for (let r = 0; r < want.length; r++) {
    const err = Math.abs(got[r] - want[r].logprob);
    const ok = err <= LOGPROB_ABS_TOL + LOGPROB_REL_TOL * Math.abs(want[r].logprob);
    expect(ok, `${what}: row ${r} logprob ${got[r]}, reference ${want[r].logprob}`).toBe(true);
    abs = Math.max(abs, err);
  }
  const rel = expectClose(
    Float64Array.from(got, Math.exp),
    Float64Array.from(want, (w) => Math.exp(w.logprob)),
    PROB_TOL,
    `${what}: probabilities of the drawn tokens`,
  );
  return { abs, rel };
}

function counts(tokens: Uint32Array, vocab: number): Float64Array {
  const c = new Float64Array(vocab);
  let bad = 0;
  for (const t of tokens) {
    if (t < vocab) c[t]++;
    else bad++;
  }
  expect(bad, 'tokens outside the vocabulary').toBe(0);
  return c;
}

describe('random_uniform', () => {
  it.each([1, 7, 64, 65, 1031, 5003])('n=%i matches the CPU twin bit for bit', async (n) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const key = Math.floor(rand() * 2 ** 32);
    const stream = Math.floor(rand() * 2 ** 32);
    // An offset near 2^32 also checks that the counter wraps the same way on both sides.
    const offset = n === 1031 ? 0xffffffff - 500 : Math.floor(rand() * 1000);
    const out = fencedOutput(gpu, [n]);
    await noGpuErrors(gpu, () => randomUniform(gpu, out.tensor, n, key, stream, offset));
    const got = (await out.read()) as Float32Array;
    const want = randomUniforms(key, stream, n, offset);
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
    expectClose(got, want, UNIFORM_TOL, `seed ${seed}`);
    for (const v of got) expect(v >= 0 && v < 1, `seed ${seed}: ${v} outside [0, 1)`).toBe(true);
  });

  it('covers more than 65535 workgroups (2-D grid)', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const n = 65535 * 64 + 77;
    const out = fencedOutput(gpu, [n]);
    await noGpuErrors(gpu, () => randomUniform(gpu, out.tensor, n, seed, 3));
    const got = (await out.read()) as Float32Array;
    // The twin is checked on the ends, across the end of the grid's first row, and on every
    // 97th element (the whole range in JS would dominate the test's time).
    const [gx, gy] = workgroupGrid(gpu, ceilDiv(n, 64));
    expect(gy).toBeGreaterThan(1);
    const picks: number[] = [];
    const edge = gx * 64;
    for (let i = 0; i < n; i++) if (i < 4096 || Math.abs(i - edge) < 4096 || i >= n - 4096 || i % 97 === 0) picks.push(i);
    const want = Float32Array.from(picks, (i) => randomUniform1(seed, 3, i));
    expectClose(Float32Array.from(picks, (i) => got[i]), want, UNIFORM_TOL, `seed ${seed}`);
    let mean = 0;
    let outside = 0;
    for (const v of got) {
      if (!(v >= 0 && v < 1)) outside++;
      mean += v;
    }
    mean /= n;
    expect(outside, `seed ${seed}: values outside [0, 1)`).toBe(0);
    // The mean of n uniforms has standard deviation 1/sqrt(12n) ≈ 1.4e-4.
    expect(Math.abs(mean - 0.5), `seed ${seed}`).toBeLessThan(1e-3);
  });

  it('gives different numbers for a different seed or stream', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const n = 257;
    const runs: Float32Array[] = [];
    for (const [s, stream] of [
      [seed, 0],
      [seed + 1, 0],
      [seed, 1],
    ]) {
      const out = fencedOutput(gpu, [n]);
      await noGpuErrors(gpu, () => randomUniform(gpu, out.tensor, n, s >>> 0, stream));
      runs.push((await out.read()) as Float32Array);
    }
    for (const other of [runs[1], runs[2]]) {
      let same = 0;
      for (let i = 0; i < n; i++) if (runs[0][i] === other[i]) same++;
      expect(same, `seed ${seed}`).toBeLessThan(3);
    }
  });
});

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [3, 2],
  [5, 7],
  [4, 10],
  [3, 13],
  [2, 97],
  [2, 257],
  [2, 1031],
  [2, 5003],
];

const SETTINGS: Array<{ name: string; o: Omit<SampleOptions, 'seed' | 'step'> }> = [
  { name: 'T=1', o: { temperature: 1 } },
  { name: 'T=0.7 top-k 3', o: { temperature: 0.7, topK: 3 } },
  { name: 'T=1.3 top-p 0.8', o: { temperature: 1.3, topP: 0.8 } },
  { name: 'T=1 top-k 5 top-p 0.6', o: { temperature: 1, topK: 5, topP: 0.6 } },
  { name: 'greedy', o: { temperature: 0 } },
];

describe('sample_tokens', () => {
  it.each(SHAPES)('rows=%i vocab=%i matches the reference draw for draw', async (rows, vocab) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const logits = randn(rows * vocab, rand, 2);
    for (const maxWorkgroupSize of WIDTHS) {
      for (const { name, o } of SETTINGS) {
        const opts: SampleOptions = { ...o, seed: Math.floor(rand() * 2 ** 32), step: Math.floor(rand() * 1000), maxWorkgroupSize };
        if (opts.topP !== undefined) opts.topP = safeTopP(logits, rows, vocab, opts, opts.topP);
        const got = await draw(gpu, logits, rows, vocab, opts);
        const want = sampleTokensRef(logits, rows, vocab, opts);
        const what = `seed ${seed} ${name} (top-p ${opts.topP ?? 1}) width ${maxWorkgroupSize}`;
        const near = expectTokens(got.tokens, want, what);
        const err = expectLogprobs(got.logprobs, want, what);
        if (LOG) console.log(`sample_tokens rows=${rows} vocab=${vocab} ${what}: logprob max|err|=${err.abs.toExponential(2)} prob relL2=${err.rel.toExponential(2)} near-boundary=${near}`);
      }
    }
  });

  it('keeps every tie at the top-k boundary and never emits an excluded token', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [rows, vocab] = [64, 23];
    // Logits on a coarse grid, so that many tokens tie, also at the k-th place.
    const logits = Float32Array.from(randn(rows * vocab, rand), (v) => Math.round(v * 2) / 2);
    const opts: SampleOptions = { temperature: 0.9, topK: 4, seed: seed, step: 1 };
    const got = await draw(gpu, logits, rows, vocab, opts);
    const want = sampleTokensRef(logits, rows, vocab, opts);
    expectTokens(got.tokens, want, `seed ${seed}`);
    for (let r = 0; r < rows; r++) {
      const x = logits.subarray(r * vocab, (r + 1) * vocab);
      const kth = Float64Array.from(x).sort((a, b) => b - a)[3];
      expect(x[got.tokens[r]], `seed ${seed} row ${r}`).toBeGreaterThanOrEqual(kth);
    }
    expectLogprobs(got.logprobs, want, `seed ${seed}`);
  });

  it('returns the argmax as the temperature goes to 0, and at temperature 0 the lowest tied index', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [rows, vocab] = [37, 29];
    const logits = randn(rows * vocab, rand);
    // Make each row's maximum stand 0.05 above the rest, so exp(−0.05 / T) vanishes.
    for (let r = 0; r < rows; r++) logits[r * vocab + argmaxRef(logits.subarray(r * vocab, (r + 1) * vocab))] += 0.05;
    const argmax = Array.from({ length: rows }, (_, r) => argmaxRef(logits.subarray(r * vocab, (r + 1) * vocab)));
    for (const temperature of [1e-3, 1e-4]) {
      for (const topP of [1, 0.5]) {
        const got = await draw(gpu, logits, rows, vocab, { temperature, topP, seed, step: 7 });
        expect([...got.tokens], `seed ${seed} T=${temperature}`).toEqual(argmax);
        // The argmax holds all the mass at such temperatures: its log-prob is 0.
        for (const lp of got.logprobs) expect(Math.abs(lp), `seed ${seed} T=${temperature}`).toBeLessThan(1e-6);
      }
    }
    // Ties: copy each row's maximum to a later and an earlier position; greedy takes the lowest.
    const tied = Float32Array.from(logits);
    for (let r = 0; r < rows; r++) {
      const m = tied[r * vocab + argmax[r]];
      tied[r * vocab + vocab - 1] = m;
      tied[r * vocab + (argmax[r] * 7) % vocab] = m;
    }
    const firsts = Array.from({ length: rows }, (_, r) => argmaxRef(tied.subarray(r * vocab, (r + 1) * vocab)));
    const greedy = await draw(gpu, tied, rows, vocab, { temperature: 0, seed, step: 0 });
    expect([...greedy.tokens], `seed ${seed}`).toEqual(firsts);
    const want = sampleTokensRef(tied, rows, vocab, { temperature: 0, seed, step: 0 });
    expectLogprobs(greedy.logprobs, want, `seed ${seed} greedy logprob at T=1`);
  });

  it('is reproducible for a fixed seed and step, and differs for another seed or step', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [rows, vocab] = [200, 10];
    const row = randn(vocab, rand, 0.5);
    const logits = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) logits.set(row, r * vocab);
    const o = { temperature: 1, seed, step: 5 };
    const a = await draw(gpu, logits, rows, vocab, o);
    const b = await draw(gpu, logits, rows, vocab, o);
    expect(b.tokens, `seed ${seed}`).toEqual(a.tokens);
    expect(new Uint32Array(b.logprobs.buffer), `seed ${seed}`).toEqual(new Uint32Array(a.logprobs.buffer));
    // Rows share their logits, so a seed that ignored the row would repeat one token throughout.
    expect(new Set(a.tokens).size, `seed ${seed}`).toBeGreaterThan(3);
    // Two independent draws agree with probability Σ p² (< 0.3 here); they must disagree often.
    for (const other of [
      { ...o, seed: (seed + 1) >>> 0 },
      { ...o, step: 6 },
    ]) {
      const c = await draw(gpu, logits, rows, vocab, other);
      let differ = 0;
      for (let r = 0; r < rows; r++) if (c.tokens[r] !== a.tokens[r]) differ++;
      expect(differ, `seed ${seed} vs ${JSON.stringify(other)}`).toBeGreaterThan(rows / 2);
    }
  });

  it('handles vocab 1 and more than 65535 rows', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rows = 65537;
    const logits = randn(rows, rng(seed), 3);
    const got = await draw(gpu, logits, rows, 1, { temperature: 0.8, seed, step: 2 });
    expect(got.tokens.every((t) => t === 0), `seed ${seed}`).toBe(true);
    expectClose(got.logprobs, new Float64Array(rows), 0, `seed ${seed}`);
  });

  it('rejects bad options and tensors that are too small, naming them', async () => {
    const gpu = await testGpu();
    const logits = gpu.empty([2, 5]);
    const tokens = gpu.empty([2], 'u32');
    const lp = gpu.empty([2]);
    const run = (o: Partial<SampleOptions>, t = tokens): void => sampleTokens(gpu, logits, t, lp, 2, 5, { temperature: 1, seed: 1, step: 0, ...o });
    expect(() => run({ temperature: -1 })).toThrow(/temperature/);
    expect(() => run({ temperature: 1e-9 })).toThrow(/temperature/);
    expect(() => run({ topP: 1.5 })).toThrow(/topP/);
    expect(() => run({ topK: 2.5 })).toThrow(/topK/);
    expect(() => run({}, gpu.empty([1], 'u32'))).toThrow(/tokens has 1 elements, needs 2/);
    expect(() => run({}, gpu.empty([2]))).toThrow(/tokens is Tensor<f32>\[2\], must be u32/);
    expect(() => run({ maxWorkgroupSize: 256 })).toThrow(/power of two in \[1, 128\]/);
  });
});

describe('sample_tokens distribution (chi-square, fixed seeds)', () => {
  const ROWS = 4096;
  const VOCAB = 10;
  // Fixed logits: one row with spread-out probabilities (about 0.01 to 0.3), repeated ROWS times.
  const row = Float32Array.from([0.3, -1.2, 1.1, 0.0, -0.4, 0.9, -2.0, 0.5, -0.8, 1.4]);
  const logits = new Float32Array(ROWS * VOCAB);
  for (let r = 0; r < ROWS; r++) logits.set(row, r * VOCAB);

  const CASES: Array<{ name: string; o: SampleOptions; wrong: Omit<SampleOptions, 'seed' | 'step'> }> = [
    { name: 'T=1', o: { temperature: 1, seed: 1234, step: 0 }, wrong: { temperature: 1.25 } },
    { name: 'T=0.8 top-k 4', o: { temperature: 0.8, topK: 4, seed: 99, step: 3 }, wrong: { temperature: 0.8, topK: 5 } },
    { name: 'T=1.2 top-p 0.75', o: { temperature: 1.2, topP: 0.75, seed: 7, step: 11 }, wrong: { temperature: 1.2 } },
    { name: 'T=1 top-k 6 top-p 0.9', o: { temperature: 1, topK: 6, topP: 0.9, seed: 2024, step: 1 }, wrong: { temperature: 1, topK: 6, topP: 0.97 } },
  ];

  it.each(CASES)('$name matches the renormalised softmax', async ({ name, o, wrong }) => {
    const gpu = await testGpu();
    const got = await draw(gpu, logits, ROWS, VOCAB, o);
    const ref = keptDistributionRef(row, o);
    expect(ref.topPMargin, 'top-p set is decided far from a mass boundary').toBeGreaterThan(TOP_P_SLACK);
    const c = counts(got.tokens, VOCAB);
    for (let j = 0; j < VOCAB; j++) if (!ref.kept[j]) expect(c[j], `${name}: excluded token ${j} was drawn`).toBe(0);
    const { stat, dof } = chiSquareStatistic(c, ref.probs);
    const p = chiSquarePValue(stat, dof);
    // The same counts against a wrong distribution: the test must be able to tell.
    const bad = chiSquareStatistic(c, keptDistributionRef(row, wrong).probs);
    const pBad = chiSquarePValue(bad.stat, bad.dof);
    if (LOG) console.log(`${name}: chi2=${stat.toFixed(2)} dof=${dof} p=${p.toExponential(2)}; wrong: chi2=${bad.stat.toFixed(1)} p=${pBad.toExponential(2)}`);
    expect(p, `${name}: chi-square ${stat} with ${dof} dof`).toBeGreaterThan(CHI2_ALPHA);
    expect(pBad, `${name}: a wrong distribution was not rejected (chi-square ${bad.stat})`).toBeLessThan(CHI2_WRONG);
    // Draw for draw, the kernel also agrees with the reference.
    const want = sampleTokensRef(logits, ROWS, VOCAB, o);
    const near = expectTokens(got.tokens, want, name);
    const err = expectLogprobs(got.logprobs, want, name);
    if (LOG) console.log(`${name}: logprob max|err|=${err.abs.toExponential(2)} prob relL2=${err.rel.toExponential(2)} near-boundary=${near}`);
  });
});
