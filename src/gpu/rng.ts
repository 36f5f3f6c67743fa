/**
 * CPU twin of the GPU random number generator in shaders/sampling.wgsl. The generator itself,
 * Philox-2x32-10, lives below every layer in src/math/philox.ts (task generation uses it too);
 * this module adds the streams the kernels draw, so a test can compute any GPU draw on the CPU.
 *
 * `random_uniform` writes uniform(seed, stream, offset + j) (randomUniforms), and `sample_tokens`
 * draws row r at step s with uniform(seed, s, r): the rng key (seed, row, step). Callers who also
 * use random_uniform for other purposes should give it a different seed or stream than the
 * sampler so that the draws do not coincide.
 */
import { randomUniform } from '../math/philox';

export { mulhi32, philox2x32, randomBits, randomUniform, randomUniforms } from '../math/philox';

/** The uniform that `sample_tokens` uses for `row` at `step`. */
export function samplingUniform(seed: number, row: number, step: number): number {
  return randomUniform(seed, step, row);
}
