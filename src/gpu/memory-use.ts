/**
 * GPU memory in use, by what the buffers hold. Every buffer the runtime makes (Gpu.createBuffer:
 * tensors, the pool's scratch and uniform buffers, readback staging) is counted under the
 * category of its label from creation until its `destroy`, whoever calls it: callers free
 * tensors with `tensor.buffer.destroy()`, so the count is kept by wrapping that method on each
 * buffer (trackBuffer). Pure: no WebGPU globals; tested with stand-in buffers.
 *
 * The label → category table is CATEGORY_RULES below, and only there.
 */

export type MemoryCategory =
  | 'weights'
  | 'gradients'
  | 'optimizer'
  | 'frozen'
  | 'activations'
  | 'kv-cache'
  | 'sampling'
  | 'scratch'
  | 'uniforms'
  | 'staging'
  | 'other';

/** Categories in the order a report lists them, with the words the page shows for each. */
export const MEMORY_CATEGORIES: readonly { category: MemoryCategory; name: string }[] = [
  { category: 'weights', name: 'weights (the policy)' },
  { category: 'gradients', name: 'gradients' },
  { category: 'optimizer', name: 'optimizer moments' },
  { category: 'frozen', name: 'frozen copies (base, reference)' },
  { category: 'activations', name: 'activations (update, scoring)' },
  { category: 'kv-cache', name: 'KV cache (sampling)' },
  { category: 'sampling', name: 'sampling buffers' },
  { category: 'scratch', name: 'pooled scratch' },
  { category: 'uniforms', name: 'kernel parameters (pooled uniforms)' },
  { category: 'staging', name: 'readback staging' },
  { category: 'other', name: 'other' },
];

/** The activation labels of src/model/forward.ts (createActivations) that no pattern below covers. */
const ACTIVATION_LABELS = new Set([
  'xn1', 'rstd1', 'q', 'k', 'v', 'attn', 'attn-lse', 'h', 'xn2', 'rstd2', 'gate', 'up', 'act', 'xnF', 'rstdF', 'logits', 'logp',
  'entropy', 'logits-lse', 'q-pre', 'k-pre', 'tokens', 'targets', 'positions', 'rope-cos', 'rope-sin',
]);

/**
 * Label → category, first match wins. Labels are those of src/model (params.ts, train-step.ts,
 * forward.ts, decode.ts), src/rl/policy-step.ts, src/model/sft-trainer.ts and the runtime's own.
 */
const CATEGORY_RULES: readonly [RegExp | ((label: string) => boolean), MemoryCategory][] = [
  [/^params-clone-\d+$/, 'frozen'],
  [/^params-\d+$/, 'weights'],
  [/^grads-\d+$/, 'gradients'],
  [/^(adam-[mv]-\d+|grad-norm)$/, 'optimizer'],
  [/^[kv]-cache-\d+$/, 'kv-cache'],
  [/^dec-/, 'sampling'],
  [/^scratch$/, 'scratch'],
  [/^uniforms$/, 'uniforms'],
  [/^(staging|profiler-.+)$/, 'staging'],
  [(l) => ACTIVATION_LABELS.has(l), 'activations'],
  [/^(resid-\d+|d[a-z][a-z-]*|policy-.+|sft-.+)$/, 'activations'],
];

/** The category of a buffer by its label (a buffer without one is 'other'). */
export function memoryCategory(label: string | null | undefined): MemoryCategory {
  if (label === null || label === undefined || label === '') return 'other';
  for (const [rule, category] of CATEGORY_RULES) if (typeof rule === 'function' ? rule(label) : rule.test(label)) return category;
  return 'other';
}

export interface CategoryUse {
  bytes: number;
  buffers: number;
}

/** A snapshot of the memory in use. */
export interface MemoryUse {
  /** Bytes of every live buffer. */
  bytes: number;
  buffers: number;
  /** The most `bytes` has been since the ledger began. */
  peakBytes: number;
  byCategory: Record<MemoryCategory, CategoryUse>;
}

function emptyUse(): Record<MemoryCategory, CategoryUse> {
  return Object.fromEntries(MEMORY_CATEGORIES.map(({ category }) => [category, { bytes: 0, buffers: 0 }])) as Record<MemoryCategory, CategoryUse>;
}

/** Live buffers' bytes by category. */
export class MemoryLedger {
  private readonly use = emptyUse();
  private bytes = 0;
  private buffers = 0;
  private peak = 0;

  /** Counts a buffer of `bytes` labelled `label`; the returned function uncounts it (once, however often it is called). */
  add(label: string | null | undefined, bytes: number): () => void {
    const c = this.use[memoryCategory(label)];
    c.bytes += bytes;
    c.buffers++;
    this.bytes += bytes;
    this.buffers++;
    this.peak = Math.max(this.peak, this.bytes);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      c.bytes -= bytes;
      c.buffers--;
      this.bytes -= bytes;
      this.buffers--;
    };
  }

  snapshot(): MemoryUse {
    const byCategory = emptyUse();
    for (const { category } of MEMORY_CATEGORIES) byCategory[category] = { ...this.use[category] };
    return { bytes: this.bytes, buffers: this.buffers, peakBytes: this.peak, byCategory };
  }
}

/** What trackBuffer needs of a buffer (a GPUBuffer has it). */
export interface Destroyable {
  readonly size: number;
  destroy(): void;
}

/**
 * Counts `buffer` in `ledger` under `label` until its first `destroy` (a second destroy, legal in
 * WebGPU, uncounts nothing). The buffer's own destroy still runs.
 */
export function trackBuffer<B extends Destroyable>(buffer: B, label: string | null | undefined, ledger: MemoryLedger): B {
  const release = ledger.add(label, buffer.size);
  const destroy = buffer.destroy.bind(buffer);
  buffer.destroy = () => {
    release();
    destroy();
  };
  return buffer;
}

/** `a - b` per category (what a piece of work left allocated). */
export function memoryDelta(a: MemoryUse, b: MemoryUse): Record<MemoryCategory, CategoryUse> {
  const out = emptyUse();
  for (const { category } of MEMORY_CATEGORIES) {
    out[category] = { bytes: a.byCategory[category].bytes - b.byCategory[category].bytes, buffers: a.byCategory[category].buffers - b.byCategory[category].buffers };
  }
  return out;
}

/** Bytes as the page shows them: "512 B", "12.0 KiB", "3.4 MiB", "1.20 GiB". */
export function formatBytes(bytes: number): string {
  const KiB = 1024;
  const MiB = KiB * 1024;
  const GiB = MiB * 1024;
  if (bytes < KiB) return `${bytes} B`;
  if (bytes < MiB) return `${(bytes / KiB).toFixed(1)} KiB`;
  if (bytes < GiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / GiB).toFixed(2)} GiB`;
}
