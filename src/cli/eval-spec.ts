/**
 * The pure parts of `exprl eval`: the task SPEC grammar, the --k list, the prompt and the
 * metric line. No GPU, no file system (files are read by the command and passed in as text).
 *
 * SPEC grammar (built-in tasks):
 *   SPEC     := FAMILIES [":" SPLIT] [":" "d=" DIFFS]
 *   FAMILIES := "all" | NAME ("+" NAME)*          e.g. arith-chain, gcd+long-addition
 *   SPLIT    := "easy" | "mid" | "rl" | "eval" | "dev" | "test"   default eval (dev, test: its halves)
 *   DIFFS    := N | N "-" M | N ("," N)*          difficulties 1..10; default the split's own
 * Examples: `all`, `arith-chain:eval:d=3`, `gcd+linear-equation:eval:d=2-5`, `all:rl:d=1,4`.
 * A SPEC ending in .jsonl, .json, .csv or .parquet is a dataset file instead (src/tasks/load.ts),
 * and `hf:OWNER/NAME[:FILE]` a Hugging Face Hub dataset (src/tasks/hub-dataset.ts).
 */
import { evalMetrics, soundShare } from '../rl/metrics';
import { FAMILY_NAMES } from '../tasks/families/index';
import { makeSplit, SPLIT_NAMES, type SplitName } from '../tasks/splits';
import { TASK_FILE_FORMATS, type TaskFileFormat } from '../tasks/load';
import { MAX_DIFFICULTY, MIN_DIFFICULTY, type TaskItem } from '../tasks/types';
import { UsageError } from './args';

export type TaskSpec =
  | { kind: 'builtin'; families: string[]; split: SplitName; difficulties?: number[] }
  | { kind: 'file'; path: string; format: TaskFileFormat }
  | { kind: 'hub'; dataset: string };

function bad(spec: string, why: string): never {
  throw new UsageError(`--tasks ${JSON.stringify(spec)}: ${why} (grammar: FAMILY[+FAMILY...]|all[:SPLIT][:d=N|d=N-M|d=N,M,...], a .jsonl/.json/.csv/.parquet file, or hf:OWNER/NAME[:FILE])`);
}

function difficulty(spec: string, text: string): number {
  if (!/^\d+$/.test(text)) bad(spec, `difficulty ${JSON.stringify(text)} is not an integer`);
  const d = Number(text);
  if (d < MIN_DIFFICULTY || d > MAX_DIFFICULTY) bad(spec, `difficulty ${d} is outside ${MIN_DIFFICULTY}..${MAX_DIFFICULTY}`);
  return d;
}

export function parseTaskSpec(spec: string): TaskSpec {
  const s = spec.trim();
  if (s === '') bad(spec, 'empty');
  if (s.startsWith('hf:')) return { kind: 'hub', dataset: s.slice(3) };
  const ext = /\.([A-Za-z]+)$/.exec(s)?.[1].toLowerCase();
  const format = TASK_FILE_FORMATS.find((f) => f === ext);
  if (format !== undefined) return { kind: 'file', path: s, format };
  const parts = s.split(':');
  if (parts.length > 3) bad(spec, 'too many ":" parts');
  const [fams, ...rest] = parts;
  let families: string[];
  if (fams === 'all') families = [...FAMILY_NAMES];
  else {
    families = fams.split('+');
    for (const f of families) if (!FAMILY_NAMES.includes(f)) bad(spec, `unknown family ${JSON.stringify(f)} (known: ${FAMILY_NAMES.join(', ')}, or all)`);
    if (new Set(families).size !== families.length) bad(spec, 'a family is named twice');
  }
  let split: SplitName = 'eval';
  let difficulties: number[] | undefined;
  for (const [i, part] of rest.entries()) {
    if (part.startsWith('d=')) {
      if (difficulties !== undefined) bad(spec, 'difficulties given twice');
      const body = part.slice(2);
      const range = /^(\d+)-(\d+)$/.exec(body);
      if (range) {
        const lo = difficulty(spec, range[1]);
        const hi = difficulty(spec, range[2]);
        if (lo > hi) bad(spec, `difficulty range ${body} is empty`);
        difficulties = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
      } else {
        difficulties = body.split(',').map((t) => difficulty(spec, t));
        if (new Set(difficulties).size !== difficulties.length) bad(spec, 'a difficulty is named twice');
      }
    } else if (i === 0 && (SPLIT_NAMES as readonly string[]).includes(part)) {
      split = part as SplitName;
    } else {
      bad(spec, `${JSON.stringify(part)} is neither a split (${SPLIT_NAMES.join(', ')}) nor d=...`);
    }
  }
  return { kind: 'builtin', families, split, difficulties };
}

/** Built-in items of a spec: `count` items of its split, families and difficulties taking turns. */
export function builtinTasks(spec: Extract<TaskSpec, { kind: 'builtin' }>, count: number, seed: number): TaskItem[] {
  return makeSplit({ split: spec.split, count, seed, families: spec.families, difficulties: spec.difficulties });
}

/** `--k 1,4,16` as sorted distinct integers ≥ 1, each at most n. */
export function parseKs(text: string, n: number): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ks = parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1) throw new UsageError(`--k must be a comma-separated list of integers ≥ 1, got ${JSON.stringify(text)}`);
    return Number(p);
  });
  for (const k of ks) if (k > n) throw new UsageError(`--k ${k} is greater than --n ${n}: pass@k needs at least k samples per prompt`);
  return [...new Set(ks)].sort((a, b) => a - b);
}

export interface PromptOutcome {
  family: string;
  correct: boolean[];
  /** Per sample: correct with every line a true step (soundTrace); null when the rubric cannot grade the task. */
  sound: (boolean | null)[];
}

/**
 * The eval line: evalMetrics over all prompts (pass@1 always, pass@k for each k, mean@n, n),
 * sound@n (null unless the rubric grades every task), the prompt count, and the same figures per
 * family (families in first-seen order).
 */
export function evalLine(outcomes: readonly PromptOutcome[], ks: readonly number[]): Record<string, unknown> {
  const all = ks.includes(1) ? [...ks] : [1, ...ks];
  const metrics = (ps: readonly PromptOutcome[]) => {
    const m: Record<string, unknown> = evalMetrics({ step: 0, stage: 0, method: 'eval', prompts: ps, ks: all });
    const out: Record<string, unknown> = { prompts: ps.length };
    for (const [k, v] of Object.entries(m)) if (!['step', 'stage', 'method', 'eval'].includes(k)) out[k] = v;
    out['sound@n'] = soundShare(ps.flatMap((p) => p.sound));
    return out;
  };
  const families: Record<string, unknown> = {};
  for (const f of [...new Set(outcomes.map((o) => o.family))]) families[f] = metrics(outcomes.filter((o) => o.family === f));
  return { eval: true, ...metrics(outcomes), families };
}
