/**
 * The rollout browser: every RL step's rollouts (../state/rollouts-state.ts keeps them), a step slider, a
 * prompt and an outcome filter, and a list that puts only the prompts near the viewport in the
 * DOM, so a run of many steps and large batches stays smooth. Each prompt shows its question and
 * its hidden reference (with how many rollouts reached each checkpoint) and marks a group with no
 * reward spread and a prompt that became solvable. A segment is focusable; focus or a click shows
 * its score, value and the judge's reason as text beside the list. Every text the model, the task
 * set or the judge produced is set as text, never as markup.
 */
import type { RolloutBatchView, RolloutView } from '../../worker/api';
import { el } from '../dom';
import {
  addStep,
  createStore,
  filterRows,
  fmtScore,
  groupSpread,
  listWindow,
  OUTCOMES,
  reachCounts,
  segmentDetail,
  stepIndex,
  unlockState,
  type GroupRow,
  type Outcome,
  type StepStore,
} from '../state/rollouts-state';

/** Background of a segment: red (0) through yellow to green (1); masked segments are grey. */
export function scoreColour(score: number | null): string {
  if (score === null) return '#d9dbe3';
  const s = Math.min(1, Math.max(0, score));
  return `hsl(${Math.round(120 * s)}, 70%, 84%)`;
}

/** Height assumed for a prompt's block until it has been drawn and measured. */
const ESTIMATE_PX = 240;
/** Viewport assumed where the page has no layout (a DOM without one, a hidden panel). */
const FALLBACK_VIEWPORT_PX = 800;
const OUTCOME_LABELS: Record<Outcome, string> = { all: 'all', correct: 'correct', wrong: 'wrong', cut: 'cut at max length', masked: 'masked' };

export interface RolloutsBrowser {
  element: HTMLElement;
  /** A step's rollouts, as the engine sends them. */
  add(batch: RolloutBatchView): void;
  /** Forgets every step (a new run). */
  clear(): void;
}

const nextFrame = (f: () => void): void => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(f);
  else setTimeout(f, 16);
};

function rolloutItem(b: RolloutBatchView, r: RolloutView, index: number): HTMLElement {
  const p = b.prompts[r.group];
  const reached = p.checkpoints.filter((_, k) => r.reached[k] === true);
  const flags = [r.correct ? 'correct' : 'wrong', r.cut ? 'cut at max length' : '', r.masked ? `masked: ${r.judgeError ?? 'no usable score'}` : ''].filter((x) => x !== '');
  const reach = p.checkpoints.length === 0 ? '' : ` · reached ${reached.length} of ${p.checkpoints.length} checkpoints${reached.length > 0 ? `: ${reached.join(', ')}` : ''}`;
  const trace = el('div', { className: 'trace' });
  r.segments.forEach((seg, k) => {
    const attrs = { tabindex: '0', 'data-score': seg.score === null ? '' : String(seg.score), 'data-advantage': String(seg.advantage), 'data-rollout': String(index), 'data-segment': String(k) };
    const span = el('span', { className: 'segment', text: seg.text, attrs });
    span.style.backgroundColor = scoreColour(seg.score);
    // The score as text too: colour is never the only channel.
    trace.append(span, el('sub', { className: 'segment-score', text: fmtScore(seg.score) }));
  });
  if (r.segments.length === 0) trace.appendChild(el('em', { text: '(empty response)' }));
  const head = el('div', { className: 'rollout-head', text: `reward ${r.reward === null ? 'none' : fmtScore(r.reward)} · ${flags.join(' · ')}${reach}` });
  return el('li', { className: r.masked ? 'rollout masked' : 'rollout', attrs: { 'data-rollout': String(index) } }, head, trace);
}

function groupElement(store: StepStore, b: RolloutBatchView, row: GroupRow): HTMLElement {
  const p = b.prompts[row.group];
  const total = b.rollouts.filter((r) => r.group === row.group).length;
  const counts = reachCounts(b, row.group);
  const reference =
    p.steps.length === 0
      ? el('pre', { text: p.reference })
      : el(
          'ol',
          { className: 'reference-steps' },
          ...p.steps.map((s, k) =>
            el('li', { attrs: { 'data-checkpoint': String(k) } }, el('span', { text: s }), el('span', { className: 'reach', text: k < counts.length ? ` · reached by ${counts[k]} of ${total}` : '' }), el('span', { className: 'focus-reach' })),
          ),
        );
  const marks: HTMLElement[] = [];
  const spread = groupSpread(b, row.group);
  if (spread.zero) {
    const still = spread.valuesZero ? '' : " This method's segment values are not all 0: it still learns here.";
    const which = spread.scored === 1 ? `the one scored rollout got ${fmtScore(spread.reward)}` : `all ${spread.scored} scored rollouts got ${fmtScore(spread.reward)}`;
    const text = `No reward spread: ${which}, so group-normalised advantages are 0 and sparse GRPO gets no gradient from this prompt.${still}`;
    marks.push(el('p', { className: 'mark zero-spread', text }));
  }
  const unlock = unlockState(store, p.id, b.step);
  if (unlock.kind === 'new') marks.push(el('p', { className: 'mark unlocked', text: 'Became solvable at this step: its first correct rollout.' }));
  else if (unlock.kind === 'before') marks.push(el('p', { className: 'mark unlocked', text: `Solvable since step ${unlock.step}.` }));
  return el(
    'div',
    { className: 'group', attrs: { 'data-group': String(row.group), 'data-zero-spread': String(spread.zero), 'data-unlocked': unlock.kind } },
    el('div', { className: 'reference' }, el('h4', { text: `Question (${p.id})` }), el('pre', { text: p.question }), el('h4', { text: 'Reference (hidden from the policy)' }), reference, ...marks),
    el('ol', { className: 'rollouts' }, ...row.rollouts.map((i) => rolloutItem(b, b.rollouts[i], i))),
  );
}

/** `idPrefix` goes before its element ids, so a second browser on the page (an arm of a comparison) has ids of its own. */
export function rolloutsBrowser(options: { budgetChars?: number; idPrefix?: string } = {}): RolloutsBrowser {
  let store = createStore(options.budgetChars);
  const id = (name: string): string => `${options.idPrefix ?? ''}${name}`;
  /** The step on screen by number; null follows the latest. */
  let selected: number | null = null;
  let shown: RolloutBatchView | null = null;
  let rows: GroupRow[] = [];
  /** Per row of `rows`: its element once built, and its measured height. */
  let built = new Map<number, HTMLElement>();
  let heights = new Map<number, number>();

  const slider = el('input', { type: 'range', id: id('rollout-step'), min: 0, max: 0, value: '0' });
  const stepLabel = el('output', { className: 'rollout-step-label', attrs: { for: id('rollout-step') } });
  const promptInput = el('input', { type: 'search', id: id('rollout-prompt'), placeholder: 'id or question text' });
  const outcomeSel = el('select', { id: id('rollout-outcome') }, ...OUTCOMES.map((o) => el('option', { text: OUTCOME_LABELS[o], value: o })));
  const title = el('h3');
  const count = el('p', { className: 'rollout-count', live: 'polite' });
  const hint = 'Focus or click a segment to see its score, value and the judge’s reason.';
  const detailWhere = el('div', { className: 'detail-where', text: hint });
  const detailScore = el('div', { className: 'detail-score' });
  const detailValue = el('div', { className: 'detail-value' });
  const detailReason = el('div', { className: 'detail-reason' });
  const detail = el('div', { className: 'segment-detail', live: 'polite' }, detailWhere, detailScore, detailValue, detailReason);
  const topPad = el('div');
  const body = el('div', { className: 'rollout-rows' });
  const bottomPad = el('div');
  const scroller = el('div', { className: 'rollout-scroll' }, topPad, body, bottomPad);
  const controls = el(
    'div',
    { className: 'row rollout-controls' },
    el('label', { text: 'step', attrs: { for: id('rollout-step') } }),
    slider,
    stepLabel,
    el('label', { text: 'prompt', attrs: { for: id('rollout-prompt') } }),
    promptInput,
    el('label', { text: 'outcome', attrs: { for: id('rollout-outcome') } }),
    outcomeSel,
  );
  const element = el('section', { className: 'rollout-browser', hidden: true }, title, controls, count, detail, scroller);

  const resetDetail = (): void => {
    detailWhere.textContent = hint;
    for (const d of [detailScore, detailValue, detailReason]) d.textContent = '';
  };

  /** Puts the rows in the window into the DOM; rows that stay are not moved, so focus stays on them. */
  const drawWindow = (): void => {
    if (shown === null) return;
    const b = shown;
    const hs = rows.map((_, i) => heights.get(i) ?? ESTIMATE_PX);
    const w = listWindow(hs, scroller.scrollTop, scroller.clientHeight || FALLBACK_VIEWPORT_PX);
    topPad.style.height = `${w.top}px`;
    bottomPad.style.height = `${w.bottom}px`;
    const want: HTMLElement[] = [];
    for (let i = w.start; i < w.end; i++) {
      let node = built.get(i);
      if (node === undefined) built.set(i, (node = groupElement(store, b, rows[i])));
      want.push(node);
    }
    for (const c of [...body.children]) if (!want.includes(c as HTMLElement)) c.remove();
    let prev: Element | null = null;
    for (const node of want) {
      const at: Element | null = prev === null ? body.firstElementChild : prev.nextElementSibling;
      if (at !== node) body.insertBefore(node, at);
      prev = node;
    }
    let changed = false;
    want.forEach((node, j) => {
      const h = node.getBoundingClientRect().height;
      if (h > 0 && Math.abs(h - hs[w.start + j]) > 1) {
        heights.set(w.start + j, h);
        changed = true;
      }
    });
    if (changed) schedule(); // once more with the measured heights; stable after that
  };
  let pending = false;
  const schedule = (): void => {
    if (pending) return;
    pending = true;
    nextFrame(() => {
      pending = false;
      drawWindow();
    });
  };

  const render = (): void => {
    const i = stepIndex(store, selected);
    element.hidden = i < 0;
    if (i < 0) return;
    const b = store.steps[i];
    slider.max = String(store.steps.length - 1);
    slider.value = String(i);
    slider.setAttribute('aria-valuetext', `stage ${b.stage}, step ${b.step}`);
    const thinned = store.received > store.steps.length ? `; ${store.received} received, older ones thinned to save memory` : '';
    const held = selected === null ? 'following new steps' : 'held: move the slider to the end to follow new steps';
    stepLabel.textContent = `stage ${b.stage}, step ${b.step} (${i + 1} of ${store.steps.length} kept${thinned}); ${held}`;
    if (b === shown) return drawWindow();
    shown = b;
    rows = filterRows(b, { prompt: promptInput.value, outcome: outcomeSel.value as Outcome });
    built = new Map();
    heights = new Map();
    body.replaceChildren();
    scroller.scrollTop = 0;
    title.textContent = `Stage ${b.stage}, step ${b.step}: ${b.method} rollouts`;
    const n = rows.reduce((a, r) => a + r.rollouts.length, 0);
    count.textContent = `${n} of ${b.rollouts.length} rollouts shown, ${rows.length} of ${b.prompts.length} prompts`;
    resetDetail();
    drawWindow();
  };
  /** The filter changed: the same step, other rows. */
  const refilter = (): void => {
    shown = null;
    render();
  };

  const showSegment = (span: HTMLElement): void => {
    const b = shown;
    if (b === null) return;
    const r = b.rollouts[Number(span.dataset.rollout)];
    const k = Number(span.dataset.segment);
    if (r === undefined || r.segments[k] === undefined) return;
    // Looking at a segment holds its step: a new step arriving does not replace it.
    if (selected === null) {
      selected = b.step;
      render();
    }
    const d = segmentDetail(r, k);
    const p = b.prompts[r.group];
    detailWhere.textContent = `prompt ${p.id}, rollout ${Number(span.dataset.rollout) + 1}, segment ${k + 1} of ${r.segments.length}`;
    detailScore.textContent = d.score;
    detailValue.textContent = d.value;
    detailReason.textContent = d.reason;
    // The reference of this prompt shows which checkpoints the rollout reached.
    const group = span.closest('.group');
    group?.querySelectorAll<HTMLElement>('.reference-steps li').forEach((li) => {
      const hit = r.reached[Number(li.dataset.checkpoint)] === true;
      li.classList.toggle('focus-reached', hit);
      const mark = li.querySelector('.focus-reach');
      if (mark !== null) mark.textContent = hit ? ' · ✓ reached by the focused rollout' : '';
    });
  };
  const segmentOf = (e: Event): HTMLElement | null => (e.target instanceof Element ? e.target.closest<HTMLElement>('.segment') : null);
  scroller.addEventListener('focusin', (e) => {
    const s = segmentOf(e);
    if (s !== null) showSegment(s);
  });
  scroller.addEventListener('click', (e) => {
    const s = segmentOf(e);
    if (s !== null) showSegment(s);
  });
  scroller.addEventListener('scroll', schedule);
  slider.addEventListener('input', () => {
    const i = Number(slider.value);
    selected = i >= store.steps.length - 1 ? null : store.steps[i].step;
    render();
  });
  promptInput.addEventListener('input', refilter);
  outcomeSel.addEventListener('input', refilter);

  return {
    element,
    add(batch) {
      addStep(store, batch);
      render();
    },
    clear() {
      store = createStore(options.budgetChars);
      selected = null;
      shown = null;
      rows = [];
      built = new Map();
      heights = new Map();
      body.replaceChildren();
      resetDetail();
      render();
    },
  };
}
