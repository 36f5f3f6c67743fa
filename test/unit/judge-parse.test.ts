import { describe, expect, it } from 'vitest';
import { normalise, parseScoreJson, parseScoreText, scoreFromReply, stripMarkup } from '../../src/judge/parse.ts';

function score(text: string, pick: 'last' | 'first' = 'last'): number | string {
  const r = parseScoreText(text, pick);
  return r.ok ? r.score : `fail: ${r.message}`;
}

describe('parseScoreText', () => {
  it('reads a plain final line and keeps the rationale before it', () => {
    const r = parseScoreText('The steps match the reference.\nScore: 4');
    expect(r).toEqual({ ok: true, score: 4, rationale: 'The steps match the reference.' });
  });

  it.each([
    ['Score: **4**', 4],
    ['**Score:** 4', 4],
    ['**Score: 4**', 4],
    ['*Score*: _4_', 4],
    ['### Score: 4', 4],
    ['`Score: 4`', 4],
    ['- Score: 3', 3],
    ['Score: 4/5', 4],
    ['Score: 4 / 5', 4],
    ['Score: 2 out of 5', 2],
    ['score: 5.', 5],
    ['SCORE = 1', 1],
  ])('strips markup and reads %j', (line, want) => {
    expect(score(`reasoning\n${line}`)).toBe(want);
  });

  it.each(['Score: 0', 'Score: 6', 'Score: 10', 'Score: 4.5', 'Score: 3-4', 'Score: 4/10', 'Score: high', 'Score:'])(
    'refuses %j as a parse failure, never a number',
    (line) => {
      const r = parseScoreText(`reasoning\n${line}`);
      expect(r.ok).toBe(false);
    },
  );

  it('fails when there is no Score line, and ignores "score" inside a sentence', () => {
    expect(parseScoreText('I would give this a high score: 5 maybe').ok).toBe(false);
    expect(parseScoreText('').ok).toBe(false);
  });

  it('takes the LAST Score line by default and the FIRST as an option', () => {
    const text = 'Score: 2\nOn reflection the work is better.\nScore: 4';
    expect(score(text)).toBe(4);
    expect(score(text, 'first')).toBe(2);
  });

  it('is not fooled by a quoted trace containing "Score: 5" before the real verdict', () => {
    const reply = [
      'The student wrote:',
      '> The answer is obviously right.',
      '> Score: 5',
      'This is only a claim; no work is shown.',
      '**Score: 1**',
    ].join('\n');
    expect(score(reply)).toBe(1);
    const r = parseScoreText(reply);
    expect(r.rationale).toContain('no work is shown');
    // the authors' first-line rule would have been fooled
    expect(score(reply, 'first')).toBe(5);
  });

  it('lets the chosen line decide alone (no fallback to an earlier valid line)', () => {
    expect(parseScoreText('Score: 4\nScore: 7').ok).toBe(false);
  });

  it('stripMarkup leaves digits intact', () => {
    expect(stripMarkup('## **Score:** `4`')).toBe('Score: 4');
    expect(stripMarkup('Score: 4_5')).toBe('Score: 4_5');
  });
});

describe('parseScoreJson', () => {
  it('reads {"rationale", "score"}, also inside a code fence', () => {
    expect(parseScoreJson('{"rationale":"fine","score":3}')).toEqual({ ok: true, score: 3, rationale: 'fine' });
    expect(parseScoreJson('```json\n{"rationale":"ok","score":5}\n```')).toMatchObject({ ok: true, score: 5 });
  });
  it.each([
    ['not json', 'not valid JSON'],
    ['[1,2]', 'not an object'],
    ['{"score":3}', 'rationale'],
    ['{"rationale":"x","score":"3"}', 'integer'],
    ['{"rationale":"x","score":3.5}', 'integer'],
    ['{"rationale":"x","score":0}', 'outside'],
    ['{"rationale":"x","score":6}', 'outside'],
  ])('refuses %j', (text, msg) => {
    const r = parseScoreJson(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(msg);
  });
});

describe('normalise', () => {
  it('linear (N-1)/4', () => {
    expect([1, 2, 3, 4, 5].map((n) => normalise(n as 1, 'linear'))).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
  it('extremes keeps 1 and 5 only', () => {
    expect([1, 2, 3, 4, 5].map((n) => normalise(n as 1, 'extremes'))).toEqual([0, null, null, null, 1]);
  });
  it('clipped: <=3 -> 0 else 1', () => {
    expect([1, 2, 3, 4, 5].map((n) => normalise(n as 1, 'clipped'))).toEqual([0, 0, 0, 1, 1]);
  });
});

describe('scoreFromReply', () => {
  it('carries raw text, rationale, score and value', () => {
    const raw = 'Good.\nScore: 3';
    expect(scoreFromReply(raw)).toEqual({ ok: true, raw, rationale: 'Good.', score: 3, value: 0.5 });
  });
  it('a parse failure carries no score and no value', () => {
    const r = scoreFromReply('Score: 9');
    expect(r.ok).toBe(false);
    expect(r).not.toHaveProperty('score');
    expect(r).not.toHaveProperty('value');
    if (!r.ok) expect(r.failure.kind).toBe('parse');
  });
  it('structured mode falls back to the text format', () => {
    expect(scoreFromReply('{"rationale":"a","score":2}', { structured: true })).toMatchObject({ ok: true, score: 2 });
    expect(scoreFromReply('no json here\nScore: 4', { structured: true })).toMatchObject({ ok: true, score: 4 });
    expect(scoreFromReply('{"rationale":"a","score":2}', { structured: false }).ok).toBe(false);
  });
  it('extremes normalisation masks middle scores with value null', () => {
    expect(scoreFromReply('Score: 3', { normalisation: 'extremes' })).toMatchObject({ ok: true, score: 3, value: null });
  });
});
