// Redaction of API keys (src/judge/redact.ts): for random keys, every spelling a key can come
// back in (raw, percent-encoded, JSON-escaped, inside base64 at any byte offset as in Basic
// auth) is gone from the text, and credential shapes are removed whatever their value.
import { describe, expect, it } from 'vitest';
import { rng } from '../support/check';
import { REDACTED, Redactor, redactShapes, redactUrl, urlCredential } from '../../src/judge/redact';


const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/=:%@ é"\\?&#';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every spelling the key must not appear in. */
function spellings(key: string): string[] {
  return [key, encodeURIComponent(key), encodeURI(key), JSON.stringify(key).slice(1, -1), b64(key), Buffer.from(key).toString('base64url')];
}

describe('Redactor', () => {
  it('removes random keys in every spelling, inside any surrounding text (300 seeded cases)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = rng(seed);
      const len = 8 + Math.floor(next() * 40);
      let key = '';
      for (let i = 0; i < len; i++) key += ALPHABET[Math.floor(next() * ALPHABET.length)];
      const user = 'u'.repeat(Math.floor(next() * 5));
      const text = [
        `raw ${key} end`,
        `url https://h.test/v1?x=${encodeURIComponent(key)}`,
        `json ${JSON.stringify({ key })}`,
        `header Authorization: Basic ${b64(`${user}:${key}`)}`,
        `bare ${b64(`${user}:${key}`)}`,
        `b64 ${b64(key)}`,
        `userinfo https://${user || 'x'}:${encodeURIComponent(key)}@h.test/`,
      ].join('\n');
      const out = new Redactor([key]).text(text);
      for (const sp of spellings(key)) expect(out.includes(sp), `seed ${seed} key ${JSON.stringify(key)} spelling ${sp}`).toBe(false);
      // Base64 of user:key at any alignment: no 8-character run of the key's own base64 survives.
      for (const k of [0, 1, 2]) {
        const core = b64('\0'.repeat(k) + key).slice(Math.ceil((8 * k) / 6) + 1, Math.ceil((8 * k) / 6) + 9);
        expect(out.includes(core), `seed ${seed} offset ${k}`).toBe(false);
      }
      expect(out).toContain(REDACTED);
    }
  });

  it('removes credential shapes without knowing the value, and leaves ordinary text alone', () => {
    expect(redactShapes('see https://me:pw@host.test/v1 now')).toBe(`see https://${REDACTED}@host.test/v1 now`);
    expect(redactShapes('https%3A%2F%2Fme%3Apw%40host.test')).toBe(`https%3A%2F%2F${REDACTED}%40host.test`);
    expect(redactShapes('Authorization: Bearer abcdefgh12')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactShapes(`Authorization: Basic ${b64('me:pw')}`)).toBe(`Authorization: Basic ${REDACTED}`);
    for (const plain of ['Basic arithmetic: 2 + 3 = 5', 'the bearer of good news', 'Score: 4', 'http://127.0.0.1:8000/v1']) expect(redactShapes(plain)).toBe(plain);
  });

  it('shows URLs without userinfo or credential-like query values, and names what it found', () => {
    expect(redactUrl('https://me:pw@h.test/v1?api_key=abc&api-version=2')).toBe(`https://${REDACTED}@h.test/v1?api_key=${REDACTED}&api-version=2`);
    expect(urlCredential('https://me:pw@h.test/v1')).toMatch(/user information/);
    expect(urlCredential('https://h.test/v1?access_token=x')).toMatch(/"access_token"/);
    expect(urlCredential('https://h.test/v1?api-version=2')).toBeNull();
  });
});
