// Softmax over the last axis of a row-major [rows, cols] tensor, forward and backward.
//
// Bindings (group 0), softmax_forward:
//   0  x       storage, read        [rows, cols] row-major, finite values
//   1  y       storage, read_write  [rows, cols] row-major: y = softmax(x) per row
//   2  params  uniform              Params below
// Bindings (group 0), softmax_backward:
//   0  y       storage, read        [rows, cols] the forward output
//   1  dy      storage, read        [rows, cols] upstream gradient
//   2  dx      storage, read_write  [rows, cols]: dx = y ⊙ (dy − Σ_row dy⊙y)
//   3  params  uniform              Params below
// Params: rows, cols.
// Overrides: WG (threads per workgroup, a power of two from 1 to 256: the wrapper takes the next
//   power of two of cols, capped by the device's measured row width (src/gpu/grid.ts): 256 when
//   wide, 4 when narrow, which CPU adapters choose because barriers across SIMD groups cost dearly).
//
// Entry points (one workgroup per row; rows may exceed 65535, so the row index is linearised
// from a 2-D grid: row = wid.y · num_workgroups.x + wid.x, and workgroups past the last row exit):
//   softmax_forward   one pass keeps a running (max, Σ exp(x − max)) per thread, rescaling the sum
//                     when the max grows (summed in blocks of BLOCK elements); a tree reduction merges the pairs; a second pass writes
//                     exp(x − max) / sum. Dispatch grid2d(rows) (src/gpu/grid.ts): 2-D past 65535.
//   softmax_backward  a tree reduction of Σ dy⊙y, then a second pass writes dx.
//                     Dispatch as softmax_forward.
// Threads stride through the row (thread t reads t, t + WG, ...) so neighbouring threads read
// neighbouring words.

struct Params {
  rows: u32,
  cols: u32,
}

override WG: u32 = 256u;

// Each thread sums its elements in blocks of BLOCK and adds the block sums to its total: with few
// threads per row (4 on CPU adapters) a thread may own ~12k elements of a vocabulary row, and one
// long running sum lost ~1e-5 relative accuracy where two levels keep ~1e-7.
const BLOCK: u32 = 32u;

// Stands for "no element yet": exp(LOWEST − m) is 0 for any finite m, and merging two empty
// partials compares equal maxima, which keeps the sum at 0 instead of exp(−inf + inf) = NaN.
const LOWEST: f32 = -3.4028234663852886e38;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(2) var<uniform> pf: Params;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> pb: Params;

var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

fn row_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Σ exp(v − m) rescaled from the partial's own max `mi` to the merged max `m` (m >= mi).
fn rescale(s: f32, mi: f32, m: f32) -> f32 {
  return select(s * exp(mi - m), s, mi == m);
}

@compute @workgroup_size(WG, 1, 1)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  if (row >= pf.rows) { return; }
  let cols = pf.cols;
  let base = row * cols;
  var m = LOWEST;
  var s = 0.0;
  for (var j0 = lid; j0 < cols; j0 += WG * BLOCK) {
    let j_end = min(j0 + WG * BLOCK, cols);
    var block = 0.0;
    for (var j = j0; j < j_end; j += WG) {
      let v = src[base + j];
      if (v > m) {
        s = (s + block) * exp(m - v);
        block = 1.0;
        m = v;
      } else {
        block += exp(v - m);
      }
    }
    s += block;
  }
  red_max[lid] = m;
  red_sum[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      let m1 = red_max[lid];
      let m2 = red_max[lid + half];
      let mm = max(m1, m2);
      red_sum[lid] = rescale(red_sum[lid], m1, mm) + rescale(red_sum[lid + half], m2, mm);
      red_max[lid] = mm;
    }
    workgroupBarrier();
  }
  let row_max = red_max[0];
  let row_sum = red_sum[0];
  for (var j = lid; j < cols; j += WG) {
    y_out[base + j] = exp(src[base + j] - row_max) / row_sum;
  }
}

@compute @workgroup_size(WG, 1, 1)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  if (row >= pb.rows) { return; }
  let cols = pb.cols;
  let base = row * cols;
  var acc = 0.0;
  for (var j0 = lid; j0 < cols; j0 += WG * BLOCK) {
    let j_end = min(j0 + WG * BLOCK, cols);
    var block = 0.0;
    for (var j = j0; j < j_end; j += WG) {
      block = fma(dy[base + j], src[base + j], block);
    }
    acc += block;
  }
  red_sum[lid] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) { red_sum[lid] += red_sum[lid + half]; }
    workgroupBarrier();
  }
  let dot_row = red_sum[0];
  for (var j = lid; j < cols; j += WG) {
    let yv = src[base + j];
    dx[base + j] = yv * (dy[base + j] - dot_row);
  }
}
