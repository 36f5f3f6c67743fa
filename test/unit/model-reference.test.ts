// The float64 reference model: its backward agrees with central finite differences of its loss for
// every parameter tensor (tied and untied heads, grouped-query attention, a padded batch, a
// temperature and an entropy term), and its forward agrees with small direct computations.
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { paramList } from '../../src/model/layout';
import { headName, modelBackwardRef, modelForwardRef, modelLossRef, sftWeights, type BatchRef, type Params64 } from '../reference/model';
import { relL2, rng } from '../support/check';
import { numericalGradient, randn64 } from '../support/finite-diff';

// Central differences in float64 with h = 1e-5: truncation ~h²·L''' ≈ 1e-10, rounding ~1e-16·L/h.
const FD_TOL = 1e-6;

function tinyConfig(tied: boolean): ModelConfig {
  // H=4 query heads over KVH=2 kv heads (GQA), H·hd = 12 ≠ D = 8, two rotary frequencies per head.
  return {
    vocabSize: 11,
    dModel: 8,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 4,
    dFF: 12,
    ropeTheta: 10000,
    normEps: 1e-5,
    tiedEmbeddings: tied,
    maxSeqLen: 16,
  };
}

function randomParams(c: ModelConfig, rand: () => number): Params64 {
  // Large enough that attention is far from uniform and the norms' weights matter.
  return new Map(
    paramList(c).map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const x = s.kind === 'norm' ? randn64(n, rand, 0.3).map((v) => 1 + v) : randn64(n, rand, 0.5);
      return [s.name, x];
    }),
  );
}

/** B=3, T=5, right-padded to lengths 5, 3, 1; mask off on padded rows. */
function paddedBatch(c: ModelConfig, rand: () => number): { batch: BatchRef; mask: Float64Array } {
  const B = 3;
  const T = 5;
  const lengths = [5, 3, 1];
  const tokens = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  const mask = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = Math.floor(rand() * c.vocabSize);
      targets[b * T + t] = Math.floor(rand() * c.vocabSize);
      mask[b * T + t] = t < lengths[b] ? 1 : 0;
    }
  }
  return { batch: { batch: B, seqLen: T, tokens, targets }, mask };
}

describe('model reference backward', () => {
  for (const tied of [false, true]) {
    it(`matches central differences for every parameter (${tied ? 'tied' : 'untied'} head, relative L2 ≤ ${FD_TOL})`, () => {
      const rand = rng(tied ? 11 : 12);
      const c = tinyConfig(tied);
      const p = randomParams(c, rand);
      const { batch, mask } = paddedBatch(c, rand);
      // Advantage-like weights of both signs, and an entropy bonus, both masked.
      const w = Float64Array.from(mask, (m) => m * (rand() * 2 - 1));
      const e = Float64Array.from(mask, (m) => m * 0.3 * rand());
      const tau = 0.7;
      const grads = modelBackwardRef(c, p, batch, w, e, tau);
      const names = paramList(c).map((s) => s.name);
      expect([...grads.keys()]).toEqual(names);
      const errors: string[] = [];
      for (const name of names) {
        const x = p.get(name)!;
        const num = numericalGradient((xp) => modelLossRef(c, new Map(p).set(name, xp), batch, w, e, tau), x, 1e-5);
        const err = relL2(grads.get(name)!, num);
        errors.push(`${name}: ${err.toExponential(2)}`);
        expect(err, `${name}: relative L2 ${err}`).toBeLessThanOrEqual(FD_TOL);
        expect(Math.hypot(...num), `${name}: gradient is zero, the check proves nothing`).toBeGreaterThan(1e-6);
      }
      if (process.env.EXPRL_PRINT_ERRORS) console.log(errors.join('\n'));
    });
  }
});

describe('model reference forward', () => {
  it('with zero attention and MLP outputs is the final norm of the embedding times the head', () => {
    const rand = rng(3);
    for (const tied of [false, true]) {
      const c = tinyConfig(tied);
      const p = randomParams(c, rand);
      for (const s of paramList(c)) if (s.name.includes('o_proj') || s.name.includes('down_proj')) p.get(s.name)!.fill(0);
      const { batch } = paddedBatch(c, rand);
      const f = modelForwardRef(c, p, batch);
      const emb = p.get('model.embed_tokens.weight')!;
      const head = p.get(headName(c))!;
      const wF = p.get('model.norm.weight')!;
      const D = c.dModel;
      const want = new Float64Array(f.logits.length);
      for (let r = 0; r < batch.tokens.length; r++) {
        const x = emb.subarray(batch.tokens[r] * D, (batch.tokens[r] + 1) * D);
        const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / D + c.normEps);
        for (let v = 0; v < c.vocabSize; v++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += ((wF[d] * x[d]) / rms) * head[v * D + d];
          want[r * c.vocabSize + v] = s;
        }
      }
      expect(relL2(f.logits, want)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('is causal: changing later (padding) tokens leaves earlier logits unchanged', () => {
    const rand = rng(4);
    const c = tinyConfig(false);
    const p = randomParams(c, rand);
    const { batch } = paddedBatch(c, rand);
    const a = modelForwardRef(c, p, batch);
    const tokens = Uint32Array.from(batch.tokens);
    // Sequence 1 has length 3: its rows 3 and 4 are padding.
    tokens[1 * 5 + 3] = (tokens[1 * 5 + 3] + 1) % c.vocabSize;
    tokens[1 * 5 + 4] = (tokens[1 * 5 + 4] + 5) % c.vocabSize;
    const b = modelForwardRef(c, p, { ...batch, tokens });
    const V = c.vocabSize;
    expect([...b.logits.subarray(0, (5 + 3) * V)]).toEqual([...a.logits.subarray(0, (5 + 3) * V)]);
    expect(relL2(b.logits.subarray((5 + 3) * V, (5 + 5) * V), a.logits.subarray((5 + 3) * V, (5 + 5) * V))).toBeGreaterThan(1e-6);
  });

  it('with SFT weights the loss is the mean negative log-likelihood of the masked-in targets', () => {
    const rand = rng(5);
    const c = tinyConfig(true);
    const p = randomParams(c, rand);
    const { batch, mask } = paddedBatch(c, rand);
    const f = modelForwardRef(c, p, batch);
    let nll = 0;
    let n = 0;
    for (let r = 0; r < mask.length; r++) {
      if (mask[r] === 0) continue;
      const row = f.logits.subarray(r * c.vocabSize, (r + 1) * c.vocabSize);
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      nll -= row[batch.targets[r]] - lse;
      n++;
    }
    expect(modelLossRef(c, p, batch, sftWeights(mask))).toBeCloseTo(nll / n, 12);
  });
});
