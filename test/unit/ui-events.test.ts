// The page's one subscription to the engine's events (src/ui/state/events.ts): the engine is
// subscribed once, handlers get their type's events in the engine's order, by run (the page's
// own, one slot, every slot), can unsubscribe, see transformed events, and one that throws does
// not keep the event from the others.
import { describe, expect, it, vi } from 'vitest';
import { engineEvents, EngineEvents } from '../../src/ui/state/events';
import type { EngineEvent } from '../../src/worker/api';

const note = (message: string, slot?: string): EngineEvent => (slot === undefined ? { type: 'run-note', message } : { type: 'run-note', message, slot });
const end = (slot?: string): EngineEvent => ({ type: 'run-end', summary: null, error: 'x', ...(slot === undefined ? {} : { slot }) });

describe('EngineEvents', () => {
  it('subscribes to the engine once, however many handlers there are', () => {
    let listener: ((e: EngineEvent) => void) | null = null;
    const onEvent = vi.fn((l: (e: EngineEvent) => void) => void (listener = l));
    const events = engineEvents({ onEvent });
    const seen: string[] = [];
    events.on('run-note', (e) => seen.push(`a ${e.message}`));
    events.on('run-note', (e) => seen.push(`b ${e.message}`));
    listener!(note('hi'));
    expect(onEvent).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['a hi', 'b hi']);
  });

  it('keeps the engine order across types, and the registration order for one event', () => {
    const events = new EngineEvents();
    const seen: string[] = [];
    events.on('*', (e) => seen.push(`all ${e.type}`));
    events.handle({ 'run-note': (e) => seen.push(`note ${e.message}`), 'run-end': () => seen.push('end') });
    events.on('run-note', (e) => seen.push(`late ${e.message}`));
    for (const e of [note('1'), note('2'), end(), note('3')]) events.dispatch(e);
    expect(seen).toEqual(['all run-note', 'note 1', 'late 1', 'all run-note', 'note 2', 'late 2', 'all run-end', 'end', 'all run-note', 'note 3', 'late 3']);
  });

  it('unsubscribes one handler, or all of a handle() at once; the others go on', () => {
    const events = new EngineEvents();
    const seen: string[] = [];
    const off = events.on('run-note', (e) => seen.push(`a ${e.message}`));
    const offBoth = events.handle({ 'run-note': (e) => seen.push(`b ${e.message}`), 'run-end': () => seen.push('b end') });
    events.on('run-note', (e) => seen.push(`c ${e.message}`));
    events.dispatch(note('1'));
    off();
    events.dispatch(note('2'));
    offBoth();
    events.dispatch(note('3'));
    events.dispatch(end());
    expect(seen).toEqual(['a 1', 'b 1', 'c 1', 'b 2', 'c 2', 'c 3']);
  });

  it('a handler that unsubscribes itself still lets the others of that event run', () => {
    const events = new EngineEvents();
    const seen: string[] = [];
    const off = events.on('run-note', () => {
      seen.push('once');
      off();
    });
    events.on('run-note', () => seen.push('always'));
    events.dispatch(note('1'));
    events.dispatch(note('2'));
    expect(seen).toEqual(['once', 'always', 'always']);
  });

  it('routes by slot: the page’s own run by default, one slot by name, every slot with "*"', () => {
    const events = new EngineEvents();
    const seen: string[] = [];
    const tag = (who: string) => (e: EngineEvent) => seen.push(`${who}:${e.slot ?? 'own'}`);
    events.on('run-note', tag('own'));
    events.on('run-note', tag('arm1'), { slot: 'compare-1' });
    events.on('run-note', tag('arms'), { slot: '*' });
    events.dispatch(note('x'));
    events.dispatch(note('x', 'compare-1'));
    events.dispatch(note('x', 'compare-2'));
    expect(seen).toEqual(['own:own', 'arm1:compare-1', 'arms:compare-1', 'arms:compare-2']);
  });

  it('transforms an event before any handler sees it, in the order they were added; removable', () => {
    const events = new EngineEvents();
    const seen: string[] = [];
    events.on('run-note', (e) => seen.push(e.message));
    const off = events.use((e) => (e.type === 'run-note' ? { ...e, message: e.message.replace('secret', '[key]') } : e));
    events.use((e) => (e.type === 'run-note' ? { ...e, message: `${e.message}!` } : e));
    events.dispatch(note('a secret'));
    off();
    events.dispatch(note('a secret'));
    expect(seen).toEqual(['a [key]!', 'a secret!']);
  });

  it('a handler that throws does not keep the event from the others; the error is still reported', async () => {
    const events = new EngineEvents();
    const seen: string[] = [];
    events.on('run-note', () => {
      throw new Error('panel failed');
    });
    events.on('run-note', (e) => seen.push(e.message));
    const reported: unknown[] = [];
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((f) => {
      try {
        f();
      } catch (err) {
        reported.push(err);
      }
    });
    try {
      events.dispatch(note('still here'));
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual(['still here']);
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toBe('panel failed');
  });
});
