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
// (1/√hd for the model). hd ≤ MAX_HD = 128: per-invocation accumulators are fixed-size arrays.
//
// Bindings (group 0). The uniform is binding 0 in every entry point, so all five share one
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
// Overrides: none.
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
