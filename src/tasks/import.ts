/**
 * Dataset import and export (pure text in, items out; no file system, no network).
 *
 * Formats: JSONL (one object per line, blank lines skipped), JSON (an array of objects), CSV
 * (RFC 4180: comma separated, first record is the header, fields in double quotes may contain
 * commas, line breaks and doubled quotes; CRLF or LF line ends). Parquet (src/tasks/parquet.ts)
 * and Hub datasets (src/tasks/hub-dataset.ts) turn their rows into the objects `importRows` takes.
 *
 * Row schemas:
 * - `verl`: the rows the paper's code reads, `{data_source, prompt: [{role, content}], ability,
 *   reward_model: {style, ground_truth}, extra_info: {index, split, question, solution, answer}}`.
 *   question = extra_info.question, else the content of the last user message of `prompt`;
 *   reference = extra_info.solution; answer = reward_model.ground_truth, else extra_info.answer;
 *   family = data_source; id = extra_info.id, else `<data_source>:<index>`; difficulty =
 *   extra_info.difficulty (our own extra key, written by the exporter), else 0; checkpoints =
 *   extra_info.checkpoints (also ours), else none.
 * - `mapped`: a user mapping names the column / key (dotted paths reach into JSON objects,
 *   e.g. `extra_info.question`) of question, reference, answer and optionally id, family,
 *   difficulty.
 * - `auto` (default): `verl` for a row with `reward_model` or `extra_info`, otherwise the mapping,
 *   whose default is {question: 'question', reference: 'reference', answer: 'answer'}.
 *
 * Errors: every bad row is reported as {row, field, message} and skipped; the good rows are kept.
 * A row holding a "__proto__", "constructor" or "prototype" key at any depth is refused (the field
 * is the key's path), so nothing copied out of a row can reach Object.prototype.
 * `row` is 1-based: the line number for JSONL, the array position for JSON, the data record number
 * for CSV (the header is not counted; `line` then gives the record's first line in the file).
 */
import { replacementCharPath } from './utf8';
import { ANSWER_INSTRUCTION, type TaskItem } from './types';

export interface FieldMapping {
  question: string;
  reference?: string;
  answer: string;
  id?: string;
  family?: string;
  difficulty?: string;
}

export const DEFAULT_MAPPING: FieldMapping = { question: 'question', reference: 'reference', answer: 'answer' };

export interface ImportOptions {
  format: 'jsonl' | 'json' | 'csv';
  schema?: 'auto' | 'verl' | 'mapped';
  mapping?: FieldMapping;
  /** A reference solution is required (ExpRL needs one) unless this is false. Default true. */
  requireReference?: boolean;
  /** Splits the reference into steps. Default '\n'. */
  delimiter?: string;
  /** Family for rows that name none. Default 'imported'. */
  defaultFamily?: string;
  /** When given, text outside these characters is an error (e.g. the character tokenizer's set). */
  allowedCharacters?: string;
  /**
   * The text was decoded from bytes that were not all UTF-8, each such byte read as U+FFFD
   * (utf8.ts): a row holding U+FFFD is an error naming the field, not kept with the replacement.
   */
  invalidUtf8?: boolean;
}

export interface ImportError {
  row: number;
  /** CSV only: first line of the record in the file. */
  line?: number;
  field: string;
  message: string;
}

export interface ImportResult {
  items: TaskItem[];
  errors: ImportError[];
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface VerlRow {
  data_source: string;
  prompt: ChatMessage[];
  ability: string;
  reward_model: { style: string; ground_truth: string };
  extra_info: { index: number; split: string; question: string; solution: string; answer: string; id?: string; difficulty?: number; checkpoints?: string[] };
}

// ---------------------------------------------------------------- CSV

/** RFC 4180 records with the 1-based line each starts on. Throws on an unterminated quote. */
export function parseCsv(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const endRecord = () => {
    fields.push(field);
    // A trailing empty line (one empty unquoted field) is not a record.
    if (!(fields.length === 1 && fields[0] === '' && !quoted)) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    quoted = false;
  };
  while (i < src.length) {
    const c = src[i];
    if (inQuotes) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      inQuotes = true;
      quoted = true;
      i++;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      quoted = false;
      i++;
    } else if (c === '\r' && src[i + 1] === '\n') {
      endRecord();
      i += 2;
      line++;
      recordLine = line;
    } else if (c === '\n') {
      endRecord();
      i++;
      line++;
      recordLine = line;
    } else {
      field += c;
      i++;
    }
  }
  if (inQuotes) throw new Error(`CSV: quoted field opened on line ${recordLine} is never closed`);
  if (field !== '' || fields.length > 0 || quoted) endRecord();
  return records;
}

/** One CSV field: quoted only when it has to be. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Items as CSV with columns id, family, question, reference, answer, difficulty. */
export function exportCsv(items: readonly TaskItem[]): string {
  const header = ['id', 'family', 'question', 'reference', 'answer', 'difficulty'];
  const rows = items.map((it) => [it.id, it.family, it.question, it.reference, it.answer, String(it.difficulty)].map(csvField).join(','));
  return [header.join(','), ...rows].join('\r\n') + '\r\n';
}

// ---------------------------------------------------------------- rows

/** A row's value at a key or dotted path; own keys only, so "constructor" or "toString" find nothing inherited. */
function getPath(obj: unknown, path: string): unknown {
  if (obj && typeof obj === 'object' && Object.hasOwn(obj, path)) return (obj as Record<string, unknown>)[path];
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Keys that reach an object's prototype when assigned (JSON.parse keeps "__proto__" as an own key). */
export const PROTOTYPE_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * The first PROTOTYPE_KEYS key in `v` and its path ("extra_info.__proto__", "prompt[0].constructor";
 * `path` prefixes it), or null. A row holding one is refused: whatever later copies or merges it
 * (a mapping, an exporter, the page's table) would otherwise reach Object.prototype.
 */
export function prototypeKeyPath(v: unknown, path = ''): { path: string; key: string } | null {
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = prototypeKeyPath(x, `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const here = path === '' ? k : `${path}.${k}`;
      if (PROTOTYPE_KEYS.includes(k)) return { path: here, key: k };
      const p = prototypeKeyPath(x, here);
      if (p !== null) return p;
    }
  }
  return null;
}

function isVerl(row: Record<string, unknown>): boolean {
  return 'reward_model' in row || 'extra_info' in row;
}

type Raw = { question: unknown; reference: unknown; answer: unknown; id: unknown; family: unknown; difficulty: unknown; checkpoints?: unknown };

function fromVerl(row: Record<string, unknown>): Raw {
  const extra = (row.extra_info ?? {}) as Record<string, unknown>;
  const rm = (row.reward_model ?? {}) as Record<string, unknown>;
  let question = extra.question;
  if (question === undefined && Array.isArray(row.prompt)) {
    const users = (row.prompt as unknown[]).filter((m) => m && typeof m === 'object' && (m as ChatMessage).role === 'user');
    question = users.length > 0 ? (users[users.length - 1] as ChatMessage).content : undefined;
  }
  const source = typeof row.data_source === 'string' ? row.data_source : undefined;
  const id = extra.id ?? (source !== undefined && extra.index !== undefined ? `${source}:${String(extra.index)}` : undefined);
  return {
    question,
    reference: extra.solution,
    answer: rm.ground_truth ?? extra.answer,
    id,
    family: source,
    difficulty: extra.difficulty,
    checkpoints: extra.checkpoints,
  };
}

function fromMapping(row: Record<string, unknown>, m: FieldMapping): Raw {
  return {
    question: getPath(row, m.question),
    reference: m.reference === undefined ? undefined : getPath(row, m.reference),
    answer: getPath(row, m.answer),
    id: m.id === undefined ? undefined : getPath(row, m.id),
    family: m.family === undefined ? undefined : getPath(row, m.family),
    difficulty: m.difficulty === undefined ? undefined : getPath(row, m.difficulty),
  };
}

function checkChars(value: string, allowed: Set<string> | null): string | null {
  if (!allowed) return null;
  let pos = 0;
  for (const ch of value) {
    if (!allowed.has(ch)) return `character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${pos} is not allowed`;
    pos++;
  }
  return null;
}

/** Rows (already parsed to objects) into items; see the module doc for the rules. */
export function importRows(rows: readonly unknown[], opts: Omit<ImportOptions, 'format'> = {}, rowNumbers?: readonly number[], lines?: readonly number[]): ImportResult {
  const schema = opts.schema ?? 'auto';
  const mapping = opts.mapping ?? DEFAULT_MAPPING;
  const requireReference = opts.requireReference ?? true;
  const delimiter = opts.delimiter ?? '\n';
  const allowed = opts.allowedCharacters === undefined ? null : new Set([...opts.allowedCharacters]);
  const items: TaskItem[] = [];
  const errors: ImportError[] = [];
  const ids = new Map<string, number>();
  rows.forEach((row, k) => {
    const rowNo = rowNumbers?.[k] ?? k + 1;
    const base = lines ? { row: rowNo, line: lines[k] } : { row: rowNo };
    const fail = (field: string, message: string) => errors.push({ ...base, field, message });
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      fail('(row)', 'not an object');
      return;
    }
    const obj = row as Record<string, unknown>;
    const protoKey = prototypeKeyPath(obj);
    if (protoKey !== null) {
      fail(protoKey.path, `"${protoKey.key}" is not allowed as a key (it would reach the object prototype)`);
      return;
    }
    const garbled = opts.invalidUtf8 ? replacementCharPath(obj) : null;
    if (garbled !== null) {
      fail(garbled, 'holds bytes that are not UTF-8 (read as U+FFFD); re-save the file as UTF-8');
      return;
    }
    const verl = schema === 'verl' || (schema === 'auto' && isVerl(obj));
    const raw = verl ? fromVerl(obj) : fromMapping(obj, mapping);
    const names = verl
      ? { question: 'extra_info.question', reference: 'extra_info.solution', answer: 'reward_model.ground_truth', difficulty: 'extra_info.difficulty' }
      : { question: mapping.question, reference: mapping.reference ?? 'reference', answer: mapping.answer, difficulty: mapping.difficulty ?? 'difficulty' };
    let bad = false;
    const text = (value: unknown, field: string, required: boolean): string => {
      if (value === undefined || value === null || value === '') {
        if (required) {
          fail(field, 'missing or empty');
          bad = true;
        }
        return '';
      }
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value !== 'string') {
        fail(field, `expected text, got ${Array.isArray(value) ? 'array' : typeof value}`);
        bad = true;
        return '';
      }
      if (value.trim() === '') {
        if (required) {
          fail(field, 'blank');
          bad = true;
        }
        return '';
      }
      const charError = checkChars(value, allowed);
      if (charError) {
        fail(field, charError);
        bad = true;
      }
      return value;
    };
    const question = text(raw.question, names.question, true);
    const reference = text(raw.reference, names.reference, requireReference);
    const answer = text(raw.answer, names.answer, true).trim();
    let difficulty = 0;
    if (raw.difficulty !== undefined && raw.difficulty !== null && raw.difficulty !== '') {
      const d = typeof raw.difficulty === 'string' ? Number(raw.difficulty) : raw.difficulty;
      if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) {
        fail(names.difficulty, `not a non-negative number: ${JSON.stringify(raw.difficulty)}`);
        bad = true;
      } else difficulty = d;
    }
    const family = typeof raw.family === 'string' && raw.family !== '' ? raw.family : (opts.defaultFamily ?? 'imported');
    const id = raw.id === undefined || raw.id === null || raw.id === '' ? `${family}:${rowNo}` : String(raw.id);
    if (bad) return;
    const first = ids.get(id);
    if (first !== undefined) {
      fail(verl ? 'extra_info.id' : (mapping.id ?? 'id'), `duplicate id "${id}" (first in row ${first})`);
      return;
    }
    ids.set(id, rowNo);
    const steps = reference === '' ? [] : reference.split(delimiter).filter((s) => s.trim() !== '');
    const checkpoints = Array.isArray(raw.checkpoints) && raw.checkpoints.every((c) => typeof c === 'string') ? [...(raw.checkpoints as string[])] : [];
    items.push({ id, family, question, reference, steps, checkpoints, answer, difficulty });
  });
  return { items, errors };
}

/** Parse text in one of the formats and import its rows. A file-level syntax error is one error at row 0. */
export function importTasks(text: string, opts: ImportOptions): ImportResult {
  const { format, ...rest } = opts;
  if (format === 'jsonl') {
    const rows: unknown[] = [];
    const numbers: number[] = [];
    const errors: ImportError[] = [];
    text.split(/\r?\n/).forEach((line, k) => {
      if (line.trim() === '') return;
      try {
        rows.push(JSON.parse(line));
        numbers.push(k + 1);
      } catch (e) {
        errors.push({ row: k + 1, field: '(row)', message: `invalid JSON: ${(e as Error).message}` });
      }
    });
    const res = importRows(rows, rest, numbers);
    return { items: res.items, errors: [...errors, ...res.errors].sort((a, b) => a.row - b.row) };
  }
  if (format === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      return { items: [], errors: [{ row: 0, field: '(file)', message: `invalid JSON: ${(e as Error).message}` }] };
    }
    if (!Array.isArray(data)) return { items: [], errors: [{ row: 0, field: '(file)', message: 'expected a JSON array of row objects' }] };
    return importRows(data, rest);
  }
  if (format === 'csv') {
    let records: { fields: string[]; line: number }[];
    try {
      records = parseCsv(text);
    } catch (e) {
      return { items: [], errors: [{ row: 0, field: '(file)', message: (e as Error).message }] };
    }
    if (records.length === 0) return { items: [], errors: [{ row: 0, field: '(file)', message: 'empty CSV (no header)' }] };
    const header = records[0].fields.map((h) => h.trim());
    const mapping = rest.mapping ?? DEFAULT_MAPPING;
    const missing = (['question', 'answer'] as const).filter((k) => !header.includes(mapping[k]));
    if (mapping.reference !== undefined && (rest.requireReference ?? true) && !header.includes(mapping.reference)) missing.push('reference' as never);
    if (missing.length > 0) {
      return {
        items: [],
        errors: missing.map((k) => ({ row: 0, line: records[0].line, field: mapping[k] ?? k, message: `column "${mapping[k] ?? k}" not in the header` })),
      };
    }
    const errors: ImportError[] = [];
    const rows: unknown[] = [];
    const numbers: number[] = [];
    const lines: number[] = [];
    records.slice(1).forEach((rec, k) => {
      if (rec.fields.length !== header.length) {
        errors.push({ row: k + 1, line: rec.line, field: '(row)', message: `${rec.fields.length} fields, the header has ${header.length}` });
        return;
      }
      rows.push(Object.fromEntries(header.map((h, j) => [h, rec.fields[j]])));
      numbers.push(k + 1);
      lines.push(rec.line);
    });
    // CSV has no nesting: the verl schema cannot apply.
    const res = importRows(rows, { ...rest, schema: 'mapped' }, numbers, lines);
    return { items: res.items, errors: [...errors, ...res.errors].sort((a, b) => a.row - b.row) };
  }
  throw new Error(`unknown import format "${String(format)}"`);
}

// ---------------------------------------------------------------- export

export interface VerlExportOptions {
  split: string;
  /** Default 'math'. */
  ability?: string;
  /** Builds the user message from the question. Default: question, blank line, ANSWER_INSTRUCTION. */
  prompt?: (question: string) => string;
}

/** One item as a verl row (our extras: extra_info.id, difficulty and checkpoints). */
export function toVerlRow(item: TaskItem, index: number, opts: VerlExportOptions): VerlRow {
  const content = opts.prompt ? opts.prompt(item.question) : `${item.question}\n\n${ANSWER_INSTRUCTION}`;
  return {
    data_source: item.family,
    prompt: [{ role: 'user', content }],
    ability: opts.ability ?? 'math',
    reward_model: { style: 'rule', ground_truth: item.answer },
    extra_info: {
      index,
      split: opts.split,
      question: item.question,
      solution: item.reference,
      answer: item.answer,
      id: item.id,
      difficulty: item.difficulty,
      checkpoints: item.checkpoints,
    },
  };
}

/** Items as verl rows, one JSON object per line (exportVerlParquet writes the same rows as parquet). */
export function exportVerlJsonl(items: readonly TaskItem[], opts: VerlExportOptions): string {
  return items.map((it, k) => JSON.stringify(toVerlRow(it, k, opts))).join('\n') + (items.length > 0 ? '\n' : '');
}
