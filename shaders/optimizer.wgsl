// AdamW (PyTorch semantics, decoupled weight decay) on a segment of flat f32 buffers.
//
// Bindings (group 0):
//   0  params  storage, read_write  flat f32, updated in place on [offset, offset + n)
//   1  grads   storage, read        flat f32, same indexing as params
//   2  m       storage, read_write  flat f32, first moment, same indexing
//   3  v       storage, read_write  flat f32, second moment, same indexing
//   4  coef    storage, read        flat f32; coef[coef_index] multiplies every gradient first
//                                   (the clip coefficient of reduce's grad_norm_finalize, or 1)
//   5  hp      uniform              Params below
// Params: offset, n, coef_index, and hyper-parameters prepared on the CPU in float64 (then
// rounded once to f32) so that no power or bias correction is formed in f32:
//   beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
//   lr_wd      = lr · weight_decay
//   step_size  = lr / (1 − beta1^t)
//   inv_bc2_sqrt = 1 / √(1 − beta2^t)
// Per element, with g = coef · grad:
//   p ← p − lr_wd · p
//   m ← beta1 · m + (1 − beta1) · g
//   v ← beta2 · v + (1 − beta2) · g²
//   p ← p − step_size · m / (√v · inv_bc2_sqrt + eps)
// which is PyTorch's p − lr · m̂ / (√v̂ + eps) with m̂ = m / (1 − beta1^t), v̂ = v / (1 − beta2^t).
// A non-finite coefficient (reduce's signal for a non-finite gradient norm) skips the step:
// params, m and v are left untouched.
// Overrides: none. WG = 256.
//
// Entry point:
//   adamw_step  one element per thread; ceil(n / 256) workgroups laid out as a 2-D grid (x, y),
//               linear index wid.y · num_workgroups.x + wid.x; threads past n exit.

struct Params {
  offset: u32,
  n: u32,
  coef_index: u32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  lr_wd: f32,
  step_size: f32,
  inv_bc2_sqrt: f32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<f32>;
@group(0) @binding(5) var<uniform> hp: Params;

@compute @workgroup_size(256, 1, 1)
fn adamw_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= hp.n) { return; }
  let c = coef[hp.coef_index];
  // Checked on the bits: WGSL lets compilers assume floats are finite.
  if ((bitcast<u32>(c) & 0x7f800000u) == 0x7f800000u) { return; }
  let j = hp.offset + i;
  let g = c * grads[j];
  var pj = params[j];
  pj = pj - hp.lr_wd * pj;
  let mj = hp.beta1 * m[j] + hp.one_minus_beta1 * g;
  let vj = hp.beta2 * v[j] + hp.one_minus_beta2 * (g * g);
  m[j] = mj;
  v[j] = vj;
  params[j] = pj - hp.step_size * mj / (sqrt(vj) * hp.inv_bc2_sqrt + hp.eps);
}
