/**
 * The page's judge API key (judge.kind "openai"): kept in memory, or, when the user ticks
 * "remember in this browser", in localStorage together with the endpoint origin it was entered
 * for. The key is bound to that origin: it is handed out only for an endpoint at that origin.
 * Nothing here writes the key anywhere else: the settings form, the URL hash and the run config
 * never hold it. No DOM: the storage is handed in (localStorage in the page, a fake in tests).
 */
import { endpointOrigin, type KeyBinding } from '../../judge/key-binding';
import { Redactor } from '../../judge/redact';

/** The localStorage entry of a remembered key: {"origin": ..., "key": ...}. */
export const KEY_STORAGE_ITEM = 'exprl.judge-api-key';

export type KeyStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** The key as it stands for one endpoint. */
export type KeyForEndpoint =
  /** No key entered. */
  | { state: 'none' }
  /** Entered, but no origin yet (the endpoint was not a URL when it was typed). */
  | { state: 'unbound' }
  /** Bound to the endpoint's origin: it is sent there. */
  | { state: 'bound'; key: string; origin: string }
  /** Bound to another origin: it is not sent to this endpoint. */
  | { state: 'other-origin'; origin: string; endpointOrigin: string | null };

export class JudgeKeyStore {
  private key = '';
  private origin: string | null = null;
  private remember = false;
  /** Every key that was in use (sent, or handed to a run): texts are redacted of each. */
  private readonly used = new Set<string>();

  constructor(private readonly storage: KeyStorage | null = null) {
    const saved = this.readSaved();
    if (saved !== null) {
      this.key = saved.key;
      this.origin = saved.origin;
      this.remember = true;
    }
  }

  private readSaved(): KeyBinding | null {
    let raw: string | null = null;
    try {
      raw = this.storage?.getItem(KEY_STORAGE_ITEM) ?? null;
    } catch {
      return null; // storage refused (private mode, a sandbox): nothing remembered
    }
    if (raw === null) return null;
    try {
      const v = JSON.parse(raw) as Partial<KeyBinding>;
      if (typeof v.key === 'string' && v.key !== '' && typeof v.origin === 'string' && endpointOrigin(v.origin) === v.origin) return { key: v.key, origin: v.origin };
    } catch {
      // unreadable: dropped below
    }
    this.forgetSaved();
    return null;
  }

  private forgetSaved(): void {
    try {
      this.storage?.removeItem(KEY_STORAGE_ITEM);
    } catch {
      // nothing was kept
    }
  }

  /** The stored copy follows the key: written when remembered and bound, removed otherwise. */
  private persist(): void {
    if (this.remember && this.key !== '' && this.origin !== null) {
      try {
        this.storage?.setItem(KEY_STORAGE_ITEM, JSON.stringify({ origin: this.origin, key: this.key }));
      } catch {
        // storage refused: the key stays in memory only
      }
    } else this.forgetSaved();
  }

  /** The key the user typed, bound to `endpoint`'s origin (unbound when it is not a URL); '' clears it. */
  set(key: string, endpoint: string): void {
    this.key = key;
    this.origin = key === '' ? null : endpointOrigin(endpoint);
    this.persist();
  }

  /** Binds the key to `endpoint`'s origin (the user confirmed it there, or typed the endpoint after the key). */
  bindTo(endpoint: string): void {
    if (this.key === '') return;
    this.origin = endpointOrigin(endpoint);
    this.persist();
  }

  /** "Remember in this browser": on, the key and its origin go to storage; off, they are removed from it. */
  setRemember(remember: boolean): void {
    this.remember = remember;
    this.persist();
  }

  get remembered(): boolean {
    return this.remember;
  }

  /** The key as typed (the page's password field shows it masked). */
  get value(): string {
    return this.key;
  }

  get boundOrigin(): string | null {
    return this.origin;
  }

  clear(): void {
    this.key = '';
    this.origin = null;
    this.forgetSaved();
  }

  /** The binding to hand to the engine, or null when there is no bound key. */
  binding(): KeyBinding | null {
    return this.key !== '' && this.origin !== null ? { key: this.key, origin: this.origin } : null;
  }

  /** The key's state for an endpoint; only "bound" carries the key. */
  forEndpoint(endpoint: string): KeyForEndpoint {
    if (this.key === '') return { state: 'none' };
    if (this.origin === null) return { state: 'unbound' };
    const at = endpointOrigin(endpoint);
    return at === this.origin ? { state: 'bound', key: this.key, origin: this.origin } : { state: 'other-origin', origin: this.origin, endpointOrigin: at };
  }

  /** The current key is in use (sent in a request, or a run started with it): texts are redacted of it from now on. */
  markUsed(): void {
    if (this.key !== '') this.used.add(this.key);
  }

  /** A text as the page may show it: without the current key, any key used before, or a credential's shape. */
  redact(text: string): string {
    return new Redactor([...this.used, this.key]).text(text);
  }
}
