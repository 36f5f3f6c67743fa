// @vitest-environment jsdom
// The DOM helper (src/ui/dom.ts): an input in one line, its visible label, text never parsed as markup.
import { describe, expect, it } from 'vitest';
import { el, field } from '../../src/ui/dom';

describe('el', () => {
  it('sets properties and attributes: bounds before the value, a select’s value after its options', () => {
    const range = el('input', { type: 'range', min: 0, max: 10, value: '7', id: 'r' });
    expect(range.type).toBe('range');
    expect(range.value).toBe('7'); // not clamped to the default max of a range set later
    const select = el('select', { value: 'b' }, el('option', { text: 'a' }), el('option', { text: 'b' }));
    expect(select.value).toBe('b');
    const box = el('input', { type: 'checkbox', checked: true, disabled: true });
    expect(box.checked && box.disabled).toBe(true);
    const status = el('p', { className: 'status', live: 'polite', attrs: { 'data-x': '1' } });
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(status.dataset.x).toBe('1');
    expect(el('textarea', { rows: 4, spellcheck: false }).rows).toBe(4);
  });

  it('puts text in as text, strings among the children too', () => {
    const hostile = '<img src=x onerror="window.__pwned = 1">';
    const p = el('p', { text: hostile });
    expect(p.textContent).toBe(hostile);
    expect(p.querySelector('img')).toBeNull();
    const q = el('p', {}, hostile, el('b', { text: 'x' }));
    expect(q.querySelector('img')).toBeNull();
    expect(q.textContent).toBe(`${hostile}x`);
  });
});

describe('field', () => {
  it('gives a control a visible label element (its accessible name); a checkbox’s label follows it', () => {
    const seed = el('input', { type: 'number' });
    const f = field('seed', seed);
    document.body.append(f);
    expect(seed.id).not.toBe('');
    expect([...seed.labels!].map((l) => l.textContent)).toEqual(['seed']);
    const box = el('input', { type: 'checkbox', id: 'keep' });
    const g = field('remember', box, { className: 'remember' });
    document.body.append(g);
    expect(g.className).toBe('remember');
    expect(g.firstElementChild).toBe(box);
    expect(box.labels![0].htmlFor).toBe('keep');
  });
});
