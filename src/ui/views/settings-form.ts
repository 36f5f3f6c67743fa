/**
 * The run settings as page inputs, one per row of the settings table (src/rl/config/settings.ts):
 * a visible label (the row's label), the field's doc as the input's description, and bounds or
 * choices from the schema type. Values are read back through the same parser a URL hash uses,
 * so a bad one is named by its setting key.
 */
import { parseSettingValue, RUN_SETTINGS, type ConfigIssue, type Setting, type SettingValue } from '../../rl/config';
import { el, field } from '../dom';

export type SettingControl = HTMLInputElement | HTMLSelectElement;

export interface SettingsForm {
  /** One labelled input per setting, by key; `field(key)` is its wrapper (hide it to hide the setting). */
  controls: ReadonlyMap<string, SettingControl>;
  field(key: string): HTMLElement;
  /** The values the inputs hold, parsed; a bad value is an issue named by its key. Keys in `skip` and empty number inputs are left out. */
  read(skip?: (key: string, raw: string) => boolean): { values: Record<string, SettingValue>; issues: ConfigIssue[] };
  /** Puts values into the inputs (keys without an input are ignored). */
  write(values: Readonly<Partial<Record<string, SettingValue>>>): void;
}

/** `choices` replaces a setting's choices in the page (e.g. the policies the page can run). */
export function settingsForm(table: readonly Setting[] = RUN_SETTINGS, choices: Readonly<Record<string, readonly string[]>> = {}): SettingsForm {
  const controls = new Map<string, SettingControl>();
  const fields = new Map<string, HTMLElement>();
  for (const s of table) {
    const id = `setting-${s.key}`;
    const t = s.type;
    const options = choices[s.key] ?? (t.kind === 'enum' ? t.choices : t.kind === 'bool' ? ['true', 'false'] : undefined);
    let control: SettingControl;
    if (options !== undefined) {
      control = el('select', { id, title: s.doc }, ...options.map((o) => el('option', { text: o })));
    } else if (t.kind === 'int' || t.kind === 'number') {
      control = el('input', { id, title: s.doc, type: 'number', min: t.min, max: t.max, step: t.kind === 'number' ? 'any' : undefined });
    } else {
      control = el('input', { id, title: s.doc, placeholder: s.example });
    }
    controls.set(s.key, control);
    fields.set(s.key, field(s.label, control, { className: 'setting' }));
  }
  return {
    controls,
    field: (key) => {
      const f = fields.get(key);
      if (f === undefined) throw new Error(`no setting ${key}`);
      return f;
    },
    read(skip) {
      const values: Record<string, SettingValue> = {};
      const issues: ConfigIssue[] = [];
      for (const s of table) {
        const raw = controls.get(s.key)!.value;
        // An empty number input leaves the preset's value (a seed the preset sets unequally, say).
        if (skip?.(s.key, raw) || (raw.trim() === '' && (s.type.kind === 'int' || s.type.kind === 'number'))) continue;
        const parsed = parseSettingValue(s, raw);
        if ('problem' in parsed) issues.push({ path: s.key, value: raw, message: parsed.problem });
        else values[s.key] = parsed.value;
      }
      return { values, issues };
    },
    write(values) {
      for (const [k, v] of Object.entries(values)) {
        const c = controls.get(k);
        if (c !== undefined && v !== undefined) c.value = String(v);
      }
    },
  };
}
