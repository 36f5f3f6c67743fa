/**
 * Recorded runs in the page: the list of the replays the app ships ("Watch a recorded run"), and
 * the replay page (`?replay=<name>`), which drives the same run panel a live run uses with the
 * replay engine (src/worker/replay-engine.ts) in place of the GPU worker. It needs no WebGPU,
 * so it is what a machine that cannot train shows. Replay text is set as text, never markup.
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../../worker/api';
import { fetchReplay, ReplayEngine } from '../../worker/replay-engine';
import { el } from '../dom';
import { pageHref } from '../state/location';
import { runPanel } from './run-panel';

interface ReplayEntry {
  name: string;
  title: string;
  about: string;
}

/** The shipped replays (public/replays/index.json, written by scripts/make-replay.ts). */
async function replayIndex(): Promise<ReplayEntry[]> {
  const res = await fetch(new URL('replays/index.json', document.baseURI));
  if (!res.ok) throw new Error(`replays/index.json: ${res.status} ${res.statusText}`);
  const v = (await res.json()) as { replays?: unknown };
  if (!Array.isArray(v.replays)) throw new Error('replays/index.json: no "replays" list');
  return v.replays.filter((r): r is ReplayEntry => typeof r?.name === 'string' && typeof r?.title === 'string' && typeof r?.about === 'string');
}

/** "Watch a recorded run": a section listing the shipped replays, each a link; `lead` says why it is offered. */
export function recordedRunsPanel(lead: string): HTMLElement {
  const list = el('ul', { className: 'replay-list' });
  const files = el('a', { text: 'Or open run files: import a run bundle, load results.json or CLI run folders', href: pageHref({ view: 'files' }) });
  const section = el('section', { className: 'panel recorded-runs' }, el('h2', { text: 'Watch a recorded run' }), el('p', { text: lead }), list, el('p', {}, files));
  replayIndex().then(
    (entries) => {
      if (entries.length === 0) list.replaceChildren(el('li', { text: 'No recorded runs ship with this copy of the app.' }));
      for (const r of entries) {
        // A plain link, so it works from the keyboard and can be shared.
        const a = el('a', { text: r.title, href: pageHref({ replay: r.name }) });
        list.appendChild(el('li', {}, a, el('span', { className: 'replay-about', text: ` ${r.about}` })));
      }
    },
    (e: unknown) => list.replaceChildren(el('li', { className: 'error', text: `The recorded runs could not be listed: ${e instanceof Error ? e.message : String(e)}` })),
  );
  return section;
}

/** The replay page: what the run was, and the run panel playing it. `name` is one the address table accepted (state/location.ts). */
export async function replayPage(name: string): Promise<HTMLElement[]> {
  const back = el('a', { text: 'Back to training in this browser', href: pageHref() });
  const replay = await fetchReplay(new URL(`replays/${name}/`, document.baseURI));
  const engine = await ReplayEngine.create(replay);
  // Through comlink over a channel, as the page reaches the GPU worker: the panel cannot tell them apart.
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(engine, port1);
  const remote = Comlink.wrap<EngineApi>(port2);
  return [
    el(
      'section',
      { className: 'panel replay-intro' },
      el('h2', { text: `Recorded run: ${replay.header.title}` }),
      el('p', { text: replay.header.about }),
      el('p', {
        text: 'This is a run recorded with the exprl command, played back in this page: no GPU is used. Press Start to play it; Pause, Resume, Step and Stop work as in a live run. The settings of the run are its own, not the page\'s.',
      }),
      // The run panel's settings are hidden (they are the page's, not the recording's): the recording's own, in full.
      el('details', { className: 'replay-config' }, el('summary', { text: "The run's config" }), el('pre', { text: JSON.stringify(replay.header.config, null, 1) })),
      back,
    ),
    // The class hides the panel's settings (style.css): a recording plays with its own.
    el('div', { className: 'replay-run' }, runPanel(remote)),
  ];
}
