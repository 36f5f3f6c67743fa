/** `exprl export-tasks`: a task set as verl rows (.parquet or .jsonl), ready for the paper's code. */
import { exportVerlJsonl } from '../tasks/import';
import { exportVerlParquet } from '../tasks/parquet';
import type { TaskItem } from '../tasks/types';
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './args';
import { builtinTasks, parseTaskSpec } from './eval-spec';
import { readTaskSpec } from './task-files';

export const EXPORT_TASKS: CommandSpec = {
  name: 'export-tasks',
  summary: "Writes a task set in verl's row schema (data_source, prompt, ability, reward_model, extra_info) as .parquet or .jsonl.",
  details:
    'SPEC as in `exprl eval --help`: built-in families, split and difficulties, a dataset file, or hf:OWNER/NAME[:FILE].\n' +
    'extra_info carries the question, the reference solution and the answer, plus our id, difficulty and checkpoints.\n' +
    'Prints one JSON line: {"out", "rows", "format"}.',
  options: {
    tasks: { kind: 'string', value: 'SPEC', required: true, help: 'what to export' },
    out: { kind: 'string', value: 'FILE', required: true, help: 'file to write, ending in .parquet or .jsonl' },
    count: { kind: 'int', value: 'N', default: 256, min: 1, max: 100_000, help: 'built-in items to draw' },
    'data-seed': { kind: 'int', value: 'S', default: 0, min: 0, max: 0xffffffff, help: 'seed that draws the built-in items' },
    split: { kind: 'string', value: 'NAME', default: 'train', help: 'extra_info.split written on every row' },
  },
};

export async function exportTasksCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(EXPORT_TASKS, argv);
  if (parsed.help) {
    console.log(commandHelp(EXPORT_TASKS));
    return 0;
  }
  const o = parsed.options;
  const out = o.string('out') as string;
  const format = /\.parquet$/i.test(out) ? 'parquet' : /\.jsonl$/i.test(out) ? 'jsonl' : null;
  if (format === null) throw new UsageError(`--out ${JSON.stringify(out)} must end in .parquet or .jsonl`);
  const spec = parseTaskSpec(o.string('tasks') as string);
  let items: TaskItem[];
  if (spec.kind === 'builtin') items = builtinTasks(spec, o.int('count') as number, o.int('data-seed') as number);
  else items = (await readTaskSpec(spec, 'exprl export-tasks', true)).items;
  if (items.length === 0) throw new Error('no task rows to export');
  const opts = { split: o.string('split') as string };
  const { writeFile } = await import('node:fs/promises');
  await writeFile(out, format === 'parquet' ? exportVerlParquet(items, opts) : exportVerlJsonl(items, opts));
  console.log(JSON.stringify({ out, rows: items.length, format }));
  return 0;
}
