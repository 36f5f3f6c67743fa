// Rotary position embedding, Hugging Face Llama convention ("rotate_half"): within each head the
// pairs are (i, i + hd/2) for i < hd/2, rotated by the angle pos · theta^(-2i/hd):
//   y[i]        = x[i] · cos − x[i + hd/2] · sin
//   y[i + hd/2] = x[i + hd/2] · cos + x[i] · sin
// The backward pass is the inverse rotation (the rotation is orthogonal), so dx = R(−angle) · dy.
//
// Bindings (group 0), the same for both entry points:
//   0  x          storage, read        f32 [rows, n_heads, head_dim] row-major (dy for backward);
//                                      element (r, h, i) at (r · n_heads + h) · head_dim + i
//   1  cos_table  storage, read        f32 [max_pos, head_dim / 2], cos(pos · freq_i), computed in
//                                      float64 on the CPU (WGSL's sin/cos have no guaranteed precision)
//   2  sin_table  storage, read        f32 [max_pos, head_dim / 2], sin(pos · freq_i)
//   3  positions  storage, read        u32 [rows], the position of each row (per row, so a decode
//                                      batch can hold each sequence at its own position)
//   4  y          storage, read_write  f32 [rows, n_heads, head_dim] (dx for backward); out of
//                                      place: must not alias x
//   5  params     uniform              Params below
// A row whose position is ≥ max_pos gets NaN in every output element, so a table that is too
// short shows up instead of silently reading another row's angles.
// Overrides: none.
//
// Entry points: one invocation per rotated pair, rows · n_heads · head_dim/2 invocations in
// workgroups of 64, on a 2-D grid (gx, gy) with gx · gy ≥ ceil(pairs / 64) and gx, gy ≤ 65535;
// the linear workgroup index is wid.y · gx + wid.x.
//   rope_forward   y = R(pos) · x
//   rope_backward  dx = R(−pos) · dy

struct Params {
  rows: u32,
  n_heads: u32,
  head_dim: u32,
  max_pos: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> cos_table: array<f32>;
@group(0) @binding(2) var<storage, read> sin_table: array<f32>;
@group(0) @binding(3) var<storage, read> positions: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const WG: u32 = 64u;

// `direction` is +1 for the forward rotation and −1 for its inverse.
fn rotate_pair(pair: u32, direction: f32) {
  let half = p.head_dim / 2u;
  if (pair >= p.rows * p.n_heads * half) { return; }
  let i = pair % half;
  let row_head = pair / half;
  let pos = positions[row_head / p.n_heads];
  let lo = row_head * p.head_dim + i;
  let hi = lo + half;
  if (pos >= p.max_pos) {
    // A `var` keeps the bitcast out of constant evaluation, which rejects NaN.
    var nan_bits = 0x7fc00000u;
    let nan = bitcast<f32>(nan_bits);
    y[lo] = nan;
    y[hi] = nan;
    return;
  }
  let c = cos_table[pos * half + i];
  let s = direction * sin_table[pos * half + i];
  let a = x[lo];
  let b = x[hi];
  y[lo] = a * c - b * s;
  y[hi] = b * c + a * s;
}

fn pair_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(64, 1, 1)
fn rope_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  rotate_pair(pair_index(wid, nwg, lid), 1.0);
}

@compute @workgroup_size(64, 1, 1)
fn rope_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  rotate_pair(pair_index(wid, nwg, lid), -1.0);
}
