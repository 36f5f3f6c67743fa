/**
 * One run folder, new or resumed, run to its end (or its pause) on a Gpu the caller owns: what
 * `exprl train` does for one run and `exprl experiment` for each arm × seed on one device.
 *
 *   createRunFolder(out, config)   run.json written, metrics.jsonl and rollouts.jsonl empty, no state
 *   reopenRunFolder(out)           the config from run.json, the saved state (if any), the JSONL files cut to it
 *   executeRun({...})              opens the policy, builds the judge, runs the probes (once per folder),
 *                                  runs the pipeline appending lines, saves DIR/checkpoint/
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { GpuMemoryError } from '../gpu/memory';
import type { Gpu } from '../gpu/runtime';
import { probeRefusal, runProbes, type ProbeReport } from '../judge/probes';
import { saveCheckpoint } from '../model/checkpoint';
import { readParams } from '../model/params';
import type { RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import { memoryAdvice } from '../rl/memory-advice';
import type { StepMetrics } from '../rl/metrics';
import { rolloutJsonLine } from '../rl/rollouts';
import { runPipeline, type RunProgress, type RunResult } from '../rl/run';
import { buildRunJudge } from '../rl/run-judge';
import type { LoadedRunState, RunStateJson } from '../rl/run-state';
import { UsageError } from './args';
import { runConfigFromJson } from './judge';
import { readJudgeKey, redactText } from './judge-key';
import { localJudgeOpeners, openPolicy } from './policy-source';
import { cutLines, RunFolder, STATE_FILE } from './run-folder';
import { testDeviceLoss, testFaultPoint, testPoisonStep } from './test-hooks';

export interface RunSetup {
  out: string;
  config: RunConfig;
  /** The saved state to continue from; null: from the start. */
  resume: LoadedRunState | null;
}

/** A run folder could not be opened as asked (the caller decides whether that is a usage mistake). */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
}

/** A new run folder: run.json written, empty metrics and rollouts, any old state removed. */
export async function createRunFolder(out: string, config: RunConfig): Promise<RunSetup> {
  await mkdir(out, { recursive: true });
  await rm(`${out}/${STATE_FILE}`, { force: true });
  await rm(`${out}/state`, { recursive: true, force: true });
  await writeFile(`${out}/run.json`, redactText(JSON.stringify(config, null, 2)) + '\n');
  await writeFile(`${out}/metrics.jsonl`, '');
  await writeFile(`${out}/rollouts.jsonl`, '');
  return { out, config, resume: null };
}

/** The config a run folder holds (run.json, merged onto the small preset as `exprl train --config` reads it). */
export async function readRunConfig(out: string): Promise<RunConfig> {
  const file = `${out}/run.json`;
  const text = await readFile(file, 'utf8').catch(() => {
    throw new RunFolderError(`${file} cannot be read; is ${out} a run folder?`);
  });
  return runConfigFromJson(text, file);
}

/** An existing run folder: its config, its state (none yet: from the start), its files cut to the state. */
export async function reopenRunFolder(out: string): Promise<RunSetup> {
  const config = await readRunConfig(out);
  const folder = new RunFolder(out);
  const resume = (await folder.hasState()) ? await folder.load() : null;
  await cutLines(`${out}/metrics.jsonl`, resume?.state.lines.metrics ?? 0);
  await cutLines(`${out}/rollouts.jsonl`, resume?.state.lines.rollouts ?? 0);
  return { out, config, resume };
}

/** The state a run folder is at, without its weights; null when it has none (or no folder). */
export async function peekRunState(out: string): Promise<RunStateJson | null> {
  if (!existsSync(`${out}/${STATE_FILE}`)) return null;
  return new RunFolder(out).peek();
}

export interface ExecuteRunOptions extends RunSetup {
  gpu: Gpu;
  /** Lines for the user (notes; the judge runtime chosen). */
  log(line: string): void;
  signal?: AbortSignal;
  /** Stage 0 and one evaluation only (how the shipped base is made); the caller checks that the policy is "builtin". */
  pretrainOnly?: boolean;
  onProgress?(p: RunProgress): void;
  /** Each metrics line, after it is appended to metrics.jsonl. */
  onMetrics?(line: StepMetrics | EvalLine): void;
  /** The judge-hacking probes' report, when they ran (once per run folder, before the first step). */
  onProbes?(report: ProbeReport): void;
}

/**
 * Runs the folder's run on `gpu` to its end or its pause, appending metrics.jsonl and
 * rollouts.jsonl, saving the run state as the config says, and DIR/checkpoint/ at the end (also
 * when paused). The policy and judge are opened here and released before it returns.
 */
export async function executeRun(o: ExecuteRunOptions): Promise<RunResult> {
  const { out, config, resume, gpu } = o;
  const opened = await openPolicy(gpu, config.policy, config.seeds.init);
  let release = async (): Promise<void> => {};
  try {
    for (const w of opened.session.warnings) o.log(`note: ${w}`);
    // Before the first judge call (the probes): which variable's key goes where.
    const key = o.pretrainOnly ? null : readJudgeKey(config.judge);
    if (key !== null) o.log(key.line);
    const built = o.pretrainOnly ? null : await buildRunJudge(config, opened.session, localJudgeOpeners(async () => gpu, o.log), key?.key);
    release = built?.release ?? release;
    if (built?.note !== undefined) o.log(built.note);
    const judge = built?.judge ?? null;
    if (judge !== null && !(resume !== null && existsSync(`${out}/judge-probes.json`))) {
      // The judge-hacking probes, before any step: a judge that can be gamed is shown as such.
      const report = await runProbes(judge);
      o.onProbes?.(report);
      await writeFile(`${out}/judge-probes.json`, redactText(JSON.stringify(report.results.map((r) => ({ probe: r.probe.id, mode: r.mode, exploitable: r.exploitable, score: r.score })), null, 1)) + '\n');
      const refusal = config.judge.requireProbes ? probeRefusal(report) : null;
      if (refusal !== null) throw new UsageError(`${refusal} (scores in ${out}/judge-probes.json)`);
    }
    const result = await runPipeline(
      { session: opened.session, config, judge, freshPolicy: opened.fresh, pretrainOnly: o.pretrainOnly ?? false, store: new RunFolder(out), resume },
      {
        signal: o.signal,
        onMetrics: async (line) => {
          await appendFile(`${out}/metrics.jsonl`, redactText(JSON.stringify(line)) + '\n');
          o.onMetrics?.(line);
          testDeviceLoss(line, gpu);
        },
        onRollouts: async (b) => {
          await appendFile(`${out}/rollouts.jsonl`, b.records.map((r) => redactText(rolloutJsonLine(r, { stage: b.stage, step: b.step, method: b.method })) + '\n').join(''));
          testFaultPoint('rollouts');
        },
        onCheckpoint: () => testFaultPoint('checkpoint'),
        testPoisonStep,
        onProgress: o.onProgress,
        onNote: (m) => o.log(`note: ${m}`),
      },
    );
    const s = opened.session;
    await saveCheckpoint(`${out}/checkpoint`, s.config, await readParams(s.gpu, s.model), s.tokenizer.files(s.config.maxSeqLen));
    return result;
  } catch (e) {
    // A buffer the device cannot hold: which of the run's settings makes it that large.
    if (e instanceof GpuMemoryError) e.message += `\n${memoryAdvice(e.label, config)}`;
    throw e;
  } finally {
    await release();
    opened.session.destroy();
  }
}
