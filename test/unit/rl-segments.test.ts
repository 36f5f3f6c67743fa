// Segmentation of responses into steps (src/rl/segments.ts): delimiter ownership, the final
// segment, empty pieces, the segment cap, and the mapping of tokens onto segments.
import { describe, expect, it } from 'vitest';
import { segmentText, segmentTokens, tokenSegments, type SegmentOptions } from '../../src/rl/segments';

const nl: SegmentOptions = { delimiter: '\n', maxSegments: 10 };
const texts = (t: string, o = nl) => segmentText(t, o).map((s) => s.text);

describe('segmentText', () => {
  it('gives the delimiter to the segment it closes, the tail to the final segment', () => {
    const s = segmentText('a\nbb\nc', nl);
    expect(s).toEqual([
      { index: 0, start: 0, end: 2, text: 'a\n' },
      { index: 1, start: 2, end: 5, text: 'bb\n' },
      { index: 2, start: 5, end: 6, text: 'c' },
    ]);
    expect(texts('x###y###z', { delimiter: '###', maxSegments: 10 })).toEqual(['x###', 'y###', 'z']);
  });

  it('drops an empty or whitespace-only final segment, keeping its characters covered', () => {
    expect(texts('a\nb\n')).toEqual(['a\n', 'b\n']);
    const s = segmentText('a\nb\n  ', nl);
    expect(s.map((x) => x.text)).toEqual(['a\n', 'b\n  ']);
    expect(s[1].end).toBe(6);
  });

  it('joins delimiter-only pieces to the segment before (or, leading, the one after)', () => {
    expect(texts('a\n\nb')).toEqual(['a\n\n', 'b']);
    expect(texts('a\n \nb')).toEqual(['a\n \n', 'b']);
    expect(texts('\n\na\nb')).toEqual(['\n\na\n', 'b']);
    expect(texts('\n\n')).toEqual(['\n\n']);
    expect(segmentText('', nl)).toEqual([]);
    expect(texts('no delimiter at all')).toEqual(['no delimiter at all']);
  });

  it('caps the number of segments: text past the cap joins the last one', () => {
    const s = segmentText('a\nb\nc\nd', { delimiter: '\n', maxSegments: 2 });
    expect(s.map((x) => [x.start, x.end, x.text])).toEqual([
      [0, 2, 'a\n'],
      [2, 7, 'b\nc\nd'],
    ]);
    expect(texts('a\nb\nc', { delimiter: '\n', maxSegments: 3 })).toEqual(['a\n', 'b\n', 'c']);
    expect(texts('a\nb\nc', { delimiter: '\n', maxSegments: 1 })).toEqual(['a\nb\nc']);
  });

  it('has no cap when maxSegments is null (the paper preset)', () => {
    const many = Array.from({ length: 50 }, (_, i) => `step ${i}\n`).join('');
    expect(texts(many, { delimiter: '\n', maxSegments: null })).toHaveLength(50);
  });

  it('segments tile the text exactly', () => {
    const t = '\n step one\n\n step two ### \nthree\n\n\n';
    const s = segmentText(t, nl);
    expect(s.map((x) => x.text).join('')).toBe(t);
    for (let k = 1; k < s.length; k++) expect(s[k].start).toBe(s[k - 1].end);
  });

  it('rejects an empty delimiter and a bad cap', () => {
    expect(() => segmentText('a', { delimiter: '', maxSegments: 3 })).toThrow(/delimiter "" must be a non-empty string/);
    expect(() => segmentText('a', { delimiter: '\n', maxSegments: 0 })).toThrow(/maxSegments 0 must be a positive integer/);
  });
});

describe('tokenSegments', () => {
  it('puts each token in the segment holding its first character', () => {
    // Text "a\nb.\ncd": segments "a\n" [0,2), "b.\n" [2,5), "cd" [5,7).
    const r = segmentTokens(['a', '\n', 'b', '.\nc', '', 'd'], nl);
    expect(r.segments.map((s) => s.text)).toEqual(['a\n', 'b.\n', 'cd']);
    // ".\nc" starts in segment 1 although its last character is in segment 2; the empty token
    // follows "c" (segment 2).
    expect([...r.tokenSegment]).toEqual([0, 0, 1, 1, 2, 2]);
    expect(r.ranges).toEqual([
      { tokenStart: 0, tokenEnd: 2 },
      { tokenStart: 2, tokenEnd: 4 },
      { tokenStart: 4, tokenEnd: 6 },
    ]);
  });

  it('keeps an empty token right after a delimiter with the segment that delimiter closed', () => {
    const r = segmentTokens(['a\n', '', 'b', ''], nl);
    expect([...r.tokenSegment]).toEqual([0, 0, 1, 1]);
    expect([...segmentTokens(['', 'a'], nl).tokenSegment]).toEqual([0, 0]);
  });

  it('gives segments inside one token an empty range', () => {
    const r = segmentTokens(['a\nb\nc'], nl);
    expect(r.segments).toHaveLength(3);
    expect([...r.tokenSegment]).toEqual([0]);
    expect(r.ranges).toEqual([
      { tokenStart: 0, tokenEnd: 1 },
      { tokenStart: 1, tokenEnd: 1 },
      { tokenStart: 1, tokenEnd: 1 },
    ]);
  });

  it('marks tokens -1 when there is no segment, and rejects pieces that do not match', () => {
    expect([...segmentTokens(['', ''], nl).tokenSegment]).toEqual([-1, -1]);
    const segs = segmentText('ab\ncd', nl);
    expect(() => tokenSegments(['ab\n', 'c'], segs)).toThrow(/cover 4 characters but the segments cover 5/);
  });
});
