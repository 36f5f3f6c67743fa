// Reductions over segments of flat f32 buffers: sums, sums of squares, the global gradient norm
// with its clip coefficient, and in-place scaling by a coefficient that stays on the GPU.
//
// Bindings (group 0); entry points share binding numbers, each uses its own variables:
//   sum_partial, sumsq_partial
//     0  src       storage, read        flat f32, the segment src[offset .. offset + n)
//     1  dst       storage, read_write  flat f32 partials: workgroup w writes dst[index + w]
//     2  params    uniform              Params
//   sum_finalize, grad_norm_finalize
//     0  src       storage, read        flat f32 partials, reads src[offset .. offset + n)
//     1  dst       storage, read_write  sum_finalize writes dst[index] = Σ;
//                                       grad_norm_finalize writes dst[index] = norm = √Σ and
//                                       dst[index + 1] = clip coefficient
//     2  params    uniform
//   scale_by_coef
//     0  x         storage, read_write  x[offset .. offset + n) *= coef[index]
//     1  coef      storage, read        flat f32
//     2  params    uniform
// Params: offset, n, index (meaning per entry point above), max_norm (grad_norm_finalize only;
// ≤ 0 means no clipping).
// Overrides: none. WG = 256 threads; a partial covers CHUNK = WG · ITEMS = 4096 elements
// (REDUCE_CHUNK in src/gpu/ops/reduce.ts must agree).
//
// Dispatch:
//   sum_partial, sumsq_partial  ceil(n / CHUNK) workgroups laid out as a 2-D grid (x, y) with
//                               linear index wid.y · num_workgroups.x + wid.x; surplus ones exit.
//   sum_finalize, grad_norm_finalize  (1, 1, 1): one workgroup sums the whole partials range.
//   scale_by_coef               ceil(n / WG) workgroups as a 2-D grid, one element per thread.
//
// Accuracy: each thread adds ITEMS elements (or ≈ n / WG partials in a finalize) in sequence,
// then the workgroup combines its WG values as a binary tree, so the rounding error grows with
// ITEMS + log2(WG) rather than with n.
//
// Non-finite values: WGSL lets a compiler assume floats are finite, so the kernels do not rely
// on NaN/Inf propagating through arithmetic. Every value read is classified from its bits
// (+Inf, −Inf, NaN), the classes are OR-reduced beside the sums, and a result is written as the
// IEEE answer: NaN if any NaN or both infinities were seen, else ±Inf if one infinity was, else
// the sum (which is +Inf from the hardware when finite values overflow). For squares, ±Inf
// counts as +Inf. grad_norm_finalize writes norm = NaN or +Inf and coefficient = NaN when the
// sum of squares is not finite; a NaN coefficient means "skip this step": scale_by_coef (and the
// optimizer's adamw_step) then leave their buffers untouched.

struct Params {
  offset: u32,
  n: u32,
  index: u32,
  max_norm: f32,
}

const WG: u32 = 256u;
const ITEMS: u32 = 16u;
const CHUNK: u32 = WG * ITEMS;

const POS_INF: u32 = 1u;
const NEG_INF: u32 = 2u;
const NAN: u32 = 4u;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> coef: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> red_sum: array<f32, WG>;
var<workgroup> red_flag: array<u32, WG>;

fn special_class(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  if ((b & 0x7f800000u) != 0x7f800000u) { return 0u; }
  if ((b & 0x007fffffu) != 0u) { return NAN; }
  if ((b & 0x80000000u) != 0u) { return NEG_INF; }
  return POS_INF;
}

fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// Built from a runtime word: a constant NaN or Inf would be a shader-creation error in WGSL.
fn from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

fn resolve(sum: f32, flag: u32) -> f32 {
  if ((flag & NAN) != 0u || (flag & (POS_INF | NEG_INF)) == (POS_INF | NEG_INF)) { return from_bits(0x7fc00000u); }
  if ((flag & POS_INF) != 0u) { return from_bits(0x7f800000u); }
  if ((flag & NEG_INF) != 0u) { return from_bits(0xff800000u); }
  return sum;
}

// Leaves the workgroup's total in red_sum[0] and the OR of its classes in red_flag[0].
// Must be called from uniform control flow.
fn tree_reduce(lid: u32, s: f32, f: u32) {
  red_sum[lid] = s;
  red_flag[lid] = f;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      red_sum[lid] = red_sum[lid] + red_sum[lid + stride];
      red_flag[lid] = red_flag[lid] | red_flag[lid + stride];
    }
    workgroupBarrier();
  }
}

fn partial(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, square: bool) {
  let w = wid.y * nwg.x + wid.x;
  // Uniform per workgroup, so returning before the barriers is allowed.
  if (w >= (p.n + CHUNK - 1u) / CHUNK) { return; }
  let base = w * CHUNK;
  var s = 0.0;
  var f = 0u;
  // Consecutive threads read consecutive elements on every pass.
  for (var k = 0u; k < ITEMS; k++) {
    let i = base + k * WG + lid;
    if (i < p.n) {
      let v = src[p.offset + i];
      let c = special_class(v);
      if (square) {
        s = s + v * v;
        f = f | select(c, POS_INF, c == NEG_INF);
      } else {
        s = s + v;
        f = f | c;
      }
    }
  }
  tree_reduce(lid, s, f);
  if (lid == 0u) { dst[p.index + w] = resolve(red_sum[0], red_flag[0]); }
}

@compute @workgroup_size(256, 1, 1)
fn sum_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  partial(wid, nwg, lid, false);
}

@compute @workgroup_size(256, 1, 1)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  partial(wid, nwg, lid, true);
}

// The resolved sum of src[offset .. offset + n), valid in thread 0.
fn finalize_total(lid: u32) -> f32 {
  var s = 0.0;
  var f = 0u;
  for (var i = lid; i < p.n; i += WG) {
    let v = src[p.offset + i];
    s = s + v;
    f = f | special_class(v);
  }
  tree_reduce(lid, s, f);
  return resolve(red_sum[0], red_flag[0]);
}

@compute @workgroup_size(256, 1, 1)
fn sum_finalize(@builtin(local_invocation_index) lid: u32) {
  let total = finalize_total(lid);
  if (lid == 0u) { dst[p.index] = total; }
}

@compute @workgroup_size(256, 1, 1)
fn grad_norm_finalize(@builtin(local_invocation_index) lid: u32) {
  let total = finalize_total(lid);
  if (lid != 0u) { return; }
  if (is_finite(total)) {
    let norm = sqrt(max(total, 0.0));
    var c = 1.0;
    if (p.max_norm > 0.0) { c = min(1.0, p.max_norm / (norm + 1e-6)); }
    dst[p.index] = norm;
    dst[p.index + 1u] = c;
  } else {
    // √(+Inf) = +Inf; anything else non-finite (NaN, or −Inf from foreign partials) is NaN.
    let inf = bitcast<u32>(total) == 0x7f800000u;
    dst[p.index] = select(from_bits(0x7fc00000u), from_bits(0x7f800000u), inf);
    dst[p.index + 1u] = from_bits(0x7fc00000u);
  }
}

@compute @workgroup_size(256, 1, 1)
fn scale_by_coef(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let c = coef[p.index];
  if (!is_finite(c)) { return; }
  x[p.offset + i] = x[p.offset + i] * c;
}
