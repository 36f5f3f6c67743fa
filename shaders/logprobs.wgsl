// Log-probability of the chosen token, entropy and log-sum-exp of temperature-scaled logits,
// and the exact gradient of  Σ_r dlogp_r·logp_r + dentropy_r·H_r  with respect to the logits.
// With z = logits / τ (τ = temperature, passed as inv_temp = 1/τ) and p = softmax(z):
//   lse_r = log Σ_j exp(z_rj),  logp_r = z_r,target − lse_r,  H_r = −Σ_j p_rj log p_rj.
//
// Bindings (group 0):
//   logprobs_forward
//     0  logits    storage, read        f32 [R, V] row-major
//     1  targets   storage, read        u32 [R]  (a target ≥ V is read as V−1, never out of bounds)
//     2  logp      storage, read_write  f32 [R]
//     3  entropy   storage, read_write  f32 [R]
//     4  lse       storage, read_write  f32 [R]  logsumexp of z, saved for the backward pass
//     5  params    uniform              Params
//   logprobs_backward
//     0  logits    storage, read        f32 [R, V] row-major
//     1  targets   storage, read        u32 [R]
//     2  lse       storage, read        f32 [R]  from logprobs_forward
//     3  dlogp     storage, read        f32 [R]
//     4  dentropy  storage, read        f32 [R]  not read when USE_DENTROPY is false
//     5  dlogits   storage, read_write  f32 [R, V] row-major, overwritten (not accumulated)
//     6  params    uniform              Params
// Params: R (rows), V (vocabulary), inv_temp (1/τ). Logits must be finite (no −inf masking).
// Overrides: WG (threads per workgroup, a power of two ≤ 256), USE_DENTROPY (bool, backward only:
//   false skips the entropy term and the extra pass over the row that it needs).
//
// Entry points: one workgroup per row. Rows may exceed the 65535 workgroups a dimension allows,
// so they lie on a 2-D grid (gx, gy) with gx·gy ≥ R: row = wid.y·gx + wid.x; surplus workgroups
// return at once.
//   logprobs_forward   dispatch (gx, gy): one pass over the row (online max / sum / entropy).
//   logprobs_backward  dispatch (gx, gy): one pass for H when USE_DENTROPY, one writing dlogits
//                      (the target's element last, after a reduction of the other p_j).

struct Params {
  R: u32,
  V: u32,
  inv_temp: f32,
}

override WG: u32 = 256u;
override USE_DENTROPY: bool = true;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<u32>;

// logprobs_forward
@group(0) @binding(2) var<storage, read_write> logp_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> entropy_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse_out: array<f32>;
@group(0) @binding(5) var<uniform> pf: Params;

// logprobs_backward
@group(0) @binding(2) var<storage, read> lse_in: array<f32>;
@group(0) @binding(3) var<storage, read> dlogp: array<f32>;
@group(0) @binding(4) var<storage, read> dentropy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<uniform> pb: Params;

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_u: array<f32, WG>;
var<workgroup> red_t: array<f32, WG>;

fn row_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// Partial softmax statistics of a set of values z_j, relative to its own maximum m:
//   u = Σ exp(z_j − m) − 1   (the sum without the 1 that one maximal element contributes),
//   t = Σ exp(z_j − m)·(z_j − m).
// With s = 1 + u: lse = m + log1p(u), logp_j = (z_j − m) − log1p(u), H = log1p(u) − t/s.
// Keeping u apart from the 1 matters for confident rows: with p_max = 1 − ε, log s ≈ ε would be
// lost to rounding in 1 + ε, taking the entropy and logp of the likely token with it. Both terms
// of H are ≥ 0 (t ≤ 0), so it is formed without cancellation. u < 0 marks the empty set.
struct Stats {
  m: f32,
  u: f32,
  t: f32,
}

const EMPTY = Stats(0.0, -1.0, 0.0);

// Joins the statistics of two disjoint sets.
fn merge(a: Stats, b: Stats) -> Stats {
  // Empty sets are handled apart: their m is arbitrary and would poison the rescaling below.
  if (b.u < 0.0) { return a; }
  if (a.u < 0.0) { return b; }
  var big = a;
  var small = b;
  if (b.m > a.m) {
    big = b;
    small = a;
  }
  // Moving the smaller set's reference from its own max down to big.m scales each of its exps
  // by e and shifts each (z_j − ref) by d; its own maximal element now counts in u.
  let d = small.m - big.m;
  let e = exp(d);
  let s_small = small.u + 1.0;
  return Stats(big.m, big.u + s_small * e, big.t + e * (small.t + s_small * d));
}

// log(1 + u) for u ≥ 0, accurate for small u where log(1.0 + u) would round u away:
// log1p(u) = 2·atanh(y), y = u/(2 + u) ≤ 1/3 for u ≤ 1; the omitted series terms are < 2e-9.
fn log1p_pos(u: f32) -> f32 {
  if (u > 1.0) { return log(1.0 + u); }
  let y = u / (2.0 + u);
  let y2 = y * y;
  return 2.0 * y * (1.0 + y2 * (1.0 / 3.0 + y2 * (1.0 / 5.0 + y2 * (1.0 / 7.0 + y2 * (1.0 / 9.0
         + y2 * (1.0 / 11.0 + y2 * (1.0 / 13.0 + y2 * (1.0 / 15.0))))))));
}

@compute @workgroup_size(WG)
fn logprobs_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  if (row >= pf.R) { return; }
  let V = pf.V;
  let base = row * V;
  let it = pf.inv_temp;

  // Each thread's stride of the row in one pass; the running max starts at the thread's first
  // element so no infinite sentinel is ever subtracted.
  var st = EMPTY;
  if (lid < V) { st = Stats(logits[base + lid] * it, 0.0, 0.0); }
  for (var j = lid + WG; j < V; j += WG) {
    let z = logits[base + j] * it;
    if (z <= st.m) {
      let d = z - st.m;
      let e = exp(d);
      st.u += e;
      st.t += e * d;
    } else {
      // New maximum: rescale what is there, the old maximum included; the new one adds 0 to t.
      let d = st.m - z;
      let e = exp(d);
      let s = st.u + 1.0;
      st.t = e * (st.t + s * d);
      st.u = s * e;
      st.m = z;
    }
  }

  red_m[lid] = st.m;
  red_u[lid] = st.u;
  red_t[lid] = st.t;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let o = merge(Stats(red_m[lid], red_u[lid], red_t[lid]),
                    Stats(red_m[lid + stride], red_u[lid + stride], red_t[lid + stride]));
      red_m[lid] = o.m;
      red_u[lid] = o.u;
      red_t[lid] = o.t;
    }
    workgroupBarrier();
  }

  if (lid == 0u) {
    let m = red_m[0];
    let u = red_u[0];
    let log_s = log1p_pos(u);
    let tgt = min(targets[row], V - 1u);
    lse_out[row] = m + log_s;
    // Relative to m, not to the rounded lse: exact for the likely tokens, where it matters.
    logp_out[row] = (logits[base + tgt] * it - m) - log_s;
    entropy_out[row] = log_s - red_t[0] / (1.0 + u);
  }
}

// d logp / d z_j = δ_jt − p_j,   d H / d z_j = −p_j (log p_j + H),   d z_j / d logit_j = 1/τ.
// The stored lse is rounded to float32, so every log p_j computed from it carries one common
// shift δ ≈ ulp(lse). Each p_j then has relative error δ, harmless, and the shift cancels
// (to first order) in log p_j + H when H is recomputed from the same values. What it spoils is
// 1 − p_t of a confident target (p_t ≈ 1, where an absolute error δ may exceed 1 − p_t itself),
// so that factor is summed as Σ_{j≠t} p_j instead, each term accurate.
@compute @workgroup_size(WG)
fn logprobs_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  if (row >= pb.R) { return; }
  let V = pb.V;
  let base = row * V;
  let it = pb.inv_temp;
  let lse = lse_in[row];

  var h = 0.0;
  var dh = 0.0;
  if (USE_DENTROPY) {
    // H is not an input, so it is recomputed: −Σ p_j log p_j, every term of one sign.
    var acc = 0.0;
    for (var j = lid; j < V; j += WG) {
      let lp = logits[base + j] * it - lse;
      acc += exp(lp) * lp;
    }
    red_u[lid] = acc;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
      if (lid < stride) { red_u[lid] += red_u[lid + stride]; }
      workgroupBarrier();
    }
    h = -red_u[0];
    dh = dentropy[row];
    // Every thread has read red_u[0] before it is reused below.
    workgroupBarrier();
  }

  let g = dlogp[row];
  let tgt = min(targets[row], V - 1u);
  var others = 0.0;
  for (var j = lid; j < V; j += WG) {
    if (j == tgt) { continue; }
    let lp = logits[base + j] * it - lse;
    let pj = exp(lp);
    others += pj;
    dlogits[base + j] = -it * pj * (g + dh * (lp + h));
  }
  red_u[lid] = others;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red_u[lid] += red_u[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let lp = logits[base + tgt] * it - lse;
    let pt = exp(lp);
    dlogits[base + tgt] = it * (g * red_u[0] - pt * dh * (lp + h));
  }
}
