/**
 * Behaviour counts in reasoning traces (the paper tracks verification, self-correction and
 * backtracking; its public code has no detector, so these patterns are ours). A trace shows a
 * behaviour when any of its patterns matches, case-insensitively, on word boundaries. The
 * patterns are deliberately plain phrases a reader can check by eye; they undercount
 * paraphrases and are meant for comparing runs, not as ground truth.
 */

export const BEHAVIOURS = ['verification', 'self_correction', 'backtracking'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** The documented patterns, per behaviour. */
export const BEHAVIOUR_PATTERNS: Readonly<Record<Behaviour, readonly RegExp[]>> = {
  // Checking a result already reached: "let me check", "verify", "double-check", "plug x = 3 back in", "check: 3 * 4 = 12".
  verification: [/\b(let me|let's|lets|i will|i'll|we can|now) (check|verify|double[- ]check|confirm)\b/i, /\bverif(y|ying|ied|ication)\b/i, /\bdouble[- ]check/i, /\bplug(ging)? .{0,40}\bback\b/i, /\bsubstitut(e|ing) .{0,40}\b(back|into)\b/i, /\bcheck:/i],
  // Noticing and fixing a mistake: "wait", "actually", "that's wrong", "I made a mistake", "correction:".
  self_correction: [/\bwait\b/i, /\bactually\b/i, /\b(that|this) (is|was|'s) (wrong|incorrect|not right)\b/i, /\b(i|we) made (a|an) (mistake|error)\b/i, /\bcorrection:/i, /\bshould (be|have been)\b/i],
  // Abandoning a line of work for another: "let me try again", "start over", "go back", "another approach", "instead".
  backtracking: [/\b(let me|let's|lets|i'll) (try|start) (again|over)\b/i, /\bstart(ing)? over\b/i, /\bgo(ing)? back\b/i, /\b(another|a different) (approach|way|method)\b/i, /\binstead\b/i],
};

/** Which behaviours one trace shows. */
export function detectBehaviours(text: string): Record<Behaviour, boolean> {
  const out = {} as Record<Behaviour, boolean>;
  for (const b of BEHAVIOURS) out[b] = BEHAVIOUR_PATTERNS[b].some((re) => re.test(text));
  return out;
}

export interface BehaviourCounts {
  /** Traces looked at. */
  traces: number;
  /** Traces showing each behaviour. */
  counts: Record<Behaviour, number>;
}

export function countBehaviours(texts: readonly string[]): BehaviourCounts {
  const counts = Object.fromEntries(BEHAVIOURS.map((b) => [b, 0])) as Record<Behaviour, number>;
  for (const t of texts) {
    const d = detectBehaviours(t);
    for (const b of BEHAVIOURS) if (d[b]) counts[b]++;
  }
  return { traces: texts.length, counts };
}
