// An engine we did not write as the oracle: llama.cpp (through node-llama-cpp, its prebuilt CPU
// binary) scores the same random tiny models as our WebGPU forward, from a GGUF file this test
// writes (test/support/gguf-writer.ts). Every tiny variant the generator makes (tied/untied,
// grouped-query/multi-head, head size ≠ D / heads, rope theta 1e4 and 1e5, f32 and bf16
// weights) is written as our Hugging Face folder and as GGUF; a fixed-length token-id sequence
// (<bos>, then seeded random ids over the whole vocabulary, as long as the model's context) is
// scored by both, and the full log-softmax at every position, [n − 1, vocab], is compared as
// relative L2, as are the log-probs of the sequence's own next tokens.
//
// The control: the same model written with q_proj/k_proj rows in Hugging Face order (llama.cpp
// rotates adjacent pairs, Hugging Face the two halves of a head) must fail by a wide margin, so
// the comparison can tell a layout mistake from rounding.
//
// Node only (Dawn and a native addon): the gpu-node project collects test/oracle/**, the browser
// project does not. Nothing downloads: node-llama-cpp's prebuilt binary ships in its npm package.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel, TINY_VARIANTS } from '../../scripts/make-tiny-model';
import { PolicySession } from '../../src/model/session';
import { freshSeed, relL2, rng } from '../support/check';
import { llamaGguf } from '../support/gguf-writer';
import { testGpu } from '../support/gpu-node';

// Relative L2 between the two engines' log-probs. Both compute in float32 (f32 weights in the
// GGUF, the KV cache asked for in f32, no flash attention) but in different orders and with their
// own exp and rope tables, so they differ by rounding: a few float32 ulps (6e-8 relative) per op,
// through sums of at most max(D, F, H·hd) ≤ 37 terms and 1-3 layers. Measured on SwiftShader
// (Node/Dawn) against node-llama-cpp 3.21.1's CPU binary, 7 runs of fresh seeds, all 4 variants:
// log-softmax ≤ 1.2e-7, next-token log-probs ≤ 1.2e-7. The tolerance is 80× that, room for other
// adapters' float32 orders.
const TOL = 1e-5;
// The control: q/k in Hugging Face row order measured 1.1e-2 to 5.0e-2 (log-probs near
// −log(vocab) keep the relative figure modest): it must be at least 100× the tolerance, which
// the measurements clear by 11× or more.
const CONTROL_MIN = 100 * TOL;

const print = (s: string): void => {
  if (process.env.EXPRL_PRINT_ERRORS) console.log(s);
};

let llama: Llama;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exprl-oracle-'));
  // CPU only, never building or downloading a binary; the warnings it would print are about the
  // test vocabulary (it cannot round-trip text), not about the numbers compared here.
  llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
});

afterAll(async () => {
  await llama?.dispose();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/**
 * llama.cpp's log-softmax after each of ids[0..n−2], [n − 1, vocab] row-major, in float64 from
 * the probabilities it returns. A greedy sampler (temperature 0) leaves the logits as they are,
 * so these are the softmax of the raw logits over the whole vocabulary.
 */
async function llamaLogSoftmax(path: string, ids: readonly number[], vocab: number): Promise<Float64Array> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({
      contextSize: ids.length,
      batchSize: ids.length,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
      threads: 1,
    });
    try {
      const rows = ids.length - 1;
      // Token is a branded number in node-llama-cpp's types; our ids are its ids (the GGUF lists our vocabulary in order).
      const input: ControlledEvaluateInputItem[] = ids.slice(0, rows).map((t) => [t as Token, { generateNext: { probabilities: true } }]);
      const out = await context.getSequence().controlledEvaluate(input);
      const logp = new Float64Array(rows * vocab).fill(NaN);
      for (let r = 0; r < rows; r++) {
        const probs = out[r]?.next.probabilities;
        if (probs === undefined) throw new Error(`llama.cpp returned no probabilities after token ${r}`);
        if (probs.size !== vocab) throw new Error(`llama.cpp returned ${probs.size} probabilities after token ${r}, not ${vocab}`);
        for (const [id, p] of probs) logp[r * vocab + id] = Math.log(p);
      }
      return logp;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** Our log-softmax of the logits, [rows, vocab], in float64. */
function logSoftmax(logits: Float32Array, vocab: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / vocab; r++) {
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    const max = Math.max(...row);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < vocab; j++) out[r * vocab + j] = row[j] - lse;
  }
  return out;
}

function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

describe('log-probs against llama.cpp (node-llama-cpp) on GGUF files this test writes', () => {
  for (const variant of TINY_VARIANTS) {
    it(`${variant.name}: matches, and a Hugging Face q/k row order does not`, async () => {
      const seed = freshSeed();
      const c = variant.config;
      const where = `${variant.name} seed ${seed}`;
      const tiny = await makeTinyModel(join(dir, variant.name), variant, seed);
      const rand = rng(seed ^ 0x5eed);
      const ids = [c.bosTokenId ?? 1, ...Array.from({ length: c.maxSeqLen }, () => Math.floor(rand() * c.vocabSize))];
      const gguf = (permuteQK: boolean): { tokens: string[]; controlIds: number[]; permuteQK: boolean } => ({
        tokens: [...tiny.tokenizer.tokens],
        controlIds: [tiny.tokenizer.padId, tiny.tokenizer.bosId, tiny.tokenizer.eosId],
        permuteQK,
      });
      // The weights as our loader returns them (bf16 variants already rounded): both engines see the same numbers.
      const good = join(dir, `${variant.name}.gguf`);
      const wrong = join(dir, `${variant.name}-hf-qk-order.gguf`);
      await writeFile(good, llamaGguf(c, tiny.params, gguf(true)));
      await writeFile(wrong, llamaGguf(c, tiny.params, gguf(false)));

      const session = await PolicySession.load(await testGpu(), tiny.dir);
      let ours: Float64Array;
      let oursTarget: Float32Array;
      try {
        const scored = await session.scoreIds(ids, { withLogits: true });
        ours = logSoftmax(scored.logits as Float32Array, c.vocabSize);
        oursTarget = scored.logprobs;
      } finally {
        session.destroy();
      }
      const theirs = await llamaLogSoftmax(good, ids, c.vocabSize);
      const theirsWrong = await llamaLogSoftmax(wrong, ids, c.vocabSize);
      const rows = ids.length - 1;
      const target = (m: Float64Array): Float64Array => Float64Array.from({ length: rows }, (_, r) => m[r * c.vocabSize + ids[r + 1]]);

      // NaN or Inf never passes, on either side.
      expect(allFinite(ours), `${where}: our log-probs are not all finite`).toBe(true);
      expect(allFinite(oursTarget), `${where}: our target log-probs are not all finite`).toBe(true);
      expect(allFinite(theirs), `${where}: llama.cpp's log-probs are not all finite`).toBe(true);

      const full = relL2(ours, theirs);
      const tokens = relL2(oursTarget, target(theirs));
      const control = relL2(ours, theirsWrong);
      const controlTokens = relL2(oursTarget, target(theirsWrong));
      print(`${where}: rel L2 vs llama.cpp, log-softmax [${rows}, ${c.vocabSize}] ${full.toExponential(2)}, next-token log-probs ${tokens.toExponential(2)}; HF q/k order: ${control.toExponential(2)}, ${controlTokens.toExponential(2)}`);
      expect(full, `${where}: log-softmax, relative L2 to llama.cpp`).toBeLessThanOrEqual(TOL);
      expect(tokens, `${where}: next-token log-probs, relative L2 to llama.cpp`).toBeLessThanOrEqual(TOL);
      // NaN fails these too (a comparison with NaN is false).
      expect(control, `${where}: a GGUF with q/k rows in Hugging Face order must not match`).toBeGreaterThan(CONTROL_MIN);
      expect(controlTokens, `${where}: a GGUF with q/k rows in Hugging Face order must not match (next-token log-probs)`).toBeGreaterThan(CONTROL_MIN);
    });
  }
});
