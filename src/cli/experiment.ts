/**
 * `exprl experiment --plan quick|replication|tune [--seeds N] [--out DIR] [--arms a,b]`: every
 * arm × seed of a plan (src/rl/experiment/plans.ts) as a run folder OUT/runs/<arm>-s<seed>/
 * (tune: × learning rate, <arm>-lr<lr>-s<seed>), written and resumed as `exprl train` does, all
 * on one GPU device; then OUT/results.json, OUT/results.md and OUT/plots/*.svg (tune:
 * OUT/tuning.json and OUT/tuning.md). Re-running with the same --out skips finished runs and
 * resumes partial ones; OUT/experiment.json holds the plan as resolved, so another plan is
 * refused there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { AdapterReport } from '../gpu/device';
import type { EvalLine } from '../rl/evaluate';
import { ARMS, firstDifference, lrLabel, PLAN_NAMES, PlanError, planIdentity, plannedRuns, resolvePlan, runSteps, stageLabel, type ArmId, type ExperimentPlan, type PlanName, type PlannedRun, type Regime } from '../rl/experiment/plans';
import { ExperimentClock, shortDuration } from '../rl/experiment/progress';
import { renderReport, renderTuningReport } from '../rl/experiment/report';
import { buildTuning, type TuningResults } from '../rl/experiment/tuning';
import { buildResults, rewardSplits, type Meta, type RolloutLine, type RunData } from '../rl/experiment/results';
import type { StepMetrics } from '../rl/metrics';
import type { RunProgress } from '../rl/run';
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './args';
import { withGpu } from './gpu';
import { writePlots } from './experiment-plots';
import { packageRoot } from './policy-source';
import { createRunFolder, peekRunState, readRunConfig, reopenRunFolder } from './run-exec';
import { executeRunSurvivingLoss, withResumeHint } from './run-recovery';

export const EXPERIMENT: CommandSpec = {
  name: 'experiment',
  summary: 'Runs every arm × seed of a plan from the shipped base policy, then writes results.json, results.md and plots.',
  details:
    `Arms: ${ARMS.join(', ')}.\n` +
    'Every arm but base runs Stage I with its method, then the same Stage II (sparse RL); base runs Stage II\n' +
    'only and evaluates the base policy first (the one base eval of its seed).\n' +
    'Evaluations: pass@k on a fixed set of test prompts after each stage. Plans: quick (CI smoke test: 2 seeds,\n' +
    'a few steps, tiny sizes), replication (40 + 40 steps, 3 seeds, 32 test prompts × 16 samples), tune (the\n' +
    "replication's learning rates: each arm's Stage I, and Stage II on the base, at each rate of a grid, scored\n" +
    'on the dev split; writes OUT/tuning.json and OUT/tuning.md with the rate chosen per arm).\n' +
    'Writes OUT/experiment.json (the plan as resolved), OUT/runs/<arm>-s<seed>/ (run folders, as exprl train\n' +
    'writes them), OUT/results.json (every arm × seed × stage: eval lines, curves, configs; mean ± sd over seeds;\n' +
    'paired differences; commit, version, adapter, wall time), OUT/results.md (the table in the form of the\n' +
    "paper's Table 1) and OUT/plots/*.svg. One line per finished step on stderr with the ETA of the whole\n" +
    'experiment; one JSON line on stdout at the end: {"status", "out", "runs", "finished", "results"}.\n' +
    'Run it again with the same --out to continue: finished runs are skipped, partial ones resumed (Ctrl-C saves).',
  options: {
    plan: { kind: 'string', value: 'NAME', choices: PLAN_NAMES, required: true, help: 'the plan: quick, replication or tune' },
    seeds: { kind: 'int', value: 'N', min: 1, max: 100, help: 'seeds 1..N (default: the plan\'s, 2 for quick, 3 for replication, 1 for tune)' },
    out: { kind: 'string', value: 'DIR', help: 'experiment folder (default runs/experiment-<plan>)' },
    arms: { kind: 'string', value: 'A,B', help: `a subset of the arms, comma-separated (for debugging; default all: ${ARMS.join(',')})` },
  },
};

const EXPERIMENT_FILE = 'experiment.json';
const FORMAT = 'exprl-experiment';

/** One invocation that ran steps: where, how long, and how long each run took in it. */
interface SessionRecord {
  started: string;
  /** The build that ran the session's steps (gitCommit); absent in files written before it was recorded. */
  commit?: string | null;
  adapter: string;
  wall_s: number;
  runs: Record<string, number>;
}

interface ExperimentFile {
  format: typeof FORMAT;
  version: 1;
  plan: PlanName;
  regime: Regime;
  /** The seeds and arms of the latest invocation. */
  seeds: number[];
  arms: ArmId[];
  sessions: SessionRecord[];
}

const log = (line: string): void => console.error(`exprl experiment: ${line}`);

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(value, null, 1) + '\n');
  await rename(`${path}.tmp`, path);
}

/** The experiment file of OUT, checked against the plan: another plan or regime there is refused. */
async function openExperimentFile(out: string, plan: ExperimentPlan): Promise<ExperimentFile> {
  const path = join(out, EXPERIMENT_FILE);
  let sessions: SessionRecord[] = [];
  if (existsSync(path)) {
    let old: ExperimentFile;
    try {
      old = JSON.parse(await readFile(path, 'utf8')) as ExperimentFile;
    } catch (e) {
      throw new Error(`${path} cannot be read as JSON (${(e as Error).message})`);
    }
    if (old?.format !== FORMAT) throw new UsageError(`${path} is not an exprl experiment file; give another --out`);
    const want = planIdentity(plan);
    const had = { plan: old.plan, regime: old.regime };
    if (!isDeepStrictEqual(had, want)) {
      const what =
        old.plan !== plan.name
          ? `the plan "${old.plan}", not "${plan.name}"`
          : `the plan "${old.plan}" with other settings (they differ at ${firstDifference(had, want) ?? '(plan)'}: the plan changed since it started)`;
      throw new UsageError(`${out} holds an experiment of ${what}; give another --out, or remove ${out} to start again`);
    }
    sessions = Array.isArray(old.sessions) ? old.sessions : [];
  }
  const file: ExperimentFile = { format: FORMAT, version: 1, plan: plan.name, regime: plan.regime, seeds: plan.seeds, arms: plan.arms, sessions };
  await writeJsonAtomic(path, file);
  return file;
}

interface Survey {
  run: PlannedRun;
  dir: string;
  /** The folder holds run.json (resume it), or not (create it). */
  exists: boolean;
  finished: boolean;
  /** Optimizer steps already made. */
  done: number;
}

/** Where each planned run is; a folder whose run.json differs from the plan is refused. */
async function survey(out: string, runs: readonly PlannedRun[]): Promise<Survey[]> {
  const found: Survey[] = [];
  for (const run of runs) {
    const dir = join(out, 'runs', run.id);
    if (!existsSync(join(dir, 'run.json'))) {
      found.push({ run, dir, exists: false, finished: false, done: 0 });
      continue;
    }
    const had = await readRunConfig(dir);
    if (!isDeepStrictEqual(had, run.config)) {
      throw new UsageError(`${dir} holds a run whose config differs from the plan's at ${firstDifference(had, run.config) ?? '(config)'}; give another --out, or remove that folder to make the run again`);
    }
    const state = await peekRunState(dir);
    const finished = state?.cursor.finished === true;
    found.push({ run, dir, exists: true, finished, done: finished ? runSteps(run.config) : (state?.cursor.globalStep ?? 0) });
  }
  return found;
}

function describeAdapter(a: AdapterReport, via: string): string {
  return `${a.description}${a.isSoftware ? ' (software)' : ''} via ${via}`;
}

/** The commit this build comes from: `git rev-parse HEAD` in the package folder, noting uncommitted changes; null outside a git checkout. */
function gitCommit(): string | null {
  const root = packageRoot();
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return null;
  }
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function parseJsonLines<T>(text: string, file: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (e) {
        throw new Error(`${file}: line ${i + 1} is not JSON (${(e as Error).message})`);
      }
    });
}

/** A run folder as the results read it. */
async function readRunData(s: Survey, wall: number | null): Promise<RunData> {
  const { run, dir } = s;
  const base = { id: run.id, arm: run.arm, seed: run.seed, config: run.config, wallSeconds: wall };
  if (!existsSync(join(dir, 'run.json'))) return { ...base, status: 'missing', metrics: [] };
  const state = await peekRunState(dir);
  const metricsFile = join(dir, 'metrics.jsonl');
  const rolloutsFile = join(dir, 'rollouts.jsonl');
  // Only the lines the saved state counts: a run stopped mid-step has a partial tail.
  const metrics = parseJsonLines<Record<string, unknown>>(await readFile(metricsFile, 'utf8').catch(() => ''), metricsFile).slice(0, state?.lines.metrics ?? 0);
  const rollouts = parseJsonLines<RolloutLine>(await readFile(rolloutsFile, 'utf8').catch(() => ''), rolloutsFile).slice(0, state?.lines.rollouts ?? 0);
  return { ...base, status: state?.cursor.finished ? 'finished' : 'partial', metrics, rewards: rewardSplits(run.config, rollouts) };
}

function stepLine(run: PlannedRun, p: RunProgress, m: StepMetrics | null, clock: ExperimentClock): string {
  const st = stageLabel(run.config, p.stage);
  const parts = [`[${clock.done}/${clock.total}] ${runName(run)}`, `Stage ${st} step ${p.done}/${p.total}`];
  if (m !== null && m.reward_mean !== null) parts.push(`reward ${m.reward_mean.toFixed(3)}`);
  if (m !== null && m.correct_frac !== null) parts.push(`correct ${m.correct_frac.toFixed(3)}`);
  if (m !== null && m.reward_mean === null) parts.push(`loss ${m.loss.toFixed(3)}`);
  const now = performance.now() / 1000;
  const per = clock.secondsPerStep(now);
  parts.push(`${per === null ? '?' : per.toFixed(1)} s/step`, `ETA ${shortDuration(clock.eta(now))}`);
  return parts.join(' · ');
}

function evalSummary(run: PlannedRun, line: EvalLine): string {
  const st = stageLabel(run.config, line.stage);
  const passes = Object.entries(line)
    .filter(([k]) => k.startsWith('pass@'))
    .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(3) : '—'}`);
  return `${runName(run)} · eval ${st === 'base' ? 'of the base policy' : `after Stage ${st}`}: ${passes.join(', ')} (${line.prompts} prompts × ${line.n})`;
}

/** "sft s1", "sft lr 1e-3 s1" (tune). */
function runName(run: PlannedRun): string {
  return run.lr === null ? `${run.arm} s${run.seed}` : `${run.arm} lr ${lrLabel(run.lr)} s${run.seed}`;
}

export async function experimentCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(EXPERIMENT, argv);
  if (parsed.help) {
    console.log(commandHelp(EXPERIMENT));
    return 0;
  }
  const o = parsed.options;
  const name = o.string('plan') as PlanName;
  let plan: ExperimentPlan;
  try {
    const arms = o.string('arms')?.split(',').map((a) => a.trim()).filter((a) => a !== '');
    plan = resolvePlan(name, { seeds: o.int('seeds'), arms });
  } catch (e) {
    if (e instanceof PlanError) throw new UsageError(e.message);
    throw e;
  }
  const out = o.string('out') ?? `runs/experiment-${name}`;
  await mkdir(join(out, 'runs'), { recursive: true });
  const file = await openExperimentFile(out, plan);
  const runs = plannedRuns(plan);
  const surveyed = await survey(out, runs);
  const todo = surveyed.filter((s) => !s.finished);
  const skipped = surveyed.length - todo.length;
  log(`plan ${plan.name}: ${plan.arms.length} arms × ${plan.seeds.length} seeds${plan.lrGrid === null ? '' : ' × their learning rates'} = ${runs.length} runs in ${out}/runs; ${skipped} finished (skipped), ${todo.filter((s) => s.exists).length} to resume, ${todo.filter((s) => !s.exists).length} to start`);

  let code = 0;
  let stopped = false;
  if (todo.length > 0) {
    const clock = new ExperimentClock(
      surveyed.reduce((a, s) => a + runSteps(s.run.config), 0),
      surveyed.reduce((a, s) => a + s.done, 0),
      performance.now() / 1000,
    );
    await withGpu(async (g) => {
      const session: SessionRecord = { started: new Date().toISOString(), commit: gitCommit(), adapter: describeAdapter(g.gpu.adapter, g.via), wall_s: 0, runs: {} };
      file.sessions.push(session);
      const t0 = performance.now();
      const stop = new AbortController();
      const onSignal = (sig: string) => (): void => stop.abort(new Error(`interrupted (${sig}); the run state is saved: run the same command again to continue`));
      const onSigint = onSignal('SIGINT');
      const onSigterm = onSignal('SIGTERM');
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigterm);
      try {
        for (const [i, s] of todo.entries()) {
          const { run, dir } = s;
          const setup = s.exists ? await reopenRunFolder(dir) : await createRunFolder(dir, run.config);
          const at = setup.resume === null ? 'starting' : `resuming at stage ${setup.resume.state.cursor.stage}, step ${setup.resume.state.cursor.step}`;
          log(`${run.id}: ${at} (run ${i + 1} of ${todo.length} to do)`);
          const tRun = performance.now();
          let last: StepMetrics | null = null;
          // After a device loss the run goes on from its last checkpoint on a fresh device (run-recovery.ts).
          const result = await withResumeHint(dir, 'run the same command again', () => executeRunSurvivingLoss({
            ...setup,
            signal: stop.signal,
            log: (line) => log(`${run.id}: ${line}`),
            onProbes: (report) => {
              if (report.exploitable.length > 0) log(`${run.id}: ${report.exploitable.length} judge-hacking probe(s) earned more than the minimum: ${report.exploitable.join(', ')} (see ${dir}/judge-probes.json)`);
            },
            onMetrics: (line) => {
              if ('eval' in line && line.eval === true) log(evalSummary(run, line as EvalLine));
              else last = line as StepMetrics;
            },
            onProgress: (p) => {
              if (p.phase !== 'train') return;
              clock.step(`${run.id}/${p.stage}/${p.done}`);
              log(stepLine(run, p, last, clock));
            },
          }, g));
          session.runs[run.id] = (session.runs[run.id] ?? 0) + (performance.now() - tRun) / 1000;
          session.wall_s = (performance.now() - t0) / 1000;
          await writeJsonAtomic(join(out, EXPERIMENT_FILE), file);
          if (result.status === 'paused') {
            code = 1;
            log(`${run.id}: paused: ${result.reason}`);
            if (stop.signal.aborted) {
              stopped = true;
              break;
            }
          } else log(`${run.id}: finished in ${shortDuration((performance.now() - tRun) / 1000)}`);
        }
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigterm);
        session.wall_s = (performance.now() - t0) / 1000;
        await writeJsonAtomic(join(out, EXPERIMENT_FILE), file);
      }
    });
  }

  const data = await collectRuns(file, await survey(out, runs));
  const meta = await collectMeta(file);
  const finished = data.filter((r) => r.status === 'finished').length;
  let resultsFile: string;
  if (plan.lrGrid !== null) {
    const tuning: TuningResults = buildTuning(plan, data.map((d) => ({ ...d, lr: d.lr as number })), meta);
    resultsFile = join(out, 'tuning.json');
    await writeJsonAtomic(resultsFile, tuning);
    await writeFile(join(out, 'tuning.md'), renderTuningReport(tuning));
    log(`wrote ${resultsFile} and ${out}/tuning.md (${finished} of ${runs.length} runs finished); chosen: ${JSON.stringify(tuning.chosen)}`);
  } else {
    const results = buildResults(plan, data, meta);
    resultsFile = join(out, 'results.json');
    await writeJsonAtomic(resultsFile, results);
    await writeFile(join(out, 'results.md'), renderReport(results));
    const plots = await writePlots(out, results);
    log(`wrote ${resultsFile}, ${out}/results.md and ${plots.length} plots in ${out}/plots (${finished} of ${runs.length} runs finished)`);
  }
  if (stopped) log('stopped; run the same command again to continue');
  console.log(JSON.stringify({ status: finished === runs.length ? 'finished' : stopped ? 'stopped' : 'incomplete', out, runs: runs.length, finished, results: resultsFile }));
  return finished === runs.length ? code : 1;
}

/** Every planned run's folder as read, with its wall time over all sessions and its rate (tune). */
async function collectRuns(file: ExperimentFile, surveyed: readonly Survey[]): Promise<(RunData & { lr: number | null })[]> {
  const wall = (id: string): number | null => {
    const ts = file.sessions.map((s) => s.runs[id]).filter((x): x is number => typeof x === 'number');
    return ts.length === 0 ? null : ts.reduce((a, b) => a + b, 0);
  };
  return Promise.all(surveyed.map(async (s) => ({ ...(await readRunData(s, wall(s.run.id))), lr: s.run.lr })));
}

async function collectMeta(file: ExperimentFile): Promise<Meta> {
  return {
    commit: gitCommit(),
    sessionCommits: file.sessions.map((s) => s.commit ?? null),
    version: await packageVersion(),
    adapters: [...new Set(file.sessions.map((s) => s.adapter))],
    wallSeconds: file.sessions.reduce((a, s) => a + s.wall_s, 0),
    generatedAt: new Date().toISOString(),
  };
}
