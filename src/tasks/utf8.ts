/**
 * Text from bytes that may not be UTF-8. A task file's bytes are decoded leniently (a byte that is
 * not UTF-8 becomes U+FFFD) so that one bad row does not lose the others; `invalid` tells the
 * importer that U+FFFD in this text may stand for such bytes, and rows holding it are then errors
 * (import.ts), never silently kept with the replacement character.
 */

/** Decodes UTF-8; `invalid` is true when some bytes were not UTF-8 and became U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): { text: string; invalid: boolean } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), invalid: false };
  } catch {
    return { text: new TextDecoder('utf-8', { fatal: false }).decode(bytes), invalid: true };
  }
}

/** The path ("extra_info.question", "prompt[0].content") of the first string in `v` that holds U+FFFD, or null. */
export function replacementCharPath(v: unknown, path = ''): string | null {
  if (typeof v === 'string') return v.includes('\uFFFD') ? path || '(row)' : null;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = replacementCharPath(x, `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = replacementCharPath(x, path === '' ? k : `${path}.${k}`);
      if (p !== null) return p;
    }
  }
  return null;
}
