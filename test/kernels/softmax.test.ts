// Tests shaders/softmax.wgsl entry points softmax_forward and softmax_backward against the
// float64 reference: rows of length 1, primes, lengths that are no multiple of the workgroup size,
// a vocabulary-sized row, logits far from zero (the max subtraction), and more than 65535 rows
// (the 2-D grid).
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import { softmaxBackward, softmaxForward } from '../../src/gpu/ops/softmax';
import { softmaxBackwardRef, softmaxRef } from '../reference/softmax';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng } from '../support/check';

// Relative L2 bound for the forward pass: float32 exp and a blocked float32 row sum (measured
// ≤ 3e-7 on SwiftShader in Chromium and Node, cols up to 50021, 4 or 256 threads per row).
const FORWARD_TOL = 1e-5;
// Relative L2 bound for the backward pass: a float32 row reduction of dy⊙y, then y·(dy − dot).
// The subtraction is ill-conditioned when a short row's softmax is peaked (error ≈ 1e-7 · |dy| /
// (1 − max y)), so the per-shape inputs use unit-scale logits (measured ≤ 1.5e-7).
const BACKWARD_TOL = 1e-5;

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [4, 1],
  [1, 7],
  [3, 5],
  [5, 13],
  [7, 33],
  [3, 257],
  [2, 1031],
  [2, 50021],
];

// Both thread caps per row: 4 (the CPU-adapter default) and 256 (the GPU default), on any adapter.
const WIDTHS = [4, 256];

const LOG = false;

function inputs(rows: number, cols: number, rand: () => number, offset: number): Float32Array {
  const x = randn(rows * cols, rand, 3);
  for (let i = 0; i < x.length; i++) x[i] += offset;
  return x;
}

describe('softmax_forward', () => {
  it.each(SHAPES)('rows=%i cols=%i', async (rows, cols) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // Offsets past ±88 overflow exp in float32 unless the row max is subtracted.
    for (const maxWorkgroupSize of WIDTHS) {
      for (const offset of [0, 120, -150]) {
        const x = inputs(rows, cols, rand, offset);
        const y = fencedOutput(gpu, [rows, cols]);
        await noGpuErrors(gpu, () => softmaxForward(gpu, gpu.upload(x, [rows, cols]), y.tensor, rows, cols, { maxWorkgroupSize }));
        const what = `seed ${seed} offset ${offset} width ${maxWorkgroupSize}`;
        const err = expectClose(await y.read(), softmaxRef(x, rows, cols), FORWARD_TOL, what);
        if (LOG) console.log(`softmax_forward rows=${rows} cols=${cols} ${what} relL2=${err.toExponential(2)}`);
      }
    }
  });

  it('handles more than 65535 rows (2-D grid)', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [rows, cols] = [65537, 3];
    const x = inputs(rows, cols, rand, 0);
    const y = fencedOutput(gpu, [rows, cols]);
    await noGpuErrors(gpu, () => softmaxForward(gpu, gpu.upload(x, [rows, cols]), y.tensor, rows, cols));
    const err = expectClose(await y.read(), softmaxRef(x, rows, cols), FORWARD_TOL, `seed ${seed}`);
    if (LOG) console.log(`softmax_forward rows=${rows} cols=${cols} relL2=${err.toExponential(2)}`);
  });

  it('rejects a tensor that is too small, naming it', async () => {
    const gpu = await testGpu();
    const x = gpu.empty([6]);
    expect(() => softmaxForward(gpu, x, gpu.empty([5]), 2, 3)).toThrow(/softmax_forward: y has 5 elements, needs 6/);
    expect(() => softmaxBackward(gpu, x, gpu.empty([4]), x, 2, 3)).toThrow(/softmax_backward: dy has 4 elements, needs 6/);
    expect(() => softmaxForward(gpu, x, x, 2, 3, { maxWorkgroupSize: 48 })).toThrow(/power of two/);
  });
});

describe('softmax_backward', () => {
  it.each(SHAPES)('rows=%i cols=%i', async (rows, cols) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    for (const maxWorkgroupSize of WIDTHS) {
      // Unit-scale logits: when one y_j is near 1, dy_j − Σ dy⊙y cancels and float32 rounding of
      // the sum (~1e-7 of |dy|) becomes a large relative error of a tiny dx (see BACKWARD_TOL).
      const y = Float32Array.from(softmaxRef(randn(rows * cols, rand), rows, cols));
      const dy = randn(rows * cols, rand);
      const dx = fencedOutput(gpu, [rows, cols]);
      await noGpuErrors(gpu, () =>
        softmaxBackward(gpu, gpu.upload(y, [rows, cols]), gpu.upload(dy, [rows, cols]), dx.tensor, rows, cols, { maxWorkgroupSize }),
      );
      const what = `seed ${seed} width ${maxWorkgroupSize}`;
      const err = expectClose(await dx.read(), softmaxBackwardRef(y, dy, rows, cols), BACKWARD_TOL, what);
      if (LOG) console.log(`softmax_backward rows=${rows} cols=${cols} ${what} relL2=${err.toExponential(2)}`);
    }
  });

  it('handles more than 65535 rows (2-D grid)', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [rows, cols] = [65537, 2];
    const y = Float32Array.from(softmaxRef(randn(rows * cols, rand, 3), rows, cols));
    const dy = randn(rows * cols, rand);
    const dx = fencedOutput(gpu, [rows, cols]);
    await noGpuErrors(gpu, () =>
      softmaxBackward(gpu, gpu.upload(y, [rows, cols]), gpu.upload(dy, [rows, cols]), dx.tensor, rows, cols),
    );
    const err = expectClose(await dx.read(), softmaxBackwardRef(y, dy, rows, cols), BACKWARD_TOL, `seed ${seed}`);
    if (LOG) console.log(`softmax_backward rows=${rows} cols=${cols} relL2=${err.toExponential(2)}`);
  });
});
