/**
 * results.json of `exprl experiment` read back, for the page to show: checked as untrusted input
 * (the fields the page reads; prototype keys refused at any depth), its runs' curves and evals as
 * metric lines the charts overlay (one series per arm × seed, Stage II after Stage I on one axis,
 * as the CLI's plots lay them out), and Table 1 as results.md writes it (report.ts mainTableCells).
 * Pure: text in, data out.
 */
import type { RunLines } from '../chart-series';
import { prototypeKeyPath } from '../../tasks/import';
import { ARM_LABELS, ARMS, type ArmId } from './plans';
import { CURVE_KEYS, TRAINED_STAGES, type ExperimentResults } from './results';

export class ResultsFileError extends Error {
  override name = 'ResultsFileError';
  constructor(
    readonly file: string,
    message: string,
    /** The field ("runs[2].curves.I[4].reward_mean"). */
    readonly field?: string,
  ) {
    super(`${file}${field !== undefined ? ` ${field}` : ''}: ${message}`);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumOrNull = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));

/** results.json's text, checked where the page reads it. */
export function parseResultsFile(text: string, file = 'results.json'): ExperimentResults {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ResultsFileError(file, `is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const proto = prototypeKeyPath(v);
  if (proto !== null) throw new ResultsFileError(file, `holds the key "${proto.key}", which is refused`, proto.path);
  if (!isObject(v)) throw new ResultsFileError(file, 'is not a JSON object');
  const fail = (field: string, what: string): never => {
    throw new ResultsFileError(file, `must be ${what}`, field);
  };
  if (v.format !== 'exprl-experiment-results') fail('format', '"exprl-experiment-results" (this is not results.json of exprl experiment)');
  if (v.version !== 1) fail('version', '1, the version this page reads');
  if (typeof v.plan !== 'string') fail('plan', 'a string');
  if (!Array.isArray(v.seeds) || !v.seeds.every((s) => Number.isInteger(s))) fail('seeds', 'a list of integers');
  if (!Array.isArray(v.metrics) || !v.metrics.every((m) => typeof m === 'string')) fail('metrics', 'a list of strings');
  const isArm = (a: unknown): a is ArmId => typeof a === 'string' && (ARMS as readonly string[]).includes(a);
  if (!Array.isArray(v.arms) || !v.arms.every(isArm)) fail('arms', `a list of arms (${ARMS.join(', ')})`);
  if (!isObject(v.regime) || !Number.isInteger(v.regime.stageISteps)) fail('regime.stageISteps', 'an integer');
  if (!Array.isArray(v.table)) fail('table', 'a list');
  (v.table as unknown[]).forEach((row, i) => {
    const at = `table[${i}]`;
    if (!isObject(row) || !isArm(row.arm)) return fail(`${at}.arm`, 'an arm');
    if (!isObject(row.cells)) return fail(`${at}.cells`, 'an object');
    for (const st of TRAINED_STAGES) {
      const cells = row.cells[st];
      if (!isObject(cells)) return fail(`${at}.cells.${st}`, 'an object');
      for (const [k, c] of Object.entries(cells)) {
        if (!isObject(c) || !isNumOrNull(c.mean) || !isNumOrNull(c.sd) || !Number.isInteger(c.n)) fail(`${at}.cells.${st}.${k}`, '{"mean": number|null, "sd": number|null, "n": integer}');
      }
    }
  });
  if (!Array.isArray(v.runs)) fail('runs', 'a list');
  (v.runs as unknown[]).forEach((run, i) => {
    const at = `runs[${i}]`;
    if (!isObject(run)) return fail(at, 'an object');
    if (typeof run.id !== 'string') fail(`${at}.id`, 'a string');
    if (!isArm(run.arm)) fail(`${at}.arm`, 'an arm');
    if (!Number.isInteger(run.seed)) fail(`${at}.seed`, 'an integer');
    if (!isObject(run.curves)) return fail(`${at}.curves`, 'an object');
    for (const st of TRAINED_STAGES) {
      const curve = run.curves[st];
      if (curve === undefined) continue;
      if (!Array.isArray(curve)) return fail(`${at}.curves.${st}`, 'a list');
      curve.forEach((p, j) => {
        if (!isObject(p) || !Number.isInteger(p.step)) return fail(`${at}.curves.${st}[${j}].step`, 'an integer');
        for (const k of CURVE_KEYS) if (p[k] !== undefined && !isNumOrNull(p[k])) fail(`${at}.curves.${st}[${j}].${k}`, 'a number or null');
      });
    }
    if (!isObject(run.eval)) return fail(`${at}.eval`, 'an object');
    for (const [st, line] of Object.entries(run.eval)) if (!isObject(line)) fail(`${at}.eval.${st}`, 'an eval line (an object)');
  });
  return v as unknown as ExperimentResults;
}

/**
 * The runs of an experiment as metric lines for the charts, one RunLines per arm × seed: each
 * curve point a step line at x (Stage I 1..S1, Stage II after it), each eval line at the x it
 * followed (the base eval at 0). Only finite numbers are kept.
 */
export function resultsRunLines(r: ExperimentResults): RunLines[] {
  const offset = { I: 0, II: r.regime.stageISteps };
  return r.runs.map((run) => {
    const lines: Record<string, unknown>[] = [];
    const stageEnd: Record<string, number> = { base: 0, I: r.regime.stageISteps };
    TRAINED_STAGES.forEach((st, i) => {
      const curve = run.curves[st] ?? [];
      for (const p of curve) {
        const line: Record<string, unknown> = { stage: i + 1, step: offset[st] + p.step };
        for (const k of CURVE_KEYS) if (typeof p[k] === 'number') line[k] = p[k];
        lines.push(line);
      }
      if (curve.length > 0) stageEnd[st] = offset[st] + curve.length;
    });
    // The base arm has no Stage I: its "I" cell is its base eval (at 0); its Stage II follows at S1.
    for (const [label, ev] of Object.entries(run.eval)) {
      const at = stageEnd[label];
      if (at === undefined || ev === undefined) continue;
      const line: Record<string, unknown> = { eval: true, stage: 0, step: at };
      for (const [k, x] of Object.entries(ev)) if (/^pass@\d+$|^[a-z_]+@n$/.test(k) && typeof x === 'number' && Number.isFinite(x)) line[k] = x;
      lines.push(line);
    }
    lines.sort((a, b) => (a.step as number) - (b.step as number));
    return { id: run.id, label: `${ARM_LABELS[run.arm]} s${run.seed}`, lines };
  });
}
