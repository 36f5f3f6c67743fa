// Decoding with a KV cache (src/model/decode.ts): per-step logits against the training forward
// over the whole sequence, greedy continuations against the float64 reference model, seeded
// sampling, the sampled log-probs against the training forward's log-probs, stopping rules, and
// the frozen parameter copy (cloneParams).
import { testGpu } from '#test-gpu';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/runtime';
import type { ModelConfig } from '../../src/model/config';
import { createDecodeState, decodeStep, destroyDecodeState, generate, prefill, type Generation } from '../../src/model/decode';
import { createActivations, destroyActivations, forwardTrain, setBatch } from '../../src/model/forward';
import { cloneParams, createParams, destroyParams, initParams, readParams, uploadParams, type ModelParams } from '../../src/model/params';
import { modelForwardRef, type Params64 } from '../reference/model';
import { expectClose, freshSeed, noGpuErrors, randInts, relL2, rng } from '../support/check';
import { tinyConfig } from '../support/tiny-config';

// Cached decode vs the full training forward, both float32 on the GPU: the same per-row math,
// but attention reads the cache in another kernel. Measured on SwiftShader (Node/Dawn and
// Chromium): 0 (bit-identical logits) at every step. Bound: 1e-4, a reduction's, for GPUs whose
// two attention kernels sum in different orders.
const LOGITS_TOL = 1e-4;
// Sampled token log-probs vs the training forward's logprobs at the same temperature (exp/log of
// the same logits in two kernels). Measured ≤ 2.4e-7 absolute (Node and Chromium); bound 1e-4.
// Greedy log-probs against the float64 reference model: measured ≤ 2.1e-6 absolute, same bound.
const LOGP_TOL = 1e-4;
// A greedy step may legitimately differ from the float64 argmax only at a near-tie: top two
// reference logits closer than this (float32 logits carry ~1e-6 relative error).
const TIE_GAP = 1e-4;

function config(tied: boolean, maxSeqLen = 24): ModelConfig {
  return tinyConfig({ tiedEmbeddings: tied, maxSeqLen });
}

interface Setup {
  gpu: Gpu;
  model: ModelParams;
  values: Map<string, Float32Array>;
}

async function setup(c: ModelConfig, seed: number, std: number): Promise<Setup> {
  const gpu = await testGpu();
  const model = createParams(gpu, c);
  const values = initParams(c, seed, std);
  uploadParams(gpu, model, values);
  return { gpu, model, values };
}

function randomPrompts(lengths: number[], vocab: number, rand: () => number): number[][] {
  return lengths.map((n) => Array.from(randInts(n, rand, vocab)));
}

/** Right-pads sequences into a training batch predicting each next token (targets of the last row: 0). */
function trainBatch(seqs: number[][]) {
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.length));
  const tokens = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  seqs.forEach((s, b) => {
    s.forEach((id, t) => {
      tokens[b * T + t] = id;
      if (t > 0) targets[b * T + t - 1] = id;
    });
  });
  return { batch: B, seqLen: T, tokens, targets };
}

/** The training forward over the sequences: logits [B·T, V] and logp [B·T] at the temperature. */
async function fullForward(gpu: Gpu, model: ModelParams, seqs: number[][], temperature = 1) {
  const batch = trainBatch(seqs);
  const acts = createActivations(gpu, model.config, batch.batch, batch.seqLen);
  try {
    await noGpuErrors(gpu, () => {
      setBatch(gpu, acts, batch);
      forwardTrain(gpu, model, acts, { temperature });
    });
    return { T: batch.seqLen, logits: await gpu.readF32(acts.logits), logp: await gpu.readF32(acts.logp) };
  } finally {
    destroyActivations(acts);
  }
}

function to64(values: Map<string, Float32Array>): Params64 {
  return new Map([...values].map(([k, v]) => [k, Float64Array.from(v)]));
}

describe('KV-cache decoding', () => {
  // Shared prompts (a rollout's samples) are prefilled once and written into each sequence's cache.
  for (const [tied, shared] of [[true, false], [false, false], [true, true]]) {
    const what = shared ? 'prompts of lengths 1, 5, 3, 5, 1, 5, 4, 5: copies of three, each continued its own way' : 'prompts of lengths 1, 5, 3';
    it(`gives each step the full forward's logits (${tied ? 'tied' : 'untied'} head, ${what})`, async () => {
      const seed = freshSeed();
      const rand = rng(seed);
      const c = config(tied);
      const { gpu, model } = await setup(c, seed, 0.3);
      const base = randomPrompts([1, 5, 3], c.vocabSize, rand);
      // A 5-token prompt that differs from the other only in its last token (which the prefill leaves to the first step).
      const prompts = shared ? [base[0], base[1], base[2], base[1], base[0], base[1], [...base[1].slice(0, 3), (base[1][3] + 1) % c.vocabSize], [...base[1].slice(0, 4), (base[1][4] + 1) % c.vocabSize]] : base;
      const STEPS = 6;
      const cont = randomPrompts(prompts.map(() => STEPS), c.vocabSize, rand);
      const full = await fullForward(gpu, model, prompts.map((p, s) => [...p, ...cont[s]]));
      const V = c.vocabSize;
      const st = createDecodeState(gpu, c, prompts.length, Math.max(...prompts.map((p) => p.length)) + STEPS);
      let worst = 0;
      try {
        await noGpuErrors(gpu, () => prefill(gpu, model, st, prompts));
        expect(st.lengths).toEqual(prompts.map((p) => p.length - 1));
        for (let i = 0; i < STEPS; i++) {
          const feed = prompts.map((p, s) => (i === 0 ? p[p.length - 1] : cont[s][i - 1]));
          await noGpuErrors(gpu, () => decodeStep(gpu, model, st, feed));
          const got = await gpu.readF32(st.logits);
          const want = new Float32Array(got.length);
          prompts.forEach((p, s) => want.set(full.logits.subarray((s * full.T + p.length - 1 + i) * V, (s * full.T + p.length + i) * V), s * V));
          worst = Math.max(worst, expectClose(got, want, LOGITS_TOL, `step ${i} logits (seed ${seed})`));
        }
        expect(st.lengths).toEqual(prompts.map((p) => p.length - 1 + STEPS));
      } finally {
        destroyDecodeState(st);
        destroyParams(model);
      }
      console.log(`decode logits vs full forward (${tied ? 'tied' : 'untied'}): worst step relative L2 ${worst.toExponential(2)}`);
    });
  }

  it('greedy decoding follows the float64 reference argmax, with log-probs at temperature 1', async () => {
    const seed = freshSeed();
    const rand = rng(seed);
    const c = config(false);
    // Larger weights spread the logits, so near-ties (where float32 may pick the other token) are rare.
    const { gpu, model, values } = await setup(c, seed, 0.5);
    const prompts = randomPrompts([2, 6, 1], c.vocabSize, rand);
    const MAX = 8;
    const t0 = performance.now();
    const gen = await noGpuErrors(gpu, () => generate(gpu, model, prompts, { temperature: 0, seed: 1, maxTokens: MAX }));
    const ms = performance.now() - t0;
    console.log(`greedy decode: ${prompts.length}×${MAX} tokens in ${ms.toFixed(0)} ms = ${((prompts.length * MAX * 1000) / ms).toFixed(0)} tokens/s`);
    const p64 = to64(values);
    let compared = 0;
    let worstLogp = 0;
    prompts.forEach((p, s) => {
      expect(gen.tokens[s]).toHaveLength(MAX);
      expect(gen.finish[s]).toBe('length');
      for (let i = 0; i < MAX; i++) {
        const seq = [...p, ...gen.tokens[s].slice(0, i)];
        const ref = modelForwardRef(c, p64, { batch: 1, seqLen: seq.length, tokens: seq, targets: new Array<number>(seq.length).fill(0) });
        const row = ref.logits.subarray((seq.length - 1) * c.vocabSize, seq.length * c.vocabSize);
        let best = 0;
        for (let v = 1; v < c.vocabSize; v++) if (row[v] > row[best]) best = v;
        const tok = gen.tokens[s][i];
        if (tok !== best) {
          // Only a near-tie may flip the argmax; the rest of the continuation then diverges.
          expect(row[best] - row[tok], `sequence ${s} step ${i}: token ${tok} vs reference argmax ${best} (seed ${seed})`).toBeLessThan(TIE_GAP);
          break;
        }
        let m = -Infinity;
        for (const z of row) m = Math.max(m, z);
        let sum = 0;
        for (const z of row) sum += Math.exp(z - m);
        const want = row[tok] - m - Math.log(sum);
        worstLogp = Math.max(worstLogp, Math.abs(gen.logprobs[s][i] - want));
        compared++;
      }
    });
    expect(compared, `tokens compared before any near-tie (seed ${seed})`).toBeGreaterThanOrEqual(MAX);
    expect(worstLogp, `greedy log-probs vs reference (seed ${seed})`).toBeLessThanOrEqual(LOGP_TOL);
    console.log(`greedy: ${compared} tokens equal to the reference argmax; log-prob abs error ${worstLogp.toExponential(2)}`);
    destroyParams(model);
  });

  it('seeded sampling is reproducible, and another seed gives other tokens', async () => {
    const seed = freshSeed();
    const rand = rng(seed);
    const c = config(true);
    const { gpu, model } = await setup(c, seed, 0.1);
    const prompts = randomPrompts([3, 1, 4], c.vocabSize, rand);
    const o = { temperature: 1, seed: seed & 0xffff, maxTokens: 12 };
    const a = await generate(gpu, model, prompts, o);
    const b = await generate(gpu, model, prompts, o);
    const other = await generate(gpu, model, prompts, { ...o, seed: o.seed + 1 });
    destroyParams(model);
    expect(b, `same seed (seed ${seed})`).toEqual(a);
    expect(other.tokens, `another seed (seed ${seed})`).not.toEqual(a.tokens);
  });

  for (const [temperature, topK, topP] of [
    [0.7, 8, 0.9],
    [1.3, 0, 1],
  ] as const) {
    it(`returns the log-probs the training forward computes (temperature ${temperature}, top-k ${topK}, top-p ${topP})`, async () => {
      const seed = freshSeed();
      const rand = rng(seed);
      const c = config(temperature < 1);
      const { gpu, model } = await setup(c, seed, 0.3);
      const prompts = randomPrompts([4, 1, 7, 2], c.vocabSize, rand);
      const gen = await generate(gpu, model, prompts, { temperature, topK, topP, seed: seed & 0xffff, maxTokens: 7 });
      const full = await fullForward(gpu, model, prompts.map((p, s) => [...p, ...gen.tokens[s]]), temperature);
      destroyParams(model);
      const got: number[] = [];
      const want: number[] = [];
      prompts.forEach((p, s) => {
        gen.tokens[s].forEach((_, i) => {
          got.push(gen.logprobs[s][i]);
          want.push(full.logp[s * full.T + p.length - 1 + i]);
        });
      });
      expect(got.length).toBe(prompts.length * 7);
      const abs = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
      expect(abs, `log-probs, max abs error (seed ${seed})`).toBeLessThanOrEqual(LOGP_TOL);
      console.log(`sampled log-probs vs forwardTrain (τ=${temperature}): max abs ${abs.toExponential(2)}, relative L2 ${relL2(got, want).toExponential(2)}`);
    });
  }

  it('stops at EOS, at a stop string and at maxTokens / maxSeqLen', async () => {
    const seed = freshSeed();
    const rand = rng(seed);
    const c = config(true, 16);
    const { gpu, model } = await setup(c, seed, 0.5);
    const prompts = randomPrompts([3, 1, 4], c.vocabSize, rand);
    const MAX = 8;
    const greedy = { temperature: 0, seed: 0, maxTokens: MAX };
    const base = await generate(gpu, model, prompts, greedy);
    expect(base.finish).toEqual(['length', 'length', 'length']);
    base.tokens.forEach((t, s) => {
      expect(t).toHaveLength(MAX);
      expect(base.logprobs[s]).toHaveLength(MAX);
    });

    /** What `base` becomes when each response is cut after the first token index where `ends` holds. */
    const cut = (ends: (tokens: number[]) => boolean, why: 'eos' | 'stop'): Generation => {
      const out: Generation = { tokens: [], logprobs: [], finish: [] };
      base.tokens.forEach((t, s) => {
        let n = 1;
        while (n <= t.length && !ends(t.slice(0, n))) n++;
        const hit = n <= t.length;
        out.tokens.push(t.slice(0, hit ? n : t.length));
        out.logprobs.push(base.logprobs[s].slice(0, hit ? n : t.length));
        out.finish.push(hit ? why : 'length');
      });
      return out;
    };

    const eos = base.tokens[0][2];
    const withEos = await generate(gpu, model, prompts, { ...greedy, eosTokenId: eos });
    expect(withEos, `EOS ${eos} (seed ${seed})`).toEqual(cut((t) => t[t.length - 1] === eos, 'eos'));
    expect(withEos.finish[0]).toBe('eos');

    const decodeText = (ids: number[]): string => ids.map((i) => String.fromCharCode(97 + i)).join('');
    const stop = decodeText(base.tokens[1].slice(1, 3));
    const withStop = await generate(gpu, model, prompts, { ...greedy, stopStrings: ['@never', stop], decodeText });
    expect(withStop, `stop string "${stop}" (seed ${seed})`).toEqual(cut((t) => decodeText(t).includes(stop), 'stop'));
    expect(withStop.finish[1]).toBe('stop');

    // Prompt + response stop at maxSeqLen = 16: a 14-token prompt leaves room for 2 tokens.
    const capped = await generate(gpu, model, [prompts[0], randomPrompts([14], c.vocabSize, rand)[0]], greedy);
    expect(capped.tokens[0]).toEqual(base.tokens[0]);
    expect(capped.tokens[1]).toHaveLength(2);
    expect(capped.finish).toEqual(['length', 'length']);
    const none = await generate(gpu, model, prompts, { ...greedy, maxTokens: 0 });
    expect(none.tokens).toEqual([[], [], []]);
    await expect(generate(gpu, model, [[]], greedy)).rejects.toThrow(/prompt 0 is empty/);
    await expect(generate(gpu, model, prompts, { ...greedy, stopStrings: ['x'] })).rejects.toThrow(/decodeText/);
    destroyParams(model);
  });

  it('cloneParams gives an equal copy that does not follow later changes of the original', async () => {
    const seed = freshSeed();
    const c = config(false);
    const { gpu, model, values } = await setup(c, seed, 0.1);
    const clone = await noGpuErrors(gpu, () => cloneParams(gpu, model));
    uploadParams(gpu, model, initParams(c, seed + 1, 0.1));
    const [copy, changed] = [await readParams(gpu, clone), await readParams(gpu, model)];
    for (const [name, v] of values) {
      expect(copy.get(name), `${name} of the clone (seed ${seed})`).toEqual(v);
      if (!name.endsWith('norm.weight')) expect(changed.get(name), `${name} of the original`).not.toEqual(v);
    }
    // The clone runs the forward like the original did.
    const prompt = [[1, 2, 3]];
    const a = await generate(gpu, clone, prompt, { temperature: 0, seed: 0, maxTokens: 4 });
    uploadParams(gpu, model, values);
    const b = await generate(gpu, model, prompt, { temperature: 0, seed: 0, maxTokens: 4 });
    expect(a).toEqual(b);
    destroyParams(clone);
    destroyParams(model);
  });
});
