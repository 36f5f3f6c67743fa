// RMSNorm as in Hugging Face Llama, over rows of D: y = w ⊙ x · rstd, rstd = 1/sqrt(mean(x²) + eps).
// Activations are [R, D] row-major, row = b·T + t.
//
// Bindings (group 0), per entry point:
//   rmsnorm_forward          0  x       storage, read        f32[R, D]
//                            1  w       storage, read        f32[D]
//                            2  y       storage, read_write  f32[R, D]
//                            3  rstd    storage, read_write  f32[R]     saved for the backward
//                            4  params  uniform              Params
//   rmsnorm_backward         0  x       storage, read        f32[R, D]
//                            1  w       storage, read        f32[D]
//                            2  rstd    storage, read        f32[R]     from rmsnorm_forward
//                            3  dy      storage, read        f32[R, D]
//                            4  dx      storage, read_write  f32[R, D]
//                            5  params  uniform              Params
//   rmsnorm_backward_weight  0  x       storage, read        f32[R, D]
//                            1  rstd    storage, read        f32[R]
//                            2  dy      storage, read        f32[R, D]
//                            3  dw      storage, read_write  f32[D]
//                            4  params  uniform              Params
// Entry points give the same binding number different resources; each has its own layout.
// Params: rows (R), dim (D), eps (forward only).
// Overrides (pipeline cache key):
//   TPR         forward and backward: threads per row, a power of two in [1, 64] (default 1)
//   ACCUMULATE  backward: dx += …, weight: dw += … (residual stream, micro-batch accumulation)
//
// Dispatch:
//   rmsnorm_forward, rmsnorm_backward: workgroups of 64 threads, each covering 64 / TPR rows with
//     TPR adjacent threads per row; ceil(R · TPR / 64) workgroups as a 2-D grid (gx ≤ 65535,
//     grid2d in src/gpu/grid.ts); row = (wid.y · gx + wid.x) · (64 / TPR) + lid / TPR.
//     A row's threads stride over its columns and combine their partial sums in a fixed-shape
//     tree in workgroup memory, so results are bit-for-bit repeatable. TPR = 1 needs no barrier
//     at all (fast on CPU adapters such as SwiftShader, where barriers cost dearly); TPR = 32 or
//     64 reads rows coalesced (fast on GPUs). The wrapper's default is set by measurement.
//   rmsnorm_backward_weight: workgroups of COLS × LANES = 32 × 8 threads, ceil(D / 32) of them.
//     Each workgroup owns 32 adjacent columns (adjacent threads read adjacent addresses); lane
//     l sums rows l, l + 8, l + 16, … in order (in blocks of 256 of its rows, for accuracy),
//     then lane 0 adds the 8 partials in lane order.
//     The order is fixed by R and D alone: deterministic, no atomics.

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
}

override TPR: u32 = 1u;
override ACCUMULATE: bool = false;
const WG: u32 = 64u;
override ROWS_PER_WG: u32 = WG / TPR;

@group(0) @binding(0) var<storage, read> x: array<f32>;

@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd_out: array<f32>;
@group(0) @binding(4) var<uniform> fwd_p: Params;

@group(0) @binding(2) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> bwd_p: Params;

@group(0) @binding(1) var<storage, read> wt_rstd: array<f32>;
@group(0) @binding(2) var<storage, read> wt_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<uniform> wt_p: Params;

var<workgroup> partial: array<f32, 64>;

fn row_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * ROWS_PER_WG + lid / TPR;
}

// Sum of v over the TPR threads of this thread's row (threads lid − lane … lid − lane + TPR − 1),
// returned to each of them. Must be reached by the whole workgroup (uniform control flow, so no
// early return for rows past the end before it), at most once per invocation.
fn row_sum(lid: u32, v: f32) -> f32 {
  if (TPR == 1u) { return v; }
  let lane = lid % TPR;
  partial[lid] = v;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { partial[lid] = partial[lid] + partial[lid + s]; }
    workgroupBarrier();
  }
  return partial[lid - lane];
}

@compute @workgroup_size(64, 1, 1)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = row_of(wid, nwg, lid.x);
  let lane = lid.x % TPR;
  let valid = row < fwd_p.rows;
  let dim = fwd_p.dim;
  let base = row * dim;
  var ss = 0.0;
  if (valid) {
    for (var d = lane; d < dim; d += TPR) {
      let v = x[base + d];
      ss = fma(v, v, ss);
    }
  }
  let total = row_sum(lid.x, ss);
  if (!valid) { return; }
  let r = inverseSqrt(total / f32(dim) + fwd_p.eps);
  if (lane == 0u) { rstd_out[row] = r; }
  for (var d = lane; d < dim; d += TPR) {
    y[base + d] = w[d] * (x[base + d] * r);
  }
}

@compute @workgroup_size(64, 1, 1)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = row_of(wid, nwg, lid.x);
  let lane = lid.x % TPR;
  let valid = row < bwd_p.rows;
  let dim = bwd_p.dim;
  let base = row * dim;
  var acc = 0.0;
  if (valid) {
    for (var d = lane; d < dim; d += TPR) {
      acc = fma(w[d] * dy[base + d], x[base + d], acc);
    }
  }
  let total = row_sum(lid.x, acc);
  if (!valid) { return; }
  let r = rstd_in[row];
  // dx_j = r · (w_j·dy_j − x_j · r² · mean(w⊙dy⊙x)): the second term is the gradient through rstd.
  let c = r * r * total / f32(dim);
  for (var d = lane; d < dim; d += TPR) {
    let i = base + d;
    let g = r * (w[d] * dy[i] - x[i] * c);
    if (ACCUMULATE) { dx[i] = dx[i] + g; } else { dx[i] = g; }
  }
}

const COLS: u32 = 32u;
const LANES: u32 = 8u;
const BLOCK: u32 = 256u;
var<workgroup> lane_sums: array<array<f32, 32>, 8>;  // [lane][column in block]

@compute @workgroup_size(32, 8, 1)
fn rmsnorm_backward_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let dim = wt_p.dim;
  let col = wid.x * COLS + lid.x;
  // Two-level sum: each block of BLOCK rows per lane is summed on its own and then added to the
  // total, so float32 error grows like sqrt(BLOCK) + sqrt(R / (LANES·BLOCK)) instead of sqrt(R / LANES).
  var acc = 0.0;
  if (col < dim) {
    var r = lid.y;
    while (r < wt_p.rows) {
      let end = min(wt_p.rows, r + LANES * BLOCK);
      var block = 0.0;
      for (; r < end; r += LANES) {
        let i = r * dim + col;
        block = fma(wt_dy[i], x[i] * wt_rstd[r], block);
      }
      acc += block;
    }
  }
  lane_sums[lid.y][lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && col < dim) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) { s += lane_sums[l][lid.x]; }
    if (ACCUMULATE) { dw[col] = dw[col] + s; } else { dw[col] = s; }
  }
}
