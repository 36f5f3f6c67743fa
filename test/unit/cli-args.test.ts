// The `exprl` argument parser: values, defaults, ranges, and usage errors that name the option.
import { describe, expect, it } from 'vitest';
import { commandHelp, parseArgs, UsageError, type CommandSpec, type ParsedOptions } from '../../src/cli/args';

const SPEC: CommandSpec = {
  name: 'demo',
  summary: 'A command for the tests.',
  details: 'Prints nothing.',
  options: {
    model: { kind: 'string', value: 'DIR', required: true, help: 'model folder' },
    n: { kind: 'int', value: 'N', default: 1, min: 1, help: 'samples' },
    temperature: { kind: 'number', value: 'T', default: 1, above: 0, help: 'temperature' },
    'top-p': { kind: 'number', value: 'P', max: 1, above: 0, help: 'nucleus' },
    dtype: { kind: 'string', choices: ['f32', 'bf16'], default: 'f32', help: 'stored dtype' },
    force: { kind: 'flag', help: 'overwrite' },
  },
};

function parse(argv: string[]): ParsedOptions {
  const r = parseArgs(SPEC, argv);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

function usageError(argv: string[]): string {
  try {
    parseArgs(SPEC, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(argv)}`);
}

describe('parseArgs', () => {
  it('reads values in both spellings and fills defaults', () => {
    const o = parse(['--model', 'out/m', '--n=4', '--top-p', '0.9', '--force']);
    expect(o.string('model')).toBe('out/m');
    expect(o.int('n')).toBe(4);
    expect(o.number('top-p')).toBe(0.9);
    expect(o.number('temperature')).toBe(1);
    expect(o.string('dtype')).toBe('f32');
    expect(o.flag('force')).toBe(true);
    expect(o.has('n')).toBe(true);
    expect(o.has('temperature')).toBe(false);
    const d = parse(['--model=x']);
    expect(d.int('n')).toBe(1);
    expect(d.number('top-p')).toBeUndefined();
    expect(d.flag('force')).toBe(false);
  });

  it('keeps values that look like options only with =, and negative numbers as values', () => {
    expect(parse(['--model=--weird', '--temperature', '0.5']).string('model')).toBe('--weird');
    expect(parse(['--model', '-x']).string('model')).toBe('-x');
    expect(usageError(['--model', 'm', '--temperature', '-1'])).toBe('--temperature must be a number > 0, got "-1"');
    expect(parse(['--model', '']).string('model')).toBe('');
  });

  it('answers --help and -h anywhere without checking the rest', () => {
    expect(parseArgs(SPEC, ['--help'])).toEqual({ help: true });
    expect(parseArgs(SPEC, ['--bogus', '-h'])).toEqual({ help: true });
  });

  it('names the option in every usage error', () => {
    expect(usageError([])).toBe('missing required option --model DIR');
    expect(usageError(['--model', 'm', '--bogus', '1'])).toMatch(/^unknown option --bogus \(options: --model, --n, /);
    expect(usageError(['--model'])).toBe('option --model needs a value (DIR)');
    expect(usageError(['--n', '--model', 'm'])).toBe('option --n needs a value (N)');
    expect(usageError(['--model', 'a', '--model', 'b'])).toBe('option --model given twice');
    expect(usageError(['--model', 'm', 'extra'])).toBe('unexpected argument "extra" (options start with --)');
    expect(usageError(['--model', 'm', '--force=yes'])).toBe('option --force takes no value');
    expect(usageError(['--model', 'm', '--dtype', 'f16'])).toBe('--dtype must be one of f32, bf16, got "f16"');
  });

  it('checks integers and numbers with their ranges', () => {
    for (const bad of ['0', '1.5', 'abc', '', ' ', '1e3', '0x10', '99999999999999999999']) {
      expect(usageError(['--model', 'm', '--n', bad])).toBe(`--n must be an integer ≥ 1, got ${JSON.stringify(bad)}`);
    }
    for (const bad of ['0', '1.01', 'NaN', 'Infinity', 'x']) {
      expect(usageError(['--model', 'm', '--top-p', bad])).toBe(`--top-p must be a number > 0 and ≤ 1, got ${JSON.stringify(bad)}`);
    }
    expect(parse(['--model', 'm', '--top-p', '1']).number('top-p')).toBe(1);
    expect(parse(['--model', 'm', '--temperature', '1e-3']).number('temperature')).toBe(0.001);
    expect(parse(['--model', 'm', '--n', '+7']).int('n')).toBe(7);
  });

  it('refuses to read an option as another kind (a programming error, not a usage error)', () => {
    const o = parse(['--model', 'm']);
    expect(() => o.int('model')).toThrow('no int option --model');
    expect(() => o.string('nothing')).toThrow('no string option --nothing');
  });
});

describe('commandHelp', () => {
  it('lists every option with its placeholder, default and range', () => {
    const h = commandHelp(SPEC);
    expect(h.split('\n')[0]).toBe('usage: exprl demo --model DIR [--n N] [--temperature T] [--top-p P] [--dtype VALUE] [--force]');
    expect(h).toContain('A command for the tests.');
    expect(h).toMatch(/--n N +samples \(default 1, ≥ 1\)/);
    expect(h).toMatch(/--model DIR +model folder \(required\)/);
    expect(h).toContain('--help');
    expect(h.endsWith('Prints nothing.')).toBe(true);
  });
});
