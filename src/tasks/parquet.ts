/**
 * Parquet import and export of task sets (bytes in, bytes out; no file system, no network).
 *
 * Import reads every row group with hyparquet (pure JavaScript: plain, dictionary and the usual
 * codecs), turns nested columns into objects and lists, 64-bit integers into numbers, and hands
 * the rows to `importRows`, so the verl schema, user mappings and the per-row error reports are
 * those of the text formats (`row` is the 1-based row number in the file).
 *
 * Export writes verl's row schema (src/tasks/import.ts `toVerlRow`) with an explicit nested
 * parquet schema: `prompt` a list of {role, content} structs, `reward_model` and `extra_info`
 * structs (our extras id, difficulty and checkpoints included), strings as UTF8. These are the
 * standard three-level LIST and group layouts that pyarrow, pandas and 🤗 datasets read.
 */
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { decodeUtf8 } from './utf8';
import { importRows, PROTOTYPE_KEYS, toVerlRow, type ImportOptions, type ImportResult, type VerlExportOptions } from './import';
import type { TaskItem } from './types';

/** The 4-byte magic at both ends of every parquet file. */
const MAGIC = 'PAR1';

/** A parquet value as plain JSON-like data; `bad.invalid` is set when a byte string was not UTF-8. */
function toPlain(v: unknown, bad: { invalid: boolean }): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) {
    const d = decodeUtf8(v);
    bad.invalid ||= d.invalid;
    return d.text;
  }
  if (Array.isArray(v)) return v.map((x) => toPlain(x, bad));
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x, bad)]));
  return v;
}

function asArrayBuffer(bytes: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Rows of a parquet file as plain objects; throws with the reason when the file is not parquet.
 * `invalidUtf8` is true when some text value's bytes were not UTF-8 (read as U+FFFD, utf8.ts).
 */
export async function readParquetRows(bytes: ArrayBuffer | Uint8Array): Promise<{ rows: Record<string, unknown>[]; invalidUtf8: boolean }> {
  const buf = asArrayBuffer(bytes);
  const head = new TextDecoder().decode(new Uint8Array(buf, 0, Math.min(4, buf.byteLength)));
  const tail = buf.byteLength >= 8 ? new TextDecoder().decode(new Uint8Array(buf, buf.byteLength - 4, 4)) : '';
  if (head !== MAGIC || tail !== MAGIC) throw new Error(`not a parquet file (no "${MAGIC}" magic at both ends; ${buf.byteLength} bytes)`);
  // hyparquet builds rows by assignment: a column named "__proto__" would set the row's prototype
  // (and vanish from the row) rather than be a key the importer can refuse.
  const key = parquetMetadata(buf).schema.find((e) => PROTOTYPE_KEYS.includes(e.name));
  if (key !== undefined) throw new Error(`column "${key.name}": "${key.name}" is not allowed as a key (it would reach the object prototype)`);
  const bad = { invalid: false };
  // Text columns through our decoder, which notes bytes that are not UTF-8 (hyparquet's replaces them silently).
  const stringFromBytes = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : (toPlain(b, bad) as string));
  const rows = await parquetReadObjects({ file: buf, parsers: { stringFromBytes } });
  return { rows: rows.map((r) => toPlain(r, bad) as Record<string, unknown>), invalidUtf8: bad.invalid };
}

/** Imports a parquet file's rows; a file that cannot be read is one error at row 0; a row with bytes that are not UTF-8 is an error. */
export async function importParquet(bytes: ArrayBuffer | Uint8Array, opts: Omit<ImportOptions, 'format'> = {}): Promise<ImportResult> {
  let read: { rows: Record<string, unknown>[]; invalidUtf8: boolean };
  try {
    read = await readParquetRows(bytes);
  } catch (e) {
    return { items: [], errors: [{ row: 0, field: '(file)', message: `cannot read parquet: ${(e as Error).message}` }] };
  }
  return importRows(read.rows, { ...opts, invalidUtf8: read.invalidUtf8 });
}

type SchemaElement = {
  name: string;
  type?: 'BYTE_ARRAY' | 'INT64';
  converted_type?: 'UTF8' | 'LIST';
  repetition_type?: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  num_children?: number;
};

const text = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
const int64 = (name: string): SchemaElement => ({ name, type: 'INT64', repetition_type: 'OPTIONAL' });
const group = (name: string, children: number): SchemaElement => ({ name, repetition_type: 'OPTIONAL', num_children: children });
/** The three-level LIST layout: <name> (LIST) → list (repeated) → element. */
const list = (name: string): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
];

/** verl's row schema, depth-first as parquet stores it. */
const VERL_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 5 },
  text('data_source'),
  ...list('prompt'),
  group('element', 2),
  text('role'),
  text('content'),
  text('ability'),
  group('reward_model', 2),
  text('style'),
  text('ground_truth'),
  group('extra_info', 8),
  int64('index'),
  text('split'),
  text('question'),
  text('solution'),
  text('answer'),
  text('id'),
  int64('difficulty'),
  ...list('checkpoints'),
  text('element'),
];

/** The task set as a verl parquet file (see the module doc for the schema). */
export function exportVerlParquet(items: readonly TaskItem[], opts: VerlExportOptions): Uint8Array {
  const rows = items.map((it, k) => toVerlRow(it, k, opts));
  // Struct fields in schema order; integers as INT64 (what pandas writes for Python ints).
  const extra = rows.map((r) => ({
    index: BigInt(r.extra_info.index),
    split: r.extra_info.split,
    question: r.extra_info.question,
    solution: r.extra_info.solution,
    answer: r.extra_info.answer,
    id: r.extra_info.id ?? null,
    difficulty: r.extra_info.difficulty === undefined ? null : BigInt(Math.round(r.extra_info.difficulty)),
    checkpoints: r.extra_info.checkpoints ?? [],
  }));
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'data_source', data: rows.map((r) => r.data_source) },
      { name: 'prompt', data: rows.map((r) => r.prompt.map((m) => ({ role: m.role, content: m.content }))) },
      { name: 'ability', data: rows.map((r) => r.ability) },
      { name: 'reward_model', data: rows.map((r) => ({ style: r.reward_model.style, ground_truth: r.reward_model.ground_truth })) },
      { name: 'extra_info', data: extra },
    ],
    schema: VERL_SCHEMA,
    createdBy: 'exprl-lab',
  } as Parameters<typeof parquetWriteBuffer>[0]);
  return new Uint8Array(buf);
}
