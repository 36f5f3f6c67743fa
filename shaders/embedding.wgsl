// Token embedding: forward row lookup and a deterministic scatter-add gradient without atomics.
//
// Bindings (group 0), per entry point:
//   embedding_forward   0  ids      storage, read        u32[R]      token id per row (row = b·T + t)
//                       1  table    storage, read        f32[V, D]   row-major
//                       2  out      storage, read_write  f32[R, D]   out[r] = table[ids[r]]
//                       3  params   uniform              Params (count = R)
//   embedding_backward  0  uniq     storage, read        u32[U]      distinct ids, ascending
//                       1  offsets  storage, read        u32[U + 1]  rows of uniq[u] are
//                       2  rows     storage, read        u32[R]        rows[offsets[u] .. offsets[u+1]), ascending
//                       3  dout     storage, read        f32[R, D]   upstream gradient
//                       4  dtable   storage, read_write  f32[V, D]   dtable[uniq[u]] += Σ dout[rows]
//                       5  params   uniform              Params (count = U)
// (uniq, offsets, rows) is a CSR grouping of the batch's rows by token id, built on the CPU by
// buildEmbeddingCsr in src/gpu/ops/embedding.ts. Binding numbers 2 and 3 mean different
// resources in the two entry points; each has its own layout.
// Params: count (R or U), dim (D), vocab (V). Overrides: WG (threads per workgroup).
//
// Out-of-range ids: a forward row whose id is ≥ V is written as zeros and nothing is read for
// it; a backward group whose id is ≥ V is skipped (no write). The wrapper rejects such ids
// whenever it has them on the host, so neither case happens in a checked run.
//
// Dispatch (both): one thread per output element (count · D of them), ceil(count·D / WG)
// workgroups as a 2-D grid (gx ≤ 65535, grid2d in src/gpu/grid.ts); element =
// (wid.y · gx + wid.x) · WG + lid.x, split into (row or group, d) with d fastest, so adjacent
// threads touch adjacent addresses. The backward sums each group's rows in ascending order: the
// result is bit-for-bit repeatable, and every (id, d) has exactly one writer, so no atomics.

struct Params {
  count: u32,
  dim: u32,
  vocab: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> fwd_p: Params;

@group(0) @binding(0) var<storage, read> uniq: array<u32>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(5) var<uniform> bwd_p: Params;

@compute @workgroup_size(WG, 1, 1)
fn embedding_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  let dim = fwd_p.dim;
  if (i >= fwd_p.count * dim) { return; }
  let r = i / dim;
  let d = i - r * dim;
  let id = ids[r];
  var v = 0.0;
  // The branch (not select) keeps an out-of-range id from forming an address at all.
  if (id < fwd_p.vocab) { v = table[id * dim + d]; }
  out[i] = v;
}

@compute @workgroup_size(WG, 1, 1)
fn embedding_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  let dim = bwd_p.dim;
  if (i >= bwd_p.count * dim) { return; }
  let u = i / dim;
  let d = i - u * dim;
  let id = uniq[u];
  if (id >= bwd_p.vocab) { return; }
  var s = 0.0;
  for (var k = offsets[u]; k < offsets[u + 1u]; k++) {
    s += dout[rows[k] * dim + d];
  }
  let t = id * dim + d;
  dtable[t] = dtable[t] + s;
}
