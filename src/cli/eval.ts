/** `exprl eval`: pass@k of a model on built-in tasks or an imported dataset. */
import { MIN_TEMPERATURE } from '../gpu/ops/sampling';
import { PolicySession } from '../model/session';
import { checkAnswer } from '../tasks/answers';
import type { TaskItem } from '../tasks/types';
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './args';
import { rolloutPrompt } from '../rl/stage-data';
import { rubricCannotGrade, soundTrace } from '../judge/rubric';
import { builtinTasks, evalLine, parseKs, parseTaskSpec, type PromptOutcome } from './eval-spec';
import { withGpu } from './gpu';
import { readTaskSpec } from './task-files';

const DEFAULT_BUILTIN_PROMPTS = 32;

export const EVAL: CommandSpec = {
  name: 'eval',
  summary: 'Samples N responses per task prompt, checks their "Answer: N" lines and prints pass@k (one JSON line).',
  details:
    'SPEC: FAMILY[+FAMILY...]|all[:SPLIT][:d=N|d=N-M|d=N,M,...], e.g. arith-chain:eval:d=3 or all:eval:d=1-4\n' +
    '(SPLIT easy, mid, rl, eval, or dev or test (the halves of eval), default eval; difficulties 1..10, default the split\'s own), or a dataset file\n' +
    'ending in .jsonl, .json or .csv (question/reference/answer columns, or verl rows; bad rows are reported and skipped).\n' +
    'The prompt is the question, a blank line, and \'End with a line "Answer: N".\' Prompt i is sampled with seed S + i*N.\n' +
    'Prints {"eval": true, "prompts", "n", "pass@1", "pass@K"..., "mean@n", "sound@n", "families": {NAME: {the same}}}:\n' +
    'unbiased pass@k averaged over prompts; mean@n the mean share of correct samples; sound@n the share of samples\n' +
    'that are correct with every line a true step by the rubric\'s rules (null for tasks the rubric cannot grade).',
  options: {
    model: { kind: 'string', value: 'DIR', required: true, help: 'Hugging Face model folder (e.g. from `exprl init`)' },
    tasks: { kind: 'string', value: 'SPEC', required: true, help: 'built-in tasks or a dataset file (see below)' },
    n: { kind: 'int', value: 'N', required: true, min: 1, max: 4096, help: 'samples per prompt' },
    k: { kind: 'string', value: 'K[,K...]', required: true, help: 'the k of pass@k, each ≤ N' },
    temperature: { kind: 'number', value: 'T', default: 0.8, min: 0, help: 'sampling temperature; 0 is greedy' },
    seed: { kind: 'int', value: 'S', default: 0, min: 0, max: 0xffffffff, help: 'sampling seed' },
    'data-seed': { kind: 'int', value: 'S', default: 0, min: 0, max: 0xffffffff, help: 'seed that draws the built-in items' },
    'max-tokens': { kind: 'int', value: 'M', default: 128, min: 1, help: 'response tokens per sample at most' },
    limit: { kind: 'int', value: 'P', min: 1, help: `prompts to evaluate (built-in default ${DEFAULT_BUILTIN_PROMPTS}; a file: all rows)` },
  },
};

export async function evalCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(EVAL, argv);
  if (parsed.help) {
    console.log(commandHelp(EVAL));
    return 0;
  }
  const o = parsed.options;
  const n = o.int('n') as number;
  const ks = parseKs(o.string('k') as string, n);
  const temperature = o.number('temperature') as number;
  if (temperature > 0 && temperature < MIN_TEMPERATURE) throw new UsageError(`--temperature must be 0 (greedy) or ≥ ${MIN_TEMPERATURE}, got ${temperature}`);
  const spec = parseTaskSpec(o.string('tasks') as string);
  const limit = o.int('limit');
  let items: TaskItem[];
  if (spec.kind === 'builtin') {
    items = builtinTasks(spec, limit ?? DEFAULT_BUILTIN_PROMPTS, o.int('data-seed') as number);
  } else {
    const { items: all, where } = await readTaskSpec(spec, 'exprl eval', false);
    items = limit === undefined ? all : all.slice(0, limit);
    if (items.length === 0) throw new Error(`${where} holds no usable task rows`);
  }
  const seed = o.int('seed') as number;
  const maxTokens = o.int('max-tokens') as number;
  const outcomes: PromptOutcome[] = [];
  await withGpu(async ({ gpu }) => {
    const session = await PolicySession.load(gpu, o.string('model') as string);
    try {
      for (const w of session.warnings) console.error(`exprl eval: note: ${w}`);
      for (const [i, item] of items.entries()) {
        // Spaced by n so that no two prompts' samples share a seed.
        const samples = await session.sample(rolloutPrompt(item.question), { n, temperature, seed: (seed + i * n) >>> 0, maxTokens });
        const correct = samples.map((s) => checkAnswer(item, s.text).correct);
        const gradable = rubricCannotGrade(item) === null;
        outcomes.push({ family: item.family, correct, sound: samples.map((s, j) => (gradable ? correct[j] && soundTrace(item, s.text) : null)) });
      }
    } finally {
      session.destroy();
    }
  });
  console.log(JSON.stringify(evalLine(outcomes, ks)));
  return 0;
}
