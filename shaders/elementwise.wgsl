// Element-wise float32 vector ops on flat arrays of n elements (any tensor shape, row-major).
//
// Bindings (group 0), per entry point; every array is f32[n] (only the first n are touched):
//   add    0  a       storage, read        f32[n]
//          1  b       storage, read        f32[n]
//          2  c       storage, read_write  f32[n]    c = a + b (c must not alias a or b)
//          3  params  uniform              Params
//   axpy   0  x       storage, read        f32[n]
//          1  y       storage, read_write  f32[n]    y = y + alpha · x
//          2  params  uniform              Params
//   fill   0  y       storage, read_write  f32[n]    y = alpha (the fill value)
//          1  params  uniform              Params
//   scale  0  y       storage, read_write  f32[n]    y = alpha · y
//          1  params  uniform              Params
// Entry points of this file share binding numbers with different resources: each entry point
// has its own explicit layout, and no entry point touches another one's variables.
// Params: n (element count), alpha (scale factor, or the value for fill; unused by add).
// Overrides: WG (threads per workgroup, default 64), part of the pipeline cache key.
//
// Dispatch (all entry points): one thread per element, G = ceil(n / WG) workgroups laid out as a
// 2-D grid (gx, gy) with gx ≤ 65535 and gx·gy ≥ G (see grid2d in src/gpu/grid.ts);
// the element index is (wid.y · gx + wid.x) · WG + lid.x, and threads past n do nothing.

struct Params {
  n: u32,
  alpha: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> add_a: array<f32>;
@group(0) @binding(1) var<storage, read> add_b: array<f32>;
@group(0) @binding(2) var<storage, read_write> add_c: array<f32>;
@group(0) @binding(3) var<uniform> add_p: Params;

@group(0) @binding(0) var<storage, read> axpy_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> axpy_y: array<f32>;
@group(0) @binding(2) var<uniform> axpy_p: Params;

// fill and scale have the same layout and share these two declarations.
@group(0) @binding(0) var<storage, read_write> inplace_y: array<f32>;
@group(0) @binding(1) var<uniform> inplace_p: Params;

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

@compute @workgroup_size(WG, 1, 1)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= add_p.n) { return; }
  add_c[i] = add_a[i] + add_b[i];
}

@compute @workgroup_size(WG, 1, 1)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= axpy_p.n) { return; }
  axpy_y[i] = fma(axpy_p.alpha, axpy_x[i], axpy_y[i]);
}

@compute @workgroup_size(WG, 1, 1)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= inplace_p.n) { return; }
  inplace_y[i] = inplace_p.alpha;
}

@compute @workgroup_size(WG, 1, 1)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = element_index(wid, nwg, lid);
  if (i >= inplace_p.n) { return; }
  inplace_y[i] = inplace_p.alpha * inplace_y[i];
}
