// Keeping an API key out of every text a judge or its owner shows or writes. Pure: no GPU, no
// DOM, no Node; works in the page, a worker and the CLI.
//
// A key can come back in many spellings: raw (a server echoing it in an error body), percent-
// encoded (in a URL), JSON-escaped (in a logged body), or inside base64 (an echoed
// "Authorization: Basic base64(user:key)" header, where the key can start at any byte offset).
// A Redactor knows the secrets and removes every such spelling; it also removes what has the
// shape of a credential whatever its value: URL userinfo, and Bearer or Basic credentials.

export const REDACTED = '[redacted]';

function utf8Base64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The base64 characters that encode `secret` itself, for each of the three byte offsets it can
 * start at inside longer base64 text (the characters that mix in neighbouring bytes left out).
 */
export function base64Cores(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = new Uint8Array(k + bytes.length);
    padded.set(bytes, k);
    const b = utf8Base64(padded);
    const core = b.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
    if (core.length >= 4) out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

/** Every byte percent-encoded, in upper and lower case hex. */
function percentAll(secret: string): string[] {
  const hex = [...new TextEncoder().encode(secret)].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
  return [hex.toUpperCase().replace(/%([0-9A-F]{2})/g, '%$1'), hex];
}

/** The spellings of a secret that a text may hold. */
export function secretForms(secret: string): string[] {
  if (secret === '') return [];
  const forms = new Set<string>([secret]);
  const component = encodeURIComponent(secret);
  forms.add(component);
  forms.add(component.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  forms.add(component.replace(/%20/g, '+'));
  forms.add(encodeURI(secret));
  for (const p of percentAll(secret)) forms.add(p);
  forms.add(JSON.stringify(secret).slice(1, -1));
  for (const c of base64Cores(secret)) forms.add(c);
  // Longest first, so a form that contains another is removed whole.
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** Whether base64 text decodes to "user:password" (printable text with a colon): a Basic credential. */
function looksBasic(b64: string): boolean {
  try {
    const text = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
    return text.includes(':') && [...text].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
  } catch {
    return false;
  }
}

/**
 * Removes credentials by their shape, whatever their value: URL userinfo (raw and percent-
 * encoded), "Bearer <token>" (8 characters or more) and "Basic <base64 of user:password>".
 */
export function redactShapes(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]*@/gi, `$1${REDACTED}@`)
    .replace(/\b([a-z][a-z0-9+.-]*%3A%2F%2F)(?:(?!%2F|%3F|%23|%40)[^\s/?#@"'<>\\])*%40/gi, `$1${REDACTED}%40`)
    .replace(/\bBearer(\s+|%20|\+)[A-Za-z0-9._~+/=-]{8,}/g, `Bearer$1${REDACTED}`)
    .replace(/\b(Basic)(\s+|%20|\+)([A-Za-z0-9+/_-]+={0,2})/gi, (m, word: string, gap: string, b64: string) => (looksBasic(b64) ? `${word}${gap}${REDACTED}` : m));
}

/**
 * Query parameters whose name says they hold a credential (key, token, secret, password,
 * signature, auth): a judge.endpoint holding one is refused, and logs never show the value.
 */
export const SECRET_QUERY_NAME = /(?:key|token|secret|passw(?:or)?d|pwd|sig(?:nature)?|auth|credential)/i;

/** What in a URL is a credential: its userinfo, or a query parameter named like one; null when none (or not a URL). */
export function urlCredential(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if (u.username !== '' || u.password !== '') return 'user information (user:password@)';
  for (const name of u.searchParams.keys()) if (SECRET_QUERY_NAME.test(name)) return `the query parameter ${JSON.stringify(name)}`;
  return null;
}

/** A URL as it may be shown: userinfo and credential-like query values replaced. Text that is not a URL has its credential shapes removed. */
export function redactUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return redactShapes(text);
  }
  const userinfo = u.username !== '' || u.password !== '' ? `${REDACTED}@` : '';
  const query = u.search
    .slice(1)
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const name = p.split('=')[0];
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // an undecodable name is judged as written
      }
      return SECRET_QUERY_NAME.test(decoded) ? `${name}=${REDACTED}` : p;
    })
    .join('&');
  const host = u.protocol === 'http:' || u.protocol === 'https:' ? `//${userinfo}${u.host}` : '';
  return `${u.protocol}${host}${u.pathname}${query === '' ? '' : '?' + query}${u.hash}`;
}

/** Removes the given secrets, in every spelling `secretForms` knows, and every credential shape, from texts. */
export class Redactor {
  private forms: string[] = [];

  constructor(secrets: readonly string[] = []) {
    for (const s of secrets) this.add(s);
  }

  /** One more secret to remove (empty strings are ignored). */
  add(secret: string): void {
    if (secret === '') return;
    this.forms = [...new Set([...this.forms, ...secretForms(secret)])].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.forms.length;
  }

  text(s: string): string {
    // Shapes first: a Basic credential is recognised (and removed) before its parts are.
    let out = redactShapes(s);
    for (const f of this.forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  }
}
