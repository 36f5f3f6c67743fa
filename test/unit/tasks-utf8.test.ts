// Bytes that are not UTF-8 in a task file make their row an error naming the field; the other rows
// are kept, and a file whose U+FFFD characters are real text (valid UTF-8) imports unchanged.
import { describe, expect, it } from 'vitest';
import { importTaskFile } from '../../src/tasks/load';
import { exportVerlParquet } from '../../src/tasks/parquet';
import { makeSplit } from '../../src/tasks/splits';
import { decodeUtf8, replacementCharPath } from '../../src/tasks/utf8';

const enc = new TextEncoder();
/** `text` as UTF-8 with the byte 0xFF in place of every "§" (0xFF is never UTF-8). */
function withBadByte(text: string): Uint8Array {
  const parts = text.split('§').map((p) => enc.encode(p));
  const out: number[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(0xff);
    out.push(...p);
  });
  return Uint8Array.from(out);
}

const row = (q: string, a: string) => ({ question: q, reference: `x = ${a}\nAnswer: ${a}`, answer: a });

describe('task files with bytes that are not UTF-8', () => {
  it('decodeUtf8 says whether bytes were replaced; replacementCharPath names the field', () => {
    expect(decodeUtf8(enc.encode('a\uFFFDb'))).toEqual({ text: 'a\uFFFDb', invalid: false });
    expect(decodeUtf8(withBadByte('a§b'))).toEqual({ text: 'a\uFFFDb', invalid: true });
    expect(decodeUtf8(Uint8Array.from([0x61, 0xc3]))).toEqual({ text: 'a\uFFFD', invalid: true }); // cut inside a character
    expect(replacementCharPath({ a: 'ok', b: { c: ['x', 'y\uFFFD'] } })).toBe('b.c[1]');
    expect(replacementCharPath({ a: 'ok', n: 3 })).toBeNull();
  });

  it('JSONL: the row with the bad byte is an error at its line and field; the others are kept', async () => {
    const lines = [row('Solve 1', '1'), row('Solve §2', '2'), row('Solve 3', '3')].map((r) => JSON.stringify(r));
    const r = await importTaskFile('t.jsonl', withBadByte(lines.join('\n')), {});
    expect(r.items.map((it) => it.question)).toEqual(['Solve 1', 'Solve 3']);
    expect(r.errors).toEqual([{ row: 2, field: 'question', message: expect.stringContaining('not UTF-8') }]);
  });

  it('JSON and CSV: the same, by array position and by data record (with its line)', async () => {
    const json = await importTaskFile('t.json', withBadByte(JSON.stringify([row('Q1', '1'), row('Q2', '2§')])), {}); // the first field holding it: reference
    expect(json.items.map((it) => it.question)).toEqual(['Q1']);
    expect(json.errors).toEqual([{ row: 2, field: 'reference', message: expect.stringContaining('not UTF-8') }]);
    const csv = await importTaskFile('t.csv', withBadByte('question,reference,answer\r\nQ1,"x = 1\nAnswer: 1",1\r\nQ2,"x = 2\n§Answer: 2",2\r\n'), {});
    expect(csv.items.map((it) => it.question)).toEqual(['Q1']);
    expect(csv.errors).toEqual([{ row: 2, line: 4, field: 'reference', message: expect.stringContaining('not UTF-8') }]);
  });

  it('valid UTF-8 holding U+FFFD as text imports unchanged', async () => {
    const r = await importTaskFile('t.jsonl', enc.encode(JSON.stringify(row('What is \uFFFD?', '1'))), {});
    expect(r.errors).toEqual([]);
    expect(r.items[0].question).toBe('What is \uFFFD?');
  });

  it('parquet: a text value with a bad byte makes its row an error', async () => {
    const items = makeSplit({ split: 'mid', count: 3, seed: 3 }).map((it, i) => (i === 1 ? { ...it, question: `${it.question} é` } : it));
    const bytes = exportVerlParquet(items, { split: 'train' });
    // é is C3 A9 in UTF-8; the export stores text uncompressed, so its bytes are in the file. Turn
    // every copy (the question appears in two columns) into FF A9, which is not UTF-8.
    let patched = 0;
    for (let i = 0; i + 1 < bytes.length; i++) {
      if (bytes[i] === 0xc3 && bytes[i + 1] === 0xa9) {
        bytes[i] = 0xff;
        patched++;
      }
    }
    expect(patched).toBeGreaterThan(0);
    const r = await importTaskFile('t.parquet', bytes, {});
    expect(r.items.map((it) => it.id)).toEqual([items[0].id, items[2].id]);
    expect(r.errors).toEqual([{ row: 2, field: expect.stringMatching(/prompt\[0\]\.content|extra_info\.question/), message: expect.stringContaining('not UTF-8') }]);
  });
});
