// tokenPieces (src/rl/rollouts.ts): each token's share of the decoded text, from decodings of a
// window of recent tokens. The shares concatenate to the full decoding and equal those of
// decoding every growing prefix (the old, quadratic way), for byte-level tokenizers whose tokens
// split multi-byte characters, and for decoders that change the start of a decoding or rewrite
// earlier text; the ids passed to decode stay linear in the response length.
import { describe, expect, it } from 'vitest';
import { tokenPieces } from '../../src/rl/rollouts';
import { rng } from '../support/check';

type Decode = (ids: number[]) => string;

/** The shares from decoding every growing prefix: the definition tokenPieces must keep. */
function prefixPieces(decode: Decode, ids: readonly number[]): string[] {
  const pieces: string[] = [];
  let acc = '';
  for (let t = 0; t < ids.length; t++) {
    const cur = decode(ids.slice(0, t + 1));
    let common = 0;
    while (common < acc.length && common < cur.length && acc[common] === cur[common]) common++;
    let excess = acc.length - common;
    for (let k = pieces.length - 1; k >= 0 && excess > 0; k--) {
      const cut = Math.min(excess, pieces[k].length);
      pieces[k] = pieces[k].slice(0, pieces[k].length - cut);
      excess -= cut;
    }
    pieces.push(cur.slice(common));
    acc = cur;
  }
  return pieces;
}

/** Counts the ids every decode call is given. */
function counting(decode: Decode): { decode: Decode; ids: () => number } {
  let n = 0;
  return {
    decode: (ids) => {
      n += ids.length;
      return decode(ids);
    },
    ids: () => n,
  };
}

/**
 * A byte-level tokenizer over the UTF-8 bytes of `text`: tokens are chunks of 1..maxLen bytes,
 * so multi-byte characters are split across tokens and a token may end one character and start
 * the next. Decoding joins the bytes and decodes them as UTF-8, U+FFFD for incomplete characters.
 */
function byteLevel(text: string, seed: number, maxLen: number): { decode: Decode; ids: number[] } {
  const bytes = new TextEncoder().encode(text);
  const rand = rng(seed);
  const vocab: Uint8Array[] = [];
  const index = new Map<string, number>();
  const ids: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const len = Math.min(bytes.length - i, 1 + Math.floor(rand() * maxLen));
    const chunk = bytes.subarray(i, i + len);
    const key = chunk.join(',');
    if (!index.has(key)) {
      index.set(key, vocab.length);
      vocab.push(chunk.slice());
    }
    ids.push(index.get(key)!);
    i += len;
  }
  const utf8 = new TextDecoder();
  const decode: Decode = (list) => {
    const parts = list.map((id) => vocab[id]);
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return utf8.decode(all);
  };
  return { decode, ids };
}

const MIXED = 'Step 1: 12 + 30 = 42 ✓\nÉtape 2 : café × 3 — 中文 数学 😀🎉\n###\n';

describe('tokenPieces', () => {
  it('splits a decoding across tokens, also when a later token rewrites a placeholder', () => {
    const chars = ['a', 'b', 'c'];
    expect(tokenPieces((ids) => ids.map((i) => chars[i]).join(''), [0, 1, 2])).toEqual(['a', 'b', 'c']);
    // Token 1 alone shows "\uFFFD", tokens 1 + 2 make "é": the character lands on the token that completes it.
    const dec = (ids: number[]): string => {
      let s = '';
      for (let k = 0; k < ids.length; k++) {
        if (ids[k] === 1) s += ids[k + 1] === 2 ? 'é' : '\uFFFD';
        else if (ids[k] === 0) s += 'x';
      }
      return s;
    };
    expect(tokenPieces(dec, [0, 1, 2, 0])).toEqual(['x', '', 'é', 'x']);
    expect(tokenPieces(dec, [0, 1, 2, 0]).join('')).toBe(dec([0, 1, 2, 0]));
    expect(tokenPieces(dec, [])).toEqual([]);
  });

  it('byte-level tokens that split multi-byte characters: the shares of the growing prefixes, concatenating to the decoding', () => {
    for (const maxLen of [1, 2, 3, 5]) {
      for (let seed = 1; seed <= 5; seed++) {
        const { decode, ids } = byteLevel(MIXED.repeat(3), seed * 31 + maxLen, maxLen);
        const pieces = tokenPieces(decode, ids);
        expect(pieces.join(''), `maxLen ${maxLen} seed ${seed}`).toBe(decode(ids));
        expect(pieces, `maxLen ${maxLen} seed ${seed}`).toEqual(prefixPieces(decode, ids));
        // Each character sits whole in one token's share.
        expect(pieces.join('')).not.toContain('\uFFFD');
      }
    }
  });

  it('a response cut inside a character keeps its placeholder at the end', () => {
    const { decode, ids } = byteLevel('ab😀', 3, 1);
    const cut = ids.slice(0, ids.length - 1);
    const pieces = tokenPieces(decode, cut);
    expect(pieces.join('')).toBe(decode(cut));
    expect(pieces).toEqual(prefixPieces(decode, cut));
    expect(pieces.join('').endsWith('\uFFFD')).toBe(true);
  });

  it('passes at most 2n ids to decode for a 16k-token response', () => {
    const text = MIXED.repeat(800);
    const { decode, ids } = byteLevel(text, 7, 3);
    const n = 16384;
    const response = ids.slice(0, n);
    expect(response.length).toBe(n);
    const c = counting(decode);
    // Without the caller's text tokenPieces decodes the whole response once itself: counted too.
    const pieces = tokenPieces(c.decode, response);
    expect(pieces.join('')).toBe(decode(response));
    expect(c.ids(), `${c.ids()} ids decoded for ${n} tokens`).toBeLessThanOrEqual(2 * n);
    // What collectRollouts does: the text it has decoded already is handed over.
    const c2 = counting(decode);
    const pieces2 = tokenPieces(c2.decode, response, decode(response));
    expect(pieces2).toEqual(pieces);
    expect(c2.ids()).toBeLessThanOrEqual(n);
  });

  it('decoders that drop a leading space or tidy spaces before punctuation: exact shares, linear cost', () => {
    // SentencePiece style: "▁" is a space, and a decoding never starts with one (a Strip decoder).
    const words = ['▁The', '▁cat', 's', '▁sat', '.', '▁on', '▁the', '▁mat', ',', '▁twice', '\n'];
    const sp: Decode = (ids) => ids.map((i) => words[i]).join('').replace(/▁/g, ' ').replace(/^ /, '');
    // clean_up_tokenization_spaces style: " ." and " ," lose their space.
    const tidy: Decode = (ids) => ids.map((i) => words[i]).join('').replace(/▁/g, ' ').replace(/ ([.,])/g, '$1');
    const spaced = ['▁The', '▁cat', '▁.', '▁,', '▁sat'];
    const tidySpaced: Decode = (ids) => ids.map((i) => spaced[i]).join('').replace(/▁/g, ' ').replace(/ ([.,])/g, '$1');
    const rand = rng(11);
    for (const [decode, vocab] of [
      [sp, words.length],
      [tidy, words.length],
      [tidySpaced, spaced.length],
    ] as const) {
      const ids = Array.from({ length: 3000 }, () => Math.floor(rand() * vocab));
      const c = counting(decode);
      const pieces = tokenPieces(c.decode, ids);
      expect(pieces.join('')).toBe(decode(ids));
      expect(pieces).toEqual(prefixPieces(decode, ids));
      expect(c.ids() / ids.length, 'ids decoded per token').toBeLessThan(40);
    }
  });

  it('a long run of bytes that never completes a character still costs linear work', () => {
    // Lone continuation bytes: every decoding ends in U+FFFD, so the window has to move on by its length cap.
    const vocab = [new Uint8Array([0x80]), new Uint8Array([0x61])];
    const utf8 = new TextDecoder();
    const decode: Decode = (ids) => utf8.decode(Uint8Array.from(ids.map((i) => vocab[i][0])));
    const ids = [1, ...Array.from({ length: 2000 }, () => 0), 1];
    const c = counting(decode);
    const pieces = tokenPieces(c.decode, ids);
    expect(pieces.join('')).toBe(decode(ids));
    expect(c.ids() / ids.length).toBeLessThan(40);
  });
});
