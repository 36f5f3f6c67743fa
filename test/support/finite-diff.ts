/**
 * Central finite differences in float64, to check the reference backward passes.
 * For an op y = f(x) and an upstream gradient dy, the scalar L(x) = Σ dy·f(x) has gradient
 * dL/dx = the op's backward applied to dy; we compare that against (L(x+h) − L(x−h)) / 2h.
 */

export function numericalGradient(loss: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const keep = xp[i];
    xp[i] = keep + h;
    const up = loss(xp);
    xp[i] = keep - h;
    const down = loss(xp);
    xp[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot of lengths ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Seeded float64 normals for the float64 checks. */
export function randn64(n: number, rand: () => number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return out;
}
