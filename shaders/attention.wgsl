// Causal multi-head attention with grouped-query heads: forward with online softmax (no T×T
// matrix), flash-attention-style backward by recomputation, and a KV cache for decoding.
//
// Layouts. Activations are rows × features with row = b·T + t for B right-padded sequences of
// length T (padding needs no mask: it sits after every real token, so causality hides it from
// real queries; the caller zeroes dO on padded rows so they contribute no gradient).
//   q, o, dO, dq   f32 [B·T, H·hd]    head h of row r at r·H·hd + h·hd
//   k, v, dk, dv   f32 [B·T, KVH·hd]  head g of row r at r·KVH·hd + g·hd
//   lse            f32 [B, H, T]      log Σ_j exp(scale · q_t·k_j), j ≤ t, at (b·H + h)·T + t
//   caches         f32 [S, KVH, max_t, hd]  position j of sequence s, kv head g at
//                                           ((s·KVH + g)·max_t + j)·hd
// Query head h reads kv head h / (H / KVH). Scores are scale · q·k with scale a parameter
// (1/√hd for the model). hd ≤ MAX_HD = 128: the generic kernels' per-invocation accumulators
// are fixed-size arrays (the unrolled variants take hd ≤ 32, see the end of the file).
//
// Bindings (group 0). The uniform is binding 0 in every entry point, so all of them share one
// Params; the storage bindings after it differ per entry point (declared as aliases below).
//   attention_forward       1 q r, 2 k r, 3 v r, 4 o rw, 5 lse rw
//   attention_backward_dq   1 q r, 2 k r, 3 v r, 4 o r, 5 dO r, 6 lse r, 7 dq rw
//   attention_backward_dkv  1 q r, 2 k r, 3 v r, 4 o r, 5 dO r, 6 lse r, 7 dk rw, 8 dv rw
//   kv_cache_write          1 k_rows r [R, KVH·hd], 2 v_rows r [R, KVH·hd], 3 seq u32[R] r,
//                           4 pos u32[R] r, 5 k_cache rw, 6 v_cache rw
//   attention_decode        1 q r [S, H·hd], 2 k_cache r, 3 v_cache r, 4 o rw [S, H·hd],
//                           5 len u32[S] r
// Params: batch (B, or S for the cache kernels), seq_len (T), n_heads (H), n_kv_heads (KVH),
// head_dim (hd), max_t (cache capacity), rows (R of kv_cache_write), scale.
// Overrides: HD4 (= hd / 4), read only by the *_unrolled entry points.
//
// Dispatch: every entry point runs 64 invocations per workgroup on a 2-D grid (gx, gy), gx and
// gy ≤ 65535, linear invocation index (wid.y · gx + wid.x) · 64 + lid; invocations past the end
// return at once. One invocation owns each output row (no atomics), so results are
// deterministic. The training kernels give each invocation a tile of four consecutive rows of
// one head (vec4 lanes sharing every load); tile i of (b, head) has index (b·heads + head)·⌈T/4⌉ + i.
//   attention_forward       B·H·⌈T/4⌉ invocations, one per tile of four query rows
//   attention_backward_dq   B·H·⌈T/4⌉ invocations, one per tile of four query rows
//   attention_backward_dkv  B·KVH·⌈T/4⌉ invocations, one per tile of four key rows of a kv head;
//                           it sums over the G = H/KVH query heads of its group and all t ≥ j
//   kv_cache_write          R·KVH·hd invocations, one per element (k and v both); a row whose
//                           seq ≥ S or pos ≥ max_t is skipped
//   attention_decode        S·H invocations, one per sequence and head, attending to cache
//                           positions 0..len[s]−1; len[s] = 0 or > max_t gives NaN outputs
//
// Unrolled variants (end of file): attention_forward_unrolled, attention_backward_dq_unrolled,
// attention_backward_dkv_unrolled and attention_decode_unrolled have the contracts, bindings and
// dispatch of the entry points above, for hd a multiple of 4 and at most 4·CHUNKS = 32 (the
// wrapper picks them when the shape fits); they need the pipeline constant HD4 = hd / 4.

struct Params {
  batch: u32,
  seq_len: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,
  max_t: u32,
  rows: u32,
  scale: f32,
}

const WG: u32 = 64u;
const MAX_HD: u32 = 128u;

@group(0) @binding(0) var<uniform> p: Params;

// attention_forward, attention_backward_*, attention_decode (k and v are the caches in decode)
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// attention_forward, attention_decode
@group(0) @binding(4) var<storage, read_write> o_out: array<f32>;
// attention_forward
@group(0) @binding(5) var<storage, read_write> lse_out: array<f32>;
// attention_decode
@group(0) @binding(5) var<storage, read> cache_len: array<u32>;
// attention_backward_*
@group(0) @binding(4) var<storage, read> o: array<f32>;
@group(0) @binding(5) var<storage, read> d_o: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
// kv_cache_write
@group(0) @binding(1) var<storage, read> k_rows: array<f32>;
@group(0) @binding(2) var<storage, read> v_rows: array<f32>;
@group(0) @binding(3) var<storage, read> seq_of_row: array<u32>;
@group(0) @binding(4) var<storage, read> pos_of_row: array<u32>;
@group(0) @binding(5) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(6) var<storage, read_write> v_cache: array<f32>;

fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

// A `var` keeps the bitcast out of constant evaluation, which rejects NaN.
fn nan_f32() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// Four consecutive query rows of one head (a "row tile") share every key and value load, and
// their scores, softmax state and accumulators are vec4 lanes; on SwiftShader this measured two
// to three times faster than one query per invocation. Rows past T are clamped to T − 1 (computed, not
// stored), and a key is masked for the rows before it.
struct RowTile {
  t0: u32,
  h: u32,
  b: u32,
  rows: vec4<u32>,
}

fn row_tile(idx: u32, heads: u32) -> RowTile {
  let T = p.seq_len;
  let tiles = (T + 3u) / 4u;
  var tile: RowTile;
  tile.t0 = (idx % tiles) * 4u;
  tile.h = (idx / tiles) % heads;
  tile.b = idx / (tiles * heads);
  tile.rows = min(vec4<u32>(tile.t0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(T - 1u));
  return tile;
}

// A tile of four query rows of one head, with where its head starts in q/o/dO ([B·T, H·hd]) and
// where its kv head starts in k/v ([B·T, KVH·hd]); the forward and dq kernels share it.
struct QueryTile {
  tile: RowTile,
  q_first: u32,
  kv_first: u32,
}

fn query_tile(idx: u32) -> QueryTile {
  let T = p.seq_len;
  let H = p.n_heads;
  let hd = p.head_dim;
  var qt: QueryTile;
  qt.tile = row_tile(idx, H);
  qt.q_first = qt.tile.b * T * H * hd + qt.tile.h * hd;
  qt.kv_first = qt.tile.b * T * p.n_kv_heads * hd + (qt.tile.h / (H / p.n_kv_heads)) * hd;
  return qt;
}

// Element d of head h in the four rows `rows` of a [B·T, H·hd] tensor, starting at `first` =
// b·T·H·hd + h·hd.
fn q_lanes(first: u32, rows: vec4<u32>, d: u32) -> vec4<f32> {
  let stride = p.n_heads * p.head_dim;
  return vec4<f32>(q[first + rows.x * stride + d], q[first + rows.y * stride + d],
                   q[first + rows.z * stride + d], q[first + rows.w * stride + d]);
}

fn d_o_lanes(first: u32, rows: vec4<u32>, d: u32) -> vec4<f32> {
  let stride = p.n_heads * p.head_dim;
  return vec4<f32>(d_o[first + rows.x * stride + d], d_o[first + rows.y * stride + d],
                   d_o[first + rows.z * stride + d], d_o[first + rows.w * stride + d]);
}

fn o_lanes(first: u32, rows: vec4<u32>, d: u32) -> vec4<f32> {
  let stride = p.n_heads * p.head_dim;
  return vec4<f32>(o[first + rows.x * stride + d], o[first + rows.y * stride + d],
                   o[first + rows.z * stride + d], o[first + rows.w * stride + d]);
}

// One invocation per row tile: B·H·ceil(T/4) invocations. Online softmax with the running max
// seeded by key 0 (visible to every row, so no −∞ is needed); the accumulators are rescaled
// only when some row's max grows.
@compute @workgroup_size(64, 1, 1)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let T = p.seq_len;
  let H = p.n_heads;
  let hd = p.head_dim;
  if (idx >= p.batch * H * ((T + 3u) / 4u)) { return; }
  let qt = query_tile(idx);
  let tile = qt.tile;
  let kv_stride = p.n_kv_heads * hd;
  let kv_first = qt.kv_first;
  let q_first = qt.q_first;
  var qs: array<vec4<f32>, MAX_HD>;
  var acc: array<vec4<f32>, MAX_HD>;
  var m = vec4<f32>(0.0);
  for (var d = 0u; d < hd; d++) {
    qs[d] = q_lanes(q_first, tile.rows, d) * p.scale;
    m = fma(qs[d], vec4<f32>(k[kv_first + d]), m);
    acc[d] = vec4<f32>(v[kv_first + d]);
  }
  var l = vec4<f32>(1.0);
  for (var j = 1u; j <= tile.rows.w; j++) {
    let at = kv_first + j * kv_stride;
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < hd; d++) { s = fma(qs[d], vec4<f32>(k[at + d]), s); }
    let visible = vec4<u32>(j) <= tile.rows;
    if (any(visible & (s > m))) {
      let m_new = select(m, max(m, s), visible);
      let c = exp(m - m_new);
      let e = select(vec4<f32>(0.0), exp(s - m_new), visible);
      l = fma(l, c, e);
      for (var d = 0u; d < hd; d++) { acc[d] = fma(acc[d], c, e * v[at + d]); }
      m = m_new;
    } else {
      let e = select(vec4<f32>(0.0), exp(s - m), visible);
      l += e;
      for (var d = 0u; d < hd; d++) { acc[d] = fma(e, vec4<f32>(v[at + d]), acc[d]); }
    }
  }
  let inv = 1.0 / l;
  let lse_row = m + log(l);
  for (var i = 0u; i < 4u; i++) {
    let t = tile.t0 + i;
    if (t >= T) { break; }
    let at = q_first + t * H * hd;
    for (var d = 0u; d < hd; d++) { o_out[at + d] = acc[d][i] * inv[i]; }
    lse_out[(tile.b * H + tile.h) * T + t] = lse_row[i];
  }
}

// Decode: one invocation per (sequence, head), a single query against cache positions
// 0..len−1 with the same online softmax as the forward (key 0 seeds the running max; the
// accumulator is rescaled only when the max grows).
@compute @workgroup_size(64, 1, 1)
fn attention_decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let H = p.n_heads;
  let hd = p.head_dim;
  if (idx >= p.batch * H) { return; }
  let h = idx % H;
  let s = idx / H;
  let q_at = idx * hd;
  let len = cache_len[s];
  if (len == 0u || len > p.max_t) {
    for (var d = 0u; d < hd; d++) { o_out[q_at + d] = nan_f32(); }
    return;
  }
  // k and v are the caches here: position j of this kv head at first + j·hd.
  let first = (s * p.n_kv_heads + h / (H / p.n_kv_heads)) * p.max_t * hd;
  var qs: array<f32, MAX_HD>;
  var acc: array<f32, MAX_HD>;
  var m = 0.0;
  for (var d = 0u; d < hd; d++) {
    qs[d] = q[q_at + d] * p.scale;
    m = fma(qs[d], k[first + d], m);
    acc[d] = v[first + d];
  }
  var l = 1.0;
  for (var j = 1u; j < len; j++) {
    let at = first + j * hd;
    var sc = 0.0;
    for (var d = 0u; d < hd; d++) { sc = fma(qs[d], k[at + d], sc); }
    if (sc > m) {
      let c = exp(m - sc);
      l = fma(l, c, 1.0);
      for (var d = 0u; d < hd; d++) { acc[d] = fma(acc[d], c, v[at + d]); }
      m = sc;
    } else {
      let e = exp(sc - m);
      l += e;
      for (var d = 0u; d < hd; d++) { acc[d] = fma(e, v[at + d], acc[d]); }
    }
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < hd; d++) { o_out[q_at + d] = acc[d] * inv; }
}

// dq_t = scale · Σ_j p_tj (dp_tj − D_t) k_j, with p_tj = exp(s_tj − lse_t), dp_tj = dO_t·v_j and
// D_t = dO_t·O_t (= Σ_j p_tj dp_tj, the softmax Jacobian's row term). One invocation per row
// tile of four queries, as in the forward.
@compute @workgroup_size(64, 1, 1)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let T = p.seq_len;
  let H = p.n_heads;
  let hd = p.head_dim;
  if (idx >= p.batch * H * ((T + 3u) / 4u)) { return; }
  let qt = query_tile(idx);
  let tile = qt.tile;
  let kv_stride = p.n_kv_heads * hd;
  let kv_first = qt.kv_first;
  let q_first = qt.q_first;
  var qs: array<vec4<f32>, MAX_HD>;
  var dov: array<vec4<f32>, MAX_HD>;
  var acc: array<vec4<f32>, MAX_HD>;
  var big_d = vec4<f32>(0.0);
  for (var d = 0u; d < hd; d++) {
    qs[d] = q_lanes(q_first, tile.rows, d) * p.scale;
    dov[d] = d_o_lanes(q_first, tile.rows, d);
    big_d = fma(dov[d], o_lanes(q_first, tile.rows, d), big_d);
  }
  let lse_first = (tile.b * H + tile.h) * T;
  let lse_t = vec4<f32>(lse[lse_first + tile.rows.x], lse[lse_first + tile.rows.y],
                        lse[lse_first + tile.rows.z], lse[lse_first + tile.rows.w]);
  for (var j = 0u; j <= tile.rows.w; j++) {
    let at = kv_first + j * kv_stride;
    var s = vec4<f32>(0.0);
    var dp = vec4<f32>(0.0);
    for (var d = 0u; d < hd; d++) {
      s = fma(qs[d], vec4<f32>(k[at + d]), s);
      dp = fma(dov[d], vec4<f32>(v[at + d]), dp);
    }
    let pr = select(vec4<f32>(0.0), exp(s - lse_t), vec4<u32>(j) <= tile.rows);
    let ds = pr * (dp - big_d);
    for (var d = 0u; d < hd; d++) { acc[d] = fma(ds, vec4<f32>(k[at + d]), acc[d]); }
  }
  for (var i = 0u; i < 4u; i++) {
    let t = tile.t0 + i;
    if (t >= T) { break; }
    let at = q_first + t * H * hd;
    for (var d = 0u; d < hd; d++) { dq[at + d] = acc[d][i] * p.scale; }
  }
}

// dv_j = Σ_{h in group, t ≥ j} p_tj dO_t and dk_j = scale · Σ p_tj (dp_tj − D_t) q_t. One
// invocation per tile of four consecutive keys of one kv head (B·KVH·ceil(T/4) invocations):
// each query's loads and its D_t serve four keys. D_t is recomputed here rather than read from
// a buffer, which keeps the bindings to the forward's outputs at the cost of one more hd-long
// dot product per (t, h) pair and tile.
@compute @workgroup_size(64, 1, 1)
fn attention_backward_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let T = p.seq_len;
  let H = p.n_heads;
  let KVH = p.n_kv_heads;
  let hd = p.head_dim;
  if (idx >= p.batch * KVH * ((T + 3u) / 4u)) { return; }
  let tile = row_tile(idx, KVH);
  let kvh = tile.h;
  let b = tile.b;
  let group = H / KVH;
  let kv_stride = KVH * hd;
  let kv_first = b * T * kv_stride + kvh * hd;
  var ks: array<vec4<f32>, MAX_HD>;
  var vs: array<vec4<f32>, MAX_HD>;
  var dk_acc: array<vec4<f32>, MAX_HD>;
  var dv_acc: array<vec4<f32>, MAX_HD>;
  let r = tile.rows * kv_stride + vec4<u32>(kv_first);
  for (var d = 0u; d < hd; d++) {
    ks[d] = vec4<f32>(k[r.x + d], k[r.y + d], k[r.z + d], k[r.w + d]) * p.scale;
    vs[d] = vec4<f32>(v[r.x + d], v[r.y + d], v[r.z + d], v[r.w + d]);
  }
  for (var g = 0u; g < group; g++) {
    let h = kvh * group + g;
    let lse_first = (b * H + h) * T;
    for (var t = tile.t0; t < T; t++) {
      let q_at = (b * T + t) * H * hd + h * hd;
      var s = vec4<f32>(0.0);
      var dp = vec4<f32>(0.0);
      var big_d = 0.0;
      for (var d = 0u; d < hd; d++) {
        let go = d_o[q_at + d];
        s = fma(vec4<f32>(q[q_at + d]), ks[d], s);
        dp = fma(vec4<f32>(go), vs[d], dp);
        big_d = fma(go, o[q_at + d], big_d);
      }
      let pr = select(vec4<f32>(0.0), exp(s - lse[lse_first + t]), tile.rows <= vec4<u32>(t));
      let ds = pr * (dp - big_d);
      for (var d = 0u; d < hd; d++) {
        dv_acc[d] = fma(pr, vec4<f32>(d_o[q_at + d]), dv_acc[d]);
        dk_acc[d] = fma(ds, vec4<f32>(q[q_at + d]), dk_acc[d]);
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let j = tile.t0 + i;
    if (j >= T) { break; }
    let at = kv_first + j * kv_stride;
    for (var d = 0u; d < hd; d++) {
      dk[at + d] = dk_acc[d][i] * p.scale;
      dv[at + d] = dv_acc[d][i];
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn kv_cache_write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let hd = p.head_dim;
  let row_len = p.n_kv_heads * hd;
  if (idx >= p.rows * row_len) { return; }
  let r = idx / row_len;
  let within = idx % row_len;
  let seq = seq_of_row[r];
  let pos = pos_of_row[r];
  if (seq >= p.batch || pos >= p.max_t) { return; }
  let dst = ((seq * p.n_kv_heads + within / hd) * p.max_t + pos) * hd + within % hd;
  k_cache[dst] = k_rows[idx];
  v_cache[dst] = v_rows[idx];
}

// ---------------------------------------------------------------------------------------------
// Unrolled variants: the same contracts for head sizes that are a multiple of 4 and at most
// 4·CHUNKS = 32 (override HD4 = hd / 4, the number of 4-element chunks of a head). Every
// per-invocation vector is a named variable, one per chunk (a mat4x4 holds a chunk of four
// rows: column i is element 4c + i, the four rows are the lanes), and each chunk's statement is
// written out under `if (HD4 > c)`, a constant once the pipeline is built. The generic kernels
// above index private arrays with a loop counter, which SwiftShader keeps in memory and
// gathers lane by lane; here nothing is indexed dynamically, and k/v/q/dO/o are read as vec4.
// Measured on SwiftShader at B=16 T=256 H=4 KVH=2 hd=24 (the built-in policy): forward 4×, dq 6×,
// dkv 4× and decode (S=32, 200 cached positions) 4× faster than the generic kernels.
// Layouts, bindings and dispatch are those of the generic entry points; tensors are read and
// written through the vec4 views below (every row of a head starts at a multiple of 4).
// The online softmax starts from a running max of −3e38 instead of key 0's score: the first
// key then gets weight exp(0) = 1 and the empty accumulators a factor exp(−3e38 − s) = 0.

const CHUNKS: u32 = 8u;
const NEG_BIG: f32 = -3.0e38;
override HD4: u32 = 1u;

// vec4 views: attention_forward_unrolled, attention_backward_*_unrolled, attention_decode_unrolled
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o4_out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> o4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> d_o4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dq4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dk4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv4: array<vec4<f32>>;

// Elements 4c..4c+3 of head h in the four rows `rows` (q, dO, o: [B·T, H·hd], first = where the
// head starts in row 0 of its sequence), as columns of a chunk.
fn q_chunk(first: u32, rows: vec4<u32>, c: u32) -> mat4x4<f32> {
  let d = 4u * c;
  return mat4x4<f32>(q_lanes(first, rows, d), q_lanes(first, rows, d + 1u), q_lanes(first, rows, d + 2u), q_lanes(first, rows, d + 3u));
}

fn d_o_chunk(first: u32, rows: vec4<u32>, c: u32) -> mat4x4<f32> {
  let d = 4u * c;
  return mat4x4<f32>(d_o_lanes(first, rows, d), d_o_lanes(first, rows, d + 1u), d_o_lanes(first, rows, d + 2u), d_o_lanes(first, rows, d + 3u));
}

fn o_chunk(first: u32, rows: vec4<u32>, c: u32) -> mat4x4<f32> {
  let d = 4u * c;
  return mat4x4<f32>(o_lanes(first, rows, d), o_lanes(first, rows, d + 1u), o_lanes(first, rows, d + 2u), o_lanes(first, rows, d + 3u));
}

// Elements 4c..4c+3 of four key rows of k or v, the rows' starts given by r.
fn k_chunk(r: vec4<u32>, c: u32) -> mat4x4<f32> {
  let d = 4u * c;
  return mat4x4<f32>(vec4<f32>(k[r.x + d], k[r.y + d], k[r.z + d], k[r.w + d]),
                     vec4<f32>(k[r.x + d + 1u], k[r.y + d + 1u], k[r.z + d + 1u], k[r.w + d + 1u]),
                     vec4<f32>(k[r.x + d + 2u], k[r.y + d + 2u], k[r.z + d + 2u], k[r.w + d + 2u]),
                     vec4<f32>(k[r.x + d + 3u], k[r.y + d + 3u], k[r.z + d + 3u], k[r.w + d + 3u]));
}

fn v_chunk(r: vec4<u32>, c: u32) -> mat4x4<f32> {
  let d = 4u * c;
  return mat4x4<f32>(vec4<f32>(v[r.x + d], v[r.y + d], v[r.z + d], v[r.w + d]),
                     vec4<f32>(v[r.x + d + 1u], v[r.y + d + 1u], v[r.z + d + 1u], v[r.w + d + 1u]),
                     vec4<f32>(v[r.x + d + 2u], v[r.y + d + 2u], v[r.z + d + 2u], v[r.w + d + 2u]),
                     vec4<f32>(v[r.x + d + 3u], v[r.y + d + 3u], v[r.z + d + 3u], v[r.w + d + 3u]));
}

// Column i ← column i · c + e · x[i]: the online-softmax update of four rows' accumulators.
fn rescale_add(a: mat4x4<f32>, c: vec4<f32>, e: vec4<f32>, x: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(fma(a[0], c, e * x.x), fma(a[1], c, e * x.y), fma(a[2], c, e * x.z), fma(a[3], c, e * x.w));
}

// Column i += w · x[i] (adds the outer product w ⊗ x).
fn add_outer(a: mat4x4<f32>, w: vec4<f32>, x: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(fma(w, vec4<f32>(x.x), a[0]), fma(w, vec4<f32>(x.y), a[1]), fma(w, vec4<f32>(x.z), a[2]), fma(w, vec4<f32>(x.w), a[3]));
}

// Σ_i a[i] ⊙ b[i]: per lane, the dot product of two chunks' rows.
fn chunk_dot(a: mat4x4<f32>, b: mat4x4<f32>) -> vec4<f32> {
  return fma(a[3], b[3], fma(a[2], b[2], fma(a[1], b[1], a[0] * b[0])));
}

// Lane i of a chunk: elements 4c..4c+3 of row i.
fn lane_of(a: mat4x4<f32>, i: u32) -> vec4<f32> {
  return vec4<f32>(a[0][i], a[1][i], a[2][i], a[3][i]);
}

@compute @workgroup_size(64, 1, 1)
fn attention_forward_unrolled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let T = p.seq_len;
  let H = p.n_heads;
  if (idx >= p.batch * H * ((T + 3u) / 4u)) { return; }
  let qt = query_tile(idx);
  let tile = qt.tile;
  let kv_stride = p.n_kv_heads * HD4;
  let kv0 = qt.kv_first / 4u;
  var q0 = mat4x4<f32>(); var q1 = mat4x4<f32>(); var q2 = mat4x4<f32>(); var q3 = mat4x4<f32>(); var q4 = mat4x4<f32>(); var q5 = mat4x4<f32>(); var q6 = mat4x4<f32>(); var q7 = mat4x4<f32>();
  if (HD4 > 0u) { q0 = q_chunk(qt.q_first, tile.rows, 0u) * p.scale; }
  if (HD4 > 1u) { q1 = q_chunk(qt.q_first, tile.rows, 1u) * p.scale; }
  if (HD4 > 2u) { q2 = q_chunk(qt.q_first, tile.rows, 2u) * p.scale; }
  if (HD4 > 3u) { q3 = q_chunk(qt.q_first, tile.rows, 3u) * p.scale; }
  if (HD4 > 4u) { q4 = q_chunk(qt.q_first, tile.rows, 4u) * p.scale; }
  if (HD4 > 5u) { q5 = q_chunk(qt.q_first, tile.rows, 5u) * p.scale; }
  if (HD4 > 6u) { q6 = q_chunk(qt.q_first, tile.rows, 6u) * p.scale; }
  if (HD4 > 7u) { q7 = q_chunk(qt.q_first, tile.rows, 7u) * p.scale; }
  var a0 = mat4x4<f32>(); var a1 = mat4x4<f32>(); var a2 = mat4x4<f32>(); var a3 = mat4x4<f32>(); var a4 = mat4x4<f32>(); var a5 = mat4x4<f32>(); var a6 = mat4x4<f32>(); var a7 = mat4x4<f32>();
  var m = vec4<f32>(NEG_BIG);
  var l = vec4<f32>(0.0);
  for (var j = 0u; j <= tile.rows.w; j++) {
    let at = kv0 + j * kv_stride;
    var s = vec4<f32>(0.0);
    if (HD4 > 0u) { s += q0 * k4[at + 0u]; }
    if (HD4 > 1u) { s += q1 * k4[at + 1u]; }
    if (HD4 > 2u) { s += q2 * k4[at + 2u]; }
    if (HD4 > 3u) { s += q3 * k4[at + 3u]; }
    if (HD4 > 4u) { s += q4 * k4[at + 4u]; }
    if (HD4 > 5u) { s += q5 * k4[at + 5u]; }
    if (HD4 > 6u) { s += q6 * k4[at + 6u]; }
    if (HD4 > 7u) { s += q7 * k4[at + 7u]; }
    let visible = vec4<u32>(j) <= tile.rows;
    let m_new = select(m, max(m, s), visible);
    let c = exp(m - m_new);
    let e = select(vec4<f32>(0.0), exp(s - m_new), visible);
    l = fma(l, c, e);
    if (HD4 > 0u) { a0 = rescale_add(a0, c, e, v4[at + 0u]); }
    if (HD4 > 1u) { a1 = rescale_add(a1, c, e, v4[at + 1u]); }
    if (HD4 > 2u) { a2 = rescale_add(a2, c, e, v4[at + 2u]); }
    if (HD4 > 3u) { a3 = rescale_add(a3, c, e, v4[at + 3u]); }
    if (HD4 > 4u) { a4 = rescale_add(a4, c, e, v4[at + 4u]); }
    if (HD4 > 5u) { a5 = rescale_add(a5, c, e, v4[at + 5u]); }
    if (HD4 > 6u) { a6 = rescale_add(a6, c, e, v4[at + 6u]); }
    if (HD4 > 7u) { a7 = rescale_add(a7, c, e, v4[at + 7u]); }
    m = m_new;
  }
  let inv = 1.0 / l;
  let lse_row = m + log(l);
  for (var i = 0u; i < 4u; i++) {
    let t = tile.t0 + i;
    if (t >= T) { break; }
    let at = qt.q_first / 4u + t * H * HD4;
    if (HD4 > 0u) { o4_out[at + 0u] = lane_of(a0, i) * inv[i]; }
    if (HD4 > 1u) { o4_out[at + 1u] = lane_of(a1, i) * inv[i]; }
    if (HD4 > 2u) { o4_out[at + 2u] = lane_of(a2, i) * inv[i]; }
    if (HD4 > 3u) { o4_out[at + 3u] = lane_of(a3, i) * inv[i]; }
    if (HD4 > 4u) { o4_out[at + 4u] = lane_of(a4, i) * inv[i]; }
    if (HD4 > 5u) { o4_out[at + 5u] = lane_of(a5, i) * inv[i]; }
    if (HD4 > 6u) { o4_out[at + 6u] = lane_of(a6, i) * inv[i]; }
    if (HD4 > 7u) { o4_out[at + 7u] = lane_of(a7, i) * inv[i]; }
    lse_out[(tile.b * H + tile.h) * T + t] = lse_row[i];
  }
}

@compute @workgroup_size(64, 1, 1)
fn attention_backward_dq_unrolled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                  @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let T = p.seq_len;
  let H = p.n_heads;
  if (idx >= p.batch * H * ((T + 3u) / 4u)) { return; }
  let qt = query_tile(idx);
  let tile = qt.tile;
  let kv_stride = p.n_kv_heads * HD4;
  let kv0 = qt.kv_first / 4u;
  var q0 = mat4x4<f32>(); var q1 = mat4x4<f32>(); var q2 = mat4x4<f32>(); var q3 = mat4x4<f32>(); var q4 = mat4x4<f32>(); var q5 = mat4x4<f32>(); var q6 = mat4x4<f32>(); var q7 = mat4x4<f32>();
  var g0 = mat4x4<f32>(); var g1 = mat4x4<f32>(); var g2 = mat4x4<f32>(); var g3 = mat4x4<f32>(); var g4 = mat4x4<f32>(); var g5 = mat4x4<f32>(); var g6 = mat4x4<f32>(); var g7 = mat4x4<f32>();
  var big_d = vec4<f32>(0.0);
  if (HD4 > 0u) { q0 = q_chunk(qt.q_first, tile.rows, 0u) * p.scale; g0 = d_o_chunk(qt.q_first, tile.rows, 0u); big_d += chunk_dot(g0, o_chunk(qt.q_first, tile.rows, 0u)); }
  if (HD4 > 1u) { q1 = q_chunk(qt.q_first, tile.rows, 1u) * p.scale; g1 = d_o_chunk(qt.q_first, tile.rows, 1u); big_d += chunk_dot(g1, o_chunk(qt.q_first, tile.rows, 1u)); }
  if (HD4 > 2u) { q2 = q_chunk(qt.q_first, tile.rows, 2u) * p.scale; g2 = d_o_chunk(qt.q_first, tile.rows, 2u); big_d += chunk_dot(g2, o_chunk(qt.q_first, tile.rows, 2u)); }
  if (HD4 > 3u) { q3 = q_chunk(qt.q_first, tile.rows, 3u) * p.scale; g3 = d_o_chunk(qt.q_first, tile.rows, 3u); big_d += chunk_dot(g3, o_chunk(qt.q_first, tile.rows, 3u)); }
  if (HD4 > 4u) { q4 = q_chunk(qt.q_first, tile.rows, 4u) * p.scale; g4 = d_o_chunk(qt.q_first, tile.rows, 4u); big_d += chunk_dot(g4, o_chunk(qt.q_first, tile.rows, 4u)); }
  if (HD4 > 5u) { q5 = q_chunk(qt.q_first, tile.rows, 5u) * p.scale; g5 = d_o_chunk(qt.q_first, tile.rows, 5u); big_d += chunk_dot(g5, o_chunk(qt.q_first, tile.rows, 5u)); }
  if (HD4 > 6u) { q6 = q_chunk(qt.q_first, tile.rows, 6u) * p.scale; g6 = d_o_chunk(qt.q_first, tile.rows, 6u); big_d += chunk_dot(g6, o_chunk(qt.q_first, tile.rows, 6u)); }
  if (HD4 > 7u) { q7 = q_chunk(qt.q_first, tile.rows, 7u) * p.scale; g7 = d_o_chunk(qt.q_first, tile.rows, 7u); big_d += chunk_dot(g7, o_chunk(qt.q_first, tile.rows, 7u)); }
  let lse_first = (tile.b * H + tile.h) * T;
  let lse_t = vec4<f32>(lse[lse_first + tile.rows.x], lse[lse_first + tile.rows.y],
                        lse[lse_first + tile.rows.z], lse[lse_first + tile.rows.w]);
  var a0 = mat4x4<f32>(); var a1 = mat4x4<f32>(); var a2 = mat4x4<f32>(); var a3 = mat4x4<f32>(); var a4 = mat4x4<f32>(); var a5 = mat4x4<f32>(); var a6 = mat4x4<f32>(); var a7 = mat4x4<f32>();
  for (var j = 0u; j <= tile.rows.w; j++) {
    let at = kv0 + j * kv_stride;
    var s = vec4<f32>(0.0);
    var dp = vec4<f32>(0.0);
    var x0 = vec4<f32>(); var x1 = vec4<f32>(); var x2 = vec4<f32>(); var x3 = vec4<f32>(); var x4 = vec4<f32>(); var x5 = vec4<f32>(); var x6 = vec4<f32>(); var x7 = vec4<f32>();
    if (HD4 > 0u) { x0 = k4[at + 0u]; s += q0 * x0; dp += g0 * v4[at + 0u]; }
    if (HD4 > 1u) { x1 = k4[at + 1u]; s += q1 * x1; dp += g1 * v4[at + 1u]; }
    if (HD4 > 2u) { x2 = k4[at + 2u]; s += q2 * x2; dp += g2 * v4[at + 2u]; }
    if (HD4 > 3u) { x3 = k4[at + 3u]; s += q3 * x3; dp += g3 * v4[at + 3u]; }
    if (HD4 > 4u) { x4 = k4[at + 4u]; s += q4 * x4; dp += g4 * v4[at + 4u]; }
    if (HD4 > 5u) { x5 = k4[at + 5u]; s += q5 * x5; dp += g5 * v4[at + 5u]; }
    if (HD4 > 6u) { x6 = k4[at + 6u]; s += q6 * x6; dp += g6 * v4[at + 6u]; }
    if (HD4 > 7u) { x7 = k4[at + 7u]; s += q7 * x7; dp += g7 * v4[at + 7u]; }
    let pr = select(vec4<f32>(0.0), exp(s - lse_t), vec4<u32>(j) <= tile.rows);
    let ds = pr * (dp - big_d);
    if (HD4 > 0u) { a0 = add_outer(a0, ds, x0); }
    if (HD4 > 1u) { a1 = add_outer(a1, ds, x1); }
    if (HD4 > 2u) { a2 = add_outer(a2, ds, x2); }
    if (HD4 > 3u) { a3 = add_outer(a3, ds, x3); }
    if (HD4 > 4u) { a4 = add_outer(a4, ds, x4); }
    if (HD4 > 5u) { a5 = add_outer(a5, ds, x5); }
    if (HD4 > 6u) { a6 = add_outer(a6, ds, x6); }
    if (HD4 > 7u) { a7 = add_outer(a7, ds, x7); }
  }
  for (var i = 0u; i < 4u; i++) {
    let t = tile.t0 + i;
    if (t >= T) { break; }
    let at = qt.q_first / 4u + t * H * HD4;
    if (HD4 > 0u) { dq4[at + 0u] = lane_of(a0, i) * p.scale; }
    if (HD4 > 1u) { dq4[at + 1u] = lane_of(a1, i) * p.scale; }
    if (HD4 > 2u) { dq4[at + 2u] = lane_of(a2, i) * p.scale; }
    if (HD4 > 3u) { dq4[at + 3u] = lane_of(a3, i) * p.scale; }
    if (HD4 > 4u) { dq4[at + 4u] = lane_of(a4, i) * p.scale; }
    if (HD4 > 5u) { dq4[at + 5u] = lane_of(a5, i) * p.scale; }
    if (HD4 > 6u) { dq4[at + 6u] = lane_of(a6, i) * p.scale; }
    if (HD4 > 7u) { dq4[at + 7u] = lane_of(a7, i) * p.scale; }
  }
}

@compute @workgroup_size(64, 1, 1)
fn attention_backward_dkv_unrolled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                   @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let T = p.seq_len;
  let H = p.n_heads;
  let KVH = p.n_kv_heads;
  if (idx >= p.batch * KVH * ((T + 3u) / 4u)) { return; }
  let tile = row_tile(idx, KVH);
  let kvh = tile.h;
  let b = tile.b;
  let group = H / KVH;
  let kv_stride = KVH * HD4 * 4u;
  let kv_first = b * T * kv_stride + kvh * HD4 * 4u;
  let r = tile.rows * kv_stride + vec4<u32>(kv_first);
  var ks0 = mat4x4<f32>(); var ks1 = mat4x4<f32>(); var ks2 = mat4x4<f32>(); var ks3 = mat4x4<f32>(); var ks4 = mat4x4<f32>(); var ks5 = mat4x4<f32>(); var ks6 = mat4x4<f32>(); var ks7 = mat4x4<f32>();
  var vs0 = mat4x4<f32>(); var vs1 = mat4x4<f32>(); var vs2 = mat4x4<f32>(); var vs3 = mat4x4<f32>(); var vs4 = mat4x4<f32>(); var vs5 = mat4x4<f32>(); var vs6 = mat4x4<f32>(); var vs7 = mat4x4<f32>();
  if (HD4 > 0u) { ks0 = k_chunk(r, 0u) * p.scale; vs0 = v_chunk(r, 0u); }
  if (HD4 > 1u) { ks1 = k_chunk(r, 1u) * p.scale; vs1 = v_chunk(r, 1u); }
  if (HD4 > 2u) { ks2 = k_chunk(r, 2u) * p.scale; vs2 = v_chunk(r, 2u); }
  if (HD4 > 3u) { ks3 = k_chunk(r, 3u) * p.scale; vs3 = v_chunk(r, 3u); }
  if (HD4 > 4u) { ks4 = k_chunk(r, 4u) * p.scale; vs4 = v_chunk(r, 4u); }
  if (HD4 > 5u) { ks5 = k_chunk(r, 5u) * p.scale; vs5 = v_chunk(r, 5u); }
  if (HD4 > 6u) { ks6 = k_chunk(r, 6u) * p.scale; vs6 = v_chunk(r, 6u); }
  if (HD4 > 7u) { ks7 = k_chunk(r, 7u) * p.scale; vs7 = v_chunk(r, 7u); }
  var gk0 = mat4x4<f32>(); var gk1 = mat4x4<f32>(); var gk2 = mat4x4<f32>(); var gk3 = mat4x4<f32>(); var gk4 = mat4x4<f32>(); var gk5 = mat4x4<f32>(); var gk6 = mat4x4<f32>(); var gk7 = mat4x4<f32>();
  var gv0 = mat4x4<f32>(); var gv1 = mat4x4<f32>(); var gv2 = mat4x4<f32>(); var gv3 = mat4x4<f32>(); var gv4 = mat4x4<f32>(); var gv5 = mat4x4<f32>(); var gv6 = mat4x4<f32>(); var gv7 = mat4x4<f32>();
  for (var g = 0u; g < group; g++) {
    let h = kvh * group + g;
    let lse_first = (b * H + h) * T;
    for (var t = tile.t0; t < T; t++) {
      let q_at = ((b * T + t) * H + h) * HD4;
      var s = vec4<f32>(0.0);
      var dp = vec4<f32>(0.0);
      var big_d = 0.0;
      var x0 = vec4<f32>(); var x1 = vec4<f32>(); var x2 = vec4<f32>(); var x3 = vec4<f32>(); var x4 = vec4<f32>(); var x5 = vec4<f32>(); var x6 = vec4<f32>(); var x7 = vec4<f32>();
      var y0 = vec4<f32>(); var y1 = vec4<f32>(); var y2 = vec4<f32>(); var y3 = vec4<f32>(); var y4 = vec4<f32>(); var y5 = vec4<f32>(); var y6 = vec4<f32>(); var y7 = vec4<f32>();
      if (HD4 > 0u) { x0 = q4[q_at + 0u]; y0 = d_o4[q_at + 0u]; s += ks0 * x0; dp += vs0 * y0; big_d += dot(y0, o4[q_at + 0u]); }
      if (HD4 > 1u) { x1 = q4[q_at + 1u]; y1 = d_o4[q_at + 1u]; s += ks1 * x1; dp += vs1 * y1; big_d += dot(y1, o4[q_at + 1u]); }
      if (HD4 > 2u) { x2 = q4[q_at + 2u]; y2 = d_o4[q_at + 2u]; s += ks2 * x2; dp += vs2 * y2; big_d += dot(y2, o4[q_at + 2u]); }
      if (HD4 > 3u) { x3 = q4[q_at + 3u]; y3 = d_o4[q_at + 3u]; s += ks3 * x3; dp += vs3 * y3; big_d += dot(y3, o4[q_at + 3u]); }
      if (HD4 > 4u) { x4 = q4[q_at + 4u]; y4 = d_o4[q_at + 4u]; s += ks4 * x4; dp += vs4 * y4; big_d += dot(y4, o4[q_at + 4u]); }
      if (HD4 > 5u) { x5 = q4[q_at + 5u]; y5 = d_o4[q_at + 5u]; s += ks5 * x5; dp += vs5 * y5; big_d += dot(y5, o4[q_at + 5u]); }
      if (HD4 > 6u) { x6 = q4[q_at + 6u]; y6 = d_o4[q_at + 6u]; s += ks6 * x6; dp += vs6 * y6; big_d += dot(y6, o4[q_at + 6u]); }
      if (HD4 > 7u) { x7 = q4[q_at + 7u]; y7 = d_o4[q_at + 7u]; s += ks7 * x7; dp += vs7 * y7; big_d += dot(y7, o4[q_at + 7u]); }
      let pr = select(vec4<f32>(0.0), exp(s - lse[lse_first + t]), tile.rows <= vec4<u32>(t));
      let ds = pr * (dp - big_d);
      if (HD4 > 0u) { gv0 = add_outer(gv0, pr, y0); gk0 = add_outer(gk0, ds, x0); }
      if (HD4 > 1u) { gv1 = add_outer(gv1, pr, y1); gk1 = add_outer(gk1, ds, x1); }
      if (HD4 > 2u) { gv2 = add_outer(gv2, pr, y2); gk2 = add_outer(gk2, ds, x2); }
      if (HD4 > 3u) { gv3 = add_outer(gv3, pr, y3); gk3 = add_outer(gk3, ds, x3); }
      if (HD4 > 4u) { gv4 = add_outer(gv4, pr, y4); gk4 = add_outer(gk4, ds, x4); }
      if (HD4 > 5u) { gv5 = add_outer(gv5, pr, y5); gk5 = add_outer(gk5, ds, x5); }
      if (HD4 > 6u) { gv6 = add_outer(gv6, pr, y6); gk6 = add_outer(gk6, ds, x6); }
      if (HD4 > 7u) { gv7 = add_outer(gv7, pr, y7); gk7 = add_outer(gk7, ds, x7); }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let j = tile.t0 + i;
    if (j >= T) { break; }
    let at = (kv_first + j * kv_stride) / 4u;
    if (HD4 > 0u) { dk4[at + 0u] = lane_of(gk0, i) * p.scale; dv4[at + 0u] = lane_of(gv0, i); }
    if (HD4 > 1u) { dk4[at + 1u] = lane_of(gk1, i) * p.scale; dv4[at + 1u] = lane_of(gv1, i); }
    if (HD4 > 2u) { dk4[at + 2u] = lane_of(gk2, i) * p.scale; dv4[at + 2u] = lane_of(gv2, i); }
    if (HD4 > 3u) { dk4[at + 3u] = lane_of(gk3, i) * p.scale; dv4[at + 3u] = lane_of(gv3, i); }
    if (HD4 > 4u) { dk4[at + 4u] = lane_of(gk4, i) * p.scale; dv4[at + 4u] = lane_of(gv4, i); }
    if (HD4 > 5u) { dk4[at + 5u] = lane_of(gk5, i) * p.scale; dv4[at + 5u] = lane_of(gv5, i); }
    if (HD4 > 6u) { dk4[at + 6u] = lane_of(gk6, i) * p.scale; dv4[at + 6u] = lane_of(gv6, i); }
    if (HD4 > 7u) { dk4[at + 7u] = lane_of(gk7, i) * p.scale; dv4[at + 7u] = lane_of(gv7, i); }
  }
}

@compute @workgroup_size(64, 1, 1)
fn attention_decode_unrolled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) lid: u32) {
  let idx = linear_index(wid, nwg, lid);
  let H = p.n_heads;
  if (idx >= p.batch * H) { return; }
  let h = idx % H;
  let s = idx / H;
  let q_at = idx * HD4;
  let len = cache_len[s];
  if (len == 0u || len > p.max_t) {
    for (var c = 0u; c < HD4; c++) { o4_out[q_at + c] = vec4<f32>(nan_f32()); }
    return;
  }
  let first = (s * p.n_kv_heads + h / (H / p.n_kv_heads)) * p.max_t * HD4;
  var qc0 = vec4<f32>(); var qc1 = vec4<f32>(); var qc2 = vec4<f32>(); var qc3 = vec4<f32>(); var qc4 = vec4<f32>(); var qc5 = vec4<f32>(); var qc6 = vec4<f32>(); var qc7 = vec4<f32>();
  var ac0 = vec4<f32>(); var ac1 = vec4<f32>(); var ac2 = vec4<f32>(); var ac3 = vec4<f32>(); var ac4 = vec4<f32>(); var ac5 = vec4<f32>(); var ac6 = vec4<f32>(); var ac7 = vec4<f32>();
  if (HD4 > 0u) { qc0 = q4[q_at + 0u] * p.scale; }
  if (HD4 > 1u) { qc1 = q4[q_at + 1u] * p.scale; }
  if (HD4 > 2u) { qc2 = q4[q_at + 2u] * p.scale; }
  if (HD4 > 3u) { qc3 = q4[q_at + 3u] * p.scale; }
  if (HD4 > 4u) { qc4 = q4[q_at + 4u] * p.scale; }
  if (HD4 > 5u) { qc5 = q4[q_at + 5u] * p.scale; }
  if (HD4 > 6u) { qc6 = q4[q_at + 6u] * p.scale; }
  if (HD4 > 7u) { qc7 = q4[q_at + 7u] * p.scale; }
  var m = NEG_BIG;
  var l = 0.0;
  for (var j = 0u; j < len; j++) {
    let at = first + j * HD4;
    var sc = 0.0;
    if (HD4 > 0u) { sc += dot(qc0, k4[at + 0u]); }
    if (HD4 > 1u) { sc += dot(qc1, k4[at + 1u]); }
    if (HD4 > 2u) { sc += dot(qc2, k4[at + 2u]); }
    if (HD4 > 3u) { sc += dot(qc3, k4[at + 3u]); }
    if (HD4 > 4u) { sc += dot(qc4, k4[at + 4u]); }
    if (HD4 > 5u) { sc += dot(qc5, k4[at + 5u]); }
    if (HD4 > 6u) { sc += dot(qc6, k4[at + 6u]); }
    if (HD4 > 7u) { sc += dot(qc7, k4[at + 7u]); }
    let m_new = max(m, sc);
    let c = exp(m - m_new);
    let e = exp(sc - m_new);
    l = fma(l, c, e);
    if (HD4 > 0u) { ac0 = fma(ac0, vec4<f32>(c), e * v4[at + 0u]); }
    if (HD4 > 1u) { ac1 = fma(ac1, vec4<f32>(c), e * v4[at + 1u]); }
    if (HD4 > 2u) { ac2 = fma(ac2, vec4<f32>(c), e * v4[at + 2u]); }
    if (HD4 > 3u) { ac3 = fma(ac3, vec4<f32>(c), e * v4[at + 3u]); }
    if (HD4 > 4u) { ac4 = fma(ac4, vec4<f32>(c), e * v4[at + 4u]); }
    if (HD4 > 5u) { ac5 = fma(ac5, vec4<f32>(c), e * v4[at + 5u]); }
    if (HD4 > 6u) { ac6 = fma(ac6, vec4<f32>(c), e * v4[at + 6u]); }
    if (HD4 > 7u) { ac7 = fma(ac7, vec4<f32>(c), e * v4[at + 7u]); }
    m = m_new;
  }
  let inv = 1.0 / l;
  if (HD4 > 0u) { o4_out[q_at + 0u] = ac0 * inv; }
  if (HD4 > 1u) { o4_out[q_at + 1u] = ac1 * inv; }
  if (HD4 > 2u) { o4_out[q_at + 2u] = ac2 * inv; }
  if (HD4 > 3u) { o4_out[q_at + 3u] = ac3 * inv; }
  if (HD4 > 4u) { o4_out[q_at + 4u] = ac4 * inv; }
  if (HD4 > 5u) { o4_out[q_at + 5u] = ac5 * inv; }
  if (HD4 > 6u) { o4_out[q_at + 6u] = ac6 * inv; }
  if (HD4 > 7u) { o4_out[q_at + 7u] = ac7 * inv; }
}
