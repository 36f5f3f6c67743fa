/**
 * `exprl train`: one run (Stage 0 → stages → eval) from a preset or a config file, writing
 * DIR/run.json (the resolved config), DIR/metrics.jsonl, DIR/rollouts.jsonl, the run state
 * (DIR/state.json and DIR/state/, see run-folder.ts) after every `checkpointEvery` steps, and
 * DIR/checkpoint/ (a Hugging Face folder, also written when the run pauses).
 * `--resume DIR` continues a run from its state, as if it had never stopped.
 */
import { existsSync } from 'node:fs';
import { formatProbeReport } from '../judge/probes';
import { JUDGE_KINDS, JUDGE_RUNTIMES, METHODS, preset, PRESET_NAMES, smallStage2, TRANSFORMERS_DTYPES, validateConfig, type JudgeRuntime, type Method, type PresetName, type RunConfig, type TransformersDtype } from '../rl/config';
import { describeJudgeEstimate } from '../rl/judge-budget';
import type { RunProgress } from '../rl/run';
import { commandHelp, parseArgs, UsageError, type CommandSpec, type ParsedOptions } from './args';
import { withGpu } from './gpu';
import { runConfigFromJson } from './judge';
import { ProgressBar } from './progress';
import { createRunFolder, executeRun, reopenRunFolder, RunFolderError, type RunSetup } from './run-exec';

export const TRAIN: CommandSpec = {
  name: 'train',
  summary: 'Runs Stage 0 (built-in policy only) → Stage I → Stage II → eval and writes the run folder.',
  details:
    'Writes DIR/run.json (the resolved run config), DIR/metrics.jsonl (one line per step and per eval),\n' +
    'DIR/rollouts.jsonl (one line per rollout: prompt_id, text, segments [{text, score, advantage}], reward,\n' +
    'correct, masked, ...), DIR/judge-probes.json (the judge-hacking probes, run before the first step, when\n' +
    'a stage uses a judge) and DIR/checkpoint/ (Hugging Face folder). Prints one JSON line at the end:\n' +
    '{"status": "finished"|"paused", "reason"?, "out", "steps", "judge_calls", "eval": last eval line}.\n' +
    'The run state is saved after every `checkpointEvery` steps (config; default 1) and when the run pauses\n' +
    '(too many masked rollouts, judge call cap, Ctrl-C or SIGTERM); a paused run exits 1 after saving.\n' +
    '`exprl train --resume DIR` continues it exactly: its metrics.jsonl and rollouts.jsonl end as an\n' +
    'uninterrupted run\'s would (timings aside). --resume takes no option that would change the run\'s config.\n' +
    `Methods: ${METHODS.join(', ')}.`,
  options: {
    preset: { kind: 'string', value: 'NAME', choices: PRESET_NAMES, help: 'start from a preset (default small)' },
    config: { kind: 'string', value: 'FILE', help: 'run config JSON, merged onto the preset "small"' },
    method: { kind: 'string', value: 'M', choices: METHODS, help: 'Stage I method' },
    judge: { kind: 'string', value: 'J', choices: JUDGE_KINDS, help: 'judge kind' },
    'judge-endpoint': { kind: 'string', value: 'URL', help: 'OpenAI-compatible base URL (judge openai)' },
    'judge-model': { kind: 'string', value: 'NAME', help: 'served model name (openai) or model folder / Hub id (local)' },
    'judge-runtime': { kind: 'string', value: 'R', choices: JUDGE_RUNTIMES, help: 'what runs a local judge model: kernels, transformers (transformers.js, ONNX) or auto' },
    'judge-dtype': { kind: 'string', value: 'D', choices: TRANSFORMERS_DTYPES, help: 'ONNX weights transformers.js loads for a local judge (auto: its default)' },
    model: { kind: 'string', value: 'DIR', help: 'policy to train (folder, Hub id, "builtin" or "builtin-base"), instead of the config\'s' },
    seed: { kind: 'int', value: 'S', min: 0, max: 0xffffffff, help: 'sets every seed (init, data, sampling)' },
    steps: { kind: 'int', value: 'N', min: 1, help: 'Stage I steps' },
    'stage2-steps': { kind: 'int', value: 'N', min: 0, help: 'Stage II steps (0 drops Stage II; with the small preset, adds it)' },
    out: { kind: 'string', value: 'DIR', help: 'run folder (default runs/<date-time>)' },
    force: { kind: 'flag', help: 'write into a folder that already holds a run' },
    resume: { kind: 'string', value: 'DIR', help: 'continue the run in DIR from its saved state (DIR/run.json is its config)' },
    'pretrain-only': { kind: 'flag', help: 'run Stage 0 (a "builtin" policy) and one eval, then save; how public/models/builtin-base is made' },
  },
};

/** The run config the options describe. */
export async function trainConfig(o: ParsedOptions): Promise<RunConfig> {
  if (o.has('preset') && o.has('config')) throw new UsageError('give --preset or --config, not both');
  let c: RunConfig;
  if (o.has('config')) {
    const { readFile } = await import('node:fs/promises');
    const file = o.string('config') as string;
    c = runConfigFromJson(await readFile(file, 'utf8'), file);
  } else {
    c = preset((o.string('preset') ?? 'small') as PresetName);
  }
  const method = o.string('method') as Method | undefined;
  if (method !== undefined) c.stages[0].method = method;
  const steps = o.int('steps');
  if (steps !== undefined) c.stages[0].steps = steps;
  const s2 = o.int('stage2-steps');
  if (s2 !== undefined) {
    const at = c.stages.findIndex((s, i) => i > 0 && s.method === 'stage2');
    if (s2 === 0) c.stages = c.stages.filter((_, i) => i === 0 || i !== at);
    else if (at > 0) c.stages[at].steps = s2;
    else c.stages.push(smallStage2(c.stages[0], s2));
  }
  const judge = o.string('judge');
  if (judge !== undefined) c.judge.kind = judge as RunConfig['judge']['kind'];
  if (o.has('judge-endpoint')) c.judge.endpoint = o.string('judge-endpoint') as string;
  if (o.has('judge-model')) c.judge.model = o.string('judge-model') as string;
  if (o.has('judge-runtime')) c.judge.runtime = o.string('judge-runtime') as JudgeRuntime;
  if (o.has('judge-dtype')) c.judge.dtype = o.string('judge-dtype') as TransformersDtype;
  if (o.has('model')) c.policy = o.string('model') as string;
  const seed = o.int('seed');
  if (seed !== undefined) c.seeds = { init: seed, data: seed, sampling: seed };
  return validateConfig(c);
}

/** Options that set the run's config: --resume takes none of them (the run folder holds its config). */
const CONFIG_OPTIONS = ['preset', 'config', 'method', 'judge', 'judge-endpoint', 'judge-model', 'judge-runtime', 'judge-dtype', 'model', 'seed', 'steps', 'stage2-steps', 'pretrain-only', 'force', 'out'];

/** A new run folder for the options: run.json written, empty metrics and rollouts. */
async function newRun(o: ParsedOptions): Promise<RunSetup> {
  const config = await trainConfig(o);
  // Checked before the run folder is written.
  if (o.flag('pretrain-only') && config.policy !== 'builtin') throw new UsageError(`--pretrain-only pre-trains a freshly initialised policy; give --model builtin (the policy is ${JSON.stringify(config.policy)})`);
  const out = o.string('out') ?? `runs/${new Date().toISOString().replace(/[:.]/g, '-')}`;
  if (existsSync(`${out}/run.json`) && !o.flag('force')) throw new UsageError(`${out} already holds a run (run.json); continue it with --resume ${out}, or pass --force to start it again`);
  return createRunFolder(out, config);
}

/** An existing run folder: its config, its state (none yet: from the start), its files cut to the state. */
async function resumedRun(o: ParsedOptions): Promise<RunSetup> {
  const given = CONFIG_OPTIONS.filter((k) => o.has(k));
  if (given.length > 0) throw new UsageError(`--resume continues the run as its run.json describes it; --${given[0]} would change it (start a new run instead)`);
  const out = o.string('resume') as string;
  try {
    return await reopenRunFolder(out);
  } catch (e) {
    if (e instanceof RunFolderError) throw new UsageError(`--resume ${out}: ${e.message}`);
    throw e;
  }
}

export async function trainCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(TRAIN, argv);
  if (parsed.help) {
    console.log(commandHelp(TRAIN));
    return 0;
  }
  const o = parsed.options;
  const { out, config, resume } = o.has('resume') ? await resumedRun(o) : await newRun(o);
  if (resume !== null) console.error(`exprl train: resuming ${out} at stage ${resume.state.cursor.stage}, step ${resume.state.cursor.step} (${resume.state.cursor.globalStep} optimizer steps done)`);
  if (!o.flag('pretrain-only')) console.error(`exprl train: ${describeJudgeEstimate(config)}`);

  const bar = new ProgressBar(process.stderr);
  let summary: Record<string, unknown> = {};
  let code = 0;
  await withGpu(async ({ gpu }) => {
    const stop = new AbortController();
    const onSignal = (name: string) => (): void => stop.abort(new Error(`interrupted (${name}); the run state is saved: exprl train --resume ${out}`));
    const onSigint = onSignal('SIGINT');
    const onSigterm = onSignal('SIGTERM');
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigterm);
    try {
      const result = await executeRun({
        out,
        config,
        resume,
        gpu,
        pretrainOnly: o.flag('pretrain-only'),
        signal: stop.signal,
        log: (line) => bar.note(`exprl train: ${line}`),
        onProbes: (report) => console.error(formatProbeReport(report)),
        onProgress: (p: RunProgress) => bar.update(p),
      });
      bar.done();
      summary = {
        status: result.status,
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
        out,
        steps: result.steps,
        judge_calls: result.judgeCalls,
        eval: result.evals[result.evals.length - 1] ?? null,
      };
      if (result.status === 'paused') {
        console.error(`exprl train: paused: ${result.reason}\nexprl train: the run state is saved; continue with: exprl train --resume ${out}`);
        code = 1;
      }
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
  });
  console.log(JSON.stringify(summary));
  return code;
}
