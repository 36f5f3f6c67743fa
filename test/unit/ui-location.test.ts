// @vitest-environment jsdom
// The page's address in one table (src/ui/state/location.ts): its query keys and the run setup's
// hash keys (one per row of the settings table, secrets never from a link), which page an address
// opens, the links between pages, the setup written to and read from the hash, and a judge
// endpoint from a link waiting for the user's word.
import { afterEach, describe, expect, it } from 'vitest';
import { RUN_SETTINGS } from '../../src/rl/config';
import { LinkConfirmations, LOCATION_PROPS, pageHref, pageRoute, readSetup, writeSetup } from '../../src/ui/state/location';

afterEach(() => history.replaceState(null, '', '/'));

describe('LOCATION_PROPS', () => {
  it('lists every key of the address once: the query keys, then one hash key per run setting', () => {
    const keys = LOCATION_PROPS.map((p) => p.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(LOCATION_PROPS.filter((p) => p.where === 'query').map((p) => p.key)).toEqual(['replay', 'view']);
    expect(LOCATION_PROPS.filter((p) => p.where === 'hash').map((p) => p.key)).toEqual(RUN_SETTINGS.map((s) => s.key));
  });

  it('takes what a link may do from the settings table: secrets never, the endpoint after a confirmation', () => {
    for (const s of RUN_SETTINGS) {
      const p = LOCATION_PROPS.find((x) => x.key === s.key)!;
      expect(p.fromLink).toBe(s.secret === true ? 'never' : s.fromLink);
    }
    expect(LOCATION_PROPS.find((p) => p.key === 'judge-endpoint')!.fromLink).toBe('confirm');
  });

  it('parses each value with its row: a replay name is a folder name, never a path', () => {
    const replay = LOCATION_PROPS.find((p) => p.key === 'replay')!;
    expect(replay.parse('demo-run.1')).toEqual({ value: 'demo-run.1' });
    expect(replay.parse('../secret')).toHaveProperty('problem');
    const steps = LOCATION_PROPS.find((p) => p.key === 'steps')!;
    expect(steps.parse('12')).toEqual({ value: 12 });
    expect(steps.parse('twelve')).toHaveProperty('problem');
  });
});

describe('pageRoute', () => {
  it('opens the training page, the files page or a replay; a bad replay name is named', () => {
    expect(pageRoute('')).toEqual({ page: 'train' });
    expect(pageRoute('?view=files')).toEqual({ page: 'files' });
    expect(pageRoute('?view=nothing')).toEqual({ page: 'train' });
    expect(pageRoute('?replay=demo')).toEqual({ page: 'replay', name: 'demo', problem: null });
    expect(pageRoute('?replay=demo&view=files')).toMatchObject({ page: 'replay' });
    const bad = pageRoute('?replay=a/b');
    expect(bad).toMatchObject({ page: 'replay', name: 'a/b' });
    expect((bad as { problem: string }).problem).toMatch(/not the name of a recorded run/);
  });
});

describe('pageHref', () => {
  it('links the pages: only the table’s query keys, never the hash (a setup may hold an endpoint)', () => {
    const here = 'https://lab.example/app/?replay=old&other=1#preset=tiny&judge-endpoint=https%3A%2F%2Fx';
    expect(pageHref({}, here)).toBe('https://lab.example/app/');
    expect(pageHref({ view: 'files' }, here)).toBe('https://lab.example/app/?view=files');
    expect(pageHref({ replay: 'demo' }, here)).toBe('https://lab.example/app/?replay=demo');
  });
});

describe('the setup in the hash', () => {
  it('writes the setup without a history entry, and reads it back', () => {
    const before = history.length;
    history.replaceState(null, '', '/?view=x');
    writeSetup({ preset: 'tiny', steps: 3 });
    expect(location.hash).toBe('#preset=tiny&steps=3');
    expect(location.search).toBe('?view=x');
    expect(history.length).toBe(before);
    expect(readSetup().setup).toEqual({ preset: 'tiny', steps: 3 });
  });

  it('refuses a key (an API key) or any key not in the table', () => {
    expect(() => readSetup('#judge-api-key=sk-123')).toThrow(/judge-api-key/);
    expect(() => readSetup('#nope=1')).toThrow(/not a known setting/);
  });
});

describe('LinkConfirmations', () => {
  it('holds a link’s endpoint until the user confirms it or types another; a new link starts over', () => {
    const c = new LinkConfirmations();
    expect(c.unconfirmed('judge-endpoint', '')).toBe(false);
    c.fromLink(readSetup('#judge=openai&judge-endpoint=https%3A%2F%2Fjudge.example%2Fv1'));
    expect(c.waiting('judge-endpoint')).toBe('https://judge.example/v1');
    expect(c.unconfirmed('judge-endpoint', 'https://judge.example/v1')).toBe(true);
    // Another value in the input is the user's own.
    expect(c.unconfirmed('judge-endpoint', 'https://mine.example/v1')).toBe(false);
    c.settle('judge-endpoint');
    expect(c.unconfirmed('judge-endpoint', 'https://judge.example/v1')).toBe(false);
    c.fromLink(readSetup('#judge-endpoint=https%3A%2F%2Fjudge.example%2Fv1'));
    expect(c.waiting('judge-endpoint')).toBe('https://judge.example/v1');
    c.fromLink(readSetup('#preset=tiny'));
    expect(c.waiting('judge-endpoint')).toBeNull();
  });
});
