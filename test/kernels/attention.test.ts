// Tests shaders/attention.wgsl entry points attention_forward, attention_backward_dq,
// attention_backward_dkv, kv_cache_write and attention_decode, and the unrolled variants
// attention_forward_unrolled, attention_backward_dq_unrolled, attention_backward_dkv_unrolled and
// attention_decode_unrolled (every shape whose head size they take runs through both), against
// the float64 reference:
// T = 1, odd and prime T, every T mod 4 (rows come in tiles of four), B > 1, H = KVH and grouped-query heads, head sizes 1 to 128
// (4 to 32 for the unrolled kernels, each chunk count from 1 to 8), peaked softmaxes, and decode
// over a cache filled by kv_cache_write agreeing with the forward.
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionBackwardDkv,
  attentionBackwardDq,
  attentionDecode,
  attentionFits,
  attentionForward,
  ATTENTION_VARIANTS,
  kvCacheWrite,
  selectAttentionVariant,
  type AttentionShape,
  type AttentionVariant,
} from '../../src/gpu/ops/attention';
import { attentionBackwardRef, attentionDecodeRef, attentionRef, kvCacheWriteRef } from '../reference/attention';
import { Tensor } from '../../src/gpu/tensor';
import { expectClose, fencedOutput, freshSeed, noGpuErrors, randn, rng } from '../support/check';

// Relative L2 bounds. Each output is a softmax-weighted reduction over ≤ 67 keys of hd ≤ 128
// float32 products with WGSL exp/log (no guaranteed precision). Measured maxima over repeated
// runs (SwiftShader), Chromium / Node: o 5.1e-7 / 4.1e-7, lse 2.2e-7 / 2.1e-7; dq 4.2e-6 /
// 4.1e-6, dk 4.4e-6 / 3.6e-6, dv 7.3e-7 / 8.8e-7 (dq and dk worst at hd = 128 with peaked
// softmaxes, where p·(dp − D) cancels); decode 3.5e-7 / 6.0e-7.
const TOL_FORWARD = 3e-6;
const TOL_BACKWARD = 3e-5;
const TOL_DECODE = 5e-6;
// The cache write is a copy: bit-exact.
const TOL_COPY = 0;

// [B, T, H, KVH, hd]
const SHAPES: Array<[number, number, number, number, number]> = [
  [1, 1, 1, 1, 1],
  [1, 1, 2, 1, 6],
  [3, 2, 6, 3, 6],
  [2, 5, 6, 2, 6],
  [1, 8, 3, 3, 10],
  [3, 7, 6, 3, 10],
  [2, 13, 4, 4, 8],
  [1, 31, 2, 1, 10],
  [1, 5, 2, 1, 128],
  [2, 67, 3, 1, 6],
  [1, 1, 1, 1, 4],
  [3, 6, 2, 2, 12],
  [2, 9, 4, 2, 24],
  [1, 14, 2, 1, 20],
  [1, 11, 3, 3, 28],
  [2, 5, 2, 1, 32],
  [1, 37, 4, 2, 24],
];

/** The variants that take a head size: the generic one always, the unrolled one when it fits. */
function variantsFor(hd: number): AttentionVariant[] {
  return ATTENTION_VARIANTS.filter((v) => attentionFits(v, hd));
}

describe('attention', () => {
  it.each(SHAPES)('attention_forward, attention_backward_dq, attention_backward_dkv: B=%i T=%i H=%i KVH=%i hd=%i', async (B, T, H, KVH, hd) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    // The second pass uses a custom scale and scores of standard deviation ~3.6: peaked
    // softmaxes whose running max moves often, which exercises the online rescaling.
    const passes = variantsFor(hd).flatMap((variant) => [[undefined, 1], [0.9 / Math.sqrt(hd), 2]].map(([scale, magnitude]) => ({ variant, scale, magnitude })));
    for (const { variant, scale, magnitude } of passes) {
      const s: AttentionShape = { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd, scale };
      const rows = B * T;
      const q = randn(rows * H * hd, rand, magnitude);
      const k = randn(rows * KVH * hd, rand, magnitude);
      const v = randn(rows * KVH * hd, rand);
      const dO = randn(rows * H * hd, rand);
      const o = fencedOutput(gpu, [rows, H * hd]);
      const lse = fencedOutput(gpu, [B, H, T]);
      const dq = fencedOutput(gpu, [rows, H * hd]);
      const dk = fencedOutput(gpu, [rows, KVH * hd]);
      const dv = fencedOutput(gpu, [rows, KVH * hd]);
      await noGpuErrors(gpu, () => {
        const [qt, kt, vt] = [gpu.upload(q, [rows, H * hd]), gpu.upload(k, [rows, KVH * hd]), gpu.upload(v, [rows, KVH * hd])];
        attentionForward(gpu, qt, kt, vt, o.tensor, lse.tensor, s, { variant });
        // The backward reads the kernel's own o and lse, as in training.
        const dOt = gpu.upload(dO, [rows, H * hd]);
        attentionBackwardDq(gpu, qt, kt, vt, o.tensor, dOt, lse.tensor, dq.tensor, s, { variant });
        attentionBackwardDkv(gpu, qt, kt, vt, o.tensor, dOt, lse.tensor, dk.tensor, dv.tensor, s, { variant });
      });
      const what = `${variant} seed ${seed} scale=${scale} magnitude=${magnitude}`;
      const ref = attentionRef(q, k, v, s);
      const grads = attentionBackwardRef(q, k, v, dO, s);
      expectClose(await o.read(), ref.o, TOL_FORWARD, `o ${what}`);
      expectClose(await lse.read(), ref.lse, TOL_FORWARD, `lse ${what}`);
      expectClose(await dq.read(), grads.dq, TOL_BACKWARD, `dq ${what}`);
      expectClose(await dk.read(), grads.dk, TOL_BACKWARD, `dk ${what}`);
      expectClose(await dv.read(), grads.dv, TOL_BACKWARD, `dv ${what}`);
    }
  });

  it.each(ATTENTION_VARIANTS)('attentionBackward (both kernels, %s) gives no gradient to keys from padded rows whose dO is zero', async (variant) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [B, T, H, KVH, hd] = [2, 6, 4, 2, 8];
    const lengths = [6, 3];
    const s: AttentionShape = { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd };
    const rows = B * T;
    const q = randn(rows * H * hd, rand);
    const k = randn(rows * KVH * hd, rand);
    const v = randn(rows * KVH * hd, rand);
    const dO = randn(rows * H * hd, rand);
    for (let r = 0; r < rows; r++) if (r % T >= lengths[Math.floor(r / T)]) dO.fill(0, r * H * hd, (r + 1) * H * hd);
    const o = gpu.empty([rows, H * hd]);
    const lse = gpu.empty([B, H, T]);
    const dq = fencedOutput(gpu, [rows, H * hd]);
    const dk = fencedOutput(gpu, [rows, KVH * hd]);
    const dv = fencedOutput(gpu, [rows, KVH * hd]);
    await noGpuErrors(gpu, () => {
      const [qt, kt, vt] = [gpu.upload(q, [q.length]), gpu.upload(k, [k.length]), gpu.upload(v, [v.length])];
      attentionForward(gpu, qt, kt, vt, o, lse, s, { variant });
      attentionBackward(gpu, qt, kt, vt, o, gpu.upload(dO, [dO.length]), lse, { dq: dq.tensor, dk: dk.tensor, dv: dv.tensor }, s, { variant });
    });
    const grads = attentionBackwardRef(q, k, v, dO, s);
    const [gk, gv] = [await dk.read(), await dv.read()];
    expectClose(await dq.read(), grads.dq, TOL_BACKWARD, `dq seed ${seed}`);
    expectClose(gk, grads.dk, TOL_BACKWARD, `dk seed ${seed}`);
    expectClose(gv, grads.dv, TOL_BACKWARD, `dv seed ${seed}`);
    const padded = (T + lengths[1]) * KVH * hd;
    expect([...gk.subarray(padded, rows * KVH * hd), ...gv.subarray(padded, rows * KVH * hd)].every((x) => x === 0), 'padded keys get zero gradient').toBe(true);
  });

  it('kv_cache_write copies rows to (seq, pos), prefill and decode style, skipping rows out of range', async () => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const [S, KVH, maxT, hd] = [3, 2, 11, 10];
    const c = { seqs: S, nKvHeads: KVH, maxT, headDim: hd };
    const cacheElems = S * KVH * maxT * hd;
    const kc0 = randn(cacheElems, rand);
    const vc0 = randn(cacheElems, rand);
    // Distinct slots in a random order, plus one row past the sequences and one past maxT.
    const slots = Array.from({ length: S * maxT }, (_, i) => i).sort(() => rand() - 0.5).slice(0, 17);
    const seq = Uint32Array.from([...slots.map((i) => Math.floor(i / maxT)), S, 1]);
    const pos = Uint32Array.from([...slots.map((i) => i % maxT), 0, maxT]);
    const R = seq.length;
    const k = randn(R * KVH * hd, rand);
    const v = randn(R * KVH * hd, rand);
    const kc = fencedOutput(gpu, [S, KVH, maxT, hd], 'f32', kc0);
    const vc = fencedOutput(gpu, [S, KVH, maxT, hd], 'f32', vc0);
    // 19 rows of 2·10 elements, one invocation each: 6 workgroups of 64, laid out 3 × 2 by the
    // lowered grid limit, so the 2-D indexing and the tail bounds check run here.
    const grid = { maxWorkgroupsPerDim: 3 };
    await noGpuErrors(gpu, () =>
      kvCacheWrite(gpu, gpu.upload(k, [R, KVH * hd]), gpu.upload(v, [R, KVH * hd]), gpu.upload(seq, [R], 'u32'), gpu.upload(pos, [R], 'u32'), kc.tensor, vc.tensor, R, c, grid),
    );
    const want = kvCacheWriteRef(k, v, seq, pos, R, c, kc0, vc0);
    expectClose(await kc.read(), want.kCache, TOL_COPY, `k cache seed ${seed}`);
    expectClose(await vc.read(), want.vCache, TOL_COPY, `v cache seed ${seed}`);
  });

  // [S, H, KVH, hd, maxT]
  const DECODE: Array<[number, number, number, number, number]> = [
    [1, 1, 1, 1, 1],
    [1, 2, 1, 6, 7],
    [3, 6, 2, 6, 13],
    [5, 6, 3, 10, 31],
    [2, 4, 4, 8, 64],
    [2, 2, 1, 128, 5],
    [1, 1, 1, 4, 3],
    [4, 4, 2, 24, 41],
    [3, 2, 1, 32, 9],
  ];
  it.each(DECODE)('attention_decode: S=%i H=%i KVH=%i hd=%i maxT=%i', async (S, H, KVH, hd, maxT) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const c = { seqs: S, nHeads: H, nKvHeads: KVH, maxT, headDim: hd };
    const kc = randn(S * KVH * maxT * hd, rand, 2);
    const vc = randn(S * KVH * maxT * hd, rand);
    const q = randn(S * H * hd, rand, 2);
    const len = Uint32Array.from({ length: S }, () => 1 + Math.floor(rand() * maxT));
    len[0] = maxT;
    const want = attentionDecodeRef(q, kc, vc, len, c);
    for (const variant of variantsFor(hd)) {
      const o = fencedOutput(gpu, [S, H * hd]);
      await noGpuErrors(gpu, () =>
        attentionDecode(gpu, gpu.upload(q, [q.length]), gpu.upload(kc, [kc.length]), gpu.upload(vc, [vc.length]), gpu.upload(len, [S], 'u32'), o.tensor, c, { variant }),
      );
      expectClose(await o.read(), want, TOL_DECODE, `${variant} seed ${seed} len=${[...len]}`);
    }
  });

  it.each(ATTENTION_VARIANTS)('attention_decode (%s) gives NaN for an empty or overlong sequence, and only there', async (variant) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const c = { seqs: 4, nHeads: 2, nKvHeads: 1, maxT: 5, headDim: 8 };
    const kc = randn(4 * 5 * 8, rand);
    const vc = randn(4 * 5 * 8, rand);
    const q = randn(4 * 2 * 8, rand);
    const len = Uint32Array.from([3, 0, 6, 5]);
    const o = fencedOutput(gpu, [4, 16]);
    await noGpuErrors(gpu, () =>
      attentionDecode(gpu, gpu.upload(q, [q.length]), gpu.upload(kc, [kc.length]), gpu.upload(vc, [vc.length]), gpu.upload(len, [4], 'u32'), o.tensor, c, { variant }),
    );
    const got = await o.read();
    const want = attentionDecodeRef(q, kc, vc, len, c);
    for (const s of [0, 3]) expectClose(got.subarray(s * 16, s * 16 + 16), want.subarray(s * 16, s * 16 + 16), TOL_DECODE, `seed ${seed} seq ${s}`);
    for (const s of [1, 2]) expect([...got.subarray(s * 16, s * 16 + 16)].every(Number.isNaN), `seq ${s} is NaN`).toBe(true);
  });

  // [B, T, H, KVH, hd]
  const PREFILL: Array<[number, number, number, number, number]> = [
    [1, 1, 1, 1, 8],
    [3, 7, 6, 2, 6],
    [2, 13, 6, 3, 10],
    [3, 10, 4, 2, 24],
  ];
  it.each(PREFILL)('decode over a cache filled by kv_cache_write matches attention_forward: B=%i T=%i H=%i KVH=%i hd=%i', async (B, T, H, KVH, hd) => {
    const gpu = await testGpu();
    const seed = freshSeed();
    const rand = rng(seed);
    const maxT = T + 3;
    const rows = B * T;
    const s: AttentionShape = { batch: B, seqLen: T, nHeads: H, nKvHeads: KVH, headDim: hd };
    const c = { seqs: B, nHeads: H, nKvHeads: KVH, maxT, headDim: hd };
    const q = randn(rows * H * hd, rand);
    const k = randn(rows * KVH * hd, rand);
    const v = randn(rows * KVH * hd, rand);
    // Right-padded prompts of different lengths, the first one full.
    const len = Uint32Array.from({ length: B }, (_, b) => (b === 0 ? T : 1 + Math.floor(rand() * T)));
    const qLast = new Float32Array(B * H * hd);
    for (let b = 0; b < B; b++) qLast.set(q.subarray((b * T + len[b] - 1) * H * hd, (b * T + len[b]) * H * hd), b * H * hd);
    // One decode step after prefill: a new k/v row per sequence at position len[b].
    const kNew = randn(B * KVH * hd, rand);
    const vNew = randn(B * KVH * hd, rand);
    const qNew = randn(B * H * hd, rand);
    const o = gpu.empty([rows, H * hd]);
    const prefillOut = fencedOutput(gpu, [B, H * hd]);
    const stepOut = fencedOutput(gpu, [B, H * hd]);
    const kCache = gpu.empty([B, KVH, maxT, hd]);
    const vCache = gpu.empty([B, KVH, maxT, hd]);
    const seqs = Uint32Array.from({ length: rows }, (_, r) => Math.floor(r / T));
    const positions = Uint32Array.from({ length: rows }, (_, r) => r % T);
    await noGpuErrors(gpu, () => {
      const [kt, vt] = [gpu.upload(k, [k.length]), gpu.upload(v, [v.length])];
      attentionForward(gpu, gpu.upload(q, [q.length]), kt, vt, o, gpu.empty([B, H, T]), s);
      kvCacheWrite(gpu, kt, vt, gpu.upload(seqs, [rows], 'u32'), gpu.upload(positions, [rows], 'u32'), kCache, vCache, rows, c);
      attentionDecode(gpu, gpu.upload(qLast, [qLast.length]), kCache, vCache, gpu.upload(len, [B], 'u32'), prefillOut.tensor, c);
      const stepSeq = Uint32Array.from({ length: B }, (_, b) => b);
      kvCacheWrite(gpu, gpu.upload(kNew, [kNew.length]), gpu.upload(vNew, [vNew.length]), gpu.upload(stepSeq, [B], 'u32'), gpu.upload(len, [B], 'u32'), kCache, vCache, B, c);
      const lenNext = len.map((l) => l + 1);
      attentionDecode(gpu, gpu.upload(qNew, [qNew.length]), kCache, vCache, gpu.upload(lenNext, [B], 'u32'), stepOut.tensor, c);
    });
    const oAll = await gpu.readF32(o);
    const wantPrefill = new Float32Array(B * H * hd);
    for (let b = 0; b < B; b++) wantPrefill.set(oAll.subarray((b * T + len[b] - 1) * H * hd, (b * T + len[b]) * H * hd), b * H * hd);
    const gotPrefill = await prefillOut.read();
    // Same arithmetic on the same keys: the decode row equals the forward row to rounding.
    expectClose(gotPrefill, wantPrefill, TOL_DECODE, `decode vs forward, seed ${seed} len=${[...len]}`);
    // The step: each sequence's prompt plus its new token, checked against the full reference.
    const want = new Float64Array(B * H * hd);
    for (let b = 0; b < B; b++) {
      const L = len[b] + 1;
      const pick = (x: Float32Array, xNew: Float32Array, width: number) => {
        const out = new Float32Array(L * width);
        out.set(x.subarray(b * T * width, (b * T + L - 1) * width));
        out.set(xNew.subarray(b * width, (b + 1) * width), (L - 1) * width);
        return out;
      };
      const one = attentionRef(pick(q, qNew, H * hd), pick(k, kNew, KVH * hd), pick(v, vNew, KVH * hd), { ...s, batch: 1, seqLen: L });
      want.set(one.o.subarray((L - 1) * H * hd), b * H * hd);
    }
    expectClose(await stepOut.read(), want, TOL_DECODE, `decode step, seed ${seed} len=${[...len]}`);
  });

  it('rejects bad shapes with errors naming the tensor', async () => {
    const gpu = await testGpu();
    const s: AttentionShape = { batch: 1, seqLen: 2, nHeads: 4, nKvHeads: 2, headDim: 6 };
    const q = gpu.empty([2, 24]);
    const kv = gpu.empty([2, 12]);
    const lse = gpu.empty([8]);
    expect(() => attentionForward(gpu, q, kv, kv, gpu.empty([47]), lse, s)).toThrow(/o has 47 elements, needs 48/);
    expect(() => attentionForward(gpu, q, kv, kv, gpu.empty([48]), lse, { ...s, nKvHeads: 3 })).toThrow(/not a multiple/);
    expect(() => attentionForward(gpu, q, kv, kv, gpu.empty([48]), lse, { ...s, headDim: 129 })).toThrow(/exceeds the kernels' maximum of 128/);
    expect(() => attentionForward(gpu, q, kv, kv, gpu.empty([48]), lse, s, { variant: 'unrolled' })).toThrow(/the unrolled kernels cannot run headDim 6/);
    expect([6, 8, 24, 32, 36, 64].map(selectAttentionVariant)).toEqual(['generic', 'unrolled', 'unrolled', 'unrolled', 'generic', 'generic']);
    expect(() => attentionForward(gpu, q, kv, kv, q, lse, s)).toThrow(/attention\/attention_forward: bindings 1 and 4 use one buffer, one read-only and one written/);
    // Tensors bind only their own bytes: disjoint views of one buffer may both be written,
    // overlapping ones may not.
    const arena = gpu.empty([512]);
    const view = (offset: number) => new Tensor(arena.buffer, [24], 'f32', offset * 4);
    expect(() => attentionBackwardDkv(gpu, q, kv, kv, q, q, lse, view(0), view(0), s)).toThrow(/attention_backward_dkv: bindings 7 and 8 are written and overlap/);
    await noGpuErrors(gpu, () => attentionBackwardDkv(gpu, q, kv, kv, q, q, lse, view(0), view(256), s));
    const c = { seqs: 1, nHeads: 4, nKvHeads: 2, maxT: 4, headDim: 6 };
    expect(() => attentionDecode(gpu, gpu.empty([24]), gpu.empty([48]), gpu.empty([48]), gpu.empty([1]), gpu.empty([24]), c)).toThrow(/len .* must be u32/);
    expect(() => kvCacheWrite(gpu, kv, kv, gpu.empty([2], 'u32'), gpu.empty([2], 'u32'), gpu.empty([47]), gpu.empty([48]), 2, c)).toThrow(/kCache has 47 elements/);
  });
});
