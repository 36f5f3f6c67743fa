// Validation of a run config against the schema (./schema.ts): every field's own check, then the
// relations between fields. Problems name the field path and the value.
import { redactShapes, redactUrl, urlCredential } from '../../judge/redact';
import { FAMILIES } from '../../tasks/families/index';
import { methodTraits, needsJudge, sparseRewardMethods } from '../methods';
import { isObject, type Field } from './checks';
import { EVAL_FIELDS, JUDGE_FIELDS, METHODS, PRETRAIN_FIELDS, RUN_FIELDS, SEED_FIELDS, STAGE_FIELDS, TASKS_FIELDS, type Method, type RunConfig, type StageConfig } from './schema';


export interface ConfigIssue {
  path: string;
  value: unknown;
  message: string;
}

export class ConfigError extends Error {
  /** `what` names what was invalid in the message: the run config, or a setup (./settings.ts). */
  constructor(
    readonly issues: ConfigIssue[],
    what = 'run config',
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path} = ${show(i.value)}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** A value as an error shows it: credentials in URLs (userinfo, key= queries) and Bearer/Basic credentials removed. */
function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return JSON.stringify(redactUrl(v));
  try {
    return redactShapes(JSON.stringify(v));
  } catch {
    return String(v);
  }
}

/** Shown in place of the value of a field the schema does not know: it may be a key put where none belongs. */
const NOT_SHOWN = '(not shown)';

/** An unknown field's issue; its value is never shown. A key-like name is told where a key goes. */
function unknownField(path: string): ConfigIssue {
  const keyLike = /(?:api[-_]?key|key|token|secret|passw(?:or)?d|auth)$/i.test(path);
  return {
    path,
    value: NOT_SHOWN,
    message: keyLike
      ? 'is not a known field; a key is never read from a config: put it in an environment variable and name the variable with judge.apiKeyEnv (exprl: --judge-api-key-env NAME)'
      : 'is not a known field',
  };
}

function checkFields(value: unknown, fields: Record<string, Field>, path: string, issues: ConfigIssue[]): void {
  if (!isObject(value)) {
    issues.push({ path, value, message: 'must be an object' });
    return;
  }
  for (const [k, f] of Object.entries(fields)) {
    const problem = k in value ? f.check(value[k]) : 'is missing';
    // judge.apiKeyEnv's value is never shown: a key pasted there by mistake must not be echoed.
    if (problem !== null) issues.push({ path: `${path}.${k}`, value: `${path}.${k}` === 'judge.apiKeyEnv' ? NOT_SHOWN : value[k], message: problem });
  }
  for (const k of Object.keys(value)) {
    // Own keys only: `in` would take "constructor" or "__proto__" for fields (Object.prototype has them).
    if (!Object.hasOwn(fields, k)) issues.push(unknownField(`${path}.${k}`));
  }
}

/** Every problem of `value` as a run config (empty when valid). */
export function configIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isObject(value)) return [{ path: '(config)', value, message: 'must be an object' }];
  const known = new Set(['policy', 'tasks', 'pretrain', 'stages', 'judge', 'seeds', 'eval', 'checkpointEvery']);
  for (const k of Object.keys(value)) {
    if (!known.has(k)) issues.push(unknownField(k));
  }
  const every = RUN_FIELDS.checkpointEvery.check(value.checkpointEvery);
  if (every !== null) issues.push({ path: 'checkpointEvery', value: value.checkpointEvery, message: value.checkpointEvery === undefined ? 'is missing' : every });
  const p = RUN_FIELDS.policy.check(value.policy);
  if (p !== null) issues.push({ path: 'policy', value: value.policy, message: p });
  if (!Array.isArray(value.stages) || value.stages.length === 0) {
    issues.push({ path: 'stages', value: value.stages, message: 'must be a non-empty list of stages' });
  } else {
    value.stages.forEach((s: unknown, i: number) => {
      const before = issues.length;
      checkFields(s, STAGE_FIELDS, `stages[${i}]`, issues);
      if (issues.length !== before || !isObject(s)) return;
      const st = s as unknown as StageConfig;
      if (st.promptsPerStep % st.miniBatches !== 0) {
        issues.push({ path: `stages[${i}].miniBatches`, value: st.miniBatches, message: `must divide promptsPerStep (${st.promptsPerStep})` });
      }
      if (st.cutCorrectReward && !methodTraits(st.method).sparseReward) {
        issues.push({ path: `stages[${i}].cutCorrectReward`, value: true, message: `applies to sparse-reward methods only (${sparseRewardMethods().join(', ')}), not ${st.method}` });
      }
    });
  }
  checkFields(value.tasks, TASKS_FIELDS, 'tasks', issues);
  checkFields(value.pretrain, PRETRAIN_FIELDS, 'pretrain', issues);
  checkFields(value.judge, JUDGE_FIELDS, 'judge', issues);
  checkFields(value.seeds, SEED_FIELDS, 'seeds', issues);
  checkFields(value.eval, EVAL_FIELDS, 'eval', issues);

  if (isObject(value.eval) && Array.isArray(value.eval.k) && typeof value.eval.n === 'number') {
    const n = value.eval.n;
    value.eval.k.forEach((k: unknown, i: number) => {
      if (typeof k === 'number' && k > n) issues.push({ path: `eval.k[${i}]`, value: k, message: `must be <= eval.n (${n})` });
    });
  }
  if (isObject(value.tasks) && Array.isArray(value.tasks.families)) {
    value.tasks.families.forEach((f: unknown, i: number) => {
      if (typeof f === 'string' && !Object.hasOwn(FAMILIES, f)) {
        issues.push({ path: `tasks.families[${i}]`, value: f, message: `is not a built-in family (${Object.keys(FAMILIES).join(', ')})` });
      }
    });
  }
  if (isObject(value.judge) && value.judge.kind === 'policy' && typeof value.policy === 'string' && value.policy.startsWith('builtin')) {
    issues.push({
      path: 'judge.kind',
      value: 'policy',
      message: `the self-judge needs an instruct model with a chat template; the built-in policy ("${value.policy}") is a small character-level model that cannot follow a judging prompt. Use "rubric" (built-in tasks) or "openai"`,
    });
  }
  if (isObject(value.judge) && Array.isArray(value.stages)) {
    const j = value.judge;
    value.stages.forEach((s: unknown, i: number) => {
      if (isObject(s) && (METHODS as readonly unknown[]).includes(s.method) && needsJudge(s.method as Method) && j.kind === 'none') {
        issues.push({ path: 'judge.kind', value: j.kind, message: `stages[${i}] uses ${String(s.method)}, which needs a judge` });
      }
    });
    if (j.kind === 'local' && (typeof j.model !== 'string' || j.model.length === 0)) {
      issues.push({ path: 'judge.model', value: j.model, message: 'is required when judge.kind is "local" (a model folder or Hugging Face id)' });
    }
    if (j.kind === 'openai' && (typeof j.endpoint !== 'string' || j.endpoint.length === 0)) {
      issues.push({ path: 'judge.endpoint', value: j.endpoint, message: 'is required when judge.kind is "openai"' });
    } else if (j.kind === 'openai' && !isHttpUrl(j.endpoint as string)) {
      issues.push({ path: 'judge.endpoint', value: j.endpoint, message: 'is not an http:// or https:// URL' });
    }
    const credential = typeof j.endpoint === 'string' ? urlCredential(j.endpoint) : null;
    if (credential !== null) {
      issues.push({
        path: 'judge.endpoint',
        value: j.endpoint,
        message: `holds ${credential}; a key is never read from a config or URL: put it in an environment variable and name the variable with judge.apiKeyEnv (exprl: --judge-api-key-env NAME)`,
      });
    }
  }
  return issues;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Throws a ConfigError naming every bad field path and value; returns the config typed. */
export function validateConfig(value: unknown): RunConfig {
  const issues = configIssues(value);
  if (issues.length > 0) throw new ConfigError(issues);
  return value as RunConfig;
}

