/**
 * Tiny DOM helpers. Text always goes through textContent: model, dataset and judge text is
 * untrusted, so nothing here takes markup.
 *
 *   el('input', { type: 'number', min: 1, value: '5' })       an input in one line
 *   field('steps per arm', input)                              with its visible <label>
 *   el('p', { className: 'status', live: 'polite' })           a status line screen readers announce
 */

/**
 * The element properties el() sets, in this order, where the element has them: the type and the
 * bounds before the value (a range input clamps a value to its bounds), and all of them after the
 * children, so a select's value picks one of its options.
 */
const PROPS = [
  'id',
  'type',
  'name',
  'min',
  'max',
  'step',
  'multiple',
  'accept',
  'webkitdirectory',
  'placeholder',
  'title',
  'autocomplete',
  'spellcheck',
  'rows',
  'htmlFor',
  'href',
  'download',
  'scope',
  'tabIndex',
  'hidden',
  'disabled',
  'checked',
  'value',
] as const;

type Same<X, Y, A, B> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? A : B;
/** The keys of T that can be assigned (a select's `type` cannot). */
type WritableKeys<T> = { [P in keyof T]-?: Same<{ [Q in P]: T[P] }, { -readonly [Q in P]: T[P] }, P, never> }[keyof T];
type Tag = keyof HTMLElementTagNameMap;
type PropsOf<K extends Tag> = Extract<(typeof PROPS)[number], WritableKeys<HTMLElementTagNameMap[K]>>;

export type ElProps<K extends Tag> = {
  className?: string;
  /** The element's text (textContent, never markup). */
  text?: string;
  /** Attributes (aria-*, data-*, anything without a property here). */
  attrs?: Readonly<Record<string, string>>;
  /** aria-live: the element is a status line whose changes are announced. */
  live?: 'polite' | 'assertive';
} & {
  // Numbers are accepted where the property is a string (min, max, step): written as their text.
  [P in PropsOf<K>]?: HTMLElementTagNameMap[K][P] extends string ? string | number : HTMLElementTagNameMap[K][P];
};

export function el<K extends Tag>(tag: K, props: ElProps<K> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  if (props.live !== undefined) node.setAttribute('aria-live', props.live);
  // Strings become text nodes (append never parses them).
  node.append(...children);
  const given = props as Readonly<Record<string, unknown>>;
  const target = node as unknown as Record<string, unknown>;
  for (const key of PROPS) {
    const v = given[key];
    if (v === undefined) continue;
    target[key] = typeof v === 'number' && typeof target[key] === 'string' ? String(v) : v;
  }
  return node;
}

/** Numbers the ids field() gives controls that have none. */
let fields = 0;

export type FormControl = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/**
 * A control with its visible label: `<span class="field"><label for=ID>text</label> control</span>`
 * (a checkbox's label after it). The label is the control's accessible name; a control without
 * an id gets one.
 */
export function field(label: string, control: FormControl, options: { className?: string } = {}): HTMLSpanElement {
  if (control.id === '') control.id = `field-${++fields}`;
  const text = el('label', { text: label, htmlFor: control.id });
  const after = control instanceof HTMLInputElement && (control.type === 'checkbox' || control.type === 'radio');
  return el('span', { className: options.className ?? 'field' }, ...(after ? [control, ' ', text] : [text, ' ', control]));
}
