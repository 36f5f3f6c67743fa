/**
 * `exprl train`: one run (Stage 0 → stages → eval) from a preset or a config file, writing
 * DIR/run.json (the resolved config), DIR/metrics.jsonl, DIR/rollouts.jsonl, the run state
 * (DIR/state.json and DIR/state/, see run-folder.ts) after every `checkpointEvery` steps, and
 * DIR/checkpoint/ (a Hugging Face folder, also written when the run pauses).
 * `--resume DIR` continues a run from its state, as if it had never stopped.
 */
import { existsSync } from 'node:fs';
import { formatProbeReport, type ProbeReport } from '../judge/probes';
import { applySettings, DEFAULT_PRESET, JUDGE_FIELDS, METHODS, preset, RUN_SETTINGS, validateConfig, type PresetName, type RunConfig } from '../rl/config';
import { describeJudgeEstimate } from '../rl/judge-budget';
import type { RunProgress } from '../rl/run';
import { policySourceProblem } from './policy-source';
import { commandHelp, parseArgs, UsageError, type CommandSpec, type OptionSpec, type ParsedOptions } from './args';
import { withGpu } from './gpu';
import { runConfigFromJson } from './judge';
import { readJudgeKey } from './judge-key';
import { ProgressBar } from './progress';
import { createRunFolder, readRunConfig, reopenRunFolder, RunFolderError, type RunSetup } from './run-exec';
import { executeRunSurvivingLoss, MAX_DEVICE_LOSSES, withResumeHint } from './run-recovery';
import { settingOptions, setupFromOptions } from './setting-options';

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
    'A GPU device lost mid-run is replaced and the run resumes from its last checkpoint, saying so on stderr\n' +
    `(after ${MAX_DEVICE_LOSSES} losses it gives up). A failure mid-step leaves the last checkpoint in force and says how\n` +
    'to resume.\n' +
    `Methods: ${METHODS.join(', ')}.`,
  options: {
    // The run settings (src/rl/config/settings.ts), the page's too; --config sits beside --preset.
    ...withConfigAfterPreset(settingOptions()),
    out: { kind: 'string', value: 'DIR', help: 'run folder (default runs/<date-time>)' },
    force: { kind: 'flag', help: 'write into a folder that already holds a run' },
    resume: { kind: 'string', value: 'DIR', help: 'continue the run in DIR from its saved state (DIR/run.json is its config)' },
    'judge-api-key-env': { kind: 'string', value: 'NAME', help: `judge.apiKeyEnv: ${JUDGE_FIELDS.apiKeyEnv.doc}` },
    'pretrain-only': { kind: 'flag', help: 'run Stage 0 (a "builtin" policy) and one eval, then save; how public/models/builtin-base is made' },
  },
};

/** The settings' options with --config placed after --preset, where it has always been. */
function withConfigAfterPreset(options: Record<string, OptionSpec>): Record<string, OptionSpec> {
  const { preset: presetOption, ...rest } = options;
  return { preset: presetOption, config: { kind: 'string', value: 'FILE', help: `run config JSON, merged onto the preset "${DEFAULT_PRESET}"` }, ...rest };
}

/** The run config the options describe. */
export async function trainConfig(o: ParsedOptions): Promise<RunConfig> {
  if (o.has('preset') && o.has('config')) throw new UsageError('give --preset or --config, not both');
  let c: RunConfig;
  if (o.has('config')) {
    const { readFile } = await import('node:fs/promises');
    const file = o.string('config') as string;
    c = runConfigFromJson(await readFile(file, 'utf8'), file);
  } else {
    c = preset((o.string('preset') ?? DEFAULT_PRESET) as PresetName);
  }
  const { preset: _preset, ...settings } = setupFromOptions(o);
  const applied = applySettings(c, settings);
  if (o.has('judge-api-key-env')) applied.judge.apiKeyEnv = o.string('judge-api-key-env') as string;
  return validateConfig(applied);
}

/** Options that set the run's config: --resume takes none of them (the run folder holds its config). */
const CONFIG_OPTIONS = [...RUN_SETTINGS.map((s) => s.key), 'config', 'judge-api-key-env', 'pretrain-only', 'force', 'out'];

/** A new run folder for the options: run.json written, empty metrics and rollouts. */
async function newRun(o: ParsedOptions): Promise<RunSetup> {
  const config = await trainConfig(o);
  // Checked before the run folder is written.
  if (o.flag('pretrain-only') && config.policy !== 'builtin') throw new UsageError(`--pretrain-only pre-trains a freshly initialised policy; give --model builtin (the policy is ${JSON.stringify(config.policy)})`);
  const policyProblem = policySourceProblem(config.policy);
  if (policyProblem !== null) throw new UsageError(policyProblem);
  if (!o.flag('pretrain-only')) readJudgeKey(config.judge); // an unset key variable is a usage error, before anything is written
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
    // The key variable is checked before the folder's files are touched.
    readJudgeKey((await readRunConfig(out)).judge);
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
  await withGpu(async (g) => {
    const stop = new AbortController();
    const onSignal = (name: string) => (): void => stop.abort(new Error(`interrupted (${name}); the run state is saved: exprl train --resume ${out}`));
    const onSigint = onSignal('SIGINT');
    const onSigterm = onSignal('SIGTERM');
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigterm);
    try {
      const options = {
        out,
        config,
        resume,
        pretrainOnly: o.flag('pretrain-only'),
        signal: stop.signal,
        log: (line: string) => bar.note(`exprl train: ${line}`),
        onProbes: (report: ProbeReport) => console.error(formatProbeReport(report)),
        onProgress: (p: RunProgress) => bar.update(p),
      };
      const result = await withResumeHint(out, `exprl train --resume ${out}`, () => executeRunSurvivingLoss(options, g));
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
      bar.done();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
  });
  console.log(JSON.stringify(summary));
  return code;
}
