/**
 * A setup in a URL hash, through the settings table (./settings.ts): `#preset=small&method=sft&steps=20`.
 * Keys and values are those of the table, in its order; a link reproduces the setup.
 *
 * A hash is untrusted text. Reading one refuses unknown keys, keys given twice, values the
 * setting's check refuses (each problem names the key), secret settings (an API key is never
 * read from or written to a URL) and keys that would reach an object's prototype. Values of
 * settings marked `fromLink: "confirm"` (the judge endpoint) are listed, so the page asks the
 * user before it sends anything there.
 */
import { FORBIDDEN_KEYS } from './merge';
import { parseSettingValue, RUN_SETTINGS, settingByKey, type Setting, type Setup, type SettingValue } from './settings';
import { ConfigError, type ConfigIssue } from './validate';

/** The hash (without "#") of a setup: every set value in table order; secret settings never. */
export function encodeSetup(setup: Setup, table: readonly Setting[] = RUN_SETTINGS): string {
  const params = new URLSearchParams();
  for (const s of table) {
    const v = setup[s.key];
    if (v === undefined || s.secret) continue;
    params.append(s.key, valueText(v));
  }
  return params.toString();
}

/**
 * A value as the link writes it. Integers in plain digits: String() writes 1e21 and above with
 * an exponent, which an integer setting does not read back (it takes digits only, not "0x10").
 */
function valueText(v: SettingValue): string {
  return typeof v === 'number' && Number.isInteger(v) ? BigInt(v).toString() : String(v);
}

export interface SetupFromLink {
  setup: Setup;
  /** Keys whose value came from the link and must be confirmed by the user before use (non-empty values only). */
  confirm: string[];
}

/**
 * The setup a hash describes (a leading "#" is dropped; an empty hash is an empty setup).
 * Throws a ConfigError naming every bad key.
 */
export function decodeSetup(hash: string, table: readonly Setting[] = RUN_SETTINGS): SetupFromLink {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const values = new Map<string, SettingValue>();
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const [key, raw] of new URLSearchParams(text)) {
    if (FORBIDDEN_KEYS.includes(key)) {
      issues.push({ path: key, value: '(not shown)', message: `"${key}" is not allowed as a key (it would reach the object prototype)` });
      continue;
    }
    if (seen.has(key)) {
      issues.push({ path: key, value: raw, message: 'is given twice' });
      continue;
    }
    seen.add(key);
    const s = settingByKey(key, table);
    if (s === undefined) {
      issues.push({ path: key, value: raw, message: `is not a known setting (${table.filter((x) => !x.secret).map((x) => x.key).join(', ')})` });
      continue;
    }
    if (s.secret) {
      issues.push({ path: key, value: '(not shown)', message: 'is a secret and is never read from a link; enter it in the page' });
      continue;
    }
    const parsed = parseSettingValue(s, raw);
    if ('problem' in parsed) issues.push({ path: key, value: raw, message: parsed.problem });
    else values.set(key, parsed.value);
  }
  if (issues.length > 0) throw new ConfigError(issues, 'setup in the link');
  // Table order; only the table's keys, none of which reaches a prototype.
  const setup: Record<string, SettingValue> = {};
  for (const s of table) {
    const v = values.get(s.key);
    if (v !== undefined) setup[s.key] = v;
  }
  const confirm = table.filter((s) => s.fromLink === 'confirm' && values.has(s.key) && values.get(s.key) !== '').map((s) => s.key);
  return { setup, confirm };
}
