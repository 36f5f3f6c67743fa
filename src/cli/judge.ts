/** `exprl judge`: scores one response with the judge a run config names, and prints the result. */
import { judgeFromSettings, type JudgeBuildOptions } from '../judge/from-config';
import type { Judge, JudgeItem, JudgeScore, ProcessView } from '../judge/types';
import { ConfigError, JUDGE_FIELDS, mergeConfig, preset, validateConfig, type DeepPartial, type RunConfig } from '../rl/config';
import { segmentText } from '../rl/segments';
import { extractAnswer } from '../tasks/answers';
import { openLocalJudge, type LocalJudgeModel } from '../rl/run-judge';
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './args';
import type { Gpu } from '../gpu/runtime';
import { openGpu, type CliGpu } from './gpu';
import { localJudgeOpeners } from './policy-source';
import { readJudgeKey } from './judge-key';

export const JUDGE: CommandSpec = {
  name: 'judge',
  summary: "Scores one response with the judge of a run config (its judge section) and prints the judge's result.",
  details:
    'The config file is a run config in JSON; fields it leaves out take the "small" preset\'s values, so\n' +
    '{"judge": {"kind": "openai", "endpoint": "http://127.0.0.1:11434/v1", "model": "qwen3"}} is a whole config.\n' +
    'Judge kinds: "rubric" (programmatic; reads --answer, default the reference\'s "Answer: N" line, and\n' +
    '--checkpoints, default the last number of each reference step split at judge.delimiter), "openai" (an OpenAI-compatible server; judge.retries retries) and\n' +
    '"local" (judge.model, a folder or Hub id, on this app\'s kernels or through transformers.js: judge.runtime). "policy" and "none" are refused.\n' +
    'Outcome mode prints one line of JSON: {"judge", "mode", "ok", "score", "value", "rationale", "raw"}, value being\n' +
    'the normalised reward (null where the normalisation drops the score). Process mode splits the response with\n' +
    'judge.delimiter / judge.maxSegments and prints {"judge", "mode", "view", "ok", "segments": [{"text", ...result}]}.\n' +
    'A failure (no readable score, or a failed call) is printed as {"ok": false, "failure": {"kind", "message"}}\n' +
    'with no score, and the exit code is 1.',
  options: {
    config: { kind: 'string', value: 'FILE', required: true, help: 'run config (JSON) whose judge section to use' },
    question: { kind: 'string', value: 'Q', required: true, help: 'the question the response answers' },
    reference: { kind: 'string', value: 'R', required: true, help: 'the hidden step-wise reference solution' },
    response: { kind: 'string', value: 'FILE', required: true, help: 'file holding the response text to score' },
    mode: { kind: 'string', value: 'MODE', default: 'outcome', choices: ['outcome', 'process'], help: 'outcome (one score) or process (one per segment)' },
    view: { kind: 'string', value: 'VIEW', choices: ['segment', 'prefix'], help: 'process view (default: the config\'s judge.processView)' },
    answer: { kind: 'string', value: 'A', help: 'final answer for the rubric judge (default: the reference\'s answer line)' },
    checkpoints: { kind: 'string', value: 'A,B,...', help: 'the reference\'s intermediate results in order, for the rubric judge (default: read off the reference)' },
    'judge-api-key-env': { kind: 'string', value: 'NAME', help: `judge.apiKeyEnv: ${JUDGE_FIELDS.apiKeyEnv.doc}` },
  },
};

/** A run config from a JSON file's text: the preset "small" with the file's fields on top, validated. */
export function runConfigFromJson(text: string, source = 'the config file'): RunConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source} must hold a JSON object (a run config)`);
  try {
    return validateConfig(mergeConfig(preset('small'), value as DeepPartial<RunConfig>));
  } catch (e) {
    // The fields are named; the file they are in is named too.
    if (e instanceof ConfigError) throw new ConfigError(e.issues, `run config in ${source}`);
    throw e;
  }
}

/** `--checkpoints "a, b,c"` as a list; empty entries are a usage error. */
export function parseCheckpoints(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--checkpoints must be a comma-separated list of values with none empty, got ${JSON.stringify(text)}`);
  return parts;
}

/**
 * Checkpoints read off a reference when none are given: the last number of each step (the
 * reference split at the delimiter), answer lines left out (the rubric judge checks the answer
 * itself). Steps with no number give none.
 */
export function referenceCheckpoints(reference: string, delimiter: string): string[] {
  const out: string[] = [];
  for (const step of reference.split(delimiter)) {
    if (extractAnswer(step).line !== null) continue;
    const nums = step.match(/-?\d+(?:\.\d+)?/g);
    if (nums !== null) out.push(nums[nums.length - 1]);
  }
  return out;
}

export interface JudgeRequest {
  question: string;
  reference: string;
  response: string;
  mode: 'outcome' | 'process';
  view?: ProcessView;
  answer?: string;
  checkpoints?: string[];
}

export type JudgeOutput =
  | ({ judge: string; mode: 'outcome' } & JudgeScore)
  | { judge: string; mode: 'process'; view: ProcessView; ok: boolean; segments: ({ text: string } & JudgeScore)[] };

/** Builds the config's judge and scores the request; pure apart from the judge's own calls. */
export async function runJudge(config: RunConfig, req: JudgeRequest, build: JudgeBuildOptions = {}): Promise<JudgeOutput> {
  const judge: Judge = judgeFromSettings(config.judge, build);
  const item: JudgeItem = {
    question: req.question,
    reference: req.reference,
    answer: req.answer ?? extractAnswer(req.reference).value ?? undefined,
    checkpoints: req.checkpoints ?? referenceCheckpoints(req.reference, config.judge.delimiter),
  };
  if (req.mode === 'outcome') {
    return { judge: judge.name, mode: 'outcome', ...(await judge.outcome({ ...item, trace: req.response })) };
  }
  const view = req.view ?? config.judge.processView;
  const segments = segmentText(req.response, { delimiter: config.judge.delimiter, maxSegments: config.judge.maxSegments }).map((s) => s.text);
  if (segments.length === 0) throw new Error('the response is empty: process mode has no segment to score');
  const scores = await judge.process({ ...item, segments, view });
  return { judge: judge.name, mode: 'process', view, ok: scores.every((s) => s.ok), segments: scores.map((s, i) => ({ text: segments[i], ...s })) };
}

export async function judgeCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(JUDGE, argv);
  if (parsed.help) {
    console.log(commandHelp(JUDGE));
    return 0;
  }
  const o = parsed.options;
  const checkpoints = parseCheckpoints(o.string('checkpoints'));
  const { readFile } = await import('node:fs/promises');
  const configPath = o.string('config') as string;
  let config = runConfigFromJson(await readFile(configPath, 'utf8'), configPath);
  if (o.has('judge-api-key-env')) config = validateConfig({ ...config, judge: { ...config.judge, apiKeyEnv: o.string('judge-api-key-env') as string } });
  const key = readJudgeKey(config.judge);
  if (key !== null) console.error(`exprl judge: ${key.line}`);
  const response = await readFile(o.string('response') as string, 'utf8');
  // judge.kind "local": the model opens here (a Gpu only for our kernels) and is released after.
  const opened: { gpu: CliGpu | null; model: LocalJudgeModel | null } = { gpu: null, model: null };
  try {
    let build: JudgeBuildOptions = { apiKey: key?.key };
    if (config.judge.kind === 'local') {
      const log = (line: string): void => console.error(`exprl judge: ${line}`);
      const gpu = async (): Promise<Gpu> => (opened.gpu ??= await openGpu()).gpu;
      opened.model = await openLocalJudge(config.judge, localJudgeOpeners(gpu, log));
      log(opened.model.note);
      build = { generate: opened.model.generate };
    }
    const request: JudgeRequest = {
      question: o.string('question') as string,
      reference: o.string('reference') as string,
      response,
      mode: o.string('mode') as 'outcome' | 'process',
      view: o.string('view') as ProcessView | undefined,
      answer: o.string('answer'),
      checkpoints,
    };
    const out = await runJudge(config, request, build);
    console.log(JSON.stringify(out));
    return out.ok ? 0 : 1;
  } finally {
    await opened.model?.release();
    if (opened.gpu !== null) {
      await opened.gpu.gpu.sync();
      opened.gpu.gpu.destroy();
    }
  }
}
