// Random numbers and token sampling. The generator is Philox-2x32-10 (counter-based: no state,
// any element computable on its own); src/gpu/rng.ts is its CPU twin and reproduces every bit.
//
// Bindings (group 0), random_uniform:
//   0  out       storage, read_write  f32[n]: out[i] = uniform(seed, stream, offset + i)
//   1  params    uniform              UniformParams below
// Bindings (group 0), sample_tokens:
//   0  logits    storage, read        f32 [rows, vocab] row-major, one row per sequence, finite
//   1  tokens    storage, read_write  u32 [rows]: the sampled token of each row
//   2  logprobs  storage, read_write  f32 [rows]: its log-probability (below)
//   3  params    uniform              SampleParams below
// Overrides: WG (sample_tokens threads per workgroup, a power of two from 1 to 128: the wrapper
//   takes the next power of two of vocab, capped by the device's measured row width: 128 wide, which
//   keeps the 16-lane reduction array within 16 KiB of workgroup memory, and 4 narrow).
//
// The random stream: bits(seed, stream, i) = word 0 of Philox-2x32-10 with counter (i, stream) and
// key seed; uniform(seed, stream, i) = (bits >> 8) · 2^-24, a float32 in [0, 1) from 24 bits.
// sample_tokens draws row r at step s with uniform(seed, s, r): the rng key is (seed, row, step).
//
// Entry points:
//   random_uniform  one element per thread, 64 threads per workgroup. The element index is
//                   linearised from a 2-D grid: i = (wid.y · num_workgroups.x + wid.x) · 64 + lid.
//                   Dispatch grid2d(g) with g = ceil(n / 64) (src/gpu/grid.ts): 2-D past 65535.
//   sample_tokens   one workgroup per row, row = wid.y · num_workgroups.x + wid.x.
//                   Dispatch grid2d(rows) (src/gpu/grid.ts).
//
// sample_tokens, per row, with z = logit · inv_temperature:
//   1. a reduction gives max z, Σ exp(z − max z) and the lowest index attaining the max.
//   2. greedy (temperature 0): token = that argmax; its logprob is taken at temperature 1
//      (inv_temperature is 1 then), i.e. log softmax(logits)[token].
//   3. top-k (0 < top_k < vocab): tokens whose logit is >= the k-th largest logit are kept (ties
//      at the boundary are kept). Since temperature > 0 preserves order, comparing raw logits is
//      the same as comparing scaled ones, and exact. The k-th largest is found by bisection on
//      the order-preserving u32 image of the logits (order_key), 4 bits per step from the top
//      (16 candidates per pass): 8 steps at most, each a pass over the row and one workgroup
//      reduction of 16 counts; a count of exactly k ends it early.
//   4. top-p (top_p < 1): among the top-k tokens, the smallest set of highest tokens (ties kept
//      together) whose mass Σ exp(z − max z) reaches top_p · (mass of the top-k set); found the
//      same way with masses in place of counts. top_p = 0 keeps the top token(s).
//   5. inverse-CDF sampling over the kept tokens in index order: token = the first index whose
//      running kept mass exceeds u · (kept mass). Each thread sums a contiguous chunk of the row,
//      thread 0 scans the chunk sums and then walks the chosen chunk.
//   logprob = log softmax(z)[token] under the FULL distribution softmax(logits / temperature),
//   before top-k/top-p: the quantity a policy-gradient loss recomputes in training.

struct UniformParams {
  n: u32,
  seed: u32,
  stream: u32,
  offset: u32,
}

struct SampleParams {
  rows: u32,
  vocab: u32,
  inv_temperature: f32,
  greedy: u32,
  top_k: u32,
  top_p: f32,
  seed: u32,
  step: u32,
}

override WG: u32 = 128u;
const UNIFORM_WG: u32 = 64u;
const BLOCK: u32 = 32u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read_write> uniform_out: array<f32>;
@group(0) @binding(1) var<uniform> pu: UniformParams;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(2) var<storage, read_write> logprobs: array<f32>;
@group(0) @binding(3) var<uniform> ps: SampleParams;

// ---- Philox-2x32-10 -----------------------------------------------------------------------------

const PHILOX_M: u32 = 0xd256d193u;
const PHILOX_W: u32 = 0x9e3779b9u;

// WGSL has no 32×32→64 multiply: the high word is assembled from 16-bit partial products.
fn mulhi32(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

fn philox2x32_10(counter: vec2<u32>, k: u32) -> vec2<u32> {
  var l = counter.x;
  var r = counter.y;
  var key = k;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) { key += PHILOX_W; }
    let hi = mulhi32(PHILOX_M, l);
    let lo = PHILOX_M * l;
    l = hi ^ key ^ r;
    r = lo;
  }
  return vec2<u32>(l, r);
}

// 24 bits make every value exactly representable, and the largest is 1 − 2^-24 < 1.
fn uniform01(seed: u32, stream: u32, i: u32) -> f32 {
  return f32(philox2x32_10(vec2<u32>(i, stream), seed).x >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(UNIFORM_WG, 1, 1)
fn random_uniform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * UNIFORM_WG + lid;
  if (i >= pu.n) { return; }
  uniform_out[i] = uniform01(pu.seed, pu.stream, pu.offset + i);
}

// ---- sampling -----------------------------------------------------------------------------------

var<workgroup> wg_f: array<f32, WG>;
var<workgroup> wg_g: array<f32, WG>;
var<workgroup> wg_u: array<u32, WG>;
var<workgroup> wg_q: array<array<f32, 16>, WG>;
var<workgroup> wg_decision: u32;

// Monotone map f32 -> u32 (x < y exactly when key(x) < key(y)), with −0 and +0 sharing a key so
// that ties mean equal values. Integer operations only, so no compiler can fold away the zero case.
fn order_key(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) == 0u) { b = 0u; }
  if ((b & 0x80000000u) != 0u) { return ~b; }
  return b | 0x80000000u;
}

// Unnormalised probability exp(z − max z) of a token of the row.
fn weight(x: f32, zmax: f32) -> f32 {
  return exp(x * ps.inv_temperature - zmax);
}

// The largest threshold t such that Q(t) = Σ q(x) over the row's tokens with key >= max(t, floor)
// passes: Q(t) >= k for counts (q = 1), or Q(t) >= top_p · Q(0) and Q(t) > 0 for masses
// (q = weight). Q never grows with t, so t is built 4 bits at a time from the top: each step
// evaluates the 16 candidates t | (d << shift) in one pass over the row and one tree reduction,
// and keeps the largest that passes. Counts are exact in f32 (vocab <= 2^24). Within a step the
// lanes are suffix sums of non-negative terms reduced by the same tree, so they never increase
// with d in float32 either; across steps the masses are associated differently, which moves the
// decision only where Q is within float32 rounding of the goal.
fn radix_threshold(lid: u32, base: u32, vocab: u32, zmax: f32, floor_key: u32, use_mass: bool, k: f32) -> u32 {
  var t = 0u;
  var goal = 0.0;
  var digit_sum: array<f32, 16>;
  var digit_block: array<f32, 16>;
  for (var step = 0u; step < 8u; step++) {
    let shift = 28u - 4u * step;
    // Shifting in two parts keeps the shift amount below 32 on the first step.
    let t_high = (t >> shift) >> 4u;
    var above = 0.0;
    // Cleared by explicit stores: SwiftShader was seen to keep an array declared inside the loop
    // from one iteration to the next instead of zeroing it.
    for (var d = 0u; d < 16u; d++) { digit_sum[d] = 0.0; }
    for (var j0 = lid; j0 < vocab; j0 += WG * BLOCK) {
      let j_end = min(j0 + WG * BLOCK, vocab);
      var block_above = 0.0;
      for (var d = 0u; d < 16u; d++) { digit_block[d] = 0.0; }
      for (var j = j0; j < j_end; j += WG) {
        let x = logits[base + j];
        let key = order_key(x);
        let high = (key >> shift) >> 4u;
        if (key < floor_key || high < t_high) { continue; }
        var q = 1.0;
        if (use_mass) { q = weight(x, zmax); }
        if (high > t_high) {
          block_above += q;
        } else {
          let d = (key >> shift) & 15u;
          digit_block[d] += q;
        }
      }
      above += block_above;
      for (var d = 0u; d < 16u; d++) { digit_sum[d] += digit_block[d]; }
    }
    // Lane d: the quantity kept by candidate t | (d << shift), a suffix sum over the digits.
    var acc = above;
    for (var d = 16u; d > 0u; d--) {
      acc += digit_sum[d - 1u];
      wg_q[lid][d - 1u] = acc;
    }
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h) {
        for (var d = 0u; d < 16u; d++) { wg_q[lid][d] += wg_q[lid + h][d]; }
      }
      workgroupBarrier();
    }
    // Thread 0 decides; bit 4 of the decision says the count is exactly k (the set is final).
    if (lid == 0u) {
      if (step == 0u) { goal = ps.top_p * wg_q[0][0]; }
      var best = 0u;
      for (var d = 1u; d < 16u; d++) {
        let q = wg_q[0][d];
        if (select(q >= k, q >= goal && q > 0.0, use_mass)) { best = d; }
      }
      let exact = !use_mass && wg_q[0][best] == k;
      wg_decision = best | select(0u, 16u, exact);
    }
    // Thread 0 read wg_q before this barrier and writes wg_decision again only after the next
    // step's barriers, so no trailing barrier is needed.
    let decision = workgroupUniformLoad(&wg_decision);
    t |= (decision & 15u) << shift;
    if ((decision & 16u) != 0u) { break; }
  }
  return t;
}

struct ChunkScan {
  mass: f32,
  found: u32,
}

// Kept mass of [lo, hi) summed in blocks of BLOCK, and, when `find` is set, the first index whose
// running mass brings `cum + running` above `goal` (NONE if none). The running mass never
// decreases and its last value is bitwise the returned mass, so cum + mass > goal guarantees a find.
fn chunk_scan(base: u32, lo: u32, hi: u32, zmax: f32, threshold: u32, find: bool, cum: f32, goal: f32) -> ChunkScan {
  var folded = 0.0;
  var found = NONE;
  for (var j0 = lo; j0 < hi; j0 += BLOCK) {
    let j_end = min(j0 + BLOCK, hi);
    var block = 0.0;
    for (var j = j0; j < j_end; j++) {
      let x = logits[base + j];
      if (order_key(x) >= threshold) {
        block += weight(x, zmax);
        if (find && found == NONE && cum + (folded + block) > goal) { found = j; }
      }
    }
    folded += block;
  }
  return ChunkScan(folded, found);
}

// The last kept token of positive weight in [lo, hi), or NONE.
fn last_kept(base: u32, lo: u32, hi: u32, zmax: f32, threshold: u32) -> u32 {
  for (var j = hi; j > lo; j--) {
    let x = logits[base + j - 1u];
    if (order_key(x) >= threshold && weight(x, zmax) > 0.0) { return j - 1u; }
  }
  return NONE;
}

@compute @workgroup_size(WG, 1, 1)
fn sample_tokens(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= ps.rows) { return; }
  let vocab = ps.vocab;
  let base = row * vocab;

  // 1. Running (max, Σ exp(z − max), first index of the max) per thread, merged by a tree.
  //    Sums run in blocks of BLOCK elements, as in softmax.wgsl, to keep long rows accurate.
  var m = 0.0;
  var s = 0.0;
  var idx = NONE;
  for (var j0 = lid; j0 < vocab; j0 += WG * BLOCK) {
    let j_end = min(j0 + WG * BLOCK, vocab);
    var block = 0.0;
    for (var j = j0; j < j_end; j += WG) {
      let z = logits[base + j] * ps.inv_temperature;
      if (idx == NONE) {
        m = z;
        block = 1.0;
        idx = j;
      } else if (z > m) {
        s = (s + block) * exp(m - z);
        block = 1.0;
        m = z;
        idx = j;
      } else {
        block += exp(z - m);
      }
    }
    s += block;
  }
  wg_f[lid] = m;
  wg_g[lid] = s;
  wg_u[lid] = idx;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h && wg_u[lid + h] != NONE) {
      let i1 = wg_u[lid];
      let i2 = wg_u[lid + h];
      let m2 = wg_f[lid + h];
      let s2 = wg_g[lid + h];
      if (i1 == NONE) {
        wg_f[lid] = m2;
        wg_g[lid] = s2;
        wg_u[lid] = i2;
      } else {
        let m1 = wg_f[lid];
        let mm = max(m1, m2);
        wg_g[lid] = select(wg_g[lid] * exp(m1 - mm), wg_g[lid], m1 == mm) + select(s2 * exp(m2 - mm), s2, m2 == mm);
        wg_f[lid] = mm;
        wg_u[lid] = min(select(NONE, i1, m1 == mm), select(NONE, i2, m2 == mm));
      }
    }
    workgroupBarrier();
  }
  let zmax = wg_f[0];
  let log_sum = log(wg_g[0]);
  let argmax = wg_u[0];
  workgroupBarrier();

  // 2. Greedy.
  if (ps.greedy != 0u) {
    if (lid == 0u) {
      tokens[row] = argmax;
      logprobs[row] = (logits[base + argmax] * ps.inv_temperature - zmax) - log_sum;
    }
    return;
  }

  // 3. Top-k: the largest threshold that still keeps at least k tokens.
  var threshold = 0u;
  if (ps.top_k != 0u && ps.top_k < vocab) {
    threshold = radix_threshold(lid, base, vocab, zmax, 0u, false, f32(ps.top_k));
  }

  // 4. Top-p within the top-k set: the largest threshold whose kept mass still reaches top_p of
  //    the top-k mass. Requiring mass > 0 keeps at least the top token when top_p is 0.
  if (ps.top_p < 1.0) {
    threshold = max(threshold, radix_threshold(lid, base, vocab, zmax, threshold, true, 0.0));
  }

  // 5. Inverse CDF in index order over contiguous chunks. A chunk's mass and the walk through it
  //    use the same blocked sums (chunk_scan), so the walk's running mass ends exactly at the
  //    chunk's mass and the crossing found by the chunk scan lies inside the chunk.
  let chunk = (vocab + WG - 1u) / WG;
  let lo = min(lid * chunk, vocab);
  let hi = min(lo + chunk, vocab);
  wg_f[lid] = chunk_scan(base, lo, hi, zmax, threshold, false, 0.0, 0.0).mass;
  workgroupBarrier();
  if (lid != 0u) { return; }
  var total = 0.0;
  for (var c = 0u; c < WG; c++) { total += wg_f[c]; }
  let goal_mass = uniform01(ps.seed, ps.step, row) * total;
  var cum = 0.0;
  var token = NONE;
  var last_chunk = 0u;
  for (var c = 0u; c < WG; c++) {
    let pc = wg_f[c];
    if (pc <= 0.0) { continue; }
    last_chunk = c;
    if (cum + pc > goal_mass) {
      let clo = c * chunk;
      let chi = min(clo + chunk, vocab);
      token = chunk_scan(base, clo, chi, zmax, threshold, true, cum, goal_mass).found;
      // Unreachable in IEEE arithmetic (the walk ends at pc exactly); kept as a guard.
      if (token == NONE) { token = last_kept(base, clo, chi, zmax, threshold); }
      break;
    }
    cum += pc;
  }
  // u · total rounded up to total itself: the draw is the last kept token of the row.
  if (token == NONE) {
    let clo = last_chunk * chunk;
    token = last_kept(base, clo, min(clo + chunk, vocab), zmax, threshold);
  }
  tokens[row] = token;
  logprobs[row] = (logits[base + token] * ps.inv_temperature - zmax) - log_sum;
}
