/**
 * The `exprl` command (Node, WebGPU through the `webgpu` package). Each command lives in its own
 * file with its option spec; this file only dispatches and maps failures to exit codes:
 * 0 success, 1 a failure while running, 2 a usage mistake (options, a config the schema refuses, a
 * task the judge cannot grade).
 */
import { UngradableTaskError } from '../judge/rubric';
import { ConfigError } from '../rl/config';
import { UsageError } from './args';
import { redactText } from './judge-key';
import { evalCommand } from './eval';
import { experimentCommand } from './experiment';
import { exportTasksCommand } from './export-tasks';
import { generateCommand } from './generate';
import { info } from './info';
import { init } from './init';
import { judgeCommand } from './judge';
import { logprobs } from './logprobs';
import { trainCommand } from './train';

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<number>; summary: string }> = {
  info: { run: info, summary: 'print the WebGPU adapter, its limits and the kernel variants chosen for it' },
  init: { run: init, summary: 'save a seeded built-in policy as a Hugging Face folder' },
  generate: { run: generateCommand, summary: 'sample continuations of a prompt (one JSON line per sample)' },
  logprobs: { run: logprobs, summary: "print a text's token ids and their log-probs under a model (one JSON line)" },
  eval: { run: evalCommand, summary: 'pass@k of a model on built-in tasks or a dataset file (one JSON line)' },
  judge: { run: judgeCommand, summary: "score a response with a run config's judge (one JSON line)" },
  'export-tasks': { run: exportTasksCommand, summary: "write a task set as verl rows (.parquet or .jsonl)" },
  train: { run: trainCommand, summary: 'run Stage 0 → Stage I → Stage II → eval and write the run folder' },
  experiment: { run: experimentCommand, summary: 'every arm × seed of a plan (quick, replication), then results.json, results.md and plots' },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: exprl <command> [options]', '', 'commands:', ...rows, `  ${'help'.padEnd(10)} this text`, '', 'Run `exprl <command> --help` for a command\'s options.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(usage());
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    console.error(`exprl: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await entry.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(redactText(`exprl ${command}: ${e.message}\nRun \`exprl ${command} --help\` for its options.`));
      return 2;
    }
    // A config the schema refuses, or a task the judge cannot grade: the setup is wrong, not the run.
    if (e instanceof ConfigError || e instanceof UngradableTaskError) {
      console.error(redactText(`exprl ${command}: ${e.message}`));
      return 2;
    }
    console.error(redactText(`exprl ${command}: ${e instanceof Error ? e.message : String(e)}`));
    return 1;
  }
}
