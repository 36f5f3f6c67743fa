/**
 * Makes a replay the page ships (public/replays/<name>/) from a CLI run folder:
 *
 *   npx tsx scripts/make-replay.ts <run-folder> <name> [--title "..."] [--steps N] [--note "..."]
 *
 * replay.json holds the run's config and every task item its rollouts name (rollouts.jsonl
 * names prompts by id only: built-in items are drawn again from the config, as the run drew
 * them, src/rl/stage-data.ts); metrics.jsonl is copied as it is; rollouts.jsonl is gzipped as
 * it is. `--steps N` keeps the first N RL steps (and the evals among them) when a run is too
 * long to ship; `--note` adds a sentence to what the page says about it. The run folder is only
 * read. public/replays/index.json lists the replays.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mergeConfig, preset, validateConfig, type DeepPartial, type RunConfig } from '../src/rl/config';
import type { EvalLine } from '../src/rl/evaluate';
import { methodTraits } from '../src/rl/methods';
import type { TaskItem } from '../src/tasks/types';
import { runItems } from '../src/worker/run-bundle-io';
import { jsonLines, parseReplay, REPLAY_FILES, REPLAY_FORMAT, REPLAY_VERSION, type ReplayHeader } from '../src/worker/replay-file';

const OUT = 'public/replays';

/** What the run was and what it showed, from its config and its eval lines. */
function describe(cfg: RunConfig, metrics: readonly Record<string, unknown>[]): string {
  const stages = cfg.stages.map((s) => `${s.method} for ${s.steps} steps of ${s.promptsPerStep} prompts × ${s.rolloutsPerPrompt} rollouts (lr ${s.lr})`).join(', then ');
  const evals = metrics.filter((m) => m.eval === true) as unknown as EvalLine[];
  // Each eval where it was made: a run of `exprl experiment` has no base eval of its own (the base arm's is shared).
  const when = (e: EvalLine): string => (e.stage === 0 ? 'before training' : `after step ${e.step} (stage ${e.stage})`);
  const pass = evals.length > 0 ? ` Eval pass@1 on ${evals[0].prompts} held-out prompts: ${evals.map((e) => `${e['pass@1']?.toFixed(3)} ${when(e)}`).join(', ')}.` : '';
  const judge = cfg.stages.some((s) => methodTraits(s.method).judge !== 'none') ? `, judged by the ${cfg.judge.kind} judge` : '';
  return `Policy ${cfg.policy} on ${cfg.tasks.families.join(', ')}: ${stages}${judge}.${pass}`;
}

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  const opt = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const title = opt('--title');
  const note = opt('--note');
  const stepsArg = opt('--steps');
  const [folder, name] = args;
  if (folder === undefined || name === undefined || !/^[\w.-]+$/.test(name)) {
    throw new Error('usage: npx tsx scripts/make-replay.ts <run-folder> <name: letters, digits, . _ -> [--title "..."] [--steps N] [--note "..."]');
  }
  const maxSteps = stepsArg === undefined ? Infinity : Number(stepsArg);
  if (!(maxSteps >= 1)) throw new Error(`--steps ${stepsArg}: must be a number ≥ 1`);

  const read = (file: string): Promise<string> => readFile(join(folder, file), 'utf8');
  // A field added to the config after the run was recorded takes its default (the recorded run did without it).
  const config = validateConfig(mergeConfig(preset('small'), JSON.parse(await read('run.json')) as DeepPartial<RunConfig>));
  const metricsText = await read('metrics.jsonl');
  const rolloutsText = await read('rollouts.jsonl');

  // Trimming: the metric lines up to the maxSteps-th RL step, and the rollouts of those steps.
  const metricLines = jsonLines(metricsText, join(folder, 'metrics.jsonl'));
  const kept: string[] = [];
  const keptSteps = new Set<string>();
  let rlSteps = 0;
  for (const { value } of metricLines) {
    const isStep = value.eval !== true;
    if (isStep && Number(value.stage) > 0) {
      if (rlSteps >= maxSteps) break;
      rlSteps++;
    }
    if (isStep) keptSteps.add(`${value.stage}:${value.step}`);
    kept.push(JSON.stringify(value));
  }
  const rawRollouts = rolloutsText.split('\n').filter((l) => l.trim() !== '');
  const rolloutLines = jsonLines(rolloutsText, join(folder, 'rollouts.jsonl'));
  const keptRollouts = rawRollouts.filter((_, i) => keptSteps.has(`${rolloutLines[i].value.stage}:${rolloutLines[i].value.step}`));
  const dropped = rawRollouts.length - keptRollouts.length;

  const items = runItems(config);
  const prompts = new Map<string, TaskItem>();
  rolloutLines.forEach(({ line, value }) => {
    const id = String(value.prompt_id);
    const it = items.get(id);
    if (it === undefined) throw new Error(`${join(folder, 'rollouts.jsonl')} line ${line}: prompt ${id} is not drawn by the run's config (an imported task set? only built-in families can be replayed)`);
    prompts.set(id, it);
  });

  const header: ReplayHeader = {
    format: REPLAY_FORMAT,
    version: REPLAY_VERSION,
    name,
    title: title ?? name,
    about: describe(config, kept.map((l) => JSON.parse(l) as Record<string, unknown>)) + (dropped > 0 ? ` Trimmed to the first ${maxSteps} RL steps.` : '') + (note !== undefined ? ` ${note}` : ''),
    config,
    prompts: [...prompts.values()],
  };
  const headerText = `${JSON.stringify(header, null, 1)}\n`;
  const metricsOut = `${kept.join('\n')}\n`;
  const rolloutsOut = `${keptRollouts.join('\n')}\n`;
  // The page's own reader checks what we write before it ships.
  parseReplay({ header: headerText, metrics: metricsOut, rollouts: rolloutsOut });

  const out = join(OUT, name);
  await mkdir(out, { recursive: true });
  const gz = gzipSync(Buffer.from(rolloutsOut), { level: 9 });
  await writeFile(join(out, REPLAY_FILES.header), headerText);
  await writeFile(join(out, REPLAY_FILES.metrics), metricsOut);
  await writeFile(join(out, REPLAY_FILES.rollouts), gz);

  const indexFile = join(OUT, 'index.json');
  let index: { replays: { name: string; title: string; about: string }[] } = { replays: [] };
  try {
    index = JSON.parse(await readFile(indexFile, 'utf8'));
  } catch {
    // none yet
  }
  index.replays = [...index.replays.filter((r) => r.name !== name), { name, title: header.title, about: header.about }];
  await writeFile(indexFile, `${JSON.stringify(index, null, 1)}\n`);

  const kb = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`${out}/ from ${basename(folder)}: ${kept.length} metric lines, ${keptRollouts.length} rollouts${dropped > 0 ? ` (${dropped} dropped by --steps)` : ''}, ${prompts.size} prompts`);
  console.log(`  ${REPLAY_FILES.header} ${kb(headerText.length)}, ${REPLAY_FILES.metrics} ${kb(metricsOut.length)}, ${REPLAY_FILES.rollouts} ${kb(gz.length)} (${kb(rolloutsOut.length)} as text)`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
