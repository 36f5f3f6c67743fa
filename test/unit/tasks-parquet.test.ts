// Parquet import and export (src/tasks/parquet.ts) and Hub datasets (src/tasks/hub-dataset.ts),
// on files the test writes itself and a fake Hub served through an injected fetch.
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { parseTaskSpec } from '../../src/cli/eval-spec';
import { downloadHubDataset, importHubDataset, parseHubDataset, type FetchFn } from '../../src/tasks/hub-dataset';
import { importTaskFile, taskFileFormat } from '../../src/tasks/load';
import { exportVerlParquet, importParquet, readParquetRows } from '../../src/tasks/parquet';
import { makeSplit } from '../../src/tasks/splits';

const items = makeSplit({ split: 'mid', count: 9, seed: 3 });

describe('parquet', () => {
  it('round-trips a task set through verl parquet rows', async () => {
    const bytes = exportVerlParquet(items, { split: 'train' });
    expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe('PAR1');
    const { rows, invalidUtf8 } = await readParquetRows(bytes);
    expect(invalidUtf8).toBe(false);
    expect(rows[0]).toMatchObject({ data_source: items[0].family, ability: 'math', reward_model: { style: 'rule', ground_truth: items[0].answer } });
    expect(rows[0].prompt).toEqual([{ role: 'user', content: `${items[0].question}\n\nEnd with a line "Answer: N".` }]);
    expect(rows[3].extra_info).toMatchObject({ index: 3, split: 'train', question: items[3].question, solution: items[3].reference, id: items[3].id, difficulty: items[3].difficulty });
    const back = await importParquet(bytes);
    expect(back.errors).toEqual([]);
    expect(back.items).toEqual(items);
  });

  it('imports flat columns through a mapping and reports every bad row with its number and field', async () => {
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'problem', data: ['What is 2 + 2?', 'What is 3 + 3?', null, 'What is 5 + 5?'] },
        { name: 'worked', data: ['2 + 2 = 4\nAnswer: 4', '3 + 3 = 6', 'x', '5 + 5 = 10'] },
        { name: 'final', data: ['4', null, '1', '10'] },
        { name: 'level', data: [1, 2, 3, -4] },
      ],
    });
    const r = await importParquet(new Uint8Array(buf), { mapping: { question: 'problem', reference: 'worked', answer: 'final', difficulty: 'level' } });
    expect(r.items.map((i) => [i.question, i.answer, i.difficulty, i.steps])).toEqual([['What is 2 + 2?', '4', 1, ['2 + 2 = 4', 'Answer: 4']]]);
    expect(r.errors).toEqual([
      { row: 2, field: 'final', message: 'missing or empty' },
      { row: 3, field: 'problem', message: 'missing or empty' },
      { row: 4, field: 'level', message: 'not a non-negative number: -4' },
    ]);
  });

  it('refuses a file with a column or struct field named "__proto__", "constructor" or "prototype", naming it (hyparquet would set the row\'s prototype)', async () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const flat = parquetWriteBuffer({ columnData: [{ name: 'question', data: ['Q?'] }, { name: 'reference', data: ['R'] }, { name: 'answer', data: ['1'] }, { name, data: ['x'] }] });
      const nested = parquetWriteBuffer({
        columnData: [{ name: 'extra_info', data: [{ question: 'Q?', [name]: 'x' }] }],
        schema: [{ name: 'root', num_children: 1 }, { name: 'extra_info', repetition_type: 'OPTIONAL', num_children: 2 }, { name: 'question', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }, { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
      } as Parameters<typeof parquetWriteBuffer>[0]);
      for (const buf of [flat, nested]) {
        const r = await importParquet(new Uint8Array(buf));
        expect(r.items).toEqual([]);
        expect(r.errors).toEqual([{ row: 0, field: '(file)', message: `cannot read parquet: column "${name}": "${name}" is not allowed as a key (it would reach the object prototype)` }]);
      }
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses a file that is not parquet as one error at row 0', async () => {
    const r = await importParquet(new TextEncoder().encode('question,answer\n1,2\n'));
    expect(r.items).toEqual([]);
    expect(r.errors).toEqual([{ row: 0, field: '(file)', message: expect.stringContaining('not a parquet file') }]);
  });

  it('picks the format from the file name', async () => {
    expect(taskFileFormat('a/b.PARQUET')).toBe('parquet');
    expect(() => taskFileFormat('rows.xlsx')).toThrow(/unknown task file type \(known: \.jsonl, \.json, \.csv, \.parquet\)/);
    const csv = await importTaskFile('t.csv', new TextEncoder().encode('question,reference,answer\nQ,R,1\n'), {});
    expect(csv.items.map((i) => i.question)).toEqual(['Q']);
    expect(parseTaskSpec('data/rows.parquet')).toEqual({ kind: 'file', path: 'data/rows.parquet', format: 'parquet' });
    expect(parseTaskSpec('hf:someone/tasks:data/train.parquet')).toEqual({ kind: 'hub', dataset: 'someone/tasks:data/train.parquet' });
  });
});

describe('Hub datasets', () => {
  const file = exportVerlParquet(items.slice(0, 4), { split: 'train' });
  const hub: FetchFn = async (url) => {
    if (url === 'https://huggingface.co/datasets/someone/tasks/resolve/main/data/train.parquet') return new Response(file.slice().buffer as ArrayBuffer);
    if (url === 'https://huggingface.co/api/datasets/someone/tasks/parquet/default/train') return Response.json(['https://huggingface.co/api/datasets/someone/tasks/parquet/default/train/0.parquet']);
    if (url === 'https://huggingface.co/api/datasets/someone/tasks/parquet/default/train/0.parquet') return new Response(file.slice().buffer as ArrayBuffer);
    return new Response('not found', { status: 404 });
  };

  it('parses dataset references', () => {
    expect(parseHubDataset('someone/tasks')).toEqual({ id: 'someone/tasks' });
    expect(parseHubDataset('someone/tasks:data/train.jsonl')).toEqual({ id: 'someone/tasks', file: 'data/train.jsonl' });
    expect(() => parseHubDataset('tasks')).toThrow(/must look like "owner\/name"/);
    expect(() => parseHubDataset('someone/tasks:../x.csv')).toThrow(/not a plain file path/);
  });

  it('fetches a named file, or the Hub\'s parquet export of the train split, and imports it', async () => {
    const named = await importHubDataset('someone/tasks:data/train.parquet', {}, { fetch: hub });
    expect(named.items).toEqual(items.slice(0, 4));
    const exported = await importHubDataset('someone/tasks', {}, { fetch: hub });
    expect(exported.url).toBe('https://huggingface.co/api/datasets/someone/tasks/parquet/default/train/0.parquet');
    expect(exported.items).toHaveLength(4);
  });

  it('says what went wrong: missing files, gated datasets, no network', async () => {
    await expect(downloadHubDataset({ id: 'someone/other', file: 'x.parquet' }, { fetch: hub })).rejects.toThrow(/HTTP 404 \(no such dataset, file or split\)/);
    const gated: FetchFn = async () => new Response('', { status: 401 });
    await expect(downloadHubDataset({ id: 'someone/tasks' }, { fetch: gated })).rejects.toThrow(/gated or private dataset/);
    const offline: FetchFn = async () => Promise.reject(new TypeError('fetch failed'));
    await expect(downloadHubDataset({ id: 'someone/tasks' }, { fetch: offline })).rejects.toThrow(/fetch failed \(offline\? Hub datasets need the network\)/);
    await expect(importHubDataset('someone/tasks:rows.xlsx', {}, { fetch: hub })).rejects.toThrow(/unknown task file type/);
  });
});
