/**
 * The tiny model the GPU model tests share: grouped-query attention (4 query heads over 2 key/value
 * heads), H·hd = 12 ≠ D = 10, F = 18, V = 13: no size a multiple of the kernels' tiles.
 */
import type { ModelConfig } from '../../src/model/config';

export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    vocabSize: 13,
    dModel: 10,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 4,
    dFF: 18,
    ropeTheta: 10000,
    normEps: 1e-5,
    tiedEmbeddings: true,
    maxSeqLen: 16,
    ...overrides,
  };
}
