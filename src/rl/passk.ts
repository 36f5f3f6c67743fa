// Evaluation estimators: unbiased pass@k (Chen et al., 2021), pass@1, mean@n, the per-prompt
// maximum the paper's code reports as pass@k, and the "unlocked" prompt count.

function checkCounts(n: number, c: number, fn: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: n ${n} must be a positive integer`);
  if (!Number.isInteger(c) || c < 0 || c > n) throw new Error(`${fn}: c ${c} must be an integer in [0, ${n}]`);
}

/**
 * Unbiased pass@k = 1 - C(n-c, k) / C(n, k), in the product form that never forms a binomial:
 * 1 when n - c < k, else 1 - prod_{i=n-c+1..n} (1 - k / i). Needs 1 <= k <= n.
 */
export function passAtK(n: number, c: number, k: number): number {
  checkCounts(n, c, 'passAtK');
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`passAtK: k ${k} must be an integer in [1, ${n}] (n = ${n})`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** pass@1 of one prompt: the fraction of correct samples (equals passAtK(n, c, 1)). */
export function passAt1(n: number, c: number): number {
  checkCounts(n, c, 'passAt1');
  return c / n;
}

/** The paper's code's "pass@k": the per-prompt maximum over all samples (any correct -> 1). */
export function maxPass(correct: readonly boolean[]): number {
  if (correct.length === 0) throw new Error('maxPass: no samples');
  return correct.some((x) => x) ? 1 : 0;
}

/** Mean of per-sample scores (correctness as 0/1, or a fractional reward) over n samples. */
export function meanAtN(scores: readonly number[]): number {
  if (scores.length === 0) throw new Error('meanAtN: no samples');
  let s = 0;
  for (const x of scores) s += x;
  return s / scores.length;
}

export interface EvalSummary {
  /** Samples per prompt. */
  n: number;
  /** Prompts evaluated. */
  prompts: number;
  /** Unbiased pass@k averaged over prompts, per requested k; null when k > n. */
  passAtK: Record<number, number | null>;
  /** Mean over prompts of the per-prompt maximum (the code's pass@k at k = n). */
  maxPass: number;
  /** Mean over prompts of mean@n of the per-sample scores (correctness when none given). */
  meanAtN: number;
  /** Prompts with at least one correct sample. */
  unlocked: number;
}

/**
 * Averages the estimators over prompts. Every prompt must have the same number of samples n,
 * so that `n` on an eval line means one thing.
 */
export function summariseEval(
  prompts: readonly { correct: readonly boolean[]; scores?: readonly number[] }[],
  ks: readonly number[],
): EvalSummary {
  if (prompts.length === 0) throw new Error('summariseEval: no prompts');
  const n = prompts[0].correct.length;
  prompts.forEach((p, i) => {
    if (p.correct.length !== n) throw new Error(`summariseEval: prompt ${i} has ${p.correct.length} samples, prompt 0 has ${n}`);
    if (p.scores !== undefined && p.scores.length !== n) throw new Error(`summariseEval: prompt ${i} has ${p.scores.length} scores for ${n} samples`);
  });
  const passes: Record<number, number | null> = {};
  for (const k of ks) {
    if (k > n) {
      passes[k] = null;
      continue;
    }
    let s = 0;
    for (const p of prompts) s += passAtK(n, p.correct.filter((x) => x).length, k);
    passes[k] = s / prompts.length;
  }
  let mx = 0;
  let mean = 0;
  for (const p of prompts) {
    mx += maxPass(p.correct);
    mean += meanAtN(p.scores ?? p.correct.map((x) => (x ? 1 : 0)));
  }
  return {
    n,
    prompts: prompts.length,
    passAtK: passes,
    maxPass: mx / prompts.length,
    meanAtN: mean / prompts.length,
    unlocked: countUnlocked(prompts.map((p, i) => ({ promptId: String(i), correct: p.correct.some((x) => x) }))),
  };
}

/**
 * Unlocked prompts: ids with at least one correct rollout so far. Returns a new set; `seen`
 * carries the history across steps (pass the previous result back in).
 */
export function updateUnlocked(
  seen: ReadonlySet<string>,
  rollouts: readonly { promptId: string; correct: boolean }[],
): Set<string> {
  const next = new Set(seen);
  for (const r of rollouts) if (r.correct) next.add(r.promptId);
  return next;
}

/** Number of distinct prompt ids with at least one correct rollout among `rollouts`. */
export function countUnlocked(rollouts: readonly { promptId: string; correct: boolean }[]): number {
  return updateUnlocked(new Set(), rollouts).size;
}
