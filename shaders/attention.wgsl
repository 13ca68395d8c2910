// Flash-style attention in one pass: out = softmax(scale · q kᵀ + mask [+ causal]) v.
// Workgroup = BR query rows of one (batch, head); each thread owns one query row: its q (pre-scaled) and output
// accumulator live in registers, and it keeps a running max `m` and running sum `l` (online softmax). K/V are
// walked in tiles of BC keys staged in workgroup memory by all threads together, so each key/value is read from
// global memory once per workgroup and no Sq×Sk score matrix ever exists.
// Every tensor is addressed through element strides (start + b·s0 + h·s1 + s·s2 + d·s3), so q/k/v/out may be
// slices of packed projections, [B, S, H·D] or [B, H, S, D] memory alike, and the mask broadcasts with stride 0.
// Placeholders: D (head size), BR (rows per workgroup = threads), BC (keys per tile). Uniforms and bindings:
// attention-io.wgsl, prepended; keys and values through key_at / value_at (attention-keys*.wgsl).
const D: u32 = {{D}}u;
const BR: u32 = {{BR}}u;
const BC: u32 = {{BC}}u;

var<workgroup> k_tile: array<f32, BC * D>;
var<workgroup> v_tile: array<f32, BC * D>;

@compute @workgroup_size(BR)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let h = wid.y;
  let row0 = wid.x * BR;
  let row = row0 + lid;
  let valid = row < u.sq;

  var qr: array<f32, D>;
  var acc: array<f32, D>;
  for (var d = 0u; d < D; d++) {
    acc[d] = 0.0;
    qr[d] = 0.0;
    if (valid) {
      qr[d] = query_at(b, h, row, d);
    }
  }
  var m = start_max(h);
  var l = start_sum();

  // Keys this workgroup needs at all (uniform), and the last one this thread's row may see.
  let kv_end = visible_keys(row0 + BR);
  let my_end = min(kv_end, visible_keys(row + 1u));
  // Under a causal window, the first key the workgroup's first row sees, and this thread's row.
  let kv_begin = first_visible_key(row0);
  let my_begin = first_visible_key(row);

  for (var t0 = kv_begin; t0 < kv_end; t0 += BC) {
    let tile_len = min(BC, kv_end - t0);
    for (var e = lid; e < BC * D; e += BR) {
      let j = e / D;
      let d = e % D;
      var kv = 0.0;
      var vv = 0.0;
      if (j < tile_len) {
        kv = key_at(b, h, t0 + j, d);
        vv = value_at(b, h, t0 + j, d);
      }
      k_tile[e] = kv;
      v_tile[e] = vv;
    }
    workgroupBarrier();
    if (valid) {
      let n = min(tile_len, select(0u, my_end - t0, my_end > t0));
      let j0 = select(0u, my_begin - t0, my_begin > t0);
      for (var j = j0; j < n; j++) {
        var s = 0.0;
        for (var d = 0u; d < D; d++) {
          s = fma(qr[d], k_tile[j * D + d], s);
        }
        s = capped(s);
        if (u.has_mask != 0u) {
          s += mask_at(b, h, row, t0 + j);
        }
        if (s > m) {
          // New running max: rescale what has been accumulated so far.
          let corr = exp(m - s);
          l *= corr;
          for (var d = 0u; d < D; d++) {
            acc[d] *= corr;
          }
          m = s;
        }
        let p = exp(s - m);
        l += p;
        for (var d = 0u; d < D; d++) {
          acc[d] = fma(p, v_tile[j * D + d], acc[d]);
        }
      }
    }
    workgroupBarrier();
  }

  if (valid) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < D; d++) {
      write_out(b, h, row, d, acc[d] * inv);
    }
  }
}
