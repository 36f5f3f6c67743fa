/** Float64 references for shaders/elementwise.wgsl. */

export function addRef(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  if (a.length !== b.length) throw new Error(`addRef: lengths ${a.length} and ${b.length}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** y + alpha · x (a new array; y is left alone). */
export function axpyRef(alpha: number, x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  if (x.length !== y.length) throw new Error(`axpyRef: lengths ${x.length} and ${y.length}`);
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i] + alpha * x[i];
  return out;
}

export function fillRef(n: number, value: number): Float64Array {
  return new Float64Array(n).fill(value);
}

export function scaleRef(alpha: number, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = alpha * y[i];
  return out;
}
