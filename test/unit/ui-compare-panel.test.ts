// @vitest-environment jsdom
// The compare section of the run panel (src/ui/panels/compare-panel.ts) with a fake engine that answers
// each turn with the events a slot's run sends: the arms' turns alternate (start, then resume, each
// in its own slot), the compare charts overlay the arms while the page's own run view stays empty,
// the summary table has a row per arm, and an arm whose run fails is shown failed while the other
// reaches the target. The page test (test/e2e/compare.test.ts) runs it on the real engine.
import { afterEach, expect, it } from 'vitest';
import { preset } from '../../src/rl/config';
import type { PlotFactory } from '../../src/ui/views/charts';
import { runPanel } from '../../src/ui/panels/run-panel';
import type { EngineApi, EngineEvent, RunOptions, RunSummary } from '../../src/worker/api';

afterEach(() => {
  document.body.replaceChildren();
  history.replaceState(null, '', '/');
});

const plot: PlotFactory = () => ({ setData: () => {}, destroy: () => {} });
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** A fake engine: each startRun/resumeRun of a slot makes one RL step line (a resume sends the saved ones first) and ends paused. */
function fakeEngine(fail: (slot: string, turn: number) => boolean = () => false) {
  let listener: ((e: EngineEvent) => void) | null = null;
  const calls: string[] = [];
  const saved = new Map<string, object[]>();
  const turn = async (slot: string, start: boolean): Promise<RunSummary> => {
    const n = calls.filter((c) => c.endsWith(slot)).length;
    calls.push(`${start ? 'start' : 'resume'} ${slot}`);
    await tick();
    const send = (e: EngineEvent): void => listener!({ ...e, slot });
    send({ type: 'run-start', config: preset('tiny'), resumedAt: start ? null : { stage: 1, step: n, globalStep: n, baseEval: true, finished: false } });
    const lines = start ? [] : saved.get(slot)!;
    for (const line of lines) send({ type: 'run-metrics', line: line as never });
    if (fail(slot, n)) {
      send({ type: 'run-end', summary: null, error: 'out of GPU memory' });
      throw new Error('out of GPU memory');
    }
    const line = { step: lines.length + 1, stage: 1, method: 'x', reward_mean: 0.1 * (lines.length + 1) };
    saved.set(slot, [...lines, line]);
    send({ type: 'run-metrics', line: line as never });
    const summary: RunSummary = { status: 'paused', reason: 'paused after 1 step', steps: 1, judgeCalls: 0 };
    send({ type: 'run-end', summary });
    return summary;
  };
  const api: Partial<EngineApi> = {
    onEvent: (l) => void (listener = l),
    startRun: ((_c: unknown, _p: unknown, o: RunOptions) => turn(o.slot!, true)) as EngineApi['startRun'],
    resumeRun: ((o: RunOptions) => turn(o.slot!, false)) as EngineApi['resumeRun'],
    pauseRun: async () => {},
    stopRun: async (slot?: string) => void calls.push(`stop ${slot}`),
    savedRun: async () => null,
  };
  return { api: api as unknown as Parameters<typeof runPanel>[0], calls };
}

function open(engine: Parameters<typeof runPanel>[0]) {
  const panel = runPanel(engine, { loadPlot: async () => plot });
  document.body.replaceChildren(panel);
  const section = panel.querySelector<HTMLElement>('details.compare')!;
  const button = (text: string): HTMLButtonElement => [...section.querySelectorAll('button')].find((b) => b.textContent === text || b.getAttribute('aria-label') === text)!;
  const status = (): string => section.querySelector('.compare-status')!.textContent!;
  const until = async (re: RegExp): Promise<void> => {
    for (let i = 0; i < 200 && !re.test(status()); i++) await tick();
    expect(status()).toMatch(re);
  };
  return { panel, section, button, status, until };
}

it('arms take turns in their own slots; the compare charts overlay them and the summary has a row per arm; the page\'s own run shows none of it', async () => {
  const { api, calls } = fakeEngine();
  const { panel, section, button, until } = open(api);
  button('Remove arm 3').click();
  const steps = section.querySelector<HTMLInputElement>('#compare-steps')!;
  steps.value = '2';
  button('Compare').click();
  await until(/^done/);
  expect(calls).toEqual(['start compare-1', 'start compare-2', 'resume compare-1', 'resume compare-2']);
  await tick();
  const reward = section.querySelector<HTMLElement>('figure[data-metric~="reward_mean"]')!;
  expect([reward.dataset.series, reward.dataset.points]).toEqual(['2', '2']);
  const rows = [...section.querySelectorAll('.compare-summary tbody tr')];
  expect(rows.map((r) => [r.querySelector('th')!.textContent, r.getAttribute('data-steps')])).toEqual([
    ['sparse-grpo', '2'],
    ['exprl-outcome', '2'],
  ]);
  // The run panel's own figures come first and saw no event of an arm.
  expect(panel.querySelector<HTMLElement>('figure[data-metric~="reward_mean"]')!.dataset.series).toBe('0');
  expect(panel.querySelector('.run-steps')!.getAttribute('data-steps')).toBe('0');
  button('Stop all').click();
  await until(/^stopped/);
  expect(calls.slice(4)).toEqual(['stop compare-1', 'stop compare-2']);
});

it('an arm whose run fails is shown failed with its error; the other arm goes on to the target', async () => {
  const { api, calls } = fakeEngine((slot, turn) => slot === 'compare-2' && turn === 1);
  const { section, button, until } = open(api);
  button('Hacking lesson').click();
  const steps = section.querySelector<HTMLInputElement>('#compare-steps')!;
  steps.value = '3';
  button('Compare').click();
  await until(/^done/);
  expect(calls).toEqual(['start compare-1', 'start compare-2', 'resume compare-1', 'resume compare-2', 'resume compare-1']);
  await tick();
  const rows = [...section.querySelectorAll('.compare-summary tbody tr')];
  expect(rows.map((r) => [r.querySelector('th')!.textContent, r.getAttribute('data-status'), r.getAttribute('data-steps')])).toEqual([
    ['exprl-process', 'ready', '3'],
    ['exprl-process (unguarded)', 'failed', '1'],
  ]);
  expect(rows[1].querySelector('.arm-state')!.textContent).toBe('failed: out of GPU memory');
});
