// Property tests of reading a judge's reply (src/judge/parse.ts: the "Score: N" text format and
// the {"rationale", "score"} JSON format; src/judge/http.ts: the OpenAI-compatible response
// body): a score is read exactly when the reply holds a valid one, and is the number written;
// anything else is a failure whose message says what was missing, never a number; replies with
// prototype keys change nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpJudge } from '../../src/judge/http';
import { normalise, parseScoreJson, parseScoreText, scoreFromReply, stripMarkup } from '../../src/judge/parse';
import type { Likert, Normalisation } from '../../src/judge/types';
import { expectPrototypeUnchanged, fuzzParams, jsonTextWithProtoKeys } from '../support/fuzz';

const likert = fc.constantFrom<Likert>(1, 2, 3, 4, 5);
/** Free reasoning: several lines, none of which starts with "score" once its markup is stripped. */
const reasoning = fc
  .array(fc.string({ unit: fc.oneof(fc.constantFrom('Score', 'score: 5', ' ', '*', '#', '>', '-', '_', '`', '4/5', ':'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 20 }), { maxLength: 4 })
  .map((lines) => lines.filter((l) => !/^score\s*[:=]/i.test(stripMarkup(l)) && !l.includes('\r')).join('\n'));
/** The score line as judges write it: markup around, ":" or "=", "N", "N.", "N/5", "N out of 5", "N (likely)". */
const scoreLine = (n: number | string) =>
  fc
    .record({
      pre: fc.constantFrom('', '**', '## ', '> ', '- ', '`', '_', '  '),
      word: fc.constantFrom('Score', 'score', 'SCORE'),
      sep: fc.constantFrom(':', ' :', '=', ': ', ':  '),
      post: fc.constantFrom('', '.', '/5', ' / 5', ' out of 5', ' (likely)', '**', '`'),
    })
    .map(({ pre, word, sep, post }) => `${pre}${word}${sep}${n}${post}${pre === '**' || pre === '`' ? pre : ''}`);

describe('judge replies: the text format', () => {
  it('a reply ending in a score line gives that score, and the text before it as the rationale', () => {
    fc.assert(
      fc.property(reasoning, likert.chain((n) => fc.tuple(fc.constant(n), scoreLine(n))), fc.constantFrom('\n', '\r\n'), (why, [n, line], eol) => {
        const r = parseScoreText(`${why}${eol}${line}`);
        expect(r).toEqual({ ok: true, score: n, rationale: why.trim() });
      }),
      fuzzParams(300),
    );
  });

  it('of several score lines the last is taken by default, the first with pick "first"', () => {
    fc.assert(
      fc.property(reasoning, likert.chain((n) => fc.tuple(fc.constant(n), scoreLine(n))), likert.chain((n) => fc.tuple(fc.constant(n), scoreLine(n))), (why, [a, first], [b, last]) => {
        const text = `${first}\n${why}\n${last}`;
        expect(parseScoreText(text)).toMatchObject({ ok: true, score: b });
        expect(parseScoreText(text, 'first')).toMatchObject({ ok: true, score: a });
      }),
      fuzzParams(200),
    );
  });

  it('a score outside 1..5, a decimal, a range or another scale is a parse failure saying so', () => {
    const bad = fc.oneof(
      fc.oneof(fc.constant(0), fc.integer({ min: 6, max: 10_000 })).map((n) => ({ value: String(n), says: 'outside 1..5' })),
      fc.tuple(likert, fc.integer({ min: 1, max: 9 })).map(([n, d]) => ({ value: `${n}.${d}`, says: 'not a single integer' })),
      fc.tuple(likert, likert, fc.constantFrom('-', ' - ', ' to ', '–')).map(([a, b, s]) => ({ value: `${a}${s}${b}`, says: 'not a single integer' })),
      fc.tuple(likert, fc.integer({ min: 1, max: 100 }).filter((d) => d !== 5)).map(([n, d]) => ({ value: `${n}/${d}`, says: 'not on the 1..5 scale' })),
      fc.constantFrom('', 'five', 'N', '-3').map((v) => ({ value: v, says: 'no integer after "Score:"' })),
    );
    fc.assert(
      fc.property(reasoning, bad, (why, { value, says }) => {
        const r = parseScoreText(`${why}\nScore: ${value}`);
        expect(r.ok).toBe(false);
        expect(r.ok ? '' : r.message).toContain(says);
      }),
      fuzzParams(300),
    );
  });

  it('any text gives a score in 1..5 read from a "Score" line, or a failure with a message; never an exception', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('Score: ', '\n', '5', '0', '/', '.', '*', '-'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 }), fc.constantFrom<'first' | 'last'>('first', 'last'), (text, pick) => {
        const r = parseScoreText(text, pick);
        if (r.ok) {
          expect([1, 2, 3, 4, 5]).toContain(r.score);
          expect(text.split(/\r?\n/).some((l) => /^score\s*[:=]\s*\d/i.test(stripMarkup(l)))).toBe(true);
        } else expect(r.message).not.toBe('');
      }),
      fuzzParams(150),
    );
  });
});

describe('judge replies: the JSON format', () => {
  it('{"rationale", "score"} reads back equal, fenced or not', () => {
    fc.assert(
      fc.property(fc.string(), likert, fc.constantFrom('', '```', '```json\n'), (rationale, score, fence) => {
        const body = JSON.stringify({ rationale, score });
        const text = fence === '' ? body : `${fence}${body}\n\`\`\``;
        expect(parseScoreJson(text)).toEqual({ ok: true, score, rationale });
      }),
      fuzzParams(200),
    );
  });

  it('any JSON value is a score exactly when it is an object with a string "rationale" and an integer "score" in 1..5', () => {
    const replyArb = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.record({ rationale: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })), score: fc.oneof(likert, fc.jsonValue({ maxDepth: 1 }), fc.double()) }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(replyArb, (value) => {
        const r = parseScoreJson(JSON.stringify(value) ?? 'undefined');
        const rec = value as { rationale?: unknown; score?: unknown } | null;
        const valid = typeof rec === 'object' && rec !== null && !Array.isArray(rec) && typeof rec.rationale === 'string' && Number.isInteger(rec.score) && (rec.score as number) >= 1 && (rec.score as number) <= 5;
        expect(r.ok).toBe(valid);
        if (r.ok) expect(r.score).toBe(rec!.score);
        else expect(r.message).toMatch(/JSON|rationale|score/);
      }),
      fuzzParams(300),
    );
  });

  it('prototype keys in a reply are never read as its fields; Object.prototype is unchanged', () => {
    fc.assert(
      fc.property(jsonTextWithProtoKeys, likert, (inner, score) => {
        // The score sits only under a prototype key: it must not be found.
        const r = parseScoreJson(`{"__proto__": {"rationale": "r", "score": ${score}}, "x": ${inner}}`);
        expect(r).toMatchObject({ ok: false, message: 'JSON reply has no string "rationale"' });
        parseScoreJson(inner);
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });

  it('scoreFromReply: a score carries its normalised value, a failure has no number', () => {
    fc.assert(
      fc.property(fc.oneof(reasoning.chain((w) => scoreLine(3).map((l) => `${w}\n${l}`)), fc.string()), fc.boolean(), fc.constantFrom<Normalisation>('linear', 'extremes', 'clipped'), (raw, structured, normalisation) => {
        const r = scoreFromReply(raw, { structured, normalisation });
        expect(r.raw).toBe(raw);
        if (r.ok) expect(r.value).toBe(normalise(r.score, normalisation));
        else {
          expect(r.failure.kind).toBe('parse');
          expect(r).not.toHaveProperty('value');
          expect(r).not.toHaveProperty('score');
        }
      }),
      fuzzParams(200),
    );
  });
});

describe('judge replies: the OpenAI-compatible response body', () => {
  /** A judge whose server answers 200 with `body`, no retries, no waiting. */
  const judgeAnswering = (body: string) =>
    new HttpJudge({
      baseUrl: 'http://judge.invalid/v1',
      model: 'm',
      timeoutMs: 1000,
      retries: 0,
      breakerAfter: 1000,
      cache: false,
      sleep: async () => {},
      fetch: async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
    });
  const item = { question: 'Q', reference: 'R', trace: 'T' };

  const bodyArb = fc.oneof(
    // Well-formed completions around a reply that may or may not hold a score.
    fc.oneof(reasoning.chain((w) => likert.chain((n) => scoreLine(n).map((l) => `${w}\n${l}`))), reasoning).map((content) => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })),
    // Truncated ones.
    fc.tuple(likert, fc.nat()).map(([n, cut]) => {
      const full = JSON.stringify({ choices: [{ message: { content: `ok\nScore: ${n}` } }] });
      return full.slice(0, cut % full.length);
    }),
    // Other shapes: no choices, empty choices, content not a string, prototype keys.
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.constantFrom('{"choices": []}', '{"choices": [{}]}', '{"choices": [{"message": {"content": 5}}]}', '{"choices": null}', '{"__proto__": {"choices": [{"message": {"content": "Score: 5"}}]}}', '{"choices": [{"__proto__": {"message": {"content": "Score: 5"}}}]}'),
    jsonTextWithProtoKeys,
  );

  it('a body gives a score exactly when choices[0].message.content holds one; otherwise the failure says what was wrong', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const r = await judgeAnswering(body).outcome(item);
        let content: unknown;
        try {
          const json = JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] };
          content = Array.isArray(json?.choices) ? json.choices[0]?.message?.content : undefined;
        } catch {
          content = undefined;
        }
        const expected = typeof content === 'string' ? parseScoreText(content) : null;
        expect(r.ok).toBe(expected?.ok === true);
        if (r.ok) expect(r.score).toBe((expected as { score: number }).score);
        else if (expected === null) {
          expect(r.failure.kind).toBe('call');
          expect(r.failure.message).toMatch(/malformed or truncated JSON|no choices|choices\[0\]\.message\.content/);
          expect(r.failure.message).toContain('http://judge.invalid');
        } else expect(r.failure).toEqual({ kind: 'parse', message: (expected as { message: string }).message });
        expectPrototypeUnchanged();
      }),
      fuzzParams(150),
    );
  });
});
