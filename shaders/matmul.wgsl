// Matrix multiply, batched: C[b] = alpha * op(A[b]) · op(B[b])  (+ C[b] when ACCUMULATE).
//
// Bindings (group 0):
//   0  a       storage, read        op(A) is M×K: A is [M, K] row-major, or [K, M] when TRANS_A
//   1  b       storage, read        op(B) is K×N: B is [K, N] row-major, or [N, K] when TRANS_B
//   2  c       storage, read_write  [M, N] row-major
//   3  params  uniform              Params below
// Batch b starts at b * stride_{a,b,c} elements; dispatch z is the batch index.
// Overrides: TRANS_A, TRANS_B, ACCUMULATE (bools), part of the pipeline cache key.
//
// Entry points (same contract, different schedules; chosen per adapter by a timed probe):
//   matmul_register  8×8 threads, 4×4 outputs per thread read straight from storage, no
//                    workgroup memory and no barriers (fast on CPU adapters such as SwiftShader).
//                    Dispatch (ceil(N/32), ceil(M/32), batch).
//   matmul_tiled     16×16 threads, a 64×64 output tile per workgroup, 64×16 / 16×64 input tiles
//                    staged in workgroup memory, 4×4 outputs per thread (fast on real GPUs).
//                    Dispatch (ceil(N/64), ceil(M/64), batch).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
  alpha: f32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn load_a(base: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[base + k * p.M + m]; }
  return a[base + m * p.K + k];
}

fn load_b(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return b[base + n * p.K + k]; }
  return b[base + k * p.N + n];
}

fn store_c(base: u32, m: u32, n: u32, v: f32) {
  let i = base + m * p.N + n;
  if (ACCUMULATE) { c[i] = c[i] + p.alpha * v; } else { c[i] = p.alpha * v; }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_register(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let base_a = gid.z * p.stride_a;
  let base_b = gid.z * p.stride_b;
  // Rows and columns past the edge are clamped to the last valid one: the inner loop stays free
  // of branches, and the duplicate results are simply not stored.
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = min(row0 + i, p.M - 1u);
    cols[i] = min(col0 + i, p.N - 1u);
  }
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4<f32>(load_b(base_b, k, cols[0]), load_b(base_b, k, cols[1]),
                       load_b(base_b, k, cols[2]), load_b(base_b, k, cols[3]));
    for (var i = 0u; i < 4u; i++) {
      acc[i] = fma(vec4<f32>(load_a(base_a, rows[i], k)), bv, acc[i]);
    }
  }
  let base_c = gid.z * p.stride_c;
  for (var i = 0u; i < 4u; i++) {
    if (row0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < p.N) { store_c(base_c, row0 + i, col0 + j, acc[i][j]); }
    }
  }
}

const TILE: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> tile_a: array<array<f32, 64>, 16>;  // [k][m]
var<workgroup> tile_b: array<array<f32, 64>, 16>;  // [k][n]

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
  let tile_row = wid.y * TILE;
  let tile_col = wid.x * TILE;
  let base_a = wid.z * p.stride_a;
  let base_b = wid.z * p.stride_b;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // 256 threads stage 1024 elements of each tile, 4 apiece; out-of-range elements are zero.
    for (var e = 0u; e < 4u; e++) {
      let idx = li + e * 256u;
      // For A, consecutive threads walk m when A is stored transposed (coalesced), else k.
      var kk: u32; var mm: u32;
      if (TRANS_A) { kk = idx / TILE; mm = idx % TILE; } else { mm = idx / TK; kk = idx % TK; }
      let gm = tile_row + mm;
      let gk = k0 + kk;
      var va = 0.0;
      if (gm < p.M && gk < p.K) { va = load_a(base_a, gm, gk); }
      tile_a[kk][mm] = va;
      var kb: u32; var nn: u32;
      if (TRANS_B) { nn = idx / TK; kb = idx % TK; } else { kb = idx / TILE; nn = idx % TILE; }
      let gn = tile_col + nn;
      let gkb = k0 + kb;
      var vb = 0.0;
      if (gn < p.N && gkb < p.K) { vb = load_b(base_b, gkb, gn); }
      tile_b[kb][nn] = vb;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let bv = vec4<f32>(tile_b[k][lid.x * 4u], tile_b[k][lid.x * 4u + 1u],
                         tile_b[k][lid.x * 4u + 2u], tile_b[k][lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] = fma(vec4<f32>(tile_a[k][lid.y * 4u + i]), bv, acc[i]);
      }
    }
    workgroupBarrier();
  }
  let base_c = wid.z * p.stride_c;
  for (var i = 0u; i < 4u; i++) {
    let m = tile_row + lid.y * 4u + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = tile_col + lid.x * 4u + j;
      if (n < p.N) { store_c(base_c, m, n, acc[i][j]); }
    }
  }
}
