// Property tests of the task file loaders (src/tasks/: JSONL, JSON, CSV, parquet; load.ts by
// file name and bytes): what the exporters write reads back equal; every bad row is reported
// under its own row number (and CSV line) and field, and only bad rows are; rows holding
// prototype keys are refused and Object.prototype stays as it was.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importTaskFile, TASK_FILE_FORMATS, taskFileFormat } from '../../src/tasks/load';
import { exportCsv, exportVerlJsonl, importTasks, type ImportError } from '../../src/tasks/import';
import { exportVerlParquet, importParquet } from '../../src/tasks/parquet';
import type { TaskItem } from '../../src/tasks/types';
import { expectPrototypeUnchanged, fuzzParams, objectWithProtoKeyAt } from '../support/fuzz';

/** Characters the formats must escape or keep (separators, quotes, line ends, non-ASCII, U+FFFD as text). */
const AWKWARD = [',', '"', '\n', '\r\n', '\r', ' ', '\t', '{', '}', '\\', 'ü', '中', '😀', '\u2028', '\uFFFD'];
const unit = fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
const text = (maxLength = 12) => fc.string({ unit, minLength: 1, maxLength }).filter((s) => s.trim() !== '');
/** One reference step: the importer splits the reference at "\n" and drops blank steps. */
const step = text(8).filter((s) => !s.includes('\n'));

const itemsArb = (withFffd = true): fc.Arbitrary<TaskItem[]> =>
  fc.uniqueArray(
    fc.record({
      id: text(8),
      family: text(6),
      question: text(),
      steps: fc.array(step, { minLength: 1, maxLength: 4 }),
      checkpoints: fc.array(text(4), { maxLength: 3 }),
      answer: text(6).map((s) => s.trim()),
      difficulty: fc.integer({ min: 0, max: 10 }),
    }).map(({ steps, ...rest }) => ({ ...rest, steps, reference: steps.join('\n') }))
      .filter((it) => withFffd || !JSON.stringify(it).includes('\uFFFD')),
    { selector: (it) => it.id, minLength: 1, maxLength: 6 },
  );

/** Items as the importer gives them back (key order of TaskItem, so toEqual compares like with like). */
const normal = (it: TaskItem, checkpoints = it.checkpoints): TaskItem => ({
  id: it.id, family: it.family, question: it.question, reference: it.reference, steps: it.steps, checkpoints, answer: it.answer, difficulty: it.difficulty,
});

describe('task files: what is exported reads back equal', () => {
  it('verl JSONL (text, and bytes by file name)', async () => {
    await fc.assert(
      fc.asyncProperty(itemsArb(), async (items) => {
        const jsonl = exportVerlJsonl(items, { split: 'train' });
        const res = importTasks(jsonl, { format: 'jsonl' });
        expect(res.errors).toEqual([]);
        expect(res.items).toEqual(items.map((it) => normal(it)));
        const fromBytes = await importTaskFile('tasks.JSONL', new TextEncoder().encode(jsonl), {});
        expect(fromBytes).toEqual(res);
      }),
      fuzzParams(60),
    );
  });

  it('CSV (every column mapped; CSV has no column for checkpoints)', () => {
    fc.assert(
      fc.property(itemsArb(), (items) => {
        const res = importTasks(exportCsv(items), { format: 'csv', mapping: FULL_MAPPING });
        expect(res.errors).toEqual([]);
        expect(res.items).toEqual(items.map((it) => normal(it, [])));
      }),
      fuzzParams(60),
    );
  });

  it('verl parquet', async () => {
    await fc.assert(
      fc.asyncProperty(itemsArb(), async (items) => {
        const res = await importParquet(exportVerlParquet(items, { split: 'train' }));
        expect(res.errors).toEqual([]);
        expect(res.items).toEqual(items.map((it) => normal(it)));
      }),
      fuzzParams(15),
    );
  });
});

type Fault =
  | { kind: 'invalid-json' }
  | { kind: 'not-object'; text: string }
  | { kind: 'missing'; field: 'question' | 'reference' | 'answer' }
  | { kind: 'wrong-type'; field: 'question' | 'reference' | 'answer'; json: string }
  | { kind: 'bad-difficulty'; json: string }
  | { kind: 'proto'; value: Record<string, unknown>; path: string[] };

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  fc.constant({ kind: 'invalid-json' as const }),
  fc.constantFrom('[1]', '3', 'null', '"row"').map((t) => ({ kind: 'not-object' as const, text: t })),
  fc.constantFrom('question' as const, 'reference' as const, 'answer' as const).map((field) => ({ kind: 'missing' as const, field })),
  fc.record({ field: fc.constantFrom('question' as const, 'reference' as const, 'answer' as const), json: fc.constantFrom('[1]', '{"a":1}', 'true', '1e999') })
    .filter((f) => f.json !== '1e999' || f.field !== 'answer')
    .map((f) => ({ kind: 'wrong-type' as const, ...f })),
  fc.constantFrom('-1', '"hard"', 'true').map((json) => ({ kind: 'bad-difficulty' as const, json })),
  objectWithProtoKeyAt.map((p) => ({ kind: 'proto' as const, ...p })),
);

/** A row in the default mapping's columns, broken by `fault` (or not), as one JSON text. */
function rowText(it: TaskItem, fault: Fault | null): string {
  const row: Record<string, unknown> = { id: it.id, family: it.family, question: it.question, reference: it.reference, answer: it.answer, difficulty: it.difficulty };
  if (fault === null) return JSON.stringify(row);
  switch (fault.kind) {
    case 'invalid-json':
      return `${JSON.stringify(row).slice(0, -1)},}`;
    case 'not-object':
      return fault.text;
    case 'missing':
      delete row[fault.field];
      return JSON.stringify(row);
    case 'wrong-type':
      return JSON.stringify(row).replace(/}$/, `,"${fault.field}":${fault.json}}`);
    case 'bad-difficulty':
      return JSON.stringify(row).replace(/}$/, `,"difficulty":${fault.json}}`);
    case 'proto':
      // JSON.stringify writes an own "__proto__" key as it is; merged into the row's own keys.
      return `${JSON.stringify(row).slice(0, -1)},${JSON.stringify(fault.value).slice(1)}`;
  }
}

/** The field an error must name for `fault`. */
function faultField(fault: Fault): string {
  switch (fault.kind) {
    case 'invalid-json':
    case 'not-object':
      return '(row)';
    case 'missing':
    case 'wrong-type':
      return fault.field;
    case 'bad-difficulty':
      return 'difficulty';
    case 'proto':
      return fault.path.join('.');
  }
}

/** Every column mapped (the default mapping reads question, reference and answer only). */
const FULL_MAPPING = { question: 'question', reference: 'reference', answer: 'answer', id: 'id', family: 'family', difficulty: 'difficulty' };

describe('task files: each bad row is an error naming its row and field; the good rows are kept', () => {
  const cases = itemsArb().chain((items) =>
    fc.record({
      items: fc.constant(items),
      faults: fc.array(fc.option(faultArb, { freq: 2 }), { minLength: items.length, maxLength: items.length }),
      blanks: fc.array(fc.boolean(), { minLength: items.length, maxLength: items.length }),
    }),
  );

  it('JSONL: row = line number (blank lines skipped but counted)', () => {
    fc.assert(
      fc.property(cases, ({ items, faults, blanks }) => {
        const lines: string[] = [];
        const want: Pick<ImportError, 'row' | 'field'>[] = [];
        const good: TaskItem[] = [];
        items.forEach((it, k) => {
          if (blanks[k]) lines.push('  ');
          lines.push(rowText(it, faults[k]));
          const f = faults[k];
          if (f === null) good.push(normal(it, []));
          else want.push({ row: lines.length, field: faultField(f) });
        });
        const res = importTasks(lines.join('\n'), { format: 'jsonl', mapping: FULL_MAPPING });
        expect(res.errors.map((e) => ({ row: e.row, field: e.field }))).toEqual(want);
        for (const e of res.errors) expect(e.message).not.toBe('');
        expect(res.items).toEqual(good);
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });

  it('JSON array: row = position', () => {
    fc.assert(
      fc.property(cases, ({ items, faults }) => {
        const fs = faults.map((f) => (f?.kind === 'invalid-json' ? null : f));
        const res = importTasks(`[${items.map((it, k) => rowText(it, fs[k])).join(',\n')}]`, { format: 'json', mapping: FULL_MAPPING });
        expect(res.errors.map((e) => ({ row: e.row, field: e.field }))).toEqual(fs.flatMap((f, k) => (f === null ? [] : [{ row: k + 1, field: faultField(f) }])));
        expect(res.items).toEqual(items.filter((_, k) => fs[k] === null).map((it) => normal(it, [])));
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });

  it('CSV: row = data record, line = the line it starts on', () => {
    fc.assert(
      fc.property(
        itemsArb().chain((items) =>
          fc.record({ items: fc.constant(items), faults: fc.array(fc.option(fc.constantFrom('question', 'answer', 'reference', 'difficulty', 'fields'), { freq: 2 }), { minLength: items.length, maxLength: items.length }) }),
        ),
        ({ items, faults }) => {
          const header = 'id,family,question,reference,answer,difficulty';
          /** One item's record as exportCsv writes it, without the header and the final CRLF. */
          const record = (it: TaskItem) => exportCsv([it]).slice(header.length + 2, -2);
          let body = `${header}\r\n`;
          const want: ImportError[] = [];
          items.forEach((it, k) => {
            const rec = record(it);
            const line = 1 + (body.match(/\n/g) ?? []).length;
            const f = faults[k];
            if (f === null) body += rec;
            else if (f === 'fields') {
              body += `${rec},extra`;
              want.push({ row: k + 1, line, field: '(row)', message: '7 fields, the header has 6' });
            } else if (f === 'difficulty') {
              body += rec.replace(/,\d+$/, ',hard');
              want.push({ row: k + 1, line, field: 'difficulty', message: 'not a non-negative number: "hard"' });
            } else {
              // An empty cell: rebuild the record with that column empty.
              body += record({ ...it, [f]: '' });
              want.push({ row: k + 1, line, field: f, message: 'missing or empty' });
            }
            body += '\r\n';
          });
          const res = importTasks(body, { format: 'csv', mapping: FULL_MAPPING });
          expect(res.errors).toEqual(want);
          expect(res.items).toEqual(items.filter((_, k) => faults[k] === null).map((it) => normal(it, [])));
        },
      ),
      fuzzParams(100),
    );
  });

  it('bytes that are not UTF-8 make their row an error naming the field (JSONL, CSV)', async () => {
    await fc.assert(
      fc.asyncProperty(
        itemsArb(false).chain((items) => fc.record({ items: fc.constant(items), bad: fc.nat(items.length - 1), byte: fc.constantFrom(0xff, 0xc0, 0x80, 0xfe) })),
        async ({ items, bad, byte }) => {
          const enc = new TextEncoder();
          const lines = items.map((it) => enc.encode(rowText(it, null)));
          // The invalid byte goes just inside the question's opening quote.
          const at = new TextDecoder().decode(lines[bad]).indexOf('"question":"') + '"question":"'.length;
          const prefix = enc.encode(new TextDecoder().decode(lines[bad]).slice(0, at)).length;
          lines[bad] = new Uint8Array([...lines[bad].subarray(0, prefix), byte, ...lines[bad].subarray(prefix)]);
          const bytes = new Uint8Array(lines.flatMap((l) => [...l, 0x0a]));
          const res = await importTaskFile('rows.jsonl', bytes, { mapping: FULL_MAPPING });
          expect(res.errors.map((e) => [e.row, e.field])).toEqual([[bad + 1, 'question']]);
          expect(res.items).toEqual(items.filter((_, k) => k !== bad).map((it) => normal(it, [])));
        },
      ),
      fuzzParams(60),
    );
  });
});

const VERL_KEYS = ['role', 'content', 'style', 'ground_truth', 'index', 'split', 'question', 'solution', 'answer', 'id', 'difficulty', 'checkpoints'];

describe('task files: the format from the name', () => {
  it('a known extension (any case) gives its format; any other name is an error naming the file and the known types', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.oneof(fc.constantFrom(...TASK_FILE_FORMATS, 'JSONL', 'Csv', 'txt', 'parq', 'json5', ''), fc.string({ maxLength: 5 }).filter((e) => !e.includes('.'))), (stem, ext) => {
        const name = `${stem}.${ext}`;
        const known = TASK_FILE_FORMATS.find((f) => f === ext.toLowerCase());
        if (known !== undefined) expect(taskFileFormat(name)).toBe(known);
        else expect(() => taskFileFormat(name)).toThrow(`${name}: unknown task file type (known: .jsonl, .json, .csv, .parquet)`);
      }),
      fuzzParams(300),
    );
  });
});

describe('task files: prototype keys', () => {
  it('a mapping naming an inherited property ("toString", "constructor", ...) finds nothing in a row', () => {
    fc.assert(
      fc.property(itemsArb(), fc.constantFrom('toString', 'valueOf', 'hasOwnProperty', 'constructor', '__proto__', 'isPrototypeOf', 'constructor.name'), (items, name) => {
        const res = importTasks(items.map((it) => rowText(it, null)).join('\n'), { format: 'jsonl', mapping: { question: 'question', reference: 'reference', answer: name } });
        expect(res.items).toEqual([]);
        expect(res.errors).toEqual(items.map((_, k) => ({ row: k + 1, field: name, message: 'missing or empty' })));
      }),
      fuzzParams(30),
    );
  });

  it('verl rows with prototype keys at any depth are refused, naming the key path; Object.prototype is unchanged', () => {
    fc.assert(
      fc.property(itemsArb(), objectWithProtoKeyAt, fc.constantFrom('extra_info', 'reward_model', 'prompt'), (items, proto, where) => {
        // Put first in the object, a key verl writes too would be overwritten by the later one.
        fc.pre(!VERL_KEYS.includes(proto.path[0]));
        const rows = exportVerlJsonl(items, { split: 'train' }).trimEnd().split('\n');
        const inner = JSON.stringify(proto.value);
        // The first row carries the key inside one of verl's nested objects.
        rows[0] = where === 'prompt' ? rows[0].replace('"prompt":[{', () => `"prompt":[{${inner.slice(1, -1)},`) : rows[0].replace(`"${where}":{`, () => `"${where}":{${inner.slice(1, -1)},`);
        const res = importTasks(rows.join('\n'), { format: 'jsonl' });
        const field = `${where === 'prompt' ? 'prompt[0]' : where}.${proto.path.join('.')}`;
        expect(res.errors).toEqual([{ row: 1, field, message: `"${proto.path.at(-1)}" is not allowed as a key (it would reach the object prototype)` }]);
        expect(res.items).toEqual(items.slice(1).map((it) => normal(it)));
        expectPrototypeUnchanged();
      }),
      fuzzParams(100),
    );
  });
});
