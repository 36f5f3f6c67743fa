/**
 * A run as one file: a zip (fflate) holding the run folder's files, so a run made in the page or
 * by `exprl train` can be carried to another browser, viewed there, and continued:
 *
 *   bundle.json         {"format": "exprl-run-bundle", "version": 1, "title", "source", "created"}
 *   run.json            the run's config (never a key: a key is kept outside the config)
 *   metrics.jsonl       the metric lines, as the run wrote them
 *   rollouts.jsonl      the rollout lines (optional), as rollouts.jsonl of a CLI run folder
 *   prompts.json        the task items the rollout lines name by id (with the rollouts)
 *   state.json, state/  the run state (optional; src/rl/run-state-files.ts): weights and optimizer
 *   start-policy/       the starting policy's files (when the run began from a loaded policy)
 *
 * The state files are the saved run's (src/worker/saved-run.ts) byte for byte, so "continue this
 * run" writes them where the page keeps its saved run and Resume continues it.
 *
 * Pure: bytes in and out, no DOM, no GPU. A bundle is untrusted input: every file is checked, and
 * every error is a BundleError naming the file inside the zip and the line and field.
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { mergeConfig, preset, validateConfig, type DeepPartial, type RunConfig } from '../rl/config';
import type { EvalLine } from '../rl/evaluate';
import type { StepMetrics } from '../rl/metrics';
import { frozenKeys } from '../rl/run-state';
import { CHECKPOINT_NAME, frozenFileName, parseStateFile, readWeights, STATE_FILE } from '../rl/run-state-files';
import { prototypeKeyPath } from '../tasks/import';
import type { TaskItem } from '../tasks/types';
import { metricsLine, parseItem, rolloutLine, type RolloutLine } from './replay-file';

export const BUNDLE_FORMAT = 'exprl-run-bundle';
export const BUNDLE_VERSION = 1;
export const BUNDLE_FILES = { manifest: 'bundle.json', config: 'run.json', metrics: 'metrics.jsonl', rollouts: 'rollouts.jsonl', prompts: 'prompts.json' } as const;

/** What a bundle may hold; a reader refuses more. Tests pass smaller ones. */
export interface BundleLimits {
  /** The zip file itself. */
  zipBytes: number;
  /** Any one file, inflated. */
  fileBytes: number;
  /** All files together, inflated. */
  totalBytes: number;
  files: number;
  /** Lines of metrics.jsonl and of rollouts.jsonl, each. */
  lines: number;
}

export const BUNDLE_LIMITS: BundleLimits = { zipBytes: 2 ** 31 - 1, fileBytes: 2 ** 30, totalBytes: 2 ** 31 - 1, files: 4096, lines: 1_000_000 };

/** A bundle that cannot be read or written: names the file inside the zip, and the line and field where known. */
export class BundleError extends Error {
  override name = 'BundleError';
  constructor(
    /** The file inside the zip ("metrics.jsonl"), or the bundle itself. */
    readonly file: string,
    message: string,
    /** 1-based line of a JSON-lines file. */
    readonly line?: number,
    /** The field ("prompt_id", "config.judge.apiKey"). */
    readonly field?: string,
  ) {
    super(`${file}${line !== undefined ? ` line ${line}` : ''}: ${message}`);
  }
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  title: string;
  /** Where the run was made: "page" (this app) or "cli" (`exprl train`). */
  source: 'page' | 'cli';
  /** ISO time the bundle was written. */
  created: string;
}

/** A bundle's contents, checked. */
export interface RunBundle {
  manifest: BundleManifest;
  config: RunConfig;
  metrics: (StepMetrics | EvalLine)[];
  rollouts: RolloutLine[];
  prompts: TaskItem[];
  /**
   * The run state's files by path ("state.json", "state/c-000003/policy.safetensors",
   * "start-policy/config.json"); empty when the bundle carries no state (then it is view-only).
   */
  state: Record<string, Uint8Array>;
}

// ---- keys ---------------------------------------------------------------------------------------

/** Field names a key would travel under (compared without case, '_' and '-'). judge.apiKeyEnv names a variable, not a key: allowed. */
const SECRET_FIELDS = new Set(['apikey', 'judgekey', 'judgeapikey', 'openaiapikey', 'secret', 'password', 'authorization', 'bearer', 'token', 'accesstoken', 'credentials']);
/** Values with a key's shape: an OpenAI-style key, a bearer credential, URL userinfo. */
const SECRET_VALUE = /(\bsk-[A-Za-z0-9_-]{16,})|(\bBearer\s+\S{8,})|(\/\/[^/\s:@]+:[^/\s@]+@)/;

/** The path of the first field that looks like an API key (by its name, or a string value with a key's shape), or null. */
export function secretFieldPath(v: unknown, path = '', values = true): string | null {
  if (typeof v === 'string') return values && SECRET_VALUE.test(v) ? path || '(value)' : null;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = secretFieldPath(x, `${path}[${i}]`, values);
      if (p !== null) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const here = path === '' ? k : `${path}.${k}`;
      if (SECRET_FIELDS.has(k.toLowerCase().replace(/[_-]/g, ''))) return here;
      const p = secretFieldPath(x, here, values);
      if (p !== null) return p;
    }
  }
  return null;
}

function refuseSecret(v: unknown, file: string, line?: number, values = true): void {
  const p = secretFieldPath(v, '', values);
  if (p !== null) throw new BundleError(file, `"${p}" looks like an API key; a bundle never carries one`, line, p);
}

// ---- text and JSON ------------------------------------------------------------------------------

/** UTF-8 text, strictly: invalid bytes are an error naming the file (and the line, for a JSON-lines file). */
export function utf8(bytes: Uint8Array, file: string, line?: number): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new BundleError(file, 'is not valid UTF-8 text', line);
  }
}

/** JSON, with prototype keys ("__proto__", "constructor", "prototype") refused at any depth. */
export function parseJson(text: string, file: string, line?: number): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BundleError(file, `is not JSON (${e instanceof Error ? e.message : String(e)})`, line);
  }
  const p = prototypeKeyPath(v);
  if (p !== null) throw new BundleError(file, `holds the key "${p.key}" (at ${p.path}), which is refused`, line, p.path);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The objects of a JSON-lines file with their 1-based line numbers (blank lines skipped). Lines
 * are cut at the newline byte before decoding (it never occurs inside a UTF-8 sequence), so bad
 * UTF-8 is named by its line.
 */
export function jsonLinesOf(bytes: Uint8Array, file: string, maxLines: number): { line: number; value: Record<string, unknown> }[] {
  const out: { line: number; value: Record<string, unknown> }[] = [];
  let start = 0;
  let n = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    n++;
    if (n > maxLines) throw new BundleError(file, `has more than ${maxLines} lines`);
    const text = utf8(bytes.subarray(start, end), file, n);
    if (text.trim() !== '') {
      const v = parseJson(text, file, n);
      if (!isObject(v)) throw new BundleError(file, 'is not a JSON object', n);
      out.push({ line: n, value: v });
    }
    start = end + 1;
  }
  return out;
}

/** A checker of replay-file.ts, its ReplayError turned into a BundleError with the line and field. */
function checked<T>(f: () => T, file: string, line?: number): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BundleError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const field = /"([^"]+)" must be/.exec(message)?.[1];
    throw new BundleError(file, message.replace(/^[^:]*: /, ''), line, field);
  }
}

// ---- paths ----------------------------------------------------------------------------------------

const NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** The paths a bundle may hold. */
export function bundlePathKind(path: string): 'known' | 'state' | null {
  if (Object.values(BUNDLE_FILES).includes(path as never)) return 'known';
  if (path === STATE_FILE) return 'state';
  const parts = path.split('/');
  if (parts.some((p) => !NAME.test(p) || p === '.' || p === '..')) return null;
  if (parts.length === 3 && parts[0] === 'state' && CHECKPOINT_NAME.test(parts[1]) && (parts[2] === 'policy.safetensors' || parts[2] === 'optimizer.safetensors')) return 'state';
  if (parts.length === 2 && parts[0] === 'state' && /^frozen-[A-Za-z0-9._-]+\.safetensors$/.test(parts[1])) return 'state';
  if (parts.length === 2 && parts[0] === 'start-policy') return 'state';
  return null;
}

// ---- writing --------------------------------------------------------------------------------------

/** What a bundle is written from: a run folder's parts. */
export interface BundleInput {
  title: string;
  source: 'page' | 'cli';
  config: RunConfig;
  metrics: readonly (StepMetrics | EvalLine | Record<string, unknown>)[];
  rollouts?: readonly RolloutLine[];
  prompts?: readonly TaskItem[];
  state?: Readonly<Record<string, Uint8Array>>;
  /** ISO time; default now. */
  created?: string;
}

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * The bundle's zip bytes. Refuses to write a field that looks like an API key (in the config,
 * the metric lines, or any JSON of the state), and any path a reader would refuse.
 */
export function writeBundle(input: BundleInput): Uint8Array {
  const manifest: BundleManifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, title: input.title, source: input.source, created: input.created ?? new Date().toISOString() };
  refuseSecret(manifest, BUNDLE_FILES.manifest);
  refuseSecret(input.config, BUNDLE_FILES.config);
  input.metrics.forEach((m, i) => refuseSecret(m, BUNDLE_FILES.metrics, i + 1, false));
  const files: Zippable = {
    [BUNDLE_FILES.manifest]: encode(JSON.stringify(manifest, null, 1) + '\n'),
    [BUNDLE_FILES.config]: encode(JSON.stringify(input.config, null, 2) + '\n'),
    [BUNDLE_FILES.metrics]: encode(input.metrics.map((m) => JSON.stringify(m) + '\n').join('')),
  };
  if (input.rollouts !== undefined && input.rollouts.length > 0) {
    files[BUNDLE_FILES.rollouts] = encode(input.rollouts.map((r) => JSON.stringify(r) + '\n').join(''));
    files[BUNDLE_FILES.prompts] = encode(JSON.stringify(input.prompts ?? [], null, 1) + '\n');
  }
  for (const [path, bytes] of Object.entries(input.state ?? {})) {
    if (bundlePathKind(path) !== 'state') throw new BundleError(path, 'is not a file of a run state');
    if (path.endsWith('.json')) refuseSecret(parseJson(utf8(bytes, path), path), path, undefined, path === STATE_FILE);
    // Weights are stored as they are (deflating float32 gains little and costs time).
    files[path] = path.endsWith('.safetensors') ? [bytes, { level: 0 }] : bytes;
  }
  return zipSync(files, { level: 6 });
}

// ---- reading --------------------------------------------------------------------------------------

/** The zip's files by path, inflated, with the limits and the path rules applied. */
export function unzipBundle(zip: Uint8Array, name = 'the bundle', limits: BundleLimits = BUNDLE_LIMITS): Record<string, Uint8Array> {
  if (zip.length > limits.zipBytes) throw new BundleError(name, `is ${zip.length} bytes; a bundle may be at most ${limits.zipBytes}`);
  let total = 0;
  let count = 0;
  const seen = new Set<string>();
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter(f) {
        if (f.name.endsWith('/')) return false; // a folder entry
        if (seen.has(f.name)) throw new BundleError(f.name, 'is in the zip twice');
        seen.add(f.name);
        if (bundlePathKind(f.name) === null) throw new BundleError(f.name, 'is not a file a run bundle holds');
        if (++count > limits.files) throw new BundleError(name, `holds more than ${limits.files} files`);
        if (f.originalSize > limits.fileBytes) throw new BundleError(f.name, `is ${f.originalSize} bytes inflated; a file may be at most ${limits.fileBytes}`);
        total += f.originalSize;
        if (total > limits.totalBytes) throw new BundleError(name, `inflates to more than ${limits.totalBytes} bytes`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof BundleError) throw e;
    throw new BundleError(name, `is not a readable zip file (${e instanceof Error ? e.message : String(e)})`);
  }
  // The sizes above are what the zip declares: the inflated bytes are checked too.
  total = 0;
  for (const [path, bytes] of Object.entries(files)) {
    if (bytes.length > limits.fileBytes) throw new BundleError(path, `is more than ${limits.fileBytes} bytes inflated`);
    total += bytes.length;
  }
  if (total > limits.totalBytes) throw new BundleError(name, `inflates to more than ${limits.totalBytes} bytes`);
  return files;
}

function need(files: Record<string, Uint8Array>, path: string): Uint8Array {
  const b = Object.hasOwn(files, path) ? files[path] : undefined;
  if (b === undefined) throw new BundleError(path, 'is missing from the bundle');
  return b;
}

function parseManifest(bytes: Uint8Array): BundleManifest {
  const file = BUNDLE_FILES.manifest;
  const v = parseJson(utf8(bytes, file), file);
  if (!isObject(v)) throw new BundleError(file, 'is not a JSON object');
  refuseSecret(v, file);
  if (v.format !== BUNDLE_FORMAT) throw new BundleError(file, `"format" must be "${BUNDLE_FORMAT}"`, undefined, 'format');
  if (v.version !== BUNDLE_VERSION) throw new BundleError(file, `version ${JSON.stringify(v.version)} is not ${BUNDLE_VERSION}, the one this page reads`, undefined, 'version');
  for (const k of ['title', 'created'] as const) if (typeof v[k] !== 'string') throw new BundleError(file, `"${k}" must be a string`, undefined, k);
  if (v.source !== 'page' && v.source !== 'cli') throw new BundleError(file, '"source" must be "page" or "cli"', undefined, 'source');
  return { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, title: v.title as string, source: v.source, created: v.created as string };
}

/** A run config as run.json holds it, checked (a field it lacks takes its default where the schema has one). */
export function parseConfigFile(bytes: Uint8Array, file: string = BUNDLE_FILES.config): RunConfig {
  const v = parseJson(utf8(bytes, file), file);
  if (!isObject(v)) throw new BundleError(file, 'is not a JSON object');
  refuseSecret(v, file);
  try {
    // A field added to the config after the run was made takes its default (as scripts/make-replay.ts reads run.json).
    return validateConfig(mergeConfig(preset('small'), v as DeepPartial<RunConfig>));
  } catch (e) {
    throw new BundleError(file, `is not a valid run config: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** metrics.jsonl's lines, checked as the replay checks them. */
export function parseMetricsFile(bytes: Uint8Array, file: string = BUNDLE_FILES.metrics, maxLines = BUNDLE_LIMITS.lines): (StepMetrics | EvalLine)[] {
  return jsonLinesOf(bytes, file, maxLines).map(({ line, value }) => {
    refuseSecret(value, file, line, false);
    return checked(() => metricsLine(value, `${file} line ${line}`), file, line);
  });
}

/** The state files, checked: state.json, the checkpoint it names, the frozen policies it uses, each weights file readable. */
function checkState(files: Record<string, Uint8Array>, metricLines: number): Record<string, Uint8Array> {
  const state: Record<string, Uint8Array> = {};
  for (const [path, bytes] of Object.entries(files)) if (bundlePathKind(path) === 'state') state[path] = bytes;
  if (Object.keys(state).length === 0) return state;
  const text = utf8(need(files, STATE_FILE), STATE_FILE);
  refuseSecret(parseJson(text, STATE_FILE), STATE_FILE);
  let parsed;
  try {
    parsed = parseStateFile(text, STATE_FILE);
  } catch (e) {
    throw new BundleError(STATE_FILE, (e instanceof Error ? e.message : String(e)).replace(/^state\.json:?\s*/, ''));
  }
  const { folder, state: st } = parsed;
  const weights = (path: string, prefix: string): void => {
    try {
      readWeights(need(files, path), path, prefix);
    } catch (e) {
      if (e instanceof BundleError) throw e;
      throw new BundleError(path, `is not a readable weights file (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  weights(`${folder}/policy.safetensors`, 'flat');
  if (st.optimizerStep !== null) {
    weights(`${folder}/optimizer.safetensors`, 'm');
    weights(`${folder}/optimizer.safetensors`, 'v');
  }
  for (const key of frozenKeys(st)) weights(`state/${frozenFileName(key)}`, 'flat');
  if (metricLines < st.lines.metrics) throw new BundleError(BUNDLE_FILES.metrics, `has ${metricLines} lines; ${STATE_FILE} counts ${st.lines.metrics}`);
  return state;
}

/** A bundle's zip bytes, checked whole. */
export function readBundle(zip: Uint8Array, name = 'the bundle', limits: BundleLimits = BUNDLE_LIMITS): RunBundle {
  const files = unzipBundle(zip, name, limits);
  const manifest = parseManifest(need(files, BUNDLE_FILES.manifest));
  const config = parseConfigFile(need(files, BUNDLE_FILES.config));
  const metrics = parseMetricsFile(need(files, BUNDLE_FILES.metrics), BUNDLE_FILES.metrics, limits.lines);
  if (metrics.length === 0) throw new BundleError(BUNDLE_FILES.metrics, 'has no lines');
  let prompts: TaskItem[] = [];
  let rollouts: RolloutLine[] = [];
  if (Object.hasOwn(files, BUNDLE_FILES.rollouts)) {
    const pf = BUNDLE_FILES.prompts;
    const pv = parseJson(utf8(need(files, pf), pf), pf);
    if (!Array.isArray(pv)) throw new BundleError(pf, 'must be a list of task items');
    prompts = pv.map((p, i) => checked(() => parseItem(p, `${pf} [${i}]`), pf, undefined));
    const known = new Set(prompts.map((p) => p.id));
    const steps = new Set(metrics.filter((m) => (m as EvalLine).eval !== true).map((m) => `${m.stage}:${m.step}`));
    const rf = BUNDLE_FILES.rollouts;
    rollouts = jsonLinesOf(files[rf], rf, limits.lines).map(({ line, value }) => {
      const r = checked(() => rolloutLine(value, `${rf} line ${line}`), rf, line);
      if (!known.has(r.prompt_id)) throw new BundleError(rf, `prompt "${r.prompt_id}" is not among the prompts of ${pf}`, line, 'prompt_id');
      if (r.stage < 1 || r.stage > config.stages.length) throw new BundleError(rf, `stage ${r.stage} is not a stage of the run's config (1..${config.stages.length})`, line, 'stage');
      if (!steps.has(`${r.stage}:${r.step}`)) throw new BundleError(rf, `stage ${r.stage} step ${r.step} has no step line in ${BUNDLE_FILES.metrics}`, line, 'step');
      return r;
    });
  } else if (Object.hasOwn(files, BUNDLE_FILES.prompts)) {
    throw new BundleError(BUNDLE_FILES.prompts, `comes without ${BUNDLE_FILES.rollouts}`);
  }
  const state = checkState(files, metrics.length);
  return { manifest, config, metrics, rollouts, prompts, state };
}

/** Whether "continue this run" can resume the bundle, or why not. */
export function continuable(b: RunBundle): { ok: true } | { ok: false; why: string } {
  if (!Object.hasOwn(b.state, STATE_FILE)) return { ok: false, why: 'the bundle holds no run state (weights and optimizer): it can be viewed, not continued' };
  const fromPage = b.config.policy !== 'builtin' && b.config.policy !== 'builtin-base';
  if (fromPage && !Object.keys(b.state).some((p) => p.startsWith('start-policy/'))) {
    return { ok: false, why: `the run began from the policy "${b.config.policy}", whose files the bundle does not hold: it can be viewed, not continued` };
  }
  const head = parseStateFile(utf8(b.state[STATE_FILE], STATE_FILE), STATE_FILE);
  if (head.state.cursor.finished) return { ok: false, why: 'the run finished: there is nothing left to continue' };
  return { ok: true };
}
