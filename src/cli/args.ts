/**
 * Argument parsing for `exprl` commands, pure (no I/O) so it is tested without a GPU. Each
 * command declares its options; `parseArgs` turns argv into checked values or throws a
 * `UsageError` naming the option, which the dispatcher maps to exit code 2.
 */

/** A mistake in how the command was called (exit code 2), as opposed to a failure while running (1). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  kind: 'string' | 'int' | 'number' | 'flag';
  help: string;
  /** Placeholder shown in the help, e.g. DIR. */
  value?: string;
  required?: boolean;
  default?: string | number;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Exclusive lower bound for numbers. */
  above?: number;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  /** A paragraph for --help under the option's line (a config field's documentation). */
  doc?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Extra paragraphs for --help (output format, examples). */
  details?: string;
  options: Readonly<Record<string, OptionSpec>>;
}

/** Checked option values; getters throw if asked for an option of another kind (a programming error). */
export class ParsedOptions {
  constructor(
    private readonly spec: CommandSpec,
    private readonly values: ReadonlyMap<string, string | number | boolean>,
  ) {}

  private get(name: string, kind: OptionSpec['kind']): string | number | boolean | undefined {
    const o = this.spec.options[name];
    if (o === undefined || o.kind !== kind) throw new Error(`exprl ${this.spec.name}: no ${kind} option --${name}`);
    return this.values.get(name) ?? o.default ?? (kind === 'flag' ? false : undefined);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The value given for an option of any kind (its default when not given). */
  value(name: string): string | number | boolean | undefined {
    const o = this.spec.options[name];
    if (o === undefined) throw new Error(`exprl ${this.spec.name}: no option --${name}`);
    return this.get(name, o.kind);
  }

  string(name: string): string | undefined {
    return this.get(name, 'string') as string | undefined;
  }

  int(name: string): number | undefined {
    return this.get(name, 'int') as number | undefined;
  }

  number(name: string): number | undefined {
    return this.get(name, 'number') as number | undefined;
  }

  flag(name: string): boolean {
    return this.get(name, 'flag') as boolean;
  }
}

export type ParseResult = { help: true } | { help: false; options: ParsedOptions };

function describeRange(o: OptionSpec): string {
  const parts: string[] = [];
  if (o.above !== undefined) parts.push(`> ${o.above}`);
  if (o.min !== undefined) parts.push(`≥ ${o.min}`);
  if (o.max !== undefined) parts.push(`≤ ${o.max}`);
  return parts.join(' and ');
}

function convert(name: string, o: OptionSpec, raw: string): string | number {
  const bad = (what: string): never => {
    throw new UsageError(`--${name} must be ${what}, got ${JSON.stringify(raw)}`);
  };
  if (o.kind === 'string') {
    if (o.choices !== undefined && !o.choices.includes(raw)) bad(`one of ${o.choices.join(', ')}`);
    return raw;
  }
  const range = describeRange(o);
  const kindName = o.kind === 'int' ? 'an integer' : 'a number';
  const expected = range === '' ? kindName : `${kindName} ${range}`;
  const trimmed = raw.trim();
  if (trimmed === '' || (o.kind === 'int' && !/^[+-]?\d+$/.test(trimmed))) bad(expected);
  const v = Number(trimmed);
  if (!Number.isFinite(v) || (o.kind === 'int' && !Number.isSafeInteger(v))) bad(expected);
  if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max) || (o.above !== undefined && v <= o.above)) bad(expected);
  return v;
}

/**
 * Options are `--name value` or `--name=value`; flags take no value. `--help` / `-h` anywhere
 * asks for help (nothing else is checked then). Unknown options, positional arguments, repeated
 * options, missing values and missing required options are usage errors.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParseResult {
  if (argv.some((a) => a === '--help' || a === '-h')) return { help: true };
  const values = new Map<string, string | number | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (options start with --)`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const o = spec.options[name];
    if (o === undefined) {
      const known = Object.keys(spec.options).map((k) => `--${k}`);
      throw new UsageError(`unknown option --${name} (${known.length > 0 ? `options: ${known.join(', ')}` : 'this command takes no options'})`);
    }
    if (values.has(name)) throw new UsageError(`option --${name} given twice`);
    if (o.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      values.set(name, true);
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      // A value may start with one dash (a negative number) but not two: that is the next option.
      if (next === undefined || next.startsWith('--')) throw new UsageError(`option --${name} needs a value${o.value ? ` (${o.value})` : ''}`);
      raw = next;
      i++;
    }
    values.set(name, convert(name, o, raw));
  }
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.required && !values.has(name)) throw new UsageError(`missing required option --${name}${o.value ? ` ${o.value}` : ''}`);
  }
  return { help: false, options: new ParsedOptions(spec, values) };
}

/** The `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const entries = Object.entries(spec.options);
  const synopsis = entries
    .map(([name, o]) => {
      const s = o.kind === 'flag' ? `--${name}` : `--${name} ${o.value ?? 'VALUE'}`;
      return o.required ? s : `[${s}]`;
    })
    .join(' ');
  const rows = entries.map(([name, o]) => {
    const left = o.kind === 'flag' ? `--${name}` : `--${name} ${o.value ?? 'VALUE'}`;
    const notes = [o.required ? 'required' : undefined, o.default !== undefined ? `default ${o.default}` : undefined, describeRange(o) || undefined]
      .filter((x) => x !== undefined)
      .join(', ');
    const row = `  ${left.padEnd(22)} ${o.help}${notes ? ` (${notes})` : ''}`;
    return o.doc === undefined ? row : [row, ...wrap(o.doc, HELP_WIDTH - DOC_INDENT).map((l) => ' '.repeat(DOC_INDENT) + l)].join('\n');
  });
  return [`usage: exprl ${spec.name}${synopsis ? ` ${synopsis}` : ''}`, '', spec.summary, ...(rows.length > 0 ? ['', 'options:', ...rows, `  ${'--help'.padEnd(22)} this text`] : []), ...(spec.details ? ['', spec.details] : [])].join('\n');
}

const HELP_WIDTH = 100;
const DOC_INDENT = 25;

/** Words of `text` in lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
