// Merging overrides onto a run config (a preset, a config file, a link's setup), refusing keys
// that would reach an object's prototype.
import { PROTOTYPE_KEYS, prototypeKeyPath } from '../../tasks/import';
import { isObject } from './checks';
import { preset, type PresetName } from './presets';
import type { RunConfig } from './schema';
import { ConfigError, validateConfig } from './validate';

export type DeepPartial<T> = T extends (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;


/**
 * Deep merge of `override` onto `base` (neither is modified). Objects merge key by key; lists
 * are replaced, except `stages`, which merges index by index: `{stages: [{lr: 1e-3}]}` changes
 * stage 0's lr only. A stage index past the base's last stage starts from a copy of that last
 * stage. Unknown keys are carried into the result so that validation names them.
 */
export function mergeConfig(base: RunConfig, override: DeepPartial<RunConfig> | undefined): RunConfig {
  const out = structuredClone(base);
  if (override === undefined) return out;
  if (!isObject(override)) throw new ConfigError([{ path: '(overrides)', value: override, message: 'must be an object' }]);
  const merged = mergeObject(out as unknown as Record<string, unknown>, override as Record<string, unknown>, '') as Record<string, unknown>;
  const stagesOverride = (override as Record<string, unknown>).stages;
  if (stagesOverride !== undefined) {
    if (!Array.isArray(stagesOverride)) throw new ConfigError([{ path: 'stages', value: stagesOverride, message: 'must be a list' }]);
    merged.stages = stagesOverride.map((s: unknown, i: number) => {
      const from = base.stages[Math.min(i, base.stages.length - 1)];
      if (!isObject(s)) throw new ConfigError([{ path: `stages[${i}]`, value: s, message: 'must be an object' }]);
      return mergeObject(structuredClone(from) as unknown as Record<string, unknown>, s, `stages[${i}]`);
    });
  }
  return merged as unknown as RunConfig;
}

/**
 * Keys that reach an object's prototype when assigned (JSON.parse makes "__proto__" an own key):
 * a config holding one would change Object.prototype for the whole process.
 */
export const FORBIDDEN_KEYS: readonly string[] = PROTOTYPE_KEYS;

function forbiddenKey(path: string, key: string): ConfigError {
  return new ConfigError([{ path, value: '(not shown)', message: `"${key}" is not allowed as a key (it would reach the object prototype)` }]);
}

function mergeObject(base: Record<string, unknown>, over: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    const p = path === '' ? k : `${path}.${k}`;
    if (FORBIDDEN_KEYS.includes(k)) throw forbiddenKey(p, k);
    // Also inside values copied whole (a list, an unknown field, an object where a value belongs).
    const deep = prototypeKeyPath(v, p);
    if (deep !== null) throw forbiddenKey(deep.path, deep.key);
    if (path === '' && k === 'stages') continue;
    if (v === undefined) continue;
    const b = base[k];
    if (isObject(b)) {
      if (!isObject(v)) throw new ConfigError([{ path: p, value: v, message: 'must be an object' }]);
      base[k] = mergeObject(b, v, p);
    } else {
      base[k] = structuredClone(v);
    }
  }
  return base;
}

/** A preset (by name or value) with user overrides merged on top, validated. */
export function resolveConfig(from: PresetName | RunConfig, overrides?: DeepPartial<RunConfig>): RunConfig {
  const base = typeof from === 'string' ? preset(from) : from;
  return validateConfig(mergeConfig(base, overrides));
}
