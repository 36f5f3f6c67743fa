/** Tables of text. Every cell is set as text, never markup. */
import { el } from '../dom';

/** Rows of (name, value): the name a row header, the value its cell. */
export function keyValueTable(rows: readonly (readonly [string, string])[]): HTMLTableElement {
  return el('table', {}, ...rows.map(([k, v]) => el('tr', {}, el('th', { text: k, scope: 'row' }), el('td', { text: v }))));
}
