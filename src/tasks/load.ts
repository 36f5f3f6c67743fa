/**
 * A task file by name and bytes: the format comes from the extension (.jsonl, .json, .csv, .parquet).
 * Bytes that are not UTF-8 make their row an error (utf8.ts); the other rows are kept.
 */
import { importTasks, type ImportOptions, type ImportResult } from './import';
import { importParquet } from './parquet';
import { decodeUtf8 } from './utf8';

export const TASK_FILE_FORMATS = ['jsonl', 'json', 'csv', 'parquet'] as const;
export type TaskFileFormat = (typeof TASK_FILE_FORMATS)[number];

/** The format of a file name; throws naming the extensions known. */
export function taskFileFormat(name: string): TaskFileFormat {
  const ext = /\.([A-Za-z]+)$/.exec(name)?.[1].toLowerCase();
  const f = TASK_FILE_FORMATS.find((x) => x === ext);
  if (f === undefined) throw new Error(`${name}: unknown task file type (known: ${TASK_FILE_FORMATS.map((x) => `.${x}`).join(', ')})`);
  return f;
}

export async function importTaskFile(name: string, bytes: Uint8Array, opts: Omit<ImportOptions, 'format'>): Promise<ImportResult> {
  const format = taskFileFormat(name);
  if (format === 'parquet') return importParquet(bytes, opts);
  const { text, invalid } = decodeUtf8(bytes);
  return importTasks(text, { ...opts, format, invalidUtf8: invalid });
}
