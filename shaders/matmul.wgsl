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
//   matmul_vec4      8×8 threads, 16×8 outputs per thread, vec4 loads; only for shapes that fit
//                    it (see its own comment below). Dispatch (ceil(N/64), ceil(M/128), batch).
//   matmul_vec4_ragged_n, matmul_vec4_scalar_a
//                    the vec4 schedule's ragged edges (same block and dispatch): A·Bᵀ with any N,
//                    and op(A)·B with A read by element (any M, K). See their comments at the end.

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

// matmul_vec4: the register schedule with 16×8 outputs per invocation and vec4 loads along the
// contiguous dimension of each operand. SwiftShader turns every storage load into per-lane
// gathers with bounds checks, so loads, not arithmetic, bound its speed: a 16×8 block reads 24
// vec4 per 512 multiply-adds where the 4×4 scalar schedule reads 8 scalars per 16 (measured on
// SwiftShader at 512³: 16×8 about 1.4× faster than 8×8, and 8×8 about 5× faster than 4×4 scalar).
// Requires (checked by the wrapper): K % 4 == 0 and N % 4 == 0, and M % 4 == 0 when TRANS_A;
// not both TRANS_A and TRANS_B; batch strides multiples of 4 elements.
// Rows past M and column groups past N are clamped for loads and skipped for stores.
// Dispatch (ceil(N/64), ceil(M/128), batch).

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c4: array<vec4<f32>>;

// One k4 step of A·B for one output row: row a (4 consecutive k) times rows b0..b3 of B.
fn nn_step(acc: vec4<f32>, a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return acc + a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
}

// One k4 step of A·Bᵀ: four dot products of row a with rows b0..b3 of B (= columns of op(B)).
fn nt_step(acc: vec4<f32>, a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return acc + vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
}

fn store_c4(i: u32, v: vec4<f32>) {
  if (ACCUMULATE) { c4[i] = c4[i] + p.alpha * v; } else { c4[i] = p.alpha * v; }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let K4 = p.K / 4u;
  let N4 = p.N / 4u;
  let row0 = gid.y * 16u;
  let col4 = gid.x * 2u;  // first of this invocation's two column groups of 4
  if (row0 >= p.M || col4 >= N4) { return; }
  let base_a = gid.z * p.stride_a / 4u;
  let base_b = gid.z * p.stride_b / 4u;
  let c4a = col4;
  let c4b = min(col4 + 1u, N4 - 1u);
  var acc0_0 = vec4<f32>(); var acc0_1 = vec4<f32>();
  var acc1_0 = vec4<f32>(); var acc1_1 = vec4<f32>();
  var acc2_0 = vec4<f32>(); var acc2_1 = vec4<f32>();
  var acc3_0 = vec4<f32>(); var acc3_1 = vec4<f32>();
  var acc4_0 = vec4<f32>(); var acc4_1 = vec4<f32>();
  var acc5_0 = vec4<f32>(); var acc5_1 = vec4<f32>();
  var acc6_0 = vec4<f32>(); var acc6_1 = vec4<f32>();
  var acc7_0 = vec4<f32>(); var acc7_1 = vec4<f32>();
  var acc8_0 = vec4<f32>(); var acc8_1 = vec4<f32>();
  var acc9_0 = vec4<f32>(); var acc9_1 = vec4<f32>();
  var acc10_0 = vec4<f32>(); var acc10_1 = vec4<f32>();
  var acc11_0 = vec4<f32>(); var acc11_1 = vec4<f32>();
  var acc12_0 = vec4<f32>(); var acc12_1 = vec4<f32>();
  var acc13_0 = vec4<f32>(); var acc13_1 = vec4<f32>();
  var acc14_0 = vec4<f32>(); var acc14_1 = vec4<f32>();
  var acc15_0 = vec4<f32>(); var acc15_1 = vec4<f32>();
  if (TRANS_A) {
    // Aᵀ·B: A is [K, M]; per k, the 16 rows of op(A) are 4 vec4 of A's row k.
    let M4 = p.M / 4u;
    let m0 = min(row0 / 4u + 0u, M4 - 1u);
    let m1 = min(row0 / 4u + 1u, M4 - 1u);
    let m2 = min(row0 / 4u + 2u, M4 - 1u);
    let m3 = min(row0 / 4u + 3u, M4 - 1u);
    for (var k = 0u; k < p.K; k++) {
      let a0 = a4[base_a + k * M4 + m0];
      let a1 = a4[base_a + k * M4 + m1];
      let a2 = a4[base_a + k * M4 + m2];
      let a3 = a4[base_a + k * M4 + m3];
      let b0 = b4[base_b + k * N4 + c4a];
      let b1 = b4[base_b + k * N4 + c4b];
      acc0_0 += a0.x * b0; acc0_1 += a0.x * b1;
      acc1_0 += a0.y * b0; acc1_1 += a0.y * b1;
      acc2_0 += a0.z * b0; acc2_1 += a0.z * b1;
      acc3_0 += a0.w * b0; acc3_1 += a0.w * b1;
      acc4_0 += a1.x * b0; acc4_1 += a1.x * b1;
      acc5_0 += a1.y * b0; acc5_1 += a1.y * b1;
      acc6_0 += a1.z * b0; acc6_1 += a1.z * b1;
      acc7_0 += a1.w * b0; acc7_1 += a1.w * b1;
      acc8_0 += a2.x * b0; acc8_1 += a2.x * b1;
      acc9_0 += a2.y * b0; acc9_1 += a2.y * b1;
      acc10_0 += a2.z * b0; acc10_1 += a2.z * b1;
      acc11_0 += a2.w * b0; acc11_1 += a2.w * b1;
      acc12_0 += a3.x * b0; acc12_1 += a3.x * b1;
      acc13_0 += a3.y * b0; acc13_1 += a3.y * b1;
      acc14_0 += a3.z * b0; acc14_1 += a3.z * b1;
      acc15_0 += a3.w * b0; acc15_1 += a3.w * b1;
    }
  } else {
    let last = p.M - 1u;
    let ra0 = base_a + min(row0 + 0u, last) * K4;
    let ra1 = base_a + min(row0 + 1u, last) * K4;
    let ra2 = base_a + min(row0 + 2u, last) * K4;
    let ra3 = base_a + min(row0 + 3u, last) * K4;
    let ra4 = base_a + min(row0 + 4u, last) * K4;
    let ra5 = base_a + min(row0 + 5u, last) * K4;
    let ra6 = base_a + min(row0 + 6u, last) * K4;
    let ra7 = base_a + min(row0 + 7u, last) * K4;
    let ra8 = base_a + min(row0 + 8u, last) * K4;
    let ra9 = base_a + min(row0 + 9u, last) * K4;
    let ra10 = base_a + min(row0 + 10u, last) * K4;
    let ra11 = base_a + min(row0 + 11u, last) * K4;
    let ra12 = base_a + min(row0 + 12u, last) * K4;
    let ra13 = base_a + min(row0 + 13u, last) * K4;
    let ra14 = base_a + min(row0 + 14u, last) * K4;
    let ra15 = base_a + min(row0 + 15u, last) * K4;
    if (TRANS_B) {
      // A·Bᵀ: B is [N, K]; both operands are read along k.
      let cb = base_b + c4a * 4u * K4;
      let cc = base_b + c4b * 4u * K4;
      for (var k4 = 0u; k4 < K4; k4++) {
        let b0 = b4[cb + k4]; let b1 = b4[cb + K4 + k4]; let b2 = b4[cb + 2u * K4 + k4]; let b3 = b4[cb + 3u * K4 + k4];
        let e0 = b4[cc + k4]; let e1 = b4[cc + K4 + k4]; let e2 = b4[cc + 2u * K4 + k4]; let e3 = b4[cc + 3u * K4 + k4];
        let x0 = a4[ra0 + k4]; acc0_0 = nt_step(acc0_0, x0, b0, b1, b2, b3); acc0_1 = nt_step(acc0_1, x0, e0, e1, e2, e3);
        let x1 = a4[ra1 + k4]; acc1_0 = nt_step(acc1_0, x1, b0, b1, b2, b3); acc1_1 = nt_step(acc1_1, x1, e0, e1, e2, e3);
        let x2 = a4[ra2 + k4]; acc2_0 = nt_step(acc2_0, x2, b0, b1, b2, b3); acc2_1 = nt_step(acc2_1, x2, e0, e1, e2, e3);
        let x3 = a4[ra3 + k4]; acc3_0 = nt_step(acc3_0, x3, b0, b1, b2, b3); acc3_1 = nt_step(acc3_1, x3, e0, e1, e2, e3);
        let x4 = a4[ra4 + k4]; acc4_0 = nt_step(acc4_0, x4, b0, b1, b2, b3); acc4_1 = nt_step(acc4_1, x4, e0, e1, e2, e3);
        let x5 = a4[ra5 + k4]; acc5_0 = nt_step(acc5_0, x5, b0, b1, b2, b3); acc5_1 = nt_step(acc5_1, x5, e0, e1, e2, e3);
        let x6 = a4[ra6 + k4]; acc6_0 = nt_step(acc6_0, x6, b0, b1, b2, b3); acc6_1 = nt_step(acc6_1, x6, e0, e1, e2, e3);
        let x7 = a4[ra7 + k4]; acc7_0 = nt_step(acc7_0, x7, b0, b1, b2, b3); acc7_1 = nt_step(acc7_1, x7, e0, e1, e2, e3);
        let x8 = a4[ra8 + k4]; acc8_0 = nt_step(acc8_0, x8, b0, b1, b2, b3); acc8_1 = nt_step(acc8_1, x8, e0, e1, e2, e3);
        let x9 = a4[ra9 + k4]; acc9_0 = nt_step(acc9_0, x9, b0, b1, b2, b3); acc9_1 = nt_step(acc9_1, x9, e0, e1, e2, e3);
        let x10 = a4[ra10 + k4]; acc10_0 = nt_step(acc10_0, x10, b0, b1, b2, b3); acc10_1 = nt_step(acc10_1, x10, e0, e1, e2, e3);
        let x11 = a4[ra11 + k4]; acc11_0 = nt_step(acc11_0, x11, b0, b1, b2, b3); acc11_1 = nt_step(acc11_1, x11, e0, e1, e2, e3);
        let x12 = a4[ra12 + k4]; acc12_0 = nt_step(acc12_0, x12, b0, b1, b2, b3); acc12_1 = nt_step(acc12_1, x12, e0, e1, e2, e3);
        let x13 = a4[ra13 + k4]; acc13_0 = nt_step(acc13_0, x13, b0, b1, b2, b3); acc13_1 = nt_step(acc13_1, x13, e0, e1, e2, e3);
        let x14 = a4[ra14 + k4]; acc14_0 = nt_step(acc14_0, x14, b0, b1, b2, b3); acc14_1 = nt_step(acc14_1, x14, e0, e1, e2, e3);
        let x15 = a4[ra15 + k4]; acc15_0 = nt_step(acc15_0, x15, b0, b1, b2, b3); acc15_1 = nt_step(acc15_1, x15, e0, e1, e2, e3);
      }
    } else {
      // A·B: A read along k, B along n.
      for (var k4 = 0u; k4 < K4; k4++) {
        let r = base_b + k4 * 4u * N4;
        let b0 = b4[r + c4a]; let b1 = b4[r + N4 + c4a]; let b2 = b4[r + 2u * N4 + c4a]; let b3 = b4[r + 3u * N4 + c4a];
        let e0 = b4[r + c4b]; let e1 = b4[r + N4 + c4b]; let e2 = b4[r + 2u * N4 + c4b]; let e3 = b4[r + 3u * N4 + c4b];
        let x0 = a4[ra0 + k4]; acc0_0 = nn_step(acc0_0, x0, b0, b1, b2, b3); acc0_1 = nn_step(acc0_1, x0, e0, e1, e2, e3);
        let x1 = a4[ra1 + k4]; acc1_0 = nn_step(acc1_0, x1, b0, b1, b2, b3); acc1_1 = nn_step(acc1_1, x1, e0, e1, e2, e3);
        let x2 = a4[ra2 + k4]; acc2_0 = nn_step(acc2_0, x2, b0, b1, b2, b3); acc2_1 = nn_step(acc2_1, x2, e0, e1, e2, e3);
        let x3 = a4[ra3 + k4]; acc3_0 = nn_step(acc3_0, x3, b0, b1, b2, b3); acc3_1 = nn_step(acc3_1, x3, e0, e1, e2, e3);
        let x4 = a4[ra4 + k4]; acc4_0 = nn_step(acc4_0, x4, b0, b1, b2, b3); acc4_1 = nn_step(acc4_1, x4, e0, e1, e2, e3);
        let x5 = a4[ra5 + k4]; acc5_0 = nn_step(acc5_0, x5, b0, b1, b2, b3); acc5_1 = nn_step(acc5_1, x5, e0, e1, e2, e3);
        let x6 = a4[ra6 + k4]; acc6_0 = nn_step(acc6_0, x6, b0, b1, b2, b3); acc6_1 = nn_step(acc6_1, x6, e0, e1, e2, e3);
        let x7 = a4[ra7 + k4]; acc7_0 = nn_step(acc7_0, x7, b0, b1, b2, b3); acc7_1 = nn_step(acc7_1, x7, e0, e1, e2, e3);
        let x8 = a4[ra8 + k4]; acc8_0 = nn_step(acc8_0, x8, b0, b1, b2, b3); acc8_1 = nn_step(acc8_1, x8, e0, e1, e2, e3);
        let x9 = a4[ra9 + k4]; acc9_0 = nn_step(acc9_0, x9, b0, b1, b2, b3); acc9_1 = nn_step(acc9_1, x9, e0, e1, e2, e3);
        let x10 = a4[ra10 + k4]; acc10_0 = nn_step(acc10_0, x10, b0, b1, b2, b3); acc10_1 = nn_step(acc10_1, x10, e0, e1, e2, e3);
        let x11 = a4[ra11 + k4]; acc11_0 = nn_step(acc11_0, x11, b0, b1, b2, b3); acc11_1 = nn_step(acc11_1, x11, e0, e1, e2, e3);
        let x12 = a4[ra12 + k4]; acc12_0 = nn_step(acc12_0, x12, b0, b1, b2, b3); acc12_1 = nn_step(acc12_1, x12, e0, e1, e2, e3);
        let x13 = a4[ra13 + k4]; acc13_0 = nn_step(acc13_0, x13, b0, b1, b2, b3); acc13_1 = nn_step(acc13_1, x13, e0, e1, e2, e3);
        let x14 = a4[ra14 + k4]; acc14_0 = nn_step(acc14_0, x14, b0, b1, b2, b3); acc14_1 = nn_step(acc14_1, x14, e0, e1, e2, e3);
        let x15 = a4[ra15 + k4]; acc15_0 = nn_step(acc15_0, x15, b0, b1, b2, b3); acc15_1 = nn_step(acc15_1, x15, e0, e1, e2, e3);
      }
    }
  }
  let base_c = gid.z * p.stride_c / 4u;
  let second = col4 + 1u < N4;
  if (row0 + 0u < p.M) { let o = base_c + (row0 + 0u) * N4 + col4; store_c4(o, acc0_0); if (second) { store_c4(o + 1u, acc0_1); } }
  if (row0 + 1u < p.M) { let o = base_c + (row0 + 1u) * N4 + col4; store_c4(o, acc1_0); if (second) { store_c4(o + 1u, acc1_1); } }
  if (row0 + 2u < p.M) { let o = base_c + (row0 + 2u) * N4 + col4; store_c4(o, acc2_0); if (second) { store_c4(o + 1u, acc2_1); } }
  if (row0 + 3u < p.M) { let o = base_c + (row0 + 3u) * N4 + col4; store_c4(o, acc3_0); if (second) { store_c4(o + 1u, acc3_1); } }
  if (row0 + 4u < p.M) { let o = base_c + (row0 + 4u) * N4 + col4; store_c4(o, acc4_0); if (second) { store_c4(o + 1u, acc4_1); } }
  if (row0 + 5u < p.M) { let o = base_c + (row0 + 5u) * N4 + col4; store_c4(o, acc5_0); if (second) { store_c4(o + 1u, acc5_1); } }
  if (row0 + 6u < p.M) { let o = base_c + (row0 + 6u) * N4 + col4; store_c4(o, acc6_0); if (second) { store_c4(o + 1u, acc6_1); } }
  if (row0 + 7u < p.M) { let o = base_c + (row0 + 7u) * N4 + col4; store_c4(o, acc7_0); if (second) { store_c4(o + 1u, acc7_1); } }
  if (row0 + 8u < p.M) { let o = base_c + (row0 + 8u) * N4 + col4; store_c4(o, acc8_0); if (second) { store_c4(o + 1u, acc8_1); } }
  if (row0 + 9u < p.M) { let o = base_c + (row0 + 9u) * N4 + col4; store_c4(o, acc9_0); if (second) { store_c4(o + 1u, acc9_1); } }
  if (row0 + 10u < p.M) { let o = base_c + (row0 + 10u) * N4 + col4; store_c4(o, acc10_0); if (second) { store_c4(o + 1u, acc10_1); } }
  if (row0 + 11u < p.M) { let o = base_c + (row0 + 11u) * N4 + col4; store_c4(o, acc11_0); if (second) { store_c4(o + 1u, acc11_1); } }
  if (row0 + 12u < p.M) { let o = base_c + (row0 + 12u) * N4 + col4; store_c4(o, acc12_0); if (second) { store_c4(o + 1u, acc12_1); } }
  if (row0 + 13u < p.M) { let o = base_c + (row0 + 13u) * N4 + col4; store_c4(o, acc13_0); if (second) { store_c4(o + 1u, acc13_1); } }
  if (row0 + 14u < p.M) { let o = base_c + (row0 + 14u) * N4 + col4; store_c4(o, acc14_0); if (second) { store_c4(o + 1u, acc14_1); } }
  if (row0 + 15u < p.M) { let o = base_c + (row0 + 15u) * N4 + col4; store_c4(o, acc15_0); if (second) { store_c4(o + 1u, acc15_1); } }
}

// matmul_vec4's ragged edges: two more entry points of the same 16×8 block and dispatch, for shapes
// matmul_vec4 cannot load (an output layer over a vocabulary that is not a multiple of 4). The
// wrapper runs them as part of the vec4 schedule when matmul_vec4 does not fit.
//
// matmul_vec4_ragged_n: A·Bᵀ for any M and N; K % 4 == 0, batch strides of A and B multiples of 4.
// Both operands are read along k as vec4 (rows of B past N clamped to the last); C is written
// element by element, so its rows need not split into vec4s.

fn store_c_row(base: u32, m: u32, col4: u32, v0: vec4<f32>, v1: vec4<f32>) {
  let n0 = col4 * 4u;
  if (n0 + 0u < p.N) { store_c(base, m, n0 + 0u, v0.x); }
  if (n0 + 1u < p.N) { store_c(base, m, n0 + 1u, v0.y); }
  if (n0 + 2u < p.N) { store_c(base, m, n0 + 2u, v0.z); }
  if (n0 + 3u < p.N) { store_c(base, m, n0 + 3u, v0.w); }
  if (n0 + 4u < p.N) { store_c(base, m, n0 + 4u, v1.x); }
  if (n0 + 5u < p.N) { store_c(base, m, n0 + 5u, v1.y); }
  if (n0 + 6u < p.N) { store_c(base, m, n0 + 6u, v1.z); }
  if (n0 + 7u < p.N) { store_c(base, m, n0 + 7u, v1.w); }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_vec4_ragged_n(@builtin(global_invocation_id) gid: vec3<u32>) {
  let K4 = p.K / 4u;
  let N4 = (p.N + 3u) / 4u;
  let row0 = gid.y * 16u;
  let col4 = gid.x * 2u;
  if (row0 >= p.M || col4 >= N4) { return; }
  let base_a = gid.z * p.stride_a / 4u;
  let base_b = gid.z * p.stride_b / 4u;
  let lastn = p.N - 1u;
  // Rows of B (columns of op(B)) of the two column groups, clamped to the last.
  let n0 = col4 * 4u;
  let rb0 = base_b + min(n0 + 0u, lastn) * K4; let rb1 = base_b + min(n0 + 1u, lastn) * K4;
  let rb2 = base_b + min(n0 + 2u, lastn) * K4; let rb3 = base_b + min(n0 + 3u, lastn) * K4;
  let re0 = base_b + min(n0 + 4u, lastn) * K4; let re1 = base_b + min(n0 + 5u, lastn) * K4;
  let re2 = base_b + min(n0 + 6u, lastn) * K4; let re3 = base_b + min(n0 + 7u, lastn) * K4;
  var acc0_0 = vec4<f32>(); var acc0_1 = vec4<f32>();
  var acc1_0 = vec4<f32>(); var acc1_1 = vec4<f32>();
  var acc2_0 = vec4<f32>(); var acc2_1 = vec4<f32>();
  var acc3_0 = vec4<f32>(); var acc3_1 = vec4<f32>();
  var acc4_0 = vec4<f32>(); var acc4_1 = vec4<f32>();
  var acc5_0 = vec4<f32>(); var acc5_1 = vec4<f32>();
  var acc6_0 = vec4<f32>(); var acc6_1 = vec4<f32>();
  var acc7_0 = vec4<f32>(); var acc7_1 = vec4<f32>();
  var acc8_0 = vec4<f32>(); var acc8_1 = vec4<f32>();
  var acc9_0 = vec4<f32>(); var acc9_1 = vec4<f32>();
  var acc10_0 = vec4<f32>(); var acc10_1 = vec4<f32>();
  var acc11_0 = vec4<f32>(); var acc11_1 = vec4<f32>();
  var acc12_0 = vec4<f32>(); var acc12_1 = vec4<f32>();
  var acc13_0 = vec4<f32>(); var acc13_1 = vec4<f32>();
  var acc14_0 = vec4<f32>(); var acc14_1 = vec4<f32>();
  var acc15_0 = vec4<f32>(); var acc15_1 = vec4<f32>();
  let last = p.M - 1u;
  let ra0 = base_a + min(row0 + 0u, last) * K4;
  let ra1 = base_a + min(row0 + 1u, last) * K4;
  let ra2 = base_a + min(row0 + 2u, last) * K4;
  let ra3 = base_a + min(row0 + 3u, last) * K4;
  let ra4 = base_a + min(row0 + 4u, last) * K4;
  let ra5 = base_a + min(row0 + 5u, last) * K4;
  let ra6 = base_a + min(row0 + 6u, last) * K4;
  let ra7 = base_a + min(row0 + 7u, last) * K4;
  let ra8 = base_a + min(row0 + 8u, last) * K4;
  let ra9 = base_a + min(row0 + 9u, last) * K4;
  let ra10 = base_a + min(row0 + 10u, last) * K4;
  let ra11 = base_a + min(row0 + 11u, last) * K4;
  let ra12 = base_a + min(row0 + 12u, last) * K4;
  let ra13 = base_a + min(row0 + 13u, last) * K4;
  let ra14 = base_a + min(row0 + 14u, last) * K4;
  let ra15 = base_a + min(row0 + 15u, last) * K4;
  for (var k4 = 0u; k4 < K4; k4++) {
    let b0 = b4[rb0 + k4]; let b1 = b4[rb1 + k4]; let b2 = b4[rb2 + k4]; let b3 = b4[rb3 + k4];
    let e0 = b4[re0 + k4]; let e1 = b4[re1 + k4]; let e2 = b4[re2 + k4]; let e3 = b4[re3 + k4];
    let x0 = a4[ra0 + k4]; acc0_0 = nt_step(acc0_0, x0, b0, b1, b2, b3); acc0_1 = nt_step(acc0_1, x0, e0, e1, e2, e3);
    let x1 = a4[ra1 + k4]; acc1_0 = nt_step(acc1_0, x1, b0, b1, b2, b3); acc1_1 = nt_step(acc1_1, x1, e0, e1, e2, e3);
    let x2 = a4[ra2 + k4]; acc2_0 = nt_step(acc2_0, x2, b0, b1, b2, b3); acc2_1 = nt_step(acc2_1, x2, e0, e1, e2, e3);
    let x3 = a4[ra3 + k4]; acc3_0 = nt_step(acc3_0, x3, b0, b1, b2, b3); acc3_1 = nt_step(acc3_1, x3, e0, e1, e2, e3);
    let x4 = a4[ra4 + k4]; acc4_0 = nt_step(acc4_0, x4, b0, b1, b2, b3); acc4_1 = nt_step(acc4_1, x4, e0, e1, e2, e3);
    let x5 = a4[ra5 + k4]; acc5_0 = nt_step(acc5_0, x5, b0, b1, b2, b3); acc5_1 = nt_step(acc5_1, x5, e0, e1, e2, e3);
    let x6 = a4[ra6 + k4]; acc6_0 = nt_step(acc6_0, x6, b0, b1, b2, b3); acc6_1 = nt_step(acc6_1, x6, e0, e1, e2, e3);
    let x7 = a4[ra7 + k4]; acc7_0 = nt_step(acc7_0, x7, b0, b1, b2, b3); acc7_1 = nt_step(acc7_1, x7, e0, e1, e2, e3);
    let x8 = a4[ra8 + k4]; acc8_0 = nt_step(acc8_0, x8, b0, b1, b2, b3); acc8_1 = nt_step(acc8_1, x8, e0, e1, e2, e3);
    let x9 = a4[ra9 + k4]; acc9_0 = nt_step(acc9_0, x9, b0, b1, b2, b3); acc9_1 = nt_step(acc9_1, x9, e0, e1, e2, e3);
    let x10 = a4[ra10 + k4]; acc10_0 = nt_step(acc10_0, x10, b0, b1, b2, b3); acc10_1 = nt_step(acc10_1, x10, e0, e1, e2, e3);
    let x11 = a4[ra11 + k4]; acc11_0 = nt_step(acc11_0, x11, b0, b1, b2, b3); acc11_1 = nt_step(acc11_1, x11, e0, e1, e2, e3);
    let x12 = a4[ra12 + k4]; acc12_0 = nt_step(acc12_0, x12, b0, b1, b2, b3); acc12_1 = nt_step(acc12_1, x12, e0, e1, e2, e3);
    let x13 = a4[ra13 + k4]; acc13_0 = nt_step(acc13_0, x13, b0, b1, b2, b3); acc13_1 = nt_step(acc13_1, x13, e0, e1, e2, e3);
    let x14 = a4[ra14 + k4]; acc14_0 = nt_step(acc14_0, x14, b0, b1, b2, b3); acc14_1 = nt_step(acc14_1, x14, e0, e1, e2, e3);
    let x15 = a4[ra15 + k4]; acc15_0 = nt_step(acc15_0, x15, b0, b1, b2, b3); acc15_1 = nt_step(acc15_1, x15, e0, e1, e2, e3);
  }
  let base_c = gid.z * p.stride_c;
  if (row0 + 0u < p.M) { store_c_row(base_c, row0 + 0u, col4, acc0_0, acc0_1); }
  if (row0 + 1u < p.M) { store_c_row(base_c, row0 + 1u, col4, acc1_0, acc1_1); }
  if (row0 + 2u < p.M) { store_c_row(base_c, row0 + 2u, col4, acc2_0, acc2_1); }
  if (row0 + 3u < p.M) { store_c_row(base_c, row0 + 3u, col4, acc3_0, acc3_1); }
  if (row0 + 4u < p.M) { store_c_row(base_c, row0 + 4u, col4, acc4_0, acc4_1); }
  if (row0 + 5u < p.M) { store_c_row(base_c, row0 + 5u, col4, acc5_0, acc5_1); }
  if (row0 + 6u < p.M) { store_c_row(base_c, row0 + 6u, col4, acc6_0, acc6_1); }
  if (row0 + 7u < p.M) { store_c_row(base_c, row0 + 7u, col4, acc7_0, acc7_1); }
  if (row0 + 8u < p.M) { store_c_row(base_c, row0 + 8u, col4, acc8_0, acc8_1); }
  if (row0 + 9u < p.M) { store_c_row(base_c, row0 + 9u, col4, acc9_0, acc9_1); }
  if (row0 + 10u < p.M) { store_c_row(base_c, row0 + 10u, col4, acc10_0, acc10_1); }
  if (row0 + 11u < p.M) { store_c_row(base_c, row0 + 11u, col4, acc11_0, acc11_1); }
  if (row0 + 12u < p.M) { store_c_row(base_c, row0 + 12u, col4, acc12_0, acc12_1); }
  if (row0 + 13u < p.M) { store_c_row(base_c, row0 + 13u, col4, acc13_0, acc13_1); }
  if (row0 + 14u < p.M) { store_c_row(base_c, row0 + 14u, col4, acc14_0, acc14_1); }
  if (row0 + 15u < p.M) { store_c_row(base_c, row0 + 15u, col4, acc15_0, acc15_1); }
}

// matmul_vec4_scalar_a: op(A)·B for any M and K, A plain or transposed; N % 4 == 0, batch strides of
// B and C multiples of 4. A is read element by element (its rows need not split into vec4s: a
// reduction over a ragged vocabulary, or the transposed gradient of an output layer); B and C as
// vec4. Rows past M are clamped for loads and skipped for stores.

@compute @workgroup_size(8, 8, 1)
fn matmul_vec4_scalar_a(@builtin(global_invocation_id) gid: vec3<u32>) {
  let N4 = p.N / 4u;
  let row0 = gid.y * 16u;
  let col4 = gid.x * 2u;
  if (row0 >= p.M || col4 >= N4) { return; }
  let base_a = gid.z * p.stride_a;
  let base_b = gid.z * p.stride_b / 4u;
  let c4a = col4;
  let c4b = min(col4 + 1u, N4 - 1u);
  var acc0_0 = vec4<f32>(); var acc0_1 = vec4<f32>();
  var acc1_0 = vec4<f32>(); var acc1_1 = vec4<f32>();
  var acc2_0 = vec4<f32>(); var acc2_1 = vec4<f32>();
  var acc3_0 = vec4<f32>(); var acc3_1 = vec4<f32>();
  var acc4_0 = vec4<f32>(); var acc4_1 = vec4<f32>();
  var acc5_0 = vec4<f32>(); var acc5_1 = vec4<f32>();
  var acc6_0 = vec4<f32>(); var acc6_1 = vec4<f32>();
  var acc7_0 = vec4<f32>(); var acc7_1 = vec4<f32>();
  var acc8_0 = vec4<f32>(); var acc8_1 = vec4<f32>();
  var acc9_0 = vec4<f32>(); var acc9_1 = vec4<f32>();
  var acc10_0 = vec4<f32>(); var acc10_1 = vec4<f32>();
  var acc11_0 = vec4<f32>(); var acc11_1 = vec4<f32>();
  var acc12_0 = vec4<f32>(); var acc12_1 = vec4<f32>();
  var acc13_0 = vec4<f32>(); var acc13_1 = vec4<f32>();
  var acc14_0 = vec4<f32>(); var acc14_1 = vec4<f32>();
  var acc15_0 = vec4<f32>(); var acc15_1 = vec4<f32>();
  let last = p.M - 1u;
  let m0 = min(row0 + 0u, last);
  let m1 = min(row0 + 1u, last);
  let m2 = min(row0 + 2u, last);
  let m3 = min(row0 + 3u, last);
  let m4 = min(row0 + 4u, last);
  let m5 = min(row0 + 5u, last);
  let m6 = min(row0 + 6u, last);
  let m7 = min(row0 + 7u, last);
  let m8 = min(row0 + 8u, last);
  let m9 = min(row0 + 9u, last);
  let m10 = min(row0 + 10u, last);
  let m11 = min(row0 + 11u, last);
  let m12 = min(row0 + 12u, last);
  let m13 = min(row0 + 13u, last);
  let m14 = min(row0 + 14u, last);
  let m15 = min(row0 + 15u, last);
  for (var k = 0u; k < p.K; k++) {
    let b0 = b4[base_b + k * N4 + c4a];
    let b1 = b4[base_b + k * N4 + c4b];
    let x0 = load_a(base_a, m0, k); acc0_0 = fma(vec4<f32>(x0), b0, acc0_0); acc0_1 = fma(vec4<f32>(x0), b1, acc0_1);
    let x1 = load_a(base_a, m1, k); acc1_0 = fma(vec4<f32>(x1), b0, acc1_0); acc1_1 = fma(vec4<f32>(x1), b1, acc1_1);
    let x2 = load_a(base_a, m2, k); acc2_0 = fma(vec4<f32>(x2), b0, acc2_0); acc2_1 = fma(vec4<f32>(x2), b1, acc2_1);
    let x3 = load_a(base_a, m3, k); acc3_0 = fma(vec4<f32>(x3), b0, acc3_0); acc3_1 = fma(vec4<f32>(x3), b1, acc3_1);
    let x4 = load_a(base_a, m4, k); acc4_0 = fma(vec4<f32>(x4), b0, acc4_0); acc4_1 = fma(vec4<f32>(x4), b1, acc4_1);
    let x5 = load_a(base_a, m5, k); acc5_0 = fma(vec4<f32>(x5), b0, acc5_0); acc5_1 = fma(vec4<f32>(x5), b1, acc5_1);
    let x6 = load_a(base_a, m6, k); acc6_0 = fma(vec4<f32>(x6), b0, acc6_0); acc6_1 = fma(vec4<f32>(x6), b1, acc6_1);
    let x7 = load_a(base_a, m7, k); acc7_0 = fma(vec4<f32>(x7), b0, acc7_0); acc7_1 = fma(vec4<f32>(x7), b1, acc7_1);
    let x8 = load_a(base_a, m8, k); acc8_0 = fma(vec4<f32>(x8), b0, acc8_0); acc8_1 = fma(vec4<f32>(x8), b1, acc8_1);
    let x9 = load_a(base_a, m9, k); acc9_0 = fma(vec4<f32>(x9), b0, acc9_0); acc9_1 = fma(vec4<f32>(x9), b1, acc9_1);
    let x10 = load_a(base_a, m10, k); acc10_0 = fma(vec4<f32>(x10), b0, acc10_0); acc10_1 = fma(vec4<f32>(x10), b1, acc10_1);
    let x11 = load_a(base_a, m11, k); acc11_0 = fma(vec4<f32>(x11), b0, acc11_0); acc11_1 = fma(vec4<f32>(x11), b1, acc11_1);
    let x12 = load_a(base_a, m12, k); acc12_0 = fma(vec4<f32>(x12), b0, acc12_0); acc12_1 = fma(vec4<f32>(x12), b1, acc12_1);
    let x13 = load_a(base_a, m13, k); acc13_0 = fma(vec4<f32>(x13), b0, acc13_0); acc13_1 = fma(vec4<f32>(x13), b1, acc13_1);
    let x14 = load_a(base_a, m14, k); acc14_0 = fma(vec4<f32>(x14), b0, acc14_0); acc14_1 = fma(vec4<f32>(x14), b1, acc14_1);
    let x15 = load_a(base_a, m15, k); acc15_0 = fma(vec4<f32>(x15), b0, acc15_0); acc15_1 = fma(vec4<f32>(x15), b1, acc15_1);
  }
  let base_c = gid.z * p.stride_c / 4u;
  let second = col4 + 1u < N4;
  if (row0 + 0u < p.M) { let o = base_c + (row0 + 0u) * N4 + col4; store_c4(o, acc0_0); if (second) { store_c4(o + 1u, acc0_1); } }
  if (row0 + 1u < p.M) { let o = base_c + (row0 + 1u) * N4 + col4; store_c4(o, acc1_0); if (second) { store_c4(o + 1u, acc1_1); } }
  if (row0 + 2u < p.M) { let o = base_c + (row0 + 2u) * N4 + col4; store_c4(o, acc2_0); if (second) { store_c4(o + 1u, acc2_1); } }
  if (row0 + 3u < p.M) { let o = base_c + (row0 + 3u) * N4 + col4; store_c4(o, acc3_0); if (second) { store_c4(o + 1u, acc3_1); } }
  if (row0 + 4u < p.M) { let o = base_c + (row0 + 4u) * N4 + col4; store_c4(o, acc4_0); if (second) { store_c4(o + 1u, acc4_1); } }
  if (row0 + 5u < p.M) { let o = base_c + (row0 + 5u) * N4 + col4; store_c4(o, acc5_0); if (second) { store_c4(o + 1u, acc5_1); } }
  if (row0 + 6u < p.M) { let o = base_c + (row0 + 6u) * N4 + col4; store_c4(o, acc6_0); if (second) { store_c4(o + 1u, acc6_1); } }
  if (row0 + 7u < p.M) { let o = base_c + (row0 + 7u) * N4 + col4; store_c4(o, acc7_0); if (second) { store_c4(o + 1u, acc7_1); } }
  if (row0 + 8u < p.M) { let o = base_c + (row0 + 8u) * N4 + col4; store_c4(o, acc8_0); if (second) { store_c4(o + 1u, acc8_1); } }
  if (row0 + 9u < p.M) { let o = base_c + (row0 + 9u) * N4 + col4; store_c4(o, acc9_0); if (second) { store_c4(o + 1u, acc9_1); } }
  if (row0 + 10u < p.M) { let o = base_c + (row0 + 10u) * N4 + col4; store_c4(o, acc10_0); if (second) { store_c4(o + 1u, acc10_1); } }
  if (row0 + 11u < p.M) { let o = base_c + (row0 + 11u) * N4 + col4; store_c4(o, acc11_0); if (second) { store_c4(o + 1u, acc11_1); } }
  if (row0 + 12u < p.M) { let o = base_c + (row0 + 12u) * N4 + col4; store_c4(o, acc12_0); if (second) { store_c4(o + 1u, acc12_1); } }
  if (row0 + 13u < p.M) { let o = base_c + (row0 + 13u) * N4 + col4; store_c4(o, acc13_0); if (second) { store_c4(o + 1u, acc13_1); } }
  if (row0 + 14u < p.M) { let o = base_c + (row0 + 14u) * N4 + col4; store_c4(o, acc14_0); if (second) { store_c4(o + 1u, acc14_1); } }
  if (row0 + 15u < p.M) { let o = base_c + (row0 + 15u) * N4 + col4; store_c4(o, acc15_0); if (second) { store_c4(o + 1u, acc15_1); } }
}
