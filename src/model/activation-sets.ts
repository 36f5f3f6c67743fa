/**
 * Activations for micro-batches whose shape changes from one to the next. A trainer's rows are
 * as long as the micro-batch's longest sequence, rounded up to a multiple of ROW_BUCKET and at
 * most the trainer's seqLen, and a micro-batch may hold fewer sequences than the trainer's
 * micro-batch size: attention costs T² and the rest T, so padding every row to the longest
 * sequence a stage could have wastes most of a step. One set of activations is allocated for the
 * largest shape (micro-batch × seqLen rows) on first use; each micro-batch runs in views of its
 * first rows (forward.ts: viewActivations), so no shape allocates again.
 */
import type { Gpu } from '../gpu/runtime';
import type { ModelConfig } from './config';
import { createActivations, destroyActivations, positionsFor, viewActivations, type Activations } from './forward';

/** Rows are rounded up to a multiple of this: with one allocation for every shape, rounding buys nothing but keeps row counts tidy. */
export const ROW_BUCKET = 8;

/** Input tokens per row for a step whose longest sequence has `longest` input tokens. */
export function rowsFor(longest: number, seqLen: number, bucket = ROW_BUCKET): number {
  return Math.min(seqLen, Math.max(1, Math.ceil(longest / bucket) * bucket));
}

/**
 * The widest buffer createActivations makes for [batch, seqLen]: rows × the largest of the
 * vocabulary (logits), the MLP's width, the heads' and the model's. A trainer checks it when it
 * is made, so a shape the device cannot hold is refused before the stage's first step rather
 * than at its first update.
 */
export function largestActivation(c: ModelConfig, batch: number, seqLen: number): { label: string; shape: [number, number] } {
  const widths: [string, number][] = [['logits', c.vocabSize], ['gate', c.dFF], ['q', c.nHeads * c.headDim], ['resid-0', c.dModel]];
  const [label, width] = widths.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { label, shape: [batch * seqLen, width] };
}

export class ActivationArena {
  private full: Activations | null = null;
  /** The row length T whose positions (r % T) the shared positions buffer holds. */
  private positionsT = 0;

  constructor(
    private readonly gpu: Gpu,
    private readonly config: ModelConfig,
    /** Sequences per micro-batch at most. */
    readonly batch: number,
    /** Input tokens per row at most. */
    readonly seqLen: number,
  ) {
    const widest = largestActivation(config, batch, seqLen);
    gpu.assertFits(widest.shape, widest.label);
  }

  /**
   * Activations for `batch` rows of T tokens (batch ≤ the arena's, T ≤ its seqLen). Views of one
   * allocation: the work recorded for one micro-batch must be submitted before the next one's
   * inputs are written (Gpu.write submits first, so writing them in order is enough).
   */
  get(batch: number, T: number): Activations {
    if (batch > this.batch || T > this.seqLen) throw new Error(`ActivationArena: [${batch}, ${T}] exceeds [${this.batch}, ${this.seqLen}]`);
    if (this.full === null) {
      this.full = createActivations(this.gpu, this.config, this.batch, this.seqLen);
      this.positionsT = this.seqLen;
    }
    const full = this.full;
    // The whole buffer holds r % T, so every view of rows of T tokens finds its positions.
    if (this.positionsT !== T) {
      this.gpu.write(full.positions, positionsFor(full.rows, T));
      this.positionsT = T;
    }
    return batch === full.batch && T === full.seqLen ? full : viewActivations(full, batch, T);
  }

  destroy(): void {
    if (this.full !== null) destroyActivations(this.full);
    this.full = null;
  }
}
