/**
 * The page's address: everything the page reads from or writes to `location`, driven by one
 * table (LOCATION_PROPS, as TF Playground's State.PROPS drives its URL). Each row names a key,
 * where it lives (the query: which page; the hash: the run setup, which follows the inputs), how
 * its text is read, and what a link may do with it.
 *
 *   ?replay=<name>     a recorded run plays instead of training (panels/recorded-runs.ts)
 *   ?view=files        the run files page (panels/files-page.ts)
 *   #preset=..&...     the run setup: one key per row of the settings table (src/rl/config/settings.ts),
 *                      read and written by src/rl/config/url-state.ts, which refuses unknown, repeated,
 *                      secret and prototype keys; a judge endpoint from a link waits for the user
 *                      to confirm it (LinkConfirmations)
 *
 * No DOM here beyond `location` and `history`; the functions take the address where a test
 * gives its own.
 */
import { decodeSetup, encodeSetup, parseSettingValue, RUN_SETTINGS, type Setup, type SetupFromLink, type SettingValue } from '../../rl/config';

/** What a link may do with a key: use it, use it only once the user confirms it, or never carry it (a secret). */
export type FromLink = 'use' | 'confirm' | 'never';

export interface LocationProp {
  key: string;
  where: 'query' | 'hash';
  fromLink: FromLink;
  doc: string;
  /** The value a text stands for, or why it is refused. */
  parse(raw: string): { value: SettingValue } | { problem: string };
}

/** The pages the query can open, besides training. */
export const VIEWS = ['files'] as const;
export type View = (typeof VIEWS)[number];

/** A recorded run's name: a folder of public/replays, never a path. */
const REPLAY_NAME = /^[\w.-]+$/;

/** THE list of the keys of the page's address. */
export const LOCATION_PROPS: readonly LocationProp[] = [
  {
    key: 'replay',
    where: 'query',
    fromLink: 'use',
    doc: 'a recorded run to play (a folder of public/replays), without a GPU',
    parse: (raw) => (REPLAY_NAME.test(raw) ? { value: raw } : { problem: `"${raw}" is not the name of a recorded run` }),
  },
  {
    key: 'view',
    where: 'query',
    fromLink: 'use',
    doc: 'another page: "files" (import a run bundle, load results.json and CLI run folders)',
    parse: (raw) => ((VIEWS as readonly string[]).includes(raw) ? { value: raw } : { problem: `"${raw}" is not a page (${VIEWS.join(', ')})` }),
  },
  // The run setup, one key per setting: what a link may do with each is the settings table's word.
  ...RUN_SETTINGS.map(
    (s): LocationProp => ({
      key: s.key,
      where: 'hash',
      fromLink: s.secret === true ? 'never' : s.fromLink,
      doc: s.doc,
      parse: (raw) => parseSettingValue(s, raw),
    }),
  ),
];

const prop = (key: string): LocationProp => {
  const p = LOCATION_PROPS.find((x) => x.key === key);
  if (p === undefined) throw new Error(`no location key ${key}`);
  return p;
};

/** The page an address opens. A replay name the table refuses is named, with why (the page says so). */
export type PageRoute = { page: 'train' } | { page: 'files' } | { page: 'replay'; name: string; problem: string | null };

export function pageRoute(search: string = location.search): PageRoute {
  const query = new URLSearchParams(search);
  const replay = query.get('replay');
  if (replay !== null) {
    const r = prop('replay').parse(replay);
    return { page: 'replay', name: replay, problem: 'problem' in r ? r.problem : null };
  }
  const view = query.get('view');
  // An unknown view opens the training page, as an address without one does.
  if (view !== null && !('problem' in prop('view').parse(view))) return { page: view as View };
  return { page: 'train' };
}

/** The address of a page of this app: its query from the table's query keys, no hash (a setup belongs to the training page's inputs). */
export function pageHref(query: { replay?: string; view?: View } = {}, href: string = location.href): string {
  const url = new URL(href);
  const params = new URLSearchParams();
  for (const p of LOCATION_PROPS) {
    const v = (query as Readonly<Record<string, string | undefined>>)[p.key];
    if (p.where === 'query' && v !== undefined) params.set(p.key, v);
  }
  url.search = params.toString();
  url.hash = '';
  return url.toString();
}

/** The page's origin (what a judge server's CORS answer must allow). */
export function pageOrigin(): string {
  return location.origin;
}

/** The run setup the hash holds (throws a ConfigError naming every bad key). */
export function readSetup(hash: string = location.hash): SetupFromLink {
  return decodeSetup(hash);
}

/** The hash follows the setup, replaced (not pushed: no history entry per keystroke); unchanged, nothing is written. */
export function writeSetup(setup: Setup): void {
  const hash = encodeSetup(setup);
  if (location.hash.replace(/^#/, '') !== hash) history.replaceState(null, '', `${location.pathname}${location.search}#${hash}`);
}

/** Calls `f` when the user changes the hash (a pasted link, Back); returns the removal. */
export function onSetupChange(f: () => void): () => void {
  window.addEventListener('hashchange', f);
  return () => window.removeEventListener('hashchange', f);
}

/**
 * Values that came from a link and wait for the user's word before the page uses them (the
 * table's `fromLink: "confirm"`: a judge endpoint, where requests and a key would go).
 */
export class LinkConfirmations {
  private pending = new Map<string, string>();

  /** A link was read: its values of "confirm" keys wait; whatever waited before is forgotten. */
  fromLink(link: SetupFromLink | null): void {
    this.pending = new Map();
    for (const key of link?.confirm ?? []) if (prop(key).fromLink === 'confirm') this.pending.set(key, String(link!.setup[key]));
  }

  /** The link's value of `key`, while it waits; null when none waits. */
  waiting(key: string): string | null {
    return this.pending.get(key) ?? null;
  }

  /** True while `value` is the link's value of `key` and the user has not confirmed it. */
  unconfirmed(key: string, value: string): boolean {
    return this.pending.get(key) === value;
  }

  /** The user confirmed the value, or typed their own: it no longer waits. */
  settle(key: string): void {
    this.pending.delete(key);
  }
}
