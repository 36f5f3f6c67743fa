// SwiGLU gating of the Llama MLP: h = silu(gate) ⊙ up, silu(g) = g · σ(g), σ(g) = 1 / (1 + e^−g).
// Purely element-wise, so the [R, F] activations are treated as flat arrays of n = R·F elements.
//
// Bindings (group 0), per entry point:
//   swiglu_forward   0  gate    storage, read        f32[n]  ([R, F] row-major)
//                    1  up      storage, read        f32[n]
//                    2  h       storage, read_write  f32[n]
//                    3  params  uniform              Params
//   swiglu_backward  0  gate    storage, read        f32[n]
//                    1  up      storage, read        f32[n]
//                    2  dh      storage, read        f32[n]
//                    3  dgate   storage, read_write  f32[n]  dh ⊙ up ⊙ σ(g)·(1 + g·(1 − σ(g)))
//                    4  dup     storage, read_write  f32[n]  dh ⊙ silu(g)
//                    5  params  uniform              Params
// The two entry points give bindings 2 and 3 different resources; each has its own layout.
// Params: n (element count). Overrides: WG (threads per workgroup), part of the pipeline cache key.
//
// Dispatch (both): one thread per element, ceil(n / WG) workgroups as a 2-D grid (gx ≤ 65535,
// grid2d in src/gpu/grid.ts); element = (wid.y · gx + wid.x) · WG + lid.x.
// σ is computed as 1 / (1 + exp(−g)): for g ≪ 0, exp overflows to +inf and σ becomes 0, so
// every output stays finite for any finite input.

struct Params {
  n: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;

@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<uniform> fwd_p: Params;

@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> bwd_p: Params;

fn sigmoid(g: f32) -> f32 {
  return 1.0 / (1.0 + exp(-g));
}

@compute @workgroup_size(WG, 1, 1)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= fwd_p.n) { return; }
  let g = gate[i];
  h[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(WG, 1, 1)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= bwd_p.n) { return; }
  let g = gate[i];
  let s = sigmoid(g);
  let d = dh[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}
