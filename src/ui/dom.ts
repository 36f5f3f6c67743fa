/** Tiny DOM helpers. Text always goes through textContent: model, dataset and judge text is untrusted. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; attrs?: Readonly<Record<string, string>> } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) node.appendChild(c);
  return node;
}

export function table(rows: Array<[string, string]>): HTMLTableElement {
  const t = el('table');
  for (const [k, v] of rows) t.appendChild(el('tr', {}, el('th', { text: k }), el('td', { text: v })));
  return t;
}
