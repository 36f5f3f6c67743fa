/**
 * The `exprl` options of the run settings table (src/rl/config/settings.ts): one option per
 * setting, named by its key, typed and bounded by its schema type, its help line the setting's
 * label and its documentation the field's doc. Pure, so it is tested without a GPU.
 */
import { RUN_SETTINGS, type Setting, type Setup, type SettingValue } from '../rl/config';
import type { OptionSpec, ParsedOptions } from './args';

export function settingOption(s: Setting): OptionSpec {
  const base = { help: s.label, doc: s.doc, value: s.placeholder };
  const t = s.type;
  switch (t.kind) {
    case 'int':
    case 'number':
      // Values besides numbers ("auto", null) have no option form yet.
      return { ...base, kind: t.kind, min: t.min, max: t.max, above: t.gt };
    case 'enum':
      return { ...base, kind: 'string', choices: t.choices };
    case 'string':
      return { ...base, kind: 'string' };
    case 'bool':
      return { ...base, kind: 'string', choices: ['true', 'false'] };
    case 'json':
      throw new Error(`setting ${s.key} (${t.what}) has no option form`);
  }
}

/** Options for every setting of the table, by key, in table order. */
export function settingOptions(table: readonly Setting[] = RUN_SETTINGS): Record<string, OptionSpec> {
  return Object.fromEntries(table.map((s) => [s.key, settingOption(s)]));
}

/** The setup the given options name (settings not given are left out). */
export function setupFromOptions(o: ParsedOptions, table: readonly Setting[] = RUN_SETTINGS): Setup {
  const out: Record<string, SettingValue> = {};
  for (const s of table) {
    if (!o.has(s.key)) continue;
    const v = o.value(s.key);
    if (v === undefined) continue;
    out[s.key] = s.type.kind === 'bool' ? v === 'true' : v;
  }
  return out;
}
