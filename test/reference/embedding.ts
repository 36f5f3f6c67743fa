/** Float64 reference for shaders/embedding.wgsl: row lookup and its scatter-add gradient. */

/** out[r] = table[ids[r]]; a row whose id is ≥ vocab is zeros (the kernel's defined behaviour). */
export function embeddingForwardRef(ids: ArrayLike<number>, table: ArrayLike<number>, vocab: number, dim: number): Float64Array {
  const out = new Float64Array(ids.length * dim);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id >= vocab) continue;
    for (let d = 0; d < dim; d++) out[r * dim + d] = table[id * dim + d];
  }
  return out;
}

/** dTable = dTable0 + Σ_{r: ids[r] = v} dOut[r] for each row v (dTable0 defaults to zeros). */
export function embeddingBackwardRef(
  ids: ArrayLike<number>,
  dOut: ArrayLike<number>,
  vocab: number,
  dim: number,
  dTable0?: ArrayLike<number>,
): Float64Array {
  const dTable = new Float64Array(vocab * dim);
  if (dTable0 !== undefined) for (let i = 0; i < dTable.length; i++) dTable[i] = dTable0[i];
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id >= vocab) throw new Error(`embeddingBackwardRef: ids[${r}] = ${id} is not below the vocabulary size ${vocab}`);
    for (let d = 0; d < dim; d++) dTable[id * dim + d] += dOut[r * dim + d];
  }
  return dTable;
}
