/**
 * The page's one subscription to the engine's events, fanned out to the panels.
 *
 * The engine sends every event to one listener (EngineApi.onEvent, through comlink). The page
 * subscribes once (`engineEvents`) and the panels register handlers here, by event type and by
 * run: the page's own run (events without a slot, the default), one run slot (a comparison arm),
 * or every slot's ('*': each arm of a comparison, not the page's own run). Handlers see the
 * events in the order the engine sent them, and for one event in the order they registered. Transforms (`use`) rewrite an event
 * before any handler sees it: the judge panel's redaction of its key, say.
 *
 * No DOM; no comlink here but in `engineEvents`: a test dispatches events by hand.
 */
import * as Comlink from 'comlink';
import type { EngineEvent } from '../../worker/api';

export type EventType = EngineEvent['type'];
export type EventOf<T extends EventType> = Extract<EngineEvent, { type: T }>;
export type Handler<T extends EventType> = (e: EventOf<T>) => void;

/** Which runs' events a handler gets: the page's own (null, the default; events without a slot), one run slot's, or every slot's ('*'). */
export type SlotRoute = null | string | '*';

interface Entry {
  type: EventType | '*';
  slot: SlotRoute;
  handler: (e: EngineEvent) => void;
}

export class EngineEvents {
  private entries: Entry[] = [];
  private transforms: ((e: EngineEvent) => EngineEvent)[] = [];

  /** Handles events of one type (or every type, '*'); returns the unsubscribe. */
  on<T extends EventType>(type: T, handler: Handler<T>, options?: { slot?: SlotRoute }): () => void;
  on(type: '*', handler: (e: EngineEvent) => void, options?: { slot?: SlotRoute }): () => void;
  on(type: EventType | '*', handler: (e: never) => void, options: { slot?: SlotRoute } = {}): () => void {
    const entry: Entry = { type, slot: options.slot ?? null, handler: handler as (e: EngineEvent) => void };
    this.entries = [...this.entries, entry];
    return () => {
      this.entries = this.entries.filter((x) => x !== entry);
    };
  }

  /** Several types at once, each with its handler, for one route; returns one unsubscribe for them all. */
  handle(handlers: { [T in EventType]?: Handler<T> }, options: { slot?: SlotRoute } = {}): () => void {
    const offs = (Object.keys(handlers) as EventType[]).map((type) => this.on(type, handlers[type] as Handler<typeof type>, options));
    return () => offs.forEach((off) => off());
  }

  /** Rewrites every event before the handlers see it (in the order transforms were added); returns the removal. */
  use(transform: (e: EngineEvent) => EngineEvent): () => void {
    this.transforms = [...this.transforms, transform];
    return () => {
      this.transforms = this.transforms.filter((t) => t !== transform);
    };
  }

  /** One event from the engine, to every handler whose type and run match, in registration order. */
  dispatch(raw: EngineEvent): void {
    let e = raw;
    for (const t of this.transforms) e = t(e);
    const slot = e.slot ?? null;
    // A handler added or removed by a handler takes effect from the next event on.
    for (const entry of this.entries) {
      if (entry.type !== '*' && entry.type !== e.type) continue;
      if (entry.slot === '*' ? slot === null : entry.slot !== slot) continue;
      try {
        entry.handler(e);
      } catch (err) {
        // One panel's failure is not the others': they still get the event, and the error is
        // still reported (thrown on its own, as it was when each panel had its own listener).
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** Subscribes to an engine once and returns its dispatcher. */
export function engineEvents(engine: { onEvent(listener: (e: EngineEvent) => void): unknown }): EngineEvents {
  const events = new EngineEvents();
  void engine.onEvent(Comlink.proxy((e: EngineEvent) => events.dispatch(e)));
  return events;
}
