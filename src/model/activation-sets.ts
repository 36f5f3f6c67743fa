/**
 * Activations for rows whose length changes from step to step. A trainer's rows are as long as
 * the step's longest sequence, rounded up to a multiple of ROW_BUCKET and at most the trainer's
 * seqLen: attention costs T² and the rest T, so padding every row to the longest sequence a
 * stage could have wastes most of a step. Rounding lets nearby lengths share one set; the most
 * recently used sets stay allocated.
 */
import type { Gpu } from '../gpu/runtime';
import type { ModelConfig } from './config';
import { createActivations, destroyActivations, type Activations } from './forward';

export const ROW_BUCKET = 32;

/** Input tokens per row for a step whose longest sequence has `longest` input tokens. */
export function rowsFor(longest: number, seqLen: number, bucket = ROW_BUCKET): number {
  return Math.min(seqLen, Math.max(1, Math.ceil(longest / bucket) * bucket));
}

export class ActivationSets {
  /** By row length, least recently used first. */
  private readonly sets = new Map<number, Activations>();

  constructor(
    private readonly gpu: Gpu,
    private readonly config: ModelConfig,
    private readonly batch: number,
    /** Sets kept at once (the lengths of consecutive steps are usually close). */
    private readonly keep = 2,
  ) {}

  /** Activations for rows of T tokens: kept from an earlier step, or made (dropping the least recently used). */
  get(T: number): Activations {
    let a = this.sets.get(T);
    if (a !== undefined) this.sets.delete(T);
    else {
      if (this.sets.size >= this.keep) {
        const [oldest, old] = this.sets.entries().next().value as [number, Activations];
        destroyActivations(old);
        this.sets.delete(oldest);
      }
      a = createActivations(this.gpu, this.config, this.batch, T);
    }
    this.sets.set(T, a);
    return a;
  }

  destroy(): void {
    for (const a of this.sets.values()) destroyActivations(a);
    this.sets.clear();
  }
}
