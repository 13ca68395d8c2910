// attention.wgsl with L threads per query row instead of one, for grids too small to fill a GPU (one image's
// ViT attention is 12 heads × 7 workgroups of 32 rows): 8× the threads, each with 1/8 of the work per key tile.
// Per tile of BC keys, staged in workgroup memory: the L lanes of a row split the keys to compute scores
// (full dot products, q in registers) into s_tile; then every lane reads its row's BC scores, updates the
// row's running max and sum (the same values in all L lanes) and accumulates its own D/L columns of the
// output. Same uniforms, bindings, key sources and semantics as attention.wgsl (attention-io.wgsl,
// attention-keys*.wgsl, prepended). Placeholders: D (head size), BR (rows per workgroup), L (lanes per row),
// BC (keys per tile, a multiple of L).
const D: u32 = {{D}}u;
const BR: u32 = {{BR}}u;
const L: u32 = {{L}}u;
const BC: u32 = {{BC}}u;
/** Output columns per lane. */
const DL: u32 = (D + L - 1u) / L;
/** k_tile row stride, padded so that lanes reading different keys at one column hit different banks. */
const KS: u32 = D + 1u;

var<workgroup> k_tile: array<f32, BC * KS>;
var<workgroup> v_tile: array<f32, BC * D>;
var<workgroup> s_tile: array<f32, BR * BC>;

@compute @workgroup_size(BR * L)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let r = lid / L;
  let lane = lid % L;
  let row0 = wid.x * BR;
  let row = row0 + r;
  let valid = row < u.sq;

  var qr: array<f32, D>;
  var acc: array<f32, DL>;
  for (var d = 0u; d < D; d++) {
    qr[d] = 0.0;
    if (valid) {
      qr[d] = query_at(b, h, row, d);
    }
  }
  for (var i = 0u; i < DL; i++) {
    acc[i] = 0.0;
  }
  var m = start_max(h);
  var l = start_sum();

  let kv_end = visible_keys(row0 + BR);
  let my_end = min(kv_end, visible_keys(row + 1u));
  // Under a causal window, the first key the workgroup's first row sees, and this thread's row.
  let kv_begin = first_visible_key(row0);
  let my_begin = first_visible_key(row);

  for (var t0 = kv_begin; t0 < kv_end; t0 += BC) {
    let tile_len = min(BC, kv_end - t0);
    for (var e = lid; e < BC * D; e += BR * L) {
      let j = e / D;
      let d = e % D;
      var kv = 0.0;
      var vv = 0.0;
      if (j < tile_len) {
        kv = key_at(b, h, t0 + j, d);
        vv = value_at(b, h, t0 + j, d);
      }
      k_tile[j * KS + d] = kv;
      v_tile[e] = vv;
    }
    workgroupBarrier();
    // Scores: lane takes keys lane, lane + L, … of the tile.
    for (var j = lane; j < BC; j += L) {
      var s = 0.0;
      for (var d = 0u; d < D; d++) {
        s = fma(qr[d], k_tile[j * KS + d], s);
      }
      s = capped(s);
      if (u.has_mask != 0u && valid && t0 + j < my_end) {
        s += mask_at(b, h, row, t0 + j);
      }
      s_tile[r * BC + j] = s;
    }
    workgroupBarrier();
    if (valid) {
      let n = min(tile_len, select(0u, my_end - t0, my_end > t0));
      let j0 = select(0u, my_begin - t0, my_begin > t0);
      var tile_max = m;
      for (var j = j0; j < n; j++) {
        tile_max = max(tile_max, s_tile[r * BC + j]);
      }
      // The new running max: rescale what has been accumulated (corr = 1 when it did not move).
      let corr = exp(m - tile_max);
      l *= corr;
      for (var i = 0u; i < DL; i++) {
        acc[i] *= corr;
      }
      m = tile_max;
      for (var j = j0; j < n; j++) {
        let p = exp(s_tile[r * BC + j] - m);
        l += p;
        for (var i = 0u; i < DL; i++) {
          let d = lane * DL + i;
          if (d < D) {
            acc[i] = fma(p, v_tile[j * D + d], acc[i]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  if (valid) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var i = 0u; i < DL; i++) {
      let d = lane * DL + i;
      if (d < D) {
        write_out(b, h, row, d, acc[i] * inv);
      }
    }
  }
}
