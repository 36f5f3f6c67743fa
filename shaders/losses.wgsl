// Per-token losses of the RL / SFT objective and their gradients with respect to logp.
// Aggregation: every counted token is scaled by inv_n = 1/N, N = the batch's counted tokens (a
// token mean) or its samples (PipelineRL's sum over tokens / samples), as the caller chooses; 0
// when nothing is counted. A token with mask 0 gets exactly 0
// in every output, whatever its other inputs hold (pad positions may carry garbage or infinities).
//
// PPO-clip with dual clip plus the k3 KL estimate (d = logp_ref − logp, r = exp(logp − logp_old)):
//   pg1 = −A·r,  pg2 = −A·clamp(r, 1 − eps_low, 1 + eps_high),  pg = max(pg1, pg2);
//   if A < 0 and dual_clip > 1:  pg = min(pg, −A·dual_clip);
//   kl = clamp(exp(d) − d − 1, −10, 10);   loss = mask·(pg + kl_coef·kl)·inv_n.
// Gradients follow autograd of that formula: a clipped branch (pg2 > pg1 strictly), an active
// dual clip (pg > −A·dual_clip strictly) or a clamped KL (|kl| > 10) pass no gradient.
//
// Bindings (group 0):
//   pg_loss_forward
//     0  logp      storage, read        f32 [R]  current policy
//     1  logp_old  storage, read        f32 [R]  policy at sampling time
//     2  logp_ref  storage, read        f32 [R]  frozen reference policy
//     3  adv       storage, read        f32 [R]  advantage A
//     4  mask      storage, read        f32 [R]  weight of the token, 0 = not counted
//     5  loss      storage, read_write  f32 [R]  mask·(pg + kl_coef·kl)·inv_n
//     6  kl        storage, read_write  f32 [R]  mask·kl (not scaled by kl_coef nor inv_n)
//     7  clip      storage, read_write  f32 [R]  +1: pg gradient cut because the ratio is high
//                                                (upper clip with A > 0, or dual clip with A < 0);
//                                                −1: cut because the ratio is low (lower clip,
//                                                A < 0); 0: not cut or mask 0
//     8  params    uniform              PgParams
//   pg_loss_backward
//     0–4  as pg_loss_forward
//     5  dlogp     storage, read_write  f32 [R]  ∂(Σ loss)/∂logp, overwritten
//     6  params    uniform              PgParams
//   ce_loss_forward
//     0  logp      storage, read        f32 [R]
//     1  mask      storage, read        f32 [R]
//     2  loss      storage, read_write  f32 [R]  −mask·logp·inv_n
//     3  params    uniform              CeParams
//   ce_loss_backward
//     0  mask      storage, read        f32 [R]
//     1  dlogp     storage, read_write  f32 [R]  −mask·inv_n, overwritten
//     2  params    uniform              CeParams
// PgParams: R, inv_n, eps_low, eps_high, dual_clip (≤ 1 = off), kl_coef.  CeParams: R, inv_n.
//
// Every entry point: WG threads per workgroup, one token per thread, workgroups on a 2-D grid
// (gx, gy) with gx·gy·WG ≥ R: token = (wid.y·gx + wid.x)·WG + lid; surplus threads return.

const WG: u32 = 64u;
const KL_CLAMP: f32 = 10.0;

struct PgParams {
  R: u32,
  inv_n: f32,
  eps_low: f32,
  eps_high: f32,
  dual_clip: f32,
  kl_coef: f32,
}

struct CeParams {
  R: u32,
  inv_n: f32,
}

@group(0) @binding(0) var<storage, read> logp: array<f32>;
@group(0) @binding(1) var<storage, read> logp_old: array<f32>;
@group(0) @binding(2) var<storage, read> logp_ref: array<f32>;
@group(0) @binding(3) var<storage, read> adv: array<f32>;
@group(0) @binding(4) var<storage, read> pg_mask: array<f32>;

// pg_loss_forward
@group(0) @binding(5) var<storage, read_write> pg_loss_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> kl_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> clip_out: array<f32>;
@group(0) @binding(8) var<uniform> pgf: PgParams;

// pg_loss_backward
@group(0) @binding(5) var<storage, read_write> pg_dlogp: array<f32>;
@group(0) @binding(6) var<uniform> pgb: PgParams;

// ce_loss_forward
@group(0) @binding(1) var<storage, read> ce_mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> ce_loss_out: array<f32>;
@group(0) @binding(3) var<uniform> cef: CeParams;

// ce_loss_backward
@group(0) @binding(0) var<storage, read> ce_mask_b: array<f32>;
@group(0) @binding(1) var<storage, read_write> ce_dlogp: array<f32>;
@group(0) @binding(2) var<uniform> ceb: CeParams;

fn token_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

// exp(x) − 1 − x. Near 0 the direct form cancels to nothing (the KL of two close policies is
// ~x²/2), so a Taylor series is used there: for |x| < 0.5 the first omitted term is < 2e-8 of
// the result.
fn exp_m1_mx(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    return x * x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0
           + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x * (1.0 / 362880.0))))))));
  }
  return exp(x) - 1.0 - x;
}

// exp(x) − 1, by series near 0 for the same reason (it is the KL gradient, ~x there).
fn exp_m1(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0
           + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))))));
  }
  return exp(x) - 1.0;
}

struct PgToken {
  pg: f32,
  dpg: f32,   // ∂pg/∂logp
  kl: f32,
  dkl: f32,   // ∂kl/∂logp
  clip: f32,
}

// The unmasked, unscaled per-token terms; forward and backward share it so that both take the
// same branch at every kink.
fn pg_token(i: u32, eps_low: f32, eps_high: f32, dual_clip: f32) -> PgToken {
  let lp = logp[i];
  let a = adv[i];
  let ratio = exp(lp - logp_old[i]);
  let pg1 = -a * ratio;
  let pg2 = -a * clamp(ratio, 1.0 - eps_low, 1.0 + eps_high);
  var pg = pg1;
  // Inside the clip range pg1 == pg2 exactly, and both branches carry the gradient −A·r.
  var dpg = -a * ratio;
  var clip = 0.0;
  if (pg2 > pg1) {
    pg = pg2;
    dpg = 0.0;
    clip = select(-1.0, 1.0, ratio > 1.0);
  }
  if (a < 0.0 && dual_clip > 1.0) {
    let cap = -a * dual_clip;
    if (pg > cap) {
      pg = cap;
      dpg = 0.0;
      clip = 1.0;
    }
  }
  let d = logp_ref[i] - lp;
  var kl = exp_m1_mx(d);
  var dkl = -exp_m1(d);
  if (abs(kl) > KL_CLAMP) {
    kl = clamp(kl, -KL_CLAMP, KL_CLAMP);
    dkl = 0.0;
  }
  return PgToken(pg, dpg, kl, dkl, clip);
}

@compute @workgroup_size(WG)
fn pg_loss_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = token_index(wid, nwg, lid);
  if (i >= pgf.R) { return; }
  let m = pg_mask[i];
  if (m == 0.0) {
    pg_loss_out[i] = 0.0;
    kl_out[i] = 0.0;
    clip_out[i] = 0.0;
    return;
  }
  let t = pg_token(i, pgf.eps_low, pgf.eps_high, pgf.dual_clip);
  pg_loss_out[i] = m * (t.pg + pgf.kl_coef * t.kl) * pgf.inv_n;
  kl_out[i] = m * t.kl;
  clip_out[i] = t.clip;
}

@compute @workgroup_size(WG)
fn pg_loss_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let i = token_index(wid, nwg, lid);
  if (i >= pgb.R) { return; }
  let m = pg_mask[i];
  if (m == 0.0) {
    pg_dlogp[i] = 0.0;
    return;
  }
  let t = pg_token(i, pgb.eps_low, pgb.eps_high, pgb.dual_clip);
  pg_dlogp[i] = m * (t.dpg + pgb.kl_coef * t.dkl) * pgb.inv_n;
}

@compute @workgroup_size(WG)
fn ce_loss_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = token_index(wid, nwg, lid);
  if (i >= cef.R) { return; }
  let m = ce_mask[i];
  // Selected, not multiplied: logp of a pad position may be −inf, and 0·inf is NaN.
  ce_loss_out[i] = select(-m * logp[i] * cef.inv_n, 0.0, m == 0.0);
}

@compute @workgroup_size(WG)
fn ce_loss_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let i = token_index(wid, nwg, lid);
  if (i >= ceb.R) { return; }
  // Selected rather than multiplied so that masked tokens get +0, not −0.
  ce_dlogp[i] = select(-ce_mask_b[i] * ceb.inv_n, 0.0, ce_mask_b[i] == 0.0);
}
