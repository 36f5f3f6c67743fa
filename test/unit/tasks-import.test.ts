import { describe, expect, it } from 'vitest';
import { DEFAULT_CHARACTERS } from '../../src/model/char-tokenizer';
import { exportCsv, exportVerlJsonl, importTasks, parseCsv, toVerlRow } from '../../src/tasks/import';
import { makeSplit } from '../../src/tasks/splits';

describe('CSV parser (RFC 4180)', () => {
  it('quoted commas, doubled quotes, line breaks inside quotes, CRLF, empty fields, record lines', () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\nlines",\r\n,,\r\n';
    expect(parseCsv(text)).toEqual([
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['1', 'x, y', 'say "hi"'], line: 2 },
      { fields: ['2', 'two\nlines', ''], line: 3 },
      { fields: ['', '', ''], line: 5 },
    ]);
  });
  it('no final newline, a BOM, and a quoted empty field as the only field', () => {
    expect(parseCsv('\uFEFFq\n""').map((r) => r.fields)).toEqual([['q'], ['']]);
    expect(parseCsv('q,a\n1,2').map((r) => r.fields)).toEqual([['q', 'a'], ['1', '2']]);
  });
  it('an unterminated quote is an error naming its line', () => {
    expect(() => parseCsv('q\n"open\nmore')).toThrow(/line 2 is never closed/);
  });
});

describe('import', () => {
  it('JSONL with a user mapping (dotted paths): bad rows reported by line and field, good rows kept', () => {
    const text = [
      JSON.stringify({ p: { text: 'What is 2+2?' }, sol: '2+2=4\nAnswer: 4', ans: 4, level: 1 }),
      '',
      JSON.stringify({ p: { text: '' }, sol: 'x', ans: '1' }),
      '{not json',
      JSON.stringify({ p: { text: 'Q?' }, sol: 'S', ans: ['1'] }),
      JSON.stringify({ p: { text: 'Q2?' }, sol: 'S', ans: '2', level: 'hard' }),
      JSON.stringify({ p: { text: 'Q3?' }, ans: '3' }),
      JSON.stringify({ p: { text: 'Q4?' }, sol: 'S4', ans: ' 5 ' }),
    ].join('\n');
    const res = importTasks(text, { format: 'jsonl', mapping: { question: 'p.text', reference: 'sol', answer: 'ans', difficulty: 'level' } });
    expect(res.items.map((i) => [i.question, i.answer, i.difficulty, i.steps])).toEqual([
      ['What is 2+2?', '4', 1, ['2+2=4', 'Answer: 4']],
      ['Q4?', '5', 0, ['S4']],
    ]);
    expect(res.items[0].id).toBe('imported:1');
    expect(res.errors.map((e) => [e.row, e.field])).toEqual([
      [3, 'p.text'],
      [4, '(row)'],
      [5, 'ans'],
      [6, 'level'],
      [7, 'sol'],
    ]);
    expect(res.errors[2].message).toMatch(/expected text, got array/);
  });

  it('a reference is optional when asked; an allowed character set rejects other characters', () => {
    const text = JSON.stringify({ question: 'Q?', answer: '1' }) + '\n' + JSON.stringify({ question: 'Qé?', reference: 'r', answer: '1' });
    const res = importTasks(text, { format: 'jsonl', requireReference: false, allowedCharacters: DEFAULT_CHARACTERS });
    expect(res.items.map((i) => i.question)).toEqual(['Q?']);
    expect(res.errors).toEqual([{ row: 2, field: 'question', message: expect.stringMatching(/"é" \(U\+00E9\) at position 1/) }]);
  });

  it('JSON array: positions as row numbers, duplicate ids reported, not an array is a file error', () => {
    const rows = [
      { id: 'a', question: 'Q1', reference: 'R1', answer: '1' },
      { id: 'a', question: 'Q2', reference: 'R2', answer: '2' },
      'oops',
    ];
    const res = importTasks(JSON.stringify(rows), { format: 'json', mapping: { question: 'question', reference: 'reference', answer: 'answer', id: 'id' } });
    expect(res.items.map((i) => i.id)).toEqual(['a']);
    expect(res.errors.map((e) => [e.row, e.field])).toEqual([
      [2, 'id'],
      [3, '(row)'],
    ]);
    expect(importTasks('{"a":1}', { format: 'json' }).errors[0]).toMatchObject({ row: 0, field: '(file)' });
    expect(importTasks('[1,', { format: 'json' }).errors[0].message).toMatch(/invalid JSON/);
  });

  it('CSV with a mapping: row = data record, line = first line in the file', () => {
    const text = 'problem,solution,final\n"What is 1,000 + 1?","1000 + 1 = 1001\nAnswer: 1001",1001\n"Q2",,2\nonly,two\n';
    const res = importTasks(text, { format: 'csv', mapping: { question: 'problem', reference: 'solution', answer: 'final' } });
    expect(res.items).toHaveLength(1);
    expect(res.items[0]).toMatchObject({ question: 'What is 1,000 + 1?', answer: '1001', steps: ['1000 + 1 = 1001', 'Answer: 1001'] });
    expect(res.errors).toEqual([
      { row: 2, line: 4, field: 'solution', message: 'missing or empty' },
      { row: 3, line: 5, field: '(row)', message: '2 fields, the header has 3' },
    ]);
    const missing = importTasks('a,b\n1,2\n', { format: 'csv' });
    expect(missing.items).toEqual([]);
    expect(missing.errors.map((e) => e.field)).toEqual(['question', 'answer', 'reference']);
  });

  it('verl rows: extra_info first, the last user message and extra_info.answer as fallbacks', () => {
    const rows = [
      {
        data_source: 'gsm8k',
        prompt: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'How many? Think step by step.' }],
        ability: 'math',
        reward_model: { style: 'rule', ground_truth: '72' },
        extra_info: { index: 0, split: 'train', question: 'How many?', solution: 'a\nb', answer: '72' },
      },
      {
        data_source: 'gsm8k',
        prompt: [{ role: 'user', content: 'From the prompt?' }],
        reward_model: { style: 'rule' },
        extra_info: { index: 1, split: 'train', solution: 's', answer: '5' },
      },
      { data_source: 'gsm8k', prompt: [], reward_model: { style: 'rule', ground_truth: '1' }, extra_info: { index: 2, solution: 's' } },
    ];
    const res = importTasks(rows.map((r) => JSON.stringify(r)).join('\n'), { format: 'jsonl' });
    expect(res.items.map((i) => [i.id, i.family, i.question, i.answer, i.steps])).toEqual([
      ['gsm8k:0', 'gsm8k', 'How many?', '72', ['a', 'b']],
      ['gsm8k:1', 'gsm8k', 'From the prompt?', '5', ['s']],
    ]);
    expect(res.errors).toEqual([{ row: 3, field: 'extra_info.question', message: 'missing or empty' }]);
  });
  it('refuses a row with a "__proto__", "constructor" or "prototype" key at any depth, naming row and key; the others are kept', () => {
    const good = '{"question": "Q?", "reference": "R", "answer": "1"}';
    const text = [
      good,
      '{"question": "Q2?", "reference": "R", "answer": "2", "__proto__": {"polluted": true}}',
      '{"data_source": "d", "prompt": [{"role": "user", "constructor": "x"}], "reward_model": {"ground_truth": "3"}, "extra_info": {"index": 0, "question": "Q3?", "solution": "S"}}',
      '{"question": "Q4?", "reference": "R", "answer": "4", "meta": {"prototype": 1}}',
    ].join('\n');
    const res = importTasks(text, { format: 'jsonl' });
    expect(res.items.map((i) => i.question)).toEqual(['Q?']);
    expect(res.errors).toEqual([
      { row: 2, field: '__proto__', message: '"__proto__" is not allowed as a key (it would reach the object prototype)' },
      { row: 3, field: 'prompt[0].constructor', message: '"constructor" is not allowed as a key (it would reach the object prototype)' },
      { row: 4, field: 'meta.prototype', message: '"prototype" is not allowed as a key (it would reach the object prototype)' },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // A CSV column of that name is such a key too.
    const csv = importTasks('question,reference,answer,constructor\nQ?,R,1,x\n', { format: 'csv' });
    expect(csv.errors).toEqual([{ row: 1, line: 2, field: 'constructor', message: '"constructor" is not allowed as a key (it would reach the object prototype)' }]);
  });
  it('a mapping finds own keys only: "constructor" or "toString" is missing, not inherited', () => {
    const res = importTasks('{"q": "Q?", "reference": "R"}', { format: 'jsonl', mapping: { question: 'q', reference: 'reference', answer: 'toString' } });
    expect(res.errors).toEqual([{ row: 1, field: 'toString', message: 'missing or empty' }]);
    const nested = importTasks('{"q": {"a": "Q?"}, "reference": "R", "answer": "1"}', { format: 'jsonl', mapping: { question: 'q.constructor.name', reference: 'reference', answer: 'answer' } });
    expect(nested.errors).toEqual([{ row: 1, field: 'q.constructor.name', message: 'missing or empty' }]);
  });
});

describe('export', () => {
  const items = makeSplit({ split: 'eval', count: 40, seed: 5 });

  it('verl row shape', () => {
    const row = toVerlRow(items[0], 7, { split: 'test' });
    expect(row.data_source).toBe(items[0].family);
    expect(row.prompt).toEqual([{ role: 'user', content: `${items[0].question}\n\nEnd with a line "Answer: N".` }]);
    expect(row.ability).toBe('math');
    expect(row.reward_model).toEqual({ style: 'rule', ground_truth: items[0].answer });
    expect(row.extra_info).toMatchObject({ index: 7, split: 'test', question: items[0].question, solution: items[0].reference, answer: items[0].answer });
  });

  it('verl JSONL round trip gives the same items', () => {
    const text = exportVerlJsonl(items, { split: 'test' });
    expect(text.trim().split('\n')).toHaveLength(40);
    const back = importTasks(text, { format: 'jsonl' });
    expect(back.errors).toEqual([]);
    expect(back.items).toEqual(items);
  });

  it('CSV round trip keeps everything but the checkpoints (CSV has no column for them)', () => {
    const back = importTasks(exportCsv(items), { format: 'csv', mapping: { question: 'question', reference: 'reference', answer: 'answer', id: 'id', family: 'family', difficulty: 'difficulty' } });
    expect(back.errors).toEqual([]);
    expect(back.items).toEqual(items.map((it) => ({ ...it, checkpoints: [] })));
  });
});
