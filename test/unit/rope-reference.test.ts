// The rope reference and tables: the Hugging Face rotate_half convention written out literally,
// hand-computed rotations, the float64 tables against the definition, and the backward by
// central differences.
import { describe, expect, it } from 'vitest';
import { ropeTables } from '../../src/gpu/ops/rope';
import { ropeAngle, ropeBackwardRef, ropeRef } from '../reference/rope';
import { relL2, rng } from '../support/check';
import { dot, numericalGradient, randn64 } from '../support/finite-diff';

describe('ropeRef', () => {
  it('rotates a hand-computed case (pairs i, i + hd/2)', () => {
    // hd = 4, theta = 100: pair (0, 2) turns by pos·1, pair (1, 3) by pos·0.1.
    const y = ropeRef([1, 2, 3, 4], [1], 1, 1, 4, 100);
    const [c0, s0, c1, s1] = [Math.cos(1), Math.sin(1), Math.cos(0.1), Math.sin(0.1)];
    const want = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1];
    y.forEach((v, i) => expect(v).toBeCloseTo(want[i], 14));
    expect([...ropeRef([1, 0], [1], 1, 1, 2)].map((v) => +v.toFixed(14))).toEqual([+Math.cos(1).toFixed(14), +Math.sin(1).toFixed(14)]);
  });

  it('is the identity at position 0', () => {
    const x = randn64(2 * 3 * 6, rng(1));
    expect(relL2(ropeRef(x, [0, 0], 2, 3, 6), x)).toBe(0);
  });

  it('matches the Hugging Face formula x·cos + rotate_half(x)·sin', () => {
    const rand = rng(2);
    const [rows, nHeads, hd, theta] = [3, 2, 10, 500000];
    const x = randn64(rows * nHeads * hd, rand);
    const positions = [0, 7, 1234];
    const half = hd / 2;
    const want = new Float64Array(x.length);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < nHeads; h++) {
        const base = (r * nHeads + h) * hd;
        const head = x.subarray(base, base + hd);
        const rotated = [...Array.from(head.subarray(half), (v) => -v), ...head.subarray(0, half)];
        for (let d = 0; d < hd; d++) {
          const inv = 1 / Math.pow(theta, (2 * (d % half)) / hd);
          want[base + d] = head[d] * Math.cos(positions[r] * inv) + rotated[d] * Math.sin(positions[r] * inv);
        }
      }
    }
    expect(relL2(ropeRef(x, positions, rows, nHeads, hd, theta), want)).toBeLessThanOrEqual(1e-14);
  });

  it('backward is the gradient by central differences (relative error ≤ 1e-6)', () => {
    const rand = rng(3);
    const [rows, nHeads, hd] = [3, 2, 6];
    const positions = [5, 0, 17];
    const x = randn64(rows * nHeads * hd, rand);
    const dy = randn64(x.length, rand);
    const num = numericalGradient((xx) => dot(dy, ropeRef(xx, positions, rows, nHeads, hd)), x);
    expect(relL2(ropeBackwardRef(dy, positions, rows, nHeads, hd), num)).toBeLessThanOrEqual(1e-6);
  });

  it('backward undoes forward', () => {
    const x = randn64(2 * 8, rng(4));
    expect(relL2(ropeBackwardRef(ropeRef(x, [3, 99], 2, 1, 8), [3, 99], 2, 1, 8), x)).toBeLessThanOrEqual(1e-14);
  });
});

describe('ropeTables', () => {
  it('holds cos/sin of the definition, row-major [maxPos, hd/2]', () => {
    const t = ropeTables(40, 10, 10000);
    expect(t.cos.length).toBe(40 * 5);
    for (let pos = 0; pos < 40; pos++) {
      for (let i = 0; i < 5; i++) {
        const a = ropeAngle(pos, i, 10, 10000);
        expect(t.cos[pos * 5 + i]).toBeCloseTo(Math.cos(a), 15);
        expect(t.sin[pos * 5 + i]).toBeCloseTo(Math.sin(a), 15);
      }
    }
    // hd = 4, theta = 100: frequencies 1 and 0.1.
    const small = ropeTables(4, 4, 100);
    expect(small.cos[3 * 2 + 1]).toBeCloseTo(Math.cos(0.3), 15);
    expect(small.sin[3 * 2 + 0]).toBeCloseTo(Math.sin(3), 15);
  });

  it('rejects odd head sizes', () => {
    expect(() => ropeTables(8, 5)).toThrow(/even/);
  });
});
